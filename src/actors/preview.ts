import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AssembleWork } from '../domain.js';
import { previewArgs } from '../services/ffmpeg/args.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { UserError } from '../services/errors.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import { commitOutput } from '../services/workdir.js';
import type { WorkScope } from './work.js';

/**
 * The assemble stage of a preview job: instead of encoding a video, one ffmpeg writes the segment's
 * one frame as PNG into the partial file (with --compare, the source frame beside it), then the same
 * commit as a video's puts it at the destination.
 */
export async function writePreview(scope: WorkScope, work: AssembleWork, partial: string, output: string): Promise<{ output: string }> {
  const { processed } = work;
  const preview = processed.preview!;
  const ffmpeg = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: previewArgs(processed, resolve(processed.segments[0].file), partial, preview.compare ? preview.sourceFile : undefined),
    role: 'mux',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ending = await endingOf(ffmpeg);
  if (ending.exit.code !== 0) throw toolFailure('writing the preview failed', 'ffmpeg', ending, { kind: 'runtime', file: output });
  let size = 0;
  try {
    size = statSync(partial).size;
  } catch {
    // not written: said below
  }
  if (size === 0) throw new UserError('writing the preview failed: no picture was written', { kind: 'runtime', file: output, tryMessage: 'is the disk full? see upframe doctor' });
  scope.progress(1, 1);
  scope.commit(() => commitOutput(partial, output, work.options.overwrite));
  return { output };
}
