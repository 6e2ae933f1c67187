import type { JobError, Progress } from '../domain.js';

/** Commands a stage sends to the actor that does its work. */
export type WorkCommand =
  /** Cancel: SIGKILL every process at once (all of them make output a cancel throws away). */
  | { readonly type: 'work.stop' }
  | { readonly type: 'work.pause' }
  | { readonly type: 'work.resume' };

/** Reports from the work actor. `done`, `failed` and `stopped` come only once nothing it owns is live. */
export type WorkEvent =
  | { readonly type: 'work.started' }
  | { readonly type: 'work.progress'; readonly progress: Progress }
  /** Something the user should read that is not an error (e.g. a CPU fallback). */
  | { readonly type: 'work.notice'; readonly message: string }
  /** The output is in place: from here a cancel can no longer undo the job. */
  | { readonly type: 'work.committed' }
  | { readonly type: 'work.done'; readonly result: unknown }
  | { readonly type: 'work.failed'; readonly error: JobError }
  | { readonly type: 'work.stopped' };
