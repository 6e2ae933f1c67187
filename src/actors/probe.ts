import { resolve } from 'node:path';
import type { ProbeResult, ProbeWork } from '../domain.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { parseProbe, probeArgs } from '../services/ffmpeg/probe.js';
import { planJob } from '../services/plan.js';
import { checkPaths } from '../services/preflight.js';
import { collectText } from '../services/streams.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import { defineWork } from './work.js';

/** Checks the paths, resolves the model and reads the input's streams with ffprobe. */
export const probeWork = defineWork<ProbeWork, ProbeResult>('probe', async (work, scope) => {
  scope.started();
  const input = resolve(work.input);
  checkPaths(input, resolve(work.output), work.options.overwrite, Boolean(work.options.preview));
  const ffprobe = scope.spawn({ command: ffmpegBinaries().ffprobe, args: probeArgs(input), role: 'ffprobe' });
  const [stdout, ending] = await Promise.all([collectText(ffprobe.child.stdout), endingOf(ffprobe)]);
  if (ending.exit.code !== 0) throw toolFailure('not a readable video', 'ffprobe', ending, { kind: 'input', file: input });
  return planJob(parseProbe(stdout, input), work.options);
});
