/**
 * llama/load.ts: the key spec against the tensors HF wrote (llama-tiny), the parameter count against
 * Llama-2-7B's published one, and the loader's one-line error.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { llamaConfig } from '../../src/llama/config';
import { llamaKeys, llamaParameterCount, loadLlama } from '../../src/llama/load';
import { HeroError } from '../../src/core/errors';
import { modelDir } from '../util/fixtures';
import { storedShapes, sortedEntries } from '../util/keys';

const tinyJson = (): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(modelDir('llama-tiny'), 'config.json'), 'utf8'));

describe('llama/load · key spec and parameter count', () => {
  it('llamaKeys of llama-tiny/config.json is exactly the names and shapes HF saved', () => {
    const spec = llamaKeys(llamaConfig(tinyJson()), '');
    expect(sortedEntries(spec)).toEqual(sortedEntries(storedShapes(path.join(modelDir('llama-tiny'), 'model.safetensors'))));
  });

  it("Llama-2-7B (LlamaConfig defaults) has 6,738,415,616 parameters, Meta's published count", () => {
    expect(llamaParameterCount(llamaConfig({}))).toBe(6_738_415_616);
  });

  it('a tied lm_head is counted once (V·D fewer) and has no key', () => {
    const j = tinyJson();
    const tied = llamaConfig({ ...j, tie_word_embeddings: true });
    expect(llamaKeys(tied, '').has('lm_head.weight')).toBe(false);
    expect(llamaParameterCount(llamaConfig(j)) - llamaParameterCount(tied)).toBe((j.vocab_size as number) * (j.hidden_size as number));
  });

  it('loadLlama: a directory without config.json is one line naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-llama-load-'));
    try {
      expect(() => loadLlama(dir)).toThrow(new HeroError(`${dir}: no config.json`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
