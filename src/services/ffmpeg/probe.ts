import type { Colour, Cover, MediaInfo, Rate } from '../../domain.js';
import { parseHdr10 } from './colour.js';
import { UserError } from '../errors.js';

interface ProbeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  field_order?: string;
  sample_aspect_ratio?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_space?: string;
  color_range?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  duration?: string;
  start_time?: string;
  tags?: Record<string, string>;
  side_data_list?: ({ rotation?: number; side_data_type?: string } & Record<string, unknown>)[];
  disposition?: { attached_pic?: number };
}

interface ProbeJson {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string; start_time?: string };
}

export function probeArgs(absoluteInput: string): string[] {
  return [
    '-v', 'error', '-hide_banner',
    '-protocol_whitelist', 'file,pipe',
    '-print_format', 'json', '-show_streams', '-show_format', '-count_packets',
    '-i', `file:${absoluteInput}`,
  ];
}

/** ffmpeg's specifier of the source's processed video stream: its index, or the first video stream where none was chosen. */
export function videoSpecifier(media: Pick<MediaInfo, 'videoStream'>): string {
  return media.videoStream === undefined ? 'v:0' : String(media.videoStream);
}

/** The first video frame's side data, where HDR10 metadata rides in the stream (HEVC SEI) rather than the container. */
export function firstFrameSideDataArgs(absoluteInput: string, media: Pick<MediaInfo, 'videoStream'>): string[] {
  return [
    '-v', 'error', '-hide_banner',
    '-protocol_whitelist', 'file,pipe',
    '-select_streams', videoSpecifier(media), '-read_intervals', '%+#1', '-show_frames', '-show_entries', 'frame=side_data_list', '-of', 'json',
    '-i', `file:${absoluteInput}`,
  ];
}

/** HDR10 metadata from `firstFrameSideDataArgs`' JSON; undefined when there is none or it does not parse. */
export function parseFirstFrameHdr10(json: string): ReturnType<typeof parseHdr10> {
  try {
    return parseHdr10((JSON.parse(json) as { frames?: { side_data_list?: Record<string, unknown>[] }[] }).frames?.[0]?.side_data_list);
  } catch {
    return undefined;
  }
}

/** The packet count of a file's first video stream (one packet a frame in our segment files). */
export function packetCountArgs(absoluteFile: string): string[] {
  return [
    '-v', 'error', '-hide_banner',
    '-protocol_whitelist', 'file,pipe',
    '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0',
    '-i', `file:${absoluteFile}`,
  ];
}

export function parseRate(text: string | undefined): Rate | undefined {
  if (!text) return undefined;
  const [num, den = '1'] = text.split('/');
  const n = Number(num);
  const d = Number(den);
  if (!Number.isFinite(n) || !Number.isFinite(d) || n <= 0 || d <= 0) return undefined;
  return { num: n, den: d };
}

function rotationOf(stream: ProbeStream): number {
  const fromSideData = stream.side_data_list?.find((s) => typeof s.rotation === 'number')?.rotation;
  const raw = fromSideData ?? Number(stream.tags?.rotate ?? 0);
  return ((Math.round(raw) % 360) + 360) % 360;
}

/** How long after the file's start (its earliest stream's) the picture starts, where it is later (more than 1 ms). */
function pictureDelayOf(videoStart: string | undefined, fileStart: string | undefined): { pictureDelay?: number } {
  const delay = Number(videoStart) - Number(fileStart);
  return Number.isFinite(delay) && delay > 0.001 ? { pictureDelay: delay } : {};
}

/** A sample aspect ratio other than 1:1 (`0:1` and absent: unknown, taken as square), turned with the picture. */
function sampleAspectOf(text: string | undefined, swap: boolean): { sampleAspect?: Rate } {
  const [num, den] = (text ?? '').split(':').map(Number);
  if (!(num > 0 && den > 0) || num === den) return {};
  return { sampleAspect: swap ? { num: den, den: num } : { num, den } };
}

/** ffprobe's field orders of an interlaced stream (top or bottom coded and shown first). */
const INTERLACED = new Set(['tt', 'bb', 'tb', 'bt']);

function colourOf(stream: ProbeStream): Colour {
  const known = (name: string | undefined) => (name && name !== 'unknown' && name !== 'reserved' ? name : undefined);
  const entries = { primaries: known(stream.color_primaries), transfer: known(stream.color_transfer), matrix: known(stream.color_space), range: known(stream.color_range), hdr10: parseHdr10(stream.side_data_list) };
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
}

