import { fromCallback } from 'xstate';
import { createJobDir, removeJobDir } from '../services/workdir.js';

/** Owns a job's temp folder for the job's whole life: made on start, removed on any ending. */
export const workdirActor = fromCallback<{ type: 'never' }, { jobDir: string }>(({ input }) => {
  createJobDir(input.jobDir);
  return () => removeJobDir(input.jobDir);
});
