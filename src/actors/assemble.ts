import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { AssembleWork } from '../domain.js';
import { removeStore } from '../services/checkpoints.js';
import { concatList, containerFor, droppedSubtitles, finalArgs } from '../services/ffmpeg/args.js';
import { onProgressFrames } from '../services/ffmpeg/progress.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import { commitOutput, partialPath, removeIfExists } from '../services/workdir.js';
import { defineWork } from './work.js';

export interface AssembleResult {
  readonly output: string;
}

/**
 * Joins the lossless segments, encodes them once for the container with the input's audio and
 * subtitles into `<dest>.upframe-partial-<id>`, then renames it into place.
 */
export const assembleWork = defineWork<AssembleWork, AssembleResult>('assemble', async (work, scope) => {
  scope.started();
  const output = resolve(work.output);
  const partial = partialPath(output, work.id);
  const { processed } = work;
  scope.onRelease(() => removeIfExists(partial));
  const dropped = droppedSubtitles(containerFor(output), work.media);
  if (dropped > 0) scope.notice(`${dropped} bitmap subtitle stream(s) cannot go into ${containerFor(output)}: left out (write .mkv to keep them)`);
  const list = join(work.jobDir, 'segments.txt');
  writeFileSync(list, concatList(processed.segments, processed.rate));
  const encode = {
    container: containerFor(output),
    frameWidth: processed.frameWidth,
    frameHeight: processed.frameHeight,
    outWidth: processed.outWidth,
    outHeight: processed.outHeight,
    frameRate: processed.rate,
    crf: work.options.crf,
  };
  const ffmpeg = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: finalArgs(encode, work.media, list, resolve(work.input), partial),
    role: 'mux',
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  onProgressFrames(ffmpeg.child.stdio[3] as Readable, (frame) => scope.progress(Math.min(frame, processed.frames), processed.frames));
  const ending = await endingOf(ffmpeg);
  if (ending.exit.code !== 0) throw toolFailure('writing the output failed', 'ffmpeg', ending, { kind: 'runtime', file: output });
  scope.progress(processed.frames, processed.frames);
  scope.commit(() => commitOutput(partial, output, work.options.overwrite));
  // The output is in place: checkpoints kept for --resume have served.
  if (processed.resumeDir) removeStore(processed.resumeDir);
  return { output };
});
