import { frameTimesArgs, parseFrameTimes, type FrameTimes } from '../services/ffmpeg/probe.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { collectText } from '../services/streams.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import type { WorkScope } from './work.js';

/**
 * Where each frame of the input is, read once by ffprobe (demuxing only) for a job whose segments
 * start past frame 0: each segment's decoder then seeks near its first frame instead of decoding the
 * film from its start, which over a long film's hundreds of segments would decode it hundreds of
 * times. Undefined when the times are not trustworthy (see parseFrameTimes): decoders then start at 0.
 */
export async function readFrameTimes(scope: WorkScope, input: string, frames: number): Promise<FrameTimes | undefined> {
  const ffprobe = scope.spawn({ command: ffmpegBinaries().ffprobe, args: frameTimesArgs(input), role: 'ffprobe' });
  const [stdout, ending] = await Promise.all([collectText(ffprobe.child.stdout), endingOf(ffprobe)]);
  if (ending.exit.signal) throw toolFailure('reading frame times failed for', 'ffprobe', ending, { kind: 'runtime', file: input });
  return ending.exit.code === 0 ? parseFrameTimes(stdout, frames) : undefined;
}
