import { resolve } from 'node:path';
import type { ProbeResult, ProbeWork } from '../machines/job.js';
import { UserError } from '../services/errors.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { parseProbe, probeArgs } from '../services/ffmpeg/probe.js';
import { planJob } from '../services/plan.js';
import { checkPaths } from '../services/preflight.js';
import { collectText, lastLine } from '../services/streams.js';
import { defineWork } from './work.js';

/** Checks the paths, resolves the model and reads the input's streams with ffprobe. */
export const probeWork = defineWork<ProbeWork, ProbeResult>('probe', async (work, scope) => {
  scope.started();
  const input = resolve(work.input);
  checkPaths(input, resolve(work.output), work.options.overwrite);
  const ffprobe = scope.spawn({ command: ffmpegBinaries().ffprobe, args: probeArgs(input), role: 'ffprobe' });
  const [stdout, stderr, exit] = await Promise.all([collectText(ffprobe.child.stdout), collectText(ffprobe.child.stderr), ffprobe.exited]);
  if (exit.code !== 0) {
    throw new UserError('not a readable video', {
      file: input,
      tryMessage: `ffprobe says: ${lastLine(stderr) || `exit ${exit.code ?? exit.signal}`}`,
    });
  }
  return planJob(parseProbe(stdout, input), work.options);
});
