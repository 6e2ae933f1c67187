import { resolve } from 'node:path';
import type { AssembleWork } from '../machines/job.js';
import { UserError } from '../services/errors.js';
import { containerFor, muxArgs } from '../services/ffmpeg/args.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { collectText, lastLine } from '../services/streams.js';
import { commitOutput, partialPath, removeIfExists } from '../services/workdir.js';
import { defineWork } from './work.js';

export interface AssembleResult {
  readonly output: string;
}

/** Muxes the encoded video with the input's audio and subtitles into `<dest>.upframe-partial-<id>`, then renames it. */
export const assembleWork = defineWork<AssembleWork, AssembleResult>('assemble', async (work, scope) => {
  scope.started();
  const output = resolve(work.output);
  const partial = partialPath(output, work.id);
  scope.onRelease(() => removeIfExists(partial));
  const mux = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: muxArgs(containerFor(output), work.media, work.video, resolve(work.input), partial),
    role: 'mux',
  });
  const [stderr, exit] = await Promise.all([collectText(mux.child.stderr), mux.exited]);
  if (exit.code !== 0) {
    throw new UserError('writing the output failed', { kind: 'runtime', file: output, tryMessage: `ffmpeg says: ${lastLine(stderr) || `exit ${exit.code ?? exit.signal}`}` });
  }
  scope.progress(1, 1);
  scope.commit(() => commitOutput(partial, output, work.options.overwrite));
  return { output };
});
