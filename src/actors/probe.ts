import { resolve } from 'node:path';
import type { MediaInfo, ProbeResult, ProbeWork } from '../domain.js';
import { gridFrames, gridNotice, gridRate, mayVaryInRate, onGrid } from '../services/ffmpeg/constant-rate.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { firstFrameSideDataArgs, parseFirstFrameHdr10, probeArgs, readProbe } from '../services/ffmpeg/probe.js';
import { planJob } from '../services/plan.js';
import { checkPaths } from '../services/preflight.js';
import { collectText } from '../services/streams.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import { ffprobeOutput } from './ffprobe.js';
import { readFrameTimes } from './frame-times.js';
import { checkSideStreams } from './side-streams.js';
import { defineWork, type WorkScope } from './work.js';

/** ffprobe's field orders, as a notice says them: which field is shown first. */
const FIELD_ORDERS: Readonly<Record<string, string>> = { tt: 'top first', bb: 'bottom first', tb: 'top coded, bottom first', bt: 'bottom coded, top first' };

/**
 * A source whose rates disagree has its frame times read (demuxing only): frames not one to a slot of
 * the grid are put on it as they are decoded (services/ffmpeg/constant-rate.ts), with a notice.
 */
async function constantRate(scope: WorkScope, input: string, media: MediaInfo): Promise<MediaInfo> {
  if (!mayVaryInRate(media)) return media;
  const times = await readFrameTimes(scope, input, media);
  const rate = gridRate(media.frameRate, media.averageRate);
  const frames = times && gridFrames(times.times, rate);
  if (frames === undefined) return media;
  const gridded = onGrid(media, rate, frames);
  scope.notice(gridNotice(gridded));
  return gridded;
}

/**
 * A PQ source whose container holds no HDR10 metadata may carry it in its stream (HEVC SEI): read from
 * its first frame (one frame decoded), so the encode can carry it on.
 */
async function hdr10(scope: WorkScope, input: string, media: MediaInfo): Promise<MediaInfo> {
  if (media.colour?.transfer !== 'smpte2084' || media.colour.hdr10) return media;
  const json = await ffprobeOutput(scope, firstFrameSideDataArgs(input, media), 'reading the HDR metadata failed for', input);
  const found = json === undefined ? undefined : parseFirstFrameHdr10(json);
  return found ? { ...media, colour: { ...media.colour, hdr10: found } } : media;
}

/** Checks the paths, resolves the model, reads the input's streams with ffprobe and checks that the output's container takes its sound and subtitles. */
export const probeWork = defineWork<ProbeWork, ProbeResult>('probe', async (work, scope) => {
  scope.started();
  const input = resolve(work.input);
  checkPaths(input, resolve(work.output), work.options.overwrite, Boolean(work.options.preview));
  const ffprobe = scope.spawn({ command: ffmpegBinaries().ffprobe, args: probeArgs(input), role: 'ffprobe' });
  const [stdout, ending] = await Promise.all([collectText(ffprobe.child.stdout), endingOf(ffprobe)]);
  if (ending.exit.code !== 0) throw toolFailure('not a readable video', 'ffprobe', ending, { kind: 'input', file: input });
  const { media: parsed, videoChoice } = readProbe(stdout, input);
  if (videoChoice) scope.notice(videoChoice);
  const read = await hdr10(scope, input, await constantRate(scope, input, parsed));
  // A preview writes one picture: no sound, no subtitles.
  const media = work.options.preview ? read : await checkSideStreams(scope, input, resolve(work.output), read);
  if (media.interlaced) scope.notice(`interlaced source (fields ${FIELD_ORDERS[media.interlaced.fieldOrder] ?? media.interlaced.fieldOrder}): deinterlaced as it is decoded (bwdif, one frame per frame), written progressive`);
  return planJob(media, work.options);
});
