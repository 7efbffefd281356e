/**
 * LLaVA-1.5 from the command line: `random-weights --preset tiny-llava-1.5 | llava-1.5-7b`, then `run` with
 * every method defined on one crop, `trace`, and the one-line refusals (HiRED, GlobalCom², --image-aspect on
 * LLaVA-NeXT, HERO's --alpha). What each method does with the one crop (docs/baselines.md "LLaVA-1.5") is
 * checked on the trace against a plain-JS reading of the trace's own vision attentions.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SafetensorsFile } from '../../src/io/safetensors';
import { llavaNextKeys, loadLlavaNextConfig } from '../../src/llava/load';
import { keySpecSize } from '../../src/io/loader';
import { runCli } from '../util/cli';
import { imagePath, modelDir } from '../util/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-cli-llava15-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TINY = path.join(tmp, 'tiny15');
const IMAGE = imagePath('tall_h160_w30');
const T = 280_000;

/** Tiny model: 4 vision layers and a 2-layer decoder, so the layer flags each method needs are given. */
const METHOD_ARGS: Record<string, string[]> = {
  none: [],
  hero: ['--low-layers', '0,1', '--high-layers', '2', '--ratio', '0.5'],
  fastervlm: ['--ratio', '0.25'],
  'prumerge+': [],
  fastv: ['--fastv-layer', '1', '--ratio', '0.5'],
  sparsevlm: ['--sparsevlm-layers', '0,1'],
};

/** Head-mean CLS → patch attention of crop 0 at one layer, from a trace's vision.attentions.<l> [1, H, N+1, N+1]. */
function clsRow(f: SafetensorsFile, layer: number): number[] {
  const [, H, N1] = f.info(`vision.attentions.${layer}`).shape;
  const a = f.readNumbers(`vision.attentions.${layer}`);
  return Array.from({ length: N1 - 1 }, (_, j) => {
    let s = 0;
    for (let h = 0; h < H; h++) s += a[h * N1 * N1 + 1 + j]; // row 0 (CLS), column 1 + j
    return s / H;
  });
}

/** The k largest (ties: lower index) as a 0/1 mask. */
function topK(v: number[], k: number): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, k).map(([, i]) => i);
  return v.map((_, i) => (order.includes(i) ? 1 : 0));
}

