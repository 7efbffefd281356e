/**
 * Weights larger than one storage-buffer binding, on webgpu (docs/gpu.md "Buffer limits").
 *
 * WebGPU binds every tfjs tensor whole, and a binding is limited to the device's
 * `maxStorageBufferBindingSize` (128 MiB by default; SwiftShader grants 1 GiB, an H200 2 GiB). Vicuna-7B's
 * `embed_tokens` and `lm_head` are 32064 × 4096 f32 = 501 MiB each. This acceleration lets such a matrix
 * W [V, D] stay on the host and go to the device as row blocks W_k [V_k, D], each within the binding:
 *   - the embedding lookup (gather of rows) gathers each id from the block that holds its row, then
 *     puts the rows back in the ids' order (a row-block gather);
 *   - the product x Wᵀ (lm_head; nn/linear.ts writes it as matMul(x, W, false, true)) is x W_kᵀ per block,
 *     each a block of the output's columns, concatenated along the last axis (a column-block matmul).
 * Both are the reference's numbers: each output element is the same row copy or the same dot product.
 *
 * It sits below the model code, at the backend's kernels (GatherV2, BatchMatMul): a tensor over the limit
 * that reaches them is split there, on its first use, from its host values (tfjs keeps a new tensor's values
 * on the host until a kernel first uses it), and its blocks are freed with it. Resident weights are split
 * once; a streamed group's tensors (core/weights.ts) are split at each use, as they are uploaded at each use.
 * The matrix itself never gets a device buffer; its host copy stays (what a streamed group keeps anyway).
 * Installed with the webgpu backend (./webgpu.ts finishWebGpu) and said at start-up; spec/accel/binding_split.spec.ts
 * checks it against the plain kernels on cpu and on webgpu, and the tiny goldens through it
 * ($HERO_LVLM_WEBGPU_MAX_BINDING, below).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeroError } from '../core/errors';

/**
 * For tests only: a smaller maxStorageBufferBindingSize than the device grants, in bytes, so that the tiny
 * models exercise the split (and every buffer is checked against it) on any adapter.
 */
export const WEBGPU_MAX_BINDING_ENV = 'HERO_LVLM_WEBGPU_MAX_BINDING';

/** The cap from $HERO_LVLM_WEBGPU_MAX_BINDING, or undefined; a HeroError when it is not a positive integer. */
export function bindingCapFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env[WEBGPU_MAX_BINDING_ENV];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 4)) throw new HeroError(`$${WEBGPU_MAX_BINDING_ENV}: '${v}' is not a number of bytes (an integer ≥ 4)`);
  return n;
}

export interface RowBlock { readonly start: number; readonly rows: number }

/**
 * The row blocks of an f32 matrix [rows, cols] within `limitBytes` each: as many rows as fit, the last block
 * the rest. A HeroError when one row does not fit.
 */
export function rowBlocks(rows: number, cols: number, limitBytes: number, what = 'a matrix'): RowBlock[] {
  const per = Math.floor(limitBytes / (4 * cols));
  if (per < 1) throw new HeroError(`webgpu: one row of ${what} [${rows}, ${cols}] (f32) exceeds maxStorageBufferBindingSize (${limitBytes} B): it cannot be split into row blocks`);
  const out: RowBlock[] = [];
  for (let start = 0; start < rows; start += per) out.push({ start, rows: Math.min(per, rows - start) });
  return out;
}

