import { dirname } from 'node:path';
import { fromCallback } from 'xstate';
import type { JobEvent } from '../machines/job.js';
import { toJobError, UserError } from '../services/errors.js';
import { lockOutput, type OutputLock } from '../services/output-lock.js';
import { createJobDir, removeJobDir, sweepStaleJobDirs } from '../services/workdir.js';

export interface WorkdirInput {
  readonly jobDir: string;
  /** The job's output, to lock. */
  readonly output: string;
}

/**
 * Owns, for the job's whole life, its temp folder and its output's lock: made and taken on start,
 * removed and released on any ending (the job's final states stop this actor). The lock makes a
 * second run on the same output refuse at once instead of racing this one; it also covers the
 * --resume folder, which is keyed by input and output, so two runs never share one.
 */
export const workdirActor = fromCallback<{ type: 'never' }, WorkdirInput>(({ input, sendBack }) => {
  let lock: OutputLock | undefined;
  const release = (): void => {
    lock?.release();
    removeJobDir(input.jobDir);
  };
  try {
    sweepStaleJobDirs(dirname(input.jobDir));
    createJobDir(input.jobDir);
  } catch (cause) {
    const error = new UserError('cannot create the work folder', { kind: 'usage', file: input.jobDir, tryMessage: 'choose another --temp-dir', cause });
    sendBack({ type: 'workdir.failed', error: toJobError(error) } satisfies JobEvent);
    return undefined;
  }
  try {
    lock = lockOutput(input.output, input.jobDir);
  } catch (error) {
    sendBack({ type: 'workdir.failed', error: toJobError(error) } satisfies JobEvent);
  }
  return release;
});
