/**
 * io/json.ts: a JSON file that must hold an object (config.json, tokenizer.json, preprocessor_config.json) and
 * holds `null`, an array or a scalar is one line naming the file, as a missing or malformed one is — never a
 * TypeError further on (exit 70).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readJsonObject } from '../../src/io/json';
import { loadImageProcessorConfig, loadLlavaNextConfig } from '../../src/llava/load';
import { loadTokenizer } from '../../src/io/tokenizer';
import { expectRefused } from '../util/errors';
import { modelDir } from '../util/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-json-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('io/json · readJsonObject', () => {
  it.each([['null', 'null'], ['[1, 2]', 'an array'], ['3', 'number'], ['"x"', 'string']])('%s is refused, naming the file (%s)', (text, got) => {
    const f = path.join(tmp, 'x.json');
    fs.writeFileSync(f, text);
    expectRefused(() => readJsonObject(f, 'model config'), new RegExp(`^${f.replace(/[.\\/]/g, '\\$&')}: model config must be a JSON object, got ${got}$`));
  });

  it('config.json, tokenizer.json and preprocessor_config.json holding null: one line each naming the file', () => {
    for (const name of ['config.json', 'tokenizer.json', 'preprocessor_config.json']) {
      const dir = path.join(tmp, name.replace('.json', ''));
      fs.cpSync(modelDir('llava-next-tiny'), dir, { recursive: true });
      fs.writeFileSync(path.join(dir, name), 'null');
      const load = { 'config.json': () => loadLlavaNextConfig(dir), 'tokenizer.json': () => loadTokenizer(dir), 'preprocessor_config.json': () => loadImageProcessorConfig(dir) }[name]!;
      expectRefused(load, new RegExp(`${name.replace('.', '\\.')}: .* must be a JSON object, got null$`));
    }
  });
});