/** The file's pictures that are moving video: not a cover picture (`attached_pic`). */
function videoStreams(streams: readonly ProbeStream[]): ProbeStream[] {
  return streams.filter((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
}

/**
 * The video stream a job processes where a file has several (a second camera's track, a cover
 * picture stored as a track ahead of the film): the largest picture, the first of equals, as
 * ffmpeg's own default choice is.
 */
function mainVideo(streams: readonly ProbeStream[]): ProbeStream | undefined {
  const area = (s: ProbeStream) => (s.width ?? 0) * (s.height ?? 0);
  return videoStreams(streams).reduce<ProbeStream | undefined>((best, s) => (best === undefined || area(s) > area(best) ? s : best), undefined);
}

/** The file's cover pictures: `attached_pic` streams that are JPEG or PNG (the kinds a container takes as a cover). */
function coversOf(streams: readonly ProbeStream[]): Cover[] {
  return streams
    .filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic && s.index !== undefined && (s.codec_name === 'mjpeg' || s.codec_name === 'png'))
    .map((s) => ({ index: s.index!, codec: s.codec_name!, ...(s.tags?.filename ? { filename: s.tags.filename } : {}) }));
}

/** What a job with several video streams is told: which one it processes; undefined for one. */
function videoChoiceNotice(streams: readonly ProbeStream[], main: ProbeStream): string | undefined {
  const all = videoStreams(streams);
  if (all.length < 2) return undefined;
  const describe = (s: ProbeStream) => `stream ${s.index} (${s.width}×${s.height} ${s.codec_name ?? 'unknown'})`;
  const others = all.filter((s) => s !== main).map(describe);
  return `${all.length} video streams: ${describe(main)}, the largest, is processed; ${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} left out of the output`;
}

/** ffprobe's JSON read: the source's MediaInfo, and the notice naming its processed video stream where it has several. */
export function readProbe(json: string, file: string): { media: MediaInfo; videoChoice?: string } {
  let parsed: ProbeJson;
  try {
    parsed = JSON.parse(json) as ProbeJson;
  } catch (cause) {
    throw new UserError('ffprobe returned unreadable output for', { file, cause });
  }
  const streams = parsed.streams ?? [];
  const video = mainVideo(streams);
  if (!video || !video.width || !video.height) {
    throw new UserError('no video stream in', { file, tryMessage: 'give a video file' });
  }
  const frameRate = parseRate(video.r_frame_rate) ?? parseRate(video.avg_frame_rate);
  const averageRate = parseRate(video.avg_frame_rate);
  if (!frameRate) throw new UserError('the video stream has no frame rate in', { file });
  const frameCount = Number(video.nb_read_packets ?? video.nb_frames ?? 0);
  if (!(frameCount > 0)) {
    throw new UserError('the video stream has no frames (empty or truncated file)', {
      file,
      tryMessage: 'check that the file plays',
    });
  }
  const rotation = rotationOf(video);
  const covers = coversOf(streams);
  const attachments = streams.filter((s) => s.codec_type === 'attachment').length;
  const swap = rotation === 90 || rotation === 270;
  const media: MediaInfo = {
    ...(video.index !== undefined ? { videoStream: video.index } : {}),
    width: swap ? video.height : video.width,
    height: swap ? video.width : video.height,
    rotation,
    frameRate,
    ...(averageRate ? { averageRate } : {}),
    frameCount,
    durationSec: Number(video.duration ?? parsed.format?.duration ?? 0),
    pixFmt: video.pix_fmt ?? 'unknown',
    ...sampleAspectOf(video.sample_aspect_ratio, swap),
    ...pictureDelayOf(video.start_time, parsed.format?.start_time),
    colour: colourOf(video),
    ...(video.field_order && INTERLACED.has(video.field_order) ? { interlaced: { fieldOrder: video.field_order } } : {}),
    audioCodecs: streams.filter((s) => s.codec_type === 'audio').map((s) => s.codec_name ?? 'unknown'),
    subtitleCodecs: streams.filter((s) => s.codec_type === 'subtitle').map((s) => s.codec_name ?? 'unknown'),
    ...(covers.length > 0 ? { covers } : {}),
    ...(attachments > 0 ? { attachments } : {}),
    formatName: parsed.format?.format_name ?? 'unknown',
  };
  const videoChoice = videoChoiceNotice(streams, video);
  return videoChoice ? { media, videoChoice } : { media };
}

/**
 * The processed video stream's packet times (demuxed, not decoded) and the file's start time, as CSV
 * lines `packet,<pts_time>` then `format,<start_time>`: where each frame is, for a segment's seek.
 */
export function frameTimesArgs(absoluteInput: string, media: Pick<MediaInfo, 'videoStream'>): string[] {
  return [
    '-v', 'error', '-hide_banner',
    '-protocol_whitelist', 'file,pipe',
    '-select_streams', videoSpecifier(media), '-show_entries', 'packet=pts_time:format=start_time', '-of', 'csv',
    '-i', `file:${absoluteInput}`,
  ];
}

/** Frame n's presentation time is `times[n]` (seconds, ascending); `start` is the file's start time. */
export interface FrameTimes {
  readonly times: readonly number[];
  readonly start: number;
}

/**
 * Undefined unless every packet has a time, no two share one and there is one a frame: a segment
 * then decodes from the file's start, as it always can.
 */
export function parseFrameTimes(csv: string, frames: number): FrameTimes | undefined {
  const times: number[] = [];
  let start = 0;
  for (const line of csv.split('\n')) {
    const [section, value] = line.trim().split(',');
    if (section === 'packet') {
      const time = Number(value);
      if (value === undefined || value === '' || !Number.isFinite(time)) return undefined;
      times.push(time);
    } else if (section === 'format') start = Number.isFinite(Number(value)) && value !== '' ? Number(value) : 0;
  }
  if (times.length !== frames) return undefined;
  times.sort((a, b) => a - b);
  for (let n = 1; n < times.length; n++) if (!(times[n] > times[n - 1])) return undefined;
  return { times, start };
}

/**
 * Where a decoder seeks (`-ss` before `-i`, which counts from the file's start time) so that the
 * first frame it outputs is frame `n`: halfway between frame n − 1 and frame n. ffmpeg seeks to the
 * keyframe before and decodes, dropping what comes before that point, so only frame n's GOP is
 * decoded ahead of it, not the whole file up to it.
 */
export function seekBefore(frames: FrameTimes, n: number): number | undefined {
  if (n <= 0 || n >= frames.times.length) return undefined;
  const at = (frames.times[n - 1] + frames.times[n]) / 2 - frames.start;
  return at > 0 ? at : undefined;
}
