import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HeroError } from '../../src/core/errors';
import { f32BitsToBf16Bits, f32BitsToF16Bits } from '../../src/io/safetensors';
import { checkRoom, planShards, PRESETS, shardIndexJson, writeRandomCheckpoint } from '../../src/weights/random_checkpoint';
import { expectRefused } from '../util/errors';

const bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];

describe('random_checkpoint · pure parts', () => {
  const keys = new Map<string, readonly number[]>([['b', [10]], ['a', [2, 5]], ['c', [30]], ['d', [1]]]);

  it('planShards packs sorted names greedily under the limit; one shard is model.safetensors', () => {
    expect(planShards(keys, 4, 1000).map((s) => s.file)).toEqual(['model.safetensors']);
    const s = planShards(keys, 4, 100); // a:40 b:40 | c:120 (alone, over the limit) | d:4
    expect(s.map((x) => [x.file, x.tensors.map((t) => t.name), x.bytes])).toEqual([
      ['model-00001-of-00003.safetensors', ['a', 'b'], 80],
      ['model-00002-of-00003.safetensors', ['c'], 120],
      ['model-00003-of-00003.safetensors', ['d'], 4],
    ]);
  });

  it('planShards at an exact fit: a shard that reaches the limit exactly is kept whole (HF starts a new one only past it)', () => {
    // a:40 b:40 c:120 d:4 at 4 bytes per element. Limit 80: a + b = 80 exactly → one shard; limit 79 → a | b.
    expect(planShards(keys, 4, 80).map((x) => x.tensors.map((t) => t.name))).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(planShards(keys, 4, 79).map((x) => x.tensors.map((t) => t.name))).toEqual([['a'], ['b'], ['c'], ['d']]);
    // the whole model at exactly the limit (204 bytes) is one model.safetensors
    expect(planShards(keys, 4, 204).map((x) => x.file)).toEqual(['model.safetensors']);
    expect(planShards(keys, 4, 203).length).toBe(2);
  });

  it('shardIndexJson: total_size is the tensor bytes, weight_map names each tensor\'s shard', () => {
    const idx = shardIndexJson(planShards(keys, 2, 50)) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(idx.metadata.total_size).toBe((10 + 10 + 30 + 1) * 2);
    expect(idx.weight_map).toEqual({
      a: 'model-00001-of-00003.safetensors', b: 'model-00001-of-00003.safetensors',
      c: 'model-00002-of-00003.safetensors', d: 'model-00003-of-00003.safetensors',
    });
  });

  it('checkRoom refuses in one line with the GiB needed and free', () => {
    expectRefused(() => checkRoom('/x', 3 * 2 ** 30, 2 ** 29), /^random-weights: --out \/x needs 3\.00 GiB, 0\.50 GiB free$/);
    expect(() => checkRoom('/x', 100, 100)).not.toThrow();
  });

  it('f16/bf16 rounding: nearest, ties to even (hand-worked bit patterns)', () => {
    expect(f32BitsToF16Bits(bits(1))).toBe(0x3c00);
    expect(f32BitsToF16Bits(bits(1 + 2 ** -11))).toBe(0x3c00);            // tie → even (down)
    expect(f32BitsToF16Bits(bits(1 + 3 * 2 ** -11))).toBe(0x3c02);        // tie → even (up)
    expect(f32BitsToBf16Bits(bits(1))).toBe(0x3f80);
    expect(f32BitsToBf16Bits(bits(1 + 2 ** -8))).toBe(0x3f80);            // tie → even (down)
    expect(f32BitsToBf16Bits(bits(1 + 3 * 2 ** -8))).toBe(0x3f82);        // tie → even (up)
    expect(f32BitsToBf16Bits(bits(1 + 2 ** -8 + 2 ** -20))).toBe(0x3f81); // above the tie → up
    expect(f32BitsToBf16Bits(bits(-2))).toBe(0xc000);
    expect(f32BitsToBf16Bits(0x7fc00000)).toBe(0x7fc0);                   // NaN stays NaN
  });

  it('the hub presets have the hub\'s geometry (vocab 32064, <image> 32000, 13B width 5120)', () => {
    const c7 = PRESETS['llava-v1.6-vicuna-7b'].config() as { image_token_index: number; text_config: Record<string, unknown> };
    const c13 = PRESETS['llava-v1.6-vicuna-13b'].config() as { text_config: Record<string, unknown> };
    expect(c7.image_token_index).toBe(32000);
    expect(c7.text_config.vocab_size).toBe(32064);
    expect(c13.text_config).toMatchObject({ hidden_size: 5120, num_hidden_layers: 40, intermediate_size: 13824 });
  });

  it('a bad preset or an existing --out is refused in one line, and nothing is written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-'));
    try {
      expectRefused(() => writeRandomCheckpoint(path.join(dir, 'o'), 'llava-70b', 'f16', { seed: 1 }), /--preset: 'llava-70b'/);
      expectRefused(() => writeRandomCheckpoint(dir, 'tiny-clip', 'f16', { seed: 1 }), /--out: .* already exists/);
      const e = expectRefused(() => writeRandomCheckpoint(path.join(dir, 'o'), 'tiny-clip', 'f16', { seed: 1, freeBytes: 1000 }), /needs .* GiB, 0\.00 GiB free/);
      expect(e).toBeInstanceOf(HeroError);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failure half-way leaves neither DIR nor DIR.partial', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-'));
    let calls = 0;
    try {
      expect(() => writeRandomCheckpoint(path.join(dir, 'o'), 'tiny-clip', 'f16', {
        seed: 1, maxShardBytes: 20000, onProgress: () => { if (++calls === 5) throw new Error('disk gone'); },
      })).toThrow('disk gone');
      expect(calls).toBe(5);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--sparse: the same files, headers and sizes as a full write, the tensors read back as zeros', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-'));
    try {
      writeRandomCheckpoint(path.join(dir, 'full'), 'tiny-llava', 'f16', { seed: 1, maxShardBytes: 200000 });
      writeRandomCheckpoint(path.join(dir, 'sparse'), 'tiny-llava', 'f16', { seed: 1, maxShardBytes: 200000, sparse: true });
      const files = fs.readdirSync(path.join(dir, 'full')).sort();
      expect(fs.readdirSync(path.join(dir, 'sparse')).sort()).toEqual(files);
      for (const f of files.filter((x) => x.endsWith('.safetensors'))) {
        const a = fs.readFileSync(path.join(dir, 'full', f)), b = fs.readFileSync(path.join(dir, 'sparse', f));
        expect(b.length).toBe(a.length);
        const h = 8 + Number(a.readBigUInt64LE(0));
        expect(b.subarray(0, h).equals(a.subarray(0, h))).toBe(true);
        expect(b.subarray(h).every((x) => x === 0)).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
