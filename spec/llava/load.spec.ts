/**
 * llava/load.ts: the key spec and parameter count against the tensors HF wrote (llava-next-tiny), and the
 * loader's one-line errors for a directory that is not one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { llavaNextConfig } from '../../src/llava/config';
import { llavaNextKeys, llavaNextParameterCount, loadLlavaNext, loadLlavaNextConfig } from '../../src/llava/load';
import { HeroError } from '../../src/core/errors';
import { modelDir } from '../util/fixtures';
import { storedShapes, sortedEntries } from '../util/keys';

describe('llava/load · key spec and parameter count', () => {
  const dir = modelDir('llava-next-tiny');
  it('llavaNextKeys of llava-next-tiny/config.json is exactly the names and shapes HF saved', () => {
    const cfg = loadLlavaNextConfig(dir);
    expect(cfg).toEqual(llavaNextConfig(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), path.join(dir, 'config.json')));
    expect(sortedEntries(llavaNextKeys(cfg))).toEqual(sortedEntries(storedShapes(path.join(dir, 'model.safetensors'))));
  });

  it('llavaNextParameterCount is the number of values in the file', () => {
    let n = 0;
    for (const shape of storedShapes(path.join(dir, 'model.safetensors')).values()) n += shape.reduce((a, d) => a * d, 1);
    expect(llavaNextParameterCount(loadLlavaNextConfig(dir))).toBe(n);
  });

  it('a missing directory or config.json is one line naming --model', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-llava-load-'));
    try {
      expect(() => loadLlavaNext(path.join(tmp, 'none'))).toThrow(new HeroError(`--model: '${path.join(tmp, 'none')}' is not a directory`));
      expect(() => loadLlavaNext(tmp)).toThrow(new HeroError(`--model: '${tmp}' has no config.json (expected a llava-hf LLaVA-NeXT or LLaVA-1.5 directory)`));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
