/**
 * page/model_files.ts with the page's stand-ins for fs and crypto (io/browser_fs.ts, page/shims/crypto.ts),
 * as the bundle resolves them: the default model generated into the in-memory files matches
 * weights/manifest.json file by file (the same bytes as Node's weights/default/), and a pick finds the
 * LLaVA and CLIP folders or says what it found instead.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES } from '../util/fixtures';

type ModelFiles = typeof import('../../src/page/model_files');

/** model_files.ts and the in-memory files it shares with the (mocked) fs, in a fresh module registry. */
function withPageModules(f: (m: ModelFiles) => void): void {
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mem = require('../../src/io/browser_fs');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const crypto = require('../../src/page/shims/crypto');
    // the package file weights/llama_vocab.ts reads, where require.resolve puts it (the page: node_files.ts)
    const vocab = require.resolve('llama-tokenizer-js/llama-tokenizer.js');
    mem.putFile(vocab, new Uint8Array(fs.readFileSync(vocab)));
    jest.doMock('fs', () => mem);
    jest.doMock('crypto', () => crypto);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      f(require('../../src/page/model_files') as ModelFiles);
    } finally {
      jest.dontMock('fs');
      jest.dontMock('crypto');
    }
  });
}

describe('page/model_files', () => {
  it('the default model generated into the in-memory files matches weights/manifest.json\'s sha256, every file', () => {
    withPageModules((m) => {
      const lines: string[] = [];
      const dirs = m.defaultModel((s) => lines.push(s)); // throws if any file differs from the manifest
      expect(dirs.model).toBe(`${m.DEFAULT_ROOT}/llava-next`);
      expect(dirs.clip).toBe(`${m.DEFAULT_ROOT}/clip`);
      expect(lines.join('\n')).toMatch(/all 14 files match weights\/manifest\.json's sha256/);
    });
  });

  it('a pick: finds the LLaVA and CLIP folders by model_type; without a LLaVA config.json it says what it found', () => {
    const pick = (models: string[]): Array<{ path: string; bytes: Uint8Array }> => models.flatMap((mdl) =>
      fs.readdirSync(path.join(FIXTURES, 'models', mdl)).map((f) => ({ path: `picked/${mdl}/${f}`, bytes: new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'models', mdl, f))) })));
    withPageModules((m) => {
      const d = m.pickedModel(pick(['llava-next-tiny', 'clip-tiny']));
      expect(d).toEqual({ model: `${m.PICKED_ROOT}/picked/llava-next-tiny`, clip: `${m.PICKED_ROOT}/picked/clip-tiny`, label: 'picked/llava-next-tiny + picked/clip-tiny' });
      expect(() => m.pickedModel(pick(['clip-tiny']))).toThrow(/no LLaVA checkpoint among the picked files: .*found: picked\/clip-tiny \(clip\)/);
      expect(() => m.pickedModel([{ path: 'x/config.json', bytes: new TextEncoder().encode('{oops') }])).toThrow(/x\/config\.json: not JSON/);
      expect(() => m.pickedModel([])).toThrow(/no files picked/);
    });
  });
});
