import { statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { AssembleWork, ProcessResult } from '../domain.js';
import { removeStore } from '../services/checkpoints.js';
import { freeBytes, isNoSpace, notEnoughSpace } from '../services/disk-space.js';
import { assembleArgs, concatList, type Container, containerFor, droppedSubtitles, jobEncoding } from '../services/ffmpeg/args.js';
import { coverArgs, coverExtractArgs, coverFiles, coverKeeping, coverNotice } from '../services/ffmpeg/covers.js';
import { onProgressFrames } from '../services/ffmpeg/progress.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { sweepStaleLocks } from '../services/output-lock.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import { verifyWritten, type WrittenFile } from '../services/verify-output.js';
import { commitOutput, partialPath, removeIfExists, sweepStalePartials } from '../services/workdir.js';
import { writePreview } from './preview.js';
import { readBackFrames } from './read-back.js';
import { defineWork, type WorkScope } from './work.js';

export interface AssembleResult {
  readonly output: string;
}

/** Says what it removed: partial files and locks left in the output's folder by runs that are gone. */
function sweepOutputFolder(scope: WorkScope, folder: string): void {
  const removed = [...sweepStalePartials(folder), ...sweepStaleLocks(folder)];
  if (removed.length === 0) return;
  scope.notice(`removed ${removed.length} file(s) left in ${folder} by upframe runs that ended: ${removed.map((path) => basename(path)).join(', ')}`);
}

/** The segments' size on disk: about the output's, as they are its video, when nothing else tells. */
function segmentBytes(processed: ProcessResult): number {
  return processed.segments.reduce((sum, segment) => {
    try {
      return sum + statSync(segment.file).size;
    } catch {
      return sum;
    }
  }, 0);
}

async function readBack(scope: WorkScope, file: string): Promise<WrittenFile> {
  const frames = await readBackFrames(scope, file);
  return frames === undefined ? { opened: false, frames: 0 } : { opened: true, frames };
}

/**
 * The assembly's arguments for the source's cover pictures. Matroska attaches them from files: their
 * pictures are copied out of the source into the job's folder first (one ffmpeg run, owned like the rest).
 */
async function coversFor(scope: WorkScope, work: AssembleWork, container: Container, input: string): Promise<string[]> {
  const notice = coverNotice(container, work.media);
  if (notice) scope.notice(notice);
  const covers = work.media.covers ?? [];
  if (covers.length === 0 || coverKeeping(container) !== 'attachment') return coverArgs(container, work.media);
  const files = coverFiles(covers, work.jobDir);
  const ffmpeg = scope.spawn({ command: ffmpegBinaries().ffmpeg, args: coverExtractArgs(input, files), role: 'mux' });
  const ending = await endingOf(ffmpeg);
  if (ending.exit.code !== 0) throw toolFailure('copying the cover picture out failed for', 'ffmpeg', ending, { kind: 'runtime', file: input });
  return coverArgs(container, work.media, files);
}

/**
 * Joins the segments, already in the output's codec, by stream copy with the input's audio and
 * subtitles into a partial file beside the destination, reads it back, then renames it into place:
 * no video is encoded here, and the temp folder never holds more than the segments.
 * ffmpeg's exit code alone does not prove the file whole: on a full disk ffmpeg 5.1 exits 0 with an
 * mp4 lacking its index or an mkv cut short, so nothing is committed unless ffprobe finds every frame.
 */
export const assembleWork = defineWork<AssembleWork, AssembleResult>('assemble', async (work, scope) => {
  scope.started();
  const output = resolve(work.output);
  const partial = partialPath(output, work.id);
  const { processed } = work;
  sweepOutputFolder(scope, dirname(output));
  scope.onRelease(() => removeIfExists(partial));
  // `upframe preview`: one frame as PNG instead of a video (actors/preview.ts).
  if (processed.preview) return writePreview(scope, work, partial, output);
  const container = containerFor(output);
  const dropped = droppedSubtitles(container, work.media);
  if (dropped > 0) scope.notice(`${dropped} bitmap subtitle stream(s) cannot go into ${container}: left out (write .mkv to keep them)`);
  const list = join(work.jobDir, 'segments.txt');
  try {
    writeFileSync(list, concatList(processed.segments, processed.rate));
  } catch (cause) {
    if (isNoSpace(cause)) throw notEnoughSpace(work.jobDir, undefined, freeBytes(work.jobDir), { written: 'the list of segments', elsewhere: 'another --temp-dir' });
    throw cause;
  }
  const covers = await coversFor(scope, work, container, resolve(work.input));
  const ffmpeg = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: assembleArgs(container, jobEncoding(work.options, output, work.media), work.media, list, resolve(work.input), partial, covers),
    role: 'mux',
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let encodedFrames = 0;
  onProgressFrames(ffmpeg.child.stdio[3] as Readable, (frame) => {
    encodedFrames = Math.max(encodedFrames, frame);
    scope.progress(Math.min(frame, processed.frames), processed.frames);
  });
  const ending = await endingOf(ffmpeg);
  const report = { file: partial, output, plannedFrames: processed.frames, encodedFrames, stderr: ending.stderr, fallbackBytes: segmentBytes(processed) };
  if (ending.exit.code !== 0 && !isNoSpace(ending.stderr)) throw toolFailure('writing the output failed', 'ffmpeg', ending, { kind: 'runtime', file: output });
  verifyWritten({ ...report, written: ending.exit.code === 0 ? await readBack(scope, partial) : { opened: false, frames: 0 } });
  scope.progress(processed.frames, processed.frames);
  scope.commit(() => {
    try {
      commitOutput(partial, output, work.options.overwrite);
    } catch (cause) {
      // A link or rename needs no data blocks, but a full folder may have no room for one more name.
      if (isNoSpace(cause)) throw notEnoughSpace(dirname(output), undefined, freeBytes(dirname(output)));
      throw cause;
    }
  });
  // The output is in place: checkpoints kept for --resume have served.
  if (processed.resumeDir) removeStore(processed.resumeDir);
  return { output };
});
