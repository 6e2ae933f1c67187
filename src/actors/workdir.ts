import { fromCallback } from 'xstate';
import type { JobEvent } from '../machines/job.js';
import { toJobError, UserError } from '../services/errors.js';
import { dirname } from 'node:path';
import { createJobDir, removeJobDir, sweepStaleJobDirs } from '../services/workdir.js';

/** Owns a job's temp folder for the job's whole life: made on start, removed on any ending. */
export const workdirActor = fromCallback<{ type: 'never' }, { jobDir: string }>(({ input, sendBack }) => {
  try {
    sweepStaleJobDirs(dirname(input.jobDir));
    createJobDir(input.jobDir);
  } catch (cause) {
    const error = new UserError('cannot create the work folder', { kind: 'usage', file: input.jobDir, tryMessage: 'choose another --temp-dir', cause });
    sendBack({ type: 'workdir.failed', error: toJobError(error) } satisfies JobEvent);
    return undefined;
  }
  return () => removeJobDir(input.jobDir);
});
