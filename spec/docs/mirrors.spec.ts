/**
 * Every `@mirrors` tag in src/ has the one form docs/equations.md states:
 *   @mirrors <owner>/<repo>@<rev> <path> <symbol>[, <symbol>…] [(note)]
 * so a reader can open exactly the file and function the code follows.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const REPO = String.raw`[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+`;
const REV = String.raw`(?:v?\d+(?:\.\d+)+|[0-9a-f]{7,40})`;          // a release tag or a commit
const PATH = String.raw`(?:[\w.-]+\/)*[\w-]+\.[A-Za-z]+`;           // a file, with its extension
const SYMBOL = String.raw`[A-Za-z_][\w.]*`;
const TAG = new RegExp(`^(${REPO})@(${REV}) (${PATH}) (${SYMBOL}(?:, ${SYMBOL})*)(?: \\(.+\\))?$`);

/** Why a tag's text (what follows `@mirrors `) is malformed, or null when it has the form. */
export function mirrorsProblem(tag: string): string | null {
  return TAG.test(tag) ? null : 'expected <owner>/<repo>@<rev> <path> <symbol>[, <symbol>…] [(note)]';
}

const tags = files(path.join(ROOT, 'src')).flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').flatMap((l, i) => {
  const m = /@mirrors\b(.*)$/.exec(l);
  return m ? [{ where: `${path.relative(ROOT, f)}:${i + 1}`, tag: m[1].trim() }] : [];
}));

describe('@mirrors tags', () => {
  it('src/ has tags to check', () => {
    expect(tags.length).toBeGreaterThan(40);
  });
  it('every tag in src/ names <owner>/<repo>@<rev> <path> <symbol>', () => {
    expect(tags.filter((t) => mirrorsProblem(t.tag) !== null)).toEqual([]);
  });
  it('the checker rejects the malformed forms and accepts the well-formed ones', () => {
    const bad = [
      'hf-4.45.1 models/llava_next/modeling_llava_next.py unpad_image',                       // no owner/repo@rev
      'huggingface/transformers@v4.45.1 LlamaDecoderLayer.forward',                            // no path
      'huggingface/transformers@v4.45.1 src/transformers/models/llama/modeling_llama.py',      // no symbol
      'huggingface/transformers src/transformers/image_transforms.py center_crop',            // no rev
      'Lxxx-0327/HERO@main llava/model/llava_arch.py get_valid_token_mask_for_unpadding',      // a branch is no revision
      'torch.nn.functional.linear',
      '',
    ];
    expect(bad.filter((t) => mirrorsProblem(t) === null)).toEqual([]);
    const good = [
      'huggingface/transformers@v4.45.1 src/transformers/models/llava_next/modeling_llava_next.py pack_image_features, unpad_image',
      'Lxxx-0327/HERO@41cc334 llava/model/llava_arch.py prepare_inputs_labels_for_multimodal (budget allocation)',
      'python-pillow/Pillow@9.4.0 src/libImaging/Resample.c ImagingResampleInner',
    ];
    expect(good.filter((t) => mirrorsProblem(t) !== null)).toEqual([]);
  });
});
