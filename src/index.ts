/**
 * hero-lvlm's library API: the public entry points, re-exported by area. Every equation function is
 * reachable (see docs/equations.md for the id ↔ function map).
 */
export { HeroError } from './core/errors';
export { BACKENDS, initBackend, requestedBackend, type BackendName } from './backend';

// io
export { SafetensorsFile, SafetensorsDir, writeSafetensors, type TensorToWrite } from './io/safetensors';
export { readImage, writePng, MAX_IMAGE_PIXELS, type RgbImage, type AlphaMode, type ReadImageOptions } from './io/image';
export { loadTokenizer, llavaPromptIds, promptText, clipTextIds, VICUNA_V1_SYSTEM, PROMPT_TEMPLATES, type PromptTemplate, type Tokenizer } from './io/tokenizer';

// primitives
export * as nn from './nn/index';

// CLIP
export { visionModel, disposeVisionOutput, type VisionTaps, type VisionOutput, type ClipVisionParams } from './clip/vision';
export { VisionPool } from './accel/vision_pool';
export { installAccelerations, chooseAccelerations, type Accelerations, type AccelOptions } from './accel';
export { forbidSyncReads, outsideKernels, type SyncReadGuard } from './accel/sync_reads';
export { tidyAsync } from './core/scope';
export { textModel, type TextOutput } from './clip/text';
export { imageFeatures, textFeatures, clipLogits, type ClipModel } from './clip/model';
export { loadClipModel, loadClipVisionModel, disposeClipModel, clipVisionKeys } from './clip/load';

// LLaVA-NeXT
export { preprocess, type ProcessedImage, type ImageProcessorConfig } from './llava/image_processor';
export { resizeBicubic } from './llava/pil_resize';
export { selectBestResolution, anyresGridShape, unpadRegion, numImageTokens } from './llava/anyres';
export { encodeImage, disposeVisualContext, type LlavaNextModel } from './llava/model';
export { loadLlavaNext, disposeLlavaNext, llavaNextKeys, loadImageProcessorConfig } from './llava/load';
export { projector } from './llava/projector';
export { stitchTiles, packImageFeatures } from './llava/pack';
export { expandImageTokens, spliceImageFeatures } from './llava/merge';
export type { VisualContext } from './llava/visual_context';
export { isLlava15, preprocessLlava15, expandToSquare, padColour, singleCropFeatures, validateClipImageProcessorConfig, IMAGE_ASPECTS, type ImageAspect } from './llava/llava15';

// Llama
export { llamaForward, embedTokens, type LlamaParams, type DecoderOutput } from './llama/decoder';
export { loadLlama } from './llama/load';
export { KvCache } from './llama/kv_cache';
export { greedyGenerate, prefill, greedyDecode, LLAMA_DECODER, type Prefill, type Decoder, type GreedyOptions } from './llama/generate';

// HERO, its efficiency model, the baselines
export * as hero from './hero/index';
export { applyHero, type HeroOptions } from './hero/index';

// the paper's analyses (docs/analyses.md)
export * as analyze from './analyze/index';
export { prefillFlops, heroPrefillFlops, kvCacheBytes, type DecoderDims } from './flops/flops';
export { presetDims, PRESETS } from './flops/presets';
export { hookedForward, hookedDecoder, HookKvCache, type DecoderHook, type RowEdit } from './baselines/decoder_hooks';
export { fastvKeep, fastvHook, type FastvOptions } from './baselines/fastv';
export { sparseVlmMethod, sparseVlmHook, sparseVlmRaters, dpcKnnCluster, type SparseVlmOptions, type SparseVlmRecord } from './baselines/sparsevlm';

// comparing traces (`hero-lvlm compare`)
export { TRACE_TOL, type Tol } from './core/tolerances';
export {
  compareTraces, compareTensor, traceOrder, toleranceFor, diffStats, globFilter, formatCompareText, compareJson, TRACE_ORDER,
  type CompareResult, type TensorComparison, type TraceSource, type DiffStats,
} from './report/compare';

// the whole job
export { runPipeline, type PipelineInput, type PipelineResult } from './pipeline';
export { METHODS, METHOD_NAMES, INTERNAL_METHODS, keepMaskMethod, keepMaskRows, methodByName, runMethod, type KeepMaskOptions, type MethodSpec } from './methods';
export type { Method, DecoderSide, PromptRows, StageTimer, PruneResult, NamedTensor } from './methods/contract';
export type { MethodReport } from './report/method_report';
export { ensureDefaultWeights, DEFAULT_MODEL_DIR, DEFAULT_CLIP_DIR } from './weights/default_model';

// benchmarks (`hero-lvlm eval`, docs/eval.md): prompts, the protocols' scoring rules, data layouts, RUN files
export { TASKS, TASK_IDS, PROTOCOLS, type TaskId, type Protocol, type EvalQuestion, type TaskSpec } from './eval/tasks';
export { evalAiNormalize } from './eval/normalize';
export { scoreTask, type ScoreReport } from './eval/score';
export { loadTask, readPredictions, matchPredictions, type LoadedTask } from './eval/load';
export { uploadFile } from './eval/submit';
export { parseShard, shardIds, mergeShards, type Shard } from './eval/shard';
export { planPredict, predictLoop, progressLine, type Answered } from './eval/predict';
export { openRun, readRun, writeRun } from './eval/run_file';
export type { PredictionLine, RunSettings } from './eval/run';