describe('hero-lvlm on LLaVA-1.5', () => {
  beforeAll(() => {
    const r = runCli(['random-weights', '--preset', 'tiny-llava-1.5', '--dtype', 'f32', '--out', TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, T);

  it('random-weights --preset llava-1.5-7b: the hub geometry, 686 tensors, 7.06 B parameters, no image_newline', () => {
    const dir = path.join(tmp, 'l15_7b');
    const r = runCli(['random-weights', '--preset', 'llava-1.5-7b', '--dtype', 'f16', '--sparse', '--out', dir]);
    expect(r.code).toBe(0);
    const cfg = loadLlavaNextConfig(dir);
    expect([cfg.model_type, cfg.image_token_index, cfg.text_config.vocab_size, cfg.vision_config.image_size]).toEqual(['llava', 32000, 32064, 336]);
    const keys = llavaNextKeys(cfg);
    expect(keys.size).toBe(686);
    expect(keys.has('image_newline')).toBe(false);
    expect(Math.round(keySpecSize(keys) / 1e7) / 100).toBe(7.06);
    const pre = JSON.parse(fs.readFileSync(path.join(dir, 'preprocessor_config.json'), 'utf8'));
    expect([pre.image_processor_type, pre.crop_size.height, pre.size.shortest_edge, pre.image_grid_pinpoints]).toEqual(['CLIPImageProcessor', 336, 336, undefined]);
  }, T);

  for (const [method, extra] of Object.entries(METHOD_ARGS)) {
    it(`run --method ${method} on tiny-llava-1.5 (--image-aspect pad) writes its report`, () => {
      const out = path.join(tmp, `run-${method}`);
      // --input-ids: the preset's tokenizer is Llama-2's (32000 ids), the tiny decoder has 1024
      const r = runCli(['run', '--model', TINY, '--image', IMAGE, '--input-ids', '1,5,6,1000,7,8', '--image-aspect', 'pad',
        '--max-new-tokens', '2', '--method', method, ...extra, '--out', out, '--json'], { timeoutMs: T });
      expect({ code: r.code, err: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, err: '' });
      const rep = JSON.parse(r.stdout);
      expect(rep.grid).toEqual([0, 0]);
      expect(rep.visual_tokens.full).toBe(16);
      const kept: Record<string, number> = { none: 16, hero: 8, fastervlm: 4, fastv: 16, sparsevlm: 16 };
      if (method in kept) expect(rep.visual_tokens.kept).toBe(kept[method]);
      else expect(rep.visual_tokens.kept).toBeLessThan(16); // PruMerge+: the IQR outliers decide
      for (const f of ['overlay.png', 'attention_maps.png', 'report.json', 'report.html']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    }, T);
  }

  it('trace --method fastervlm: the crop keeps the top ⌊r·N⌋ tokens of the feature layer\'s head-mean CLS attention, in raster order', () => {
    const out = path.join(tmp, 'fastervlm.safetensors');
    const r = runCli(['trace', '--model', TINY, '--image', IMAGE, '--input-ids', '1,5,6,1000,7,8', '--max-new-tokens', '1',
      '--method', 'fastervlm', '--ratio', '0.25', '--out', out], { timeoutMs: T });
    expect(r.code).toBe(0);
    const f = SafetensorsFile.open(out);
    try {
      const keep = f.readNumbers('fastervlm.keep');
      expect(keep).toEqual(topK(clsRow(f, 2), 4)); // featureLayer 3 = the output of layer 2
      const D = f.info('image_features_projected').shape[2];
      const proj = f.readNumbers('image_features_projected'), packed = f.readNumbers('image_features_packed');
      const rows = keep.flatMap((k, j) => (k ? [j] : []));
      expect(packed).toEqual(rows.flatMap((j) => proj.slice(j * D, (j + 1) * D)));
    } finally { f.close(); }
  }, T);

  it('trace --method hero: the crop takes the thumbnail\'s rule, B_0 = ⌊r·N⌋ tokens by the high layers\' scores; no tile tensors', () => {
    const out = path.join(tmp, 'hero.safetensors');
    const r = runCli(['trace', '--model', TINY, '--image', IMAGE, '--input-ids', '1,5,6,1000,7,8', '--max-new-tokens', '1',
      '--method', 'hero', '--low-layers', '0,1', '--high-layers', '2', '--ratio', '0.5', '--out', out], { timeoutMs: T });
    expect(r.code).toBe(0);
    const f = SafetensorsFile.open(out);
    try {
      expect(f.names().filter((n) => n.startsWith('hero.')).sort()).toEqual(['hero.global_keep', 'hero.global_scores']);
      expect(f.metadata.image_aspect).toBe('crop');
      const keep = f.readNumbers('hero.global_keep');
      expect(keep.reduce((a, b) => a + b, 0)).toBe(8);
      expect(keep).toEqual(topK(f.readNumbers('hero.global_scores'), 8));
      // the code variant's second softmax keeps the order of layer 2's head-mean CLS attention row
      expect(keep).toEqual(topK(clsRow(f, 2), 8));
      expect(f.info('image_features_packed').shape[0]).toBe(8);
    } finally { f.close(); }
  }, T);

  it.each([
    ['hired', [], /^hero-lvlm: error: --method hired: not defined on LLaVA-1\.5 \(one crop, no tiles\)/],
    ['globalcom2', [], /^hero-lvlm: error: --method globalcom2: not defined on LLaVA-1\.5 \(one crop, no tiles\)/],
    ['hero', ['--alpha', '0.5', '--low-layers', '0,1', '--high-layers', '2'], /^hero-lvlm: error: --alpha: HERO on LLaVA-1\.5 has one crop/],
  ])('run --method %s is refused in one line', (method, extra, re) => {
    const r = runCli(['run', '--model', TINY, '--image', IMAGE, '--input-ids', '1,1000,2', '--method', method, ...(extra as string[]), '--out', path.join(tmp, 'no')]);
    // before the backend starts or anything is loaded: the error is all stderr says
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(re as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(tmp, 'no'))).toBe(false);
  }, T);

  it('--image-aspect: a bad value, and pad on a LLaVA-NeXT model, are refused in one line before loading', () => {
    const bad = runCli(['trace', '--model', TINY, '--image', IMAGE, '--input-ids', '1,1000,2', '--image-aspect', 'stretch', '--out', path.join(tmp, 'x.safetensors')]);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, "hero-lvlm: error: --image-aspect: 'stretch' is not one of crop, pad"]);
    const next = runCli(['trace', '--model', modelDir('llava-next-tiny'), '--image', IMAGE, '--input-ids', '1,1000,2', '--image-aspect', 'pad', '--out', path.join(tmp, 'y.safetensors')]);
    expect(next.code).toBe(2);
    expect(next.stderr.trim()).toMatch(/^hero-lvlm: error: --image-aspect: only for LLaVA-1\.5 checkpoints/);
  }, T);
});
