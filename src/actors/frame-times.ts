import type { MediaInfo } from '../domain.js';
import { frameTimesArgs, parseFrameTimes, type FrameTimes } from '../services/ffmpeg/probe.js';
import { ffprobeOutput } from './ffprobe.js';
import type { WorkScope } from './work.js';

/**
 * Where each frame of the input is, read once by ffprobe (demuxing only) for a job whose segments
 * start past frame 0: each segment's decoder then seeks near its first frame instead of decoding the
 * film from its start, which over a long film's hundreds of segments would decode it hundreds of
 * times. Undefined when the times are not trustworthy (see parseFrameTimes): decoders then start at 0.
 */
export async function readFrameTimes(scope: WorkScope, input: string, media: Pick<MediaInfo, 'frameCount' | 'videoStream'>): Promise<FrameTimes | undefined> {
  const csv = await ffprobeOutput(scope, frameTimesArgs(input, media), 'reading frame times failed for', input);
  return csv === undefined ? undefined : parseFrameTimes(csv, media.frameCount);
}
