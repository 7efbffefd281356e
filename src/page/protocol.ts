/**
 * The messages between the page (ui.ts, the DOM) and its worker (worker.ts, the model): the run happens in
 * a worker so that the page stays responsive and its progress bar moves while a stage runs.
 */
import type { RgbImage } from '../core/image';
import type { RunReport } from '../report/summary';

/** The controls as the page read them; the worker turns them into `hero-lvlm trace` flags. */
export interface Controls {
  readonly useDefault: boolean;
  readonly question: string;
  readonly inputIds: string;
  readonly maxNew: string;
  readonly method: string;
  readonly backend: string;
  /** [flag, value] of every knob that is not blank */
  readonly knobs: ReadonlyArray<readonly [string, string]>;
  readonly record: boolean;
}

/** A step's tensor (HERO-1…6), for the step-through. */
export interface StepTensor { readonly name: string; readonly dtype: string; readonly shape: readonly number[]; readonly values: readonly number[] }

export interface RunResults {
  readonly answer: string;
  readonly report: RunReport;
  readonly visualTokens: number;
  readonly tokensLine: string;
  readonly overlay: RgbImage | null;
  readonly maps: RgbImage | null;
  readonly times: ReadonlyArray<readonly [string, number]>;
  readonly steps: readonly StepTensor[];
  readonly grid: number;
  readonly backend: string;
  /** the trace file (`hero-lvlm trace`'s bytes) when every tensor was recorded */
  readonly trace: Uint8Array | null;
  readonly traceName: string;
  readonly tensors: number;
}

export type ToWorker =
  | { readonly type: 'pick'; readonly files: ReadonlyArray<{ readonly path: string; readonly bytes: Uint8Array }> }
  | { readonly type: 'run'; readonly controls: Controls; readonly image: RgbImage; readonly imageName: string };

export type FromWorker =
  | { readonly type: 'picked'; readonly label: string; readonly files: number }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'stage'; readonly stage: string; readonly frac: number | null }
  | { readonly type: 'done'; readonly results: RunResults; readonly seconds: number }
  | { readonly type: 'error'; readonly message: string };