/** Whether a weight of this shape is split by the kernels below (f32 over the limit, 2-D, one row within it). */
export function isSplittable(shape: readonly number[], limitBytes: number): boolean {
  return shape.length === 2 && 4 * shape[0] * shape[1] > limitBytes && 4 * shape[1] <= limitBytes;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
interface Block extends RowBlock { readonly info: tf.TensorInfo }
type DataId = object;

const bytesOf = (t: tf.TensorInfo): number => 4 * t.shape.reduce((a, b) => a * b, 1);

export interface BindingSplit {
  /** the blocks held now (each a backend data id, not counted in tf.memory()) */
  blocks(): number;
  /** removes the split and frees every block */
  uninstall(): void;
}

/**
 * Installs the split on `backendName`'s GatherV2 and BatchMatMul kernels for tensors over `limitBytes`.
 * The blocks are the split's own data, made inside the first kernel that uses a weight and kept until the
 * weight goes: the backend's numDataIds leaves them out, so that tfjs's per-kernel leak check (data ids
 * before and after each kernel) and tf.memory() see what they saw without the split.
 */
export function installBindingSplit(backendName: string, limitBytes: number): BindingSplit {
  const backend = tf.findBackend(backendName) as (tf.KernelBackend & { disposeData(id: DataId, force?: boolean): boolean }) | null;
  if (!backend) throw new Error(`installBindingSplit: backend ${backendName} is not registered`);
  const kernel = (name: string): tf.KernelConfig => {
    const k = tf.getKernel(name, backendName);
    if (!k) throw new Error(`installBindingSplit: ${backendName} has no ${name} kernel`);
    return k;
  };
  const gather = kernel('GatherV2'), matMul = kernel('BatchMatMul'), concat = kernel('Concat');
  const run = (k: tf.KernelConfig, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: tf.NamedAttrMap): tf.TensorInfo =>
    (k.kernelFunc as KernelFunc)({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
  const free = (t: tf.TensorInfo): void => { backend.disposeData(t.dataId); };
  // a backend tensor from host values (every backend has write; not every one has makeTensorInfo)
  const make = (shape: number[], dtype: 'float32' | 'int32', values: Float32Array | Int32Array): tf.TensorInfo =>
    ({ dataId: backend.write(values, shape, dtype), shape, dtype });

  const blocks = new Map<DataId, Block[]>();
  const blocksOf = (w: tf.TensorInfo): Block[] => {
    let b = blocks.get(w.dataId);
    if (b) return b;
    const [V, D] = w.shape;
    let values: unknown;
    try { values = backend.readSync(w.dataId); } catch (e) {
      throw new HeroError(`webgpu: a [${w.shape.join(', ')}] tensor over maxStorageBufferBindingSize is already on the device, so it cannot be split into row blocks (${(e as Error).message.split('\n')[0]})`);
    }
    const host = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
    b = rowBlocks(V, D, limitBytes, 'a weight').map((r) => ({ ...r, info: make([r.rows, D], 'float32', host.subarray(r.start * D, (r.start + r.rows) * D)) }));
    blocks.set(w.dataId, b);
    return b;
  };
  const freeBlocks = (id: DataId): void => {
    for (const b of blocks.get(id) ?? []) free(b.info);
    blocks.delete(id);
  };

  // The embedding lookup: each id from its row block, then back in the ids' order.
  const gatherSplit: KernelFunc = (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    if (x.dtype !== 'float32' || bytesOf(x) <= limitBytes) return (gather.kernelFunc as KernelFunc)(args);
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
    if (x.shape.length !== 2 || indices.shape.length !== 1 || (axis !== 0 && axis !== -2) || batchDims !== 0) {
      throw new HeroError(`webgpu: gather from a [${x.shape.join(', ')}] tensor over maxStorageBufferBindingSize: only rows of a matrix by a list of ids are split (axis ${axis}, ids [${indices.shape.join(', ')}])`);
    }
    const ids = backend.readSync(indices.dataId) as Int32Array; // made from the host ids (llama/decoder.ts embedTokens)
    const parts: tf.TensorInfo[] = [];
    const order = new Int32Array(ids.length); // order[i]: where the row of ids[i] lands in the concatenation
    let placed = 0;
    for (const b of blocksOf(x)) {
      const local: number[] = [];
      ids.forEach((id, i) => { if (id >= b.start && id < b.start + b.rows) { order[i] = placed + local.length; local.push(id - b.start); } });
      if (local.length === 0) continue;
      const idx = make([local.length], 'int32', Int32Array.from(local));
      parts.push(run(gather, { x: b.info, indices: idx }, { axis: 0, batchDims: 0 }));           // this block's ids' rows, D wide
      free(idx);
      placed += local.length;
    }
    if (placed !== ids.length) throw new HeroError(`webgpu: token id outside [0, ${x.shape[0]}) in a split embedding lookup`);
    const rows = parts.length === 1 ? parts[0] : run(concat, parts, { axis: 0 });                  // [T, D], block order
    const perm = make([ids.length], 'int32', order);
    const out = run(gather, { x: rows, indices: perm }, { axis: 0, batchDims: 0 });                 // [T, D], ids' order
    free(perm);
    if (rows !== parts[0]) free(rows);
    parts.forEach(free);
    return out;
  };

  // x Wᵀ with W over the limit: one block of output columns per row block of W.
  const matMulSplit: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (b.dtype !== 'float32' || bytesOf(b) <= limitBytes) return (matMul.kernelFunc as KernelFunc)(args);
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (b.shape.length !== 2 || !transposeB) {
      throw new HeroError(`webgpu: a product with a [${b.shape.join(', ')}] tensor over maxStorageBufferBindingSize: only x·Wᵀ with W a matrix is split (transposeB ${transposeB})`);
    }
    const parts = blocksOf(b).map((blk) => run(matMul, { a, b: blk.info }, { transposeA, transposeB: true })); // per block: its V_k output columns
    if (parts.length === 1) return parts[0];
    const out = run(concat, parts, { axis: parts[0].shape.length - 1 });                            // [T, V]: the blocks side by side
    parts.forEach(free);
    return out;
  };

  const replaced: tf.KernelConfig[] = [];
  for (const [k, f] of [[gather, gatherSplit], [matMul, matMulSplit]] as const) {
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({ ...k, kernelFunc: f as tf.KernelFunc });
    replaced.push(k);
  }
  // A split tensor's blocks go when it goes.
  const disposeData = backend.disposeData, numDataIds = backend.numDataIds;
  const held = (): number => [...blocks.values()].reduce((a, b) => a + b.length, 0);
  backend.disposeData = function (id: DataId, force?: boolean): boolean {
    const released = disposeData.call(backend, id, force);
    if (released && blocks.has(id)) freeBlocks(id);
    return released;
  };
  backend.numDataIds = function (): number { return numDataIds.call(backend) - held(); };
  return {
    blocks: held,
    uninstall: () => {
      for (const k of replaced) {
        tf.unregisterKernel(k.kernelName, backendName);
        tf.registerKernel(k);
      }
      backend.disposeData = disposeData;
      backend.numDataIds = numDataIds;
      for (const id of [...blocks.keys()]) freeBlocks(id);
    },
  };
}
