import type { JobError } from '../services/errors.js';

/** The processing stage is named by the hosts it chains: `upscale`, `interpolate` or both. */
export type StageName = 'probe' | 'scenes' | 'upscale' | 'interpolate' | 'upscale+interpolate' | 'assemble';
export type Order = 'upscale-first' | 'interpolate-first';
export interface Rate {
  readonly num: number;
  readonly den: number;
}
export type StageStatus = 'done' | 'cancelled' | 'failed';
export type JobStatus = 'done' | 'failed' | 'cancelled' | 'skipped';
export type ItemStatus = 'pending' | 'running' | JobStatus;

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly fps?: number;
  readonly etaSec?: number;
  /** Segments done (the current one's index) and their count, when the video is cut in several. */
  readonly segment?: number;
  readonly segments?: number;
}

export interface JobOptions {
  readonly model?: string;
  /** Undefined: the model's own scale; 1: no upscaling. */
  readonly scale?: 1 | 2 | 4;
  /** Frame-rate multiplier (`--interpolate`), or an exact target rate (`--fps`). */
  readonly interpolate?: 2 | 4;
  readonly fps?: Rate;
  readonly order?: Order;
  readonly interpolationModel?: string;
  readonly sceneThreshold?: number;
  /** How the video is cut into segments: fixed chunks, or windows with context on each side. */
  readonly mode?: 'chunked' | 'context';
  readonly chunk?: number;
  readonly window?: number;
  readonly overlap?: number;
  /** Keep finished segments across runs (cancel, crash, SIGKILL) and reuse them. */
  readonly resume?: boolean;
  /** Detect scenes (their own stage) before processing. */
  readonly scenes?: boolean;
  readonly minScene?: number;
  /** Items run at once in a batch (`--jobs N`). */
  readonly jobs?: number;
  /** Stop the batch at the first failed item (the rest are skipped). */
  readonly failFast?: boolean;
  readonly device: 'auto' | 'cpu' | 'cuda';
  readonly tile?: number;
  readonly crf?: number;
  readonly overwrite: boolean;
  readonly tempRoot: string;
  readonly graceMs: number;
}

export interface JobSpec {
  readonly id: string;
  readonly input: string;
  readonly output: string;
  readonly options: JobOptions;
}

export interface StartRequest {
  /** Unique across processes: names the jobs and their temp folders. */
  readonly runId?: string;
  readonly items: readonly { readonly input: string; readonly output: string }[];
  readonly options: JobOptions;
}

export interface JobOutput {
  readonly id: string;
  readonly input: string;
  readonly output: string;
  readonly status: JobStatus;
  readonly frames?: number;
  readonly error?: JobError;
}

export interface BatchOutput {
  readonly items: readonly JobOutput[];
  readonly cancelled: boolean;
}

/** Commands a stage sends to the actor that does its work. */
export type WorkCommand =
  /** Cancel: SIGKILL what a cancel throws away, SIGTERM what must finish something worth keeping. */
  | { readonly type: 'work.stop' }
  /** Grace over, or a second cancel: SIGKILL everything still owned. */
  | { readonly type: 'work.kill' }
  | { readonly type: 'work.pause' }
  | { readonly type: 'work.resume' };

/** Reports from the work actor. `done`, `failed` and `stopped` come only once nothing it owns is live. */
export type WorkEvent =
  | { readonly type: 'work.started' }
  | { readonly type: 'work.progress'; readonly progress: Progress }
  /** Something the user should read that is not an error (e.g. a CPU fallback). */
  | { readonly type: 'work.notice'; readonly message: string }
  | { readonly type: 'work.done'; readonly result: unknown }
  | { readonly type: 'work.failed'; readonly error: JobError }
  | { readonly type: 'work.stopped' };
