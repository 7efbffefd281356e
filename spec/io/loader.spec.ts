/**
 * The one loader skeleton (io/loader.ts): the recipe's own one-line error for a directory without
 * config.json, config errors before any tensor file is opened, the store closed on every path, and the
 * parameter count of a key spec.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HeroError } from '../../src/core/errors';
import { SafetensorsDir } from '../../src/io/safetensors';
import { keySpecSize, loadCheckpoint, type CheckpointRecipe } from '../../src/io/loader';
import { disposeTree } from '../../src/io/checkpoint';
import { modelDir } from '../util/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-loader-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A recipe for llama-tiny's two norm-free tensors, reading config.json's hidden_size and vocab_size. */
const recipe = (keys?: Map<string, readonly number[]>): CheckpointRecipe<{ V: number; D: number }> => ({
  noConfig: (dir) => `--test: '${dir}' has no config.json`,
  configWhat: 'test config',
  parseConfig: (json, file) => {
    if (typeof json.hidden_size !== 'number') throw new HeroError(`${file}: hidden_size must be a number`);
    return { V: json.vocab_size as number, D: json.hidden_size };
  },
  keys: (c) => keys ?? new Map([['model.embed_tokens.weight', [c.V, c.D]]]),
});

describe('io/loader · loadCheckpoint', () => {
  it("a directory without config.json: the recipe's one-line error", () => {
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(dir);
    expect(() => loadCheckpoint(dir, recipe())).toThrow(new HeroError(`--test: '${dir}' has no config.json`));
  });

  it('config errors come before the tensor files are looked at', () => {
    const dir = path.join(tmp, 'badcfg');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ hidden_size: 'wide' }));
    expect(() => loadCheckpoint(dir, recipe())).toThrow(`${path.join(dir, 'config.json')}: hidden_size must be a number`);
  });

  it('closes the store whether the tensors load or not', () => {
    const close = jest.spyOn(SafetensorsDir.prototype, 'close');
    try {
      const dir = modelDir('llama-tiny');
      expect(() => loadCheckpoint(dir, recipe())).toThrow(/checkpoint has \d+ unexpected tensor/);
      expect(close).toHaveBeenCalledTimes(1);
      const all = new Map<string, readonly number[]>();
      const store = SafetensorsDir.open(dir);
      for (const n of store.names()) all.set(n, store.info(n).shape);
      store.close();
      close.mockClear();
      const { config, tree } = loadCheckpoint<{ V: number; D: number }, Record<string, unknown>>(dir, recipe(all));
      expect(close).toHaveBeenCalledTimes(1);
      expect(config.D).toBe(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).hidden_size);
      disposeTree(tree);
    } finally {
      close.mockRestore();
    }
  });

  it('keySpecSize sums the shapes (a scalar counts 1)', () => {
    expect(keySpecSize(new Map([['a', [2, 3]], ['s', []], ['b', [4]]]))).toBe(11);
  });
});
