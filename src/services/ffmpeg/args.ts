import { extname } from 'node:path';
import { UserError } from '../errors.js';
import type { MediaInfo, Rate } from '../../domain.js';

export type Container = 'mp4' | 'mkv' | 'mov' | 'webm';

const CONTAINERS: Record<string, Container> = { '.mp4': 'mp4', '.m4v': 'mp4', '.mkv': 'mkv', '.mov': 'mov', '.webm': 'webm' };
const MUXER: Record<Container, string> = { mp4: 'mp4', mkv: 'matroska', mov: 'mov', webm: 'webm' };
const QUIET = ['-nostdin', '-hide_banner', '-loglevel', 'error'];
const INPUT_WHITELIST = ['-protocol_whitelist', 'file,pipe'];

export function containerFor(output: string): Container {
  const container = CONTAINERS[extname(output).toLowerCase()];
  if (!container) {
    throw new UserError('unsupported output extension for', {
      kind: 'usage',
      file: output,
      tryMessage: 'use .mp4, .mkv, .mov or .webm',
    });
  }
  return container;
}

/** ffmpeg reads any name prefixed with `file:` as a plain path, even one starting with `-`. */
export function fileArg(absolutePath: string): string {
  return `file:${absolutePath}`;
}

export function rateArg(rate: Rate): string {
  return `${rate.num}/${rate.den}`;
}

/**
 * Decodes the first video stream to rgb24 frames on stdout, rotation applied, one frame per input
 * frame; with a range, only source frames [start, end).
 */
export function decodeArgs(absoluteInput: string, range?: { readonly start: number; readonly end: number }, side?: readonly SideImages[]): string[] {
  const trim = range ? `trim=start_frame=${range.start}:end_frame=${range.end}` : undefined;
  const frames = ['-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  if (side && side.length > 0) {
    return [...QUIET, ...INPUT_WHITELIST, '-i', fileArg(absoluteInput), ...withSideImages('[0:v:0]', trim, frames, side, ['-an', '-sn', '-dn'])];
  }
  return [
    ...QUIET, ...INPUT_WHITELIST,
    '-i', fileArg(absoluteInput),
    '-map', '0:v:0', '-an', '-sn', '-dn',
    ...(trim ? ['-vf', trim] : []),
    ...frames,
  ];
}

/**
 * A second output of a decoder or segment encoder: some of the frames it passes, as images, at no
 * cost to the main output (a `split`; the images are made only for the frames `select` keeps).
 * `sequence`: small PPM files numbered from `start` (`%d` in `pattern`), each written whole under a
 * temporary name and renamed (`atomic_writing`), so a reader never sees half a file. `still`: one
 * full-size PNG.
 */
export type SideImages =
  | {
      readonly kind: 'sequence';
      /** ffmpeg `select` expression over the frames of the main output (`n` from 0). */
      readonly select: string;
      /** Each image's size: the frames are area-averaged down to it. */
      readonly size: { readonly width: number; readonly height: number };
      /** An absolute path with one `%d`. */
      readonly pattern: string;
      readonly start: number;
    }
  | { readonly kind: 'still'; readonly select: string; readonly file: string };

/** `%` is the image2 muxer's pattern character: a literal one in a folder name is written twice. */
export function imagePattern(absoluteDir: string, name: string): string {
  return `${absoluteDir.replace(/%/g, '%%')}/${name}`;
}

function sideOutput(label: string, side: SideImages): { filter: string; args: string[] } {
  const select = `select='${side.select}'`;
  if (side.kind === 'still') {
    return { filter: `${select}[${label}]`, args: ['-map', `[${label}]`, '-vsync', 'passthrough', '-c:v', 'png', '-pix_fmt', 'rgb24', '-f', 'image2', '-update', '1', '-y', side.file] };
  }
  // In RGB first, as the frames reach the hosts: the decoder's pictures are then made as the encoder's are.
  const fit = `format=rgb24,scale=${side.size.width}:${side.size.height}:flags=area`;
  return {
    filter: `${select},${fit}[${label}]`,
    // Absolute paths: no `file:` prefix, which the muxer's rename would take for part of the name.
    args: ['-map', `[${label}]`, '-vsync', 'passthrough', '-c:v', 'ppm', '-pix_fmt', 'rgb24', '-f', 'image2', '-atomic_writing', '1', '-start_number', String(side.start), '-y', side.pattern],
  };
}

/**
 * The main output's frames through `split`, the side images' through their own branch. The graph
 * names libswscale's flags as a simple `-vf` graph gets them by default, so the main output's pixels
 * are those it has without side images.
 */
function withSideImages(input: string, filter: string | undefined, mainArgs: readonly string[], side: readonly SideImages[], extra: readonly string[] = []): string[] {
  const outputs = side.map((image, n) => sideOutput(`side${n}`, image));
  const branches = side.map((_, n) => `[in${n}]`).join('');
  const graph = [
    `sws_flags=bicubic;${input}${filter ? `${filter},` : ''}split=${side.length + 1}[main]${branches}`,
    ...outputs.map((output, n) => `[in${n}]${output.filter}`),
  ].join(';');
  return ['-filter_complex', graph, '-map', '[main]', ...extra, ...mainArgs, ...outputs.flatMap((output) => output.args)];
}

/**
 * A processed segment, kept lossless until the final encode: Ut Video (planar RGB, exact) in NUT
 * (exact timestamps). FFV1 packs tighter but, single-threaded, cost the pipeline 9 % of its speed here;
 * Ut Video costs 2–3 % for about 2–4× the temp space.
 */
export function segmentArgs(frame: { readonly width: number; readonly height: number; readonly rate: Rate }, absoluteOutput: string, side?: readonly SideImages[]): string[] {
  const input = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${frame.width}x${frame.height}`, '-framerate', rateArg(frame.rate), '-i', 'pipe:0'];
  const output = ['-c:v', 'utvideo', '-pix_fmt', 'gbrp', '-f', 'nut', '-y', fileArg(absoluteOutput)];
  // The pipe's rate is given: without `-fpsprobesize 0` ffmpeg would read 20 frames to guess it before
  // passing any on, and the pictures would come that late (the segment file is byte for byte the same).
  if (side && side.length > 0) return [...QUIET, '-fpsprobesize', '0', ...input, ...withSideImages('[0:v]', undefined, output, side)];
  return [...QUIET, ...input, ...output];
}

/**
 * A preview job's picture: the one frame of its segment file as PNG (resized as the final encode
 * would), or with `source` (the source frame, PNG) before | after: the source enlarged to the
 * output's size by nearest neighbour, so each source pixel shows as a block, then the output.
 */
export function previewArgs(options: Pick<EncodeOptions, 'frameWidth' | 'frameHeight' | 'outWidth' | 'outHeight'>, absoluteSegment: string, absoluteOutput: string, absoluteSource?: string): string[] {
  const resize = options.outWidth !== options.frameWidth || options.outHeight !== options.frameHeight;
  const after = resize ? `scale=${options.outWidth}:${options.outHeight}:flags=lanczos,format=rgb24` : 'format=rgb24';
  const graph = absoluteSource
    ? `sws_flags=bicubic;[0:v:0]${after}[after];[1:v:0]scale=${options.outWidth}:${options.outHeight}:flags=neighbor,format=rgb24[before];[before][after]hstack=inputs=2[out]`
    : `sws_flags=bicubic;[0:v:0]${after}[out]`;
  return [
    ...QUIET, ...INPUT_WHITELIST, '-i', fileArg(absoluteSegment),
    ...(absoluteSource ? [...INPUT_WHITELIST, '-i', fileArg(absoluteSource)] : []),
    '-filter_complex', graph, '-map', '[out]', '-frames:v', '1',
    '-c:v', 'png', '-pix_fmt', 'rgb24', '-f', 'image2', '-update', '1', '-y', fileArg(absoluteOutput),
  ];
}

/**
 * The concat demuxer's list of segment files, in order, each with its exact duration: without it the
 * demuxer takes the container's rounded one, and frames at the joins overlap and are dropped.
 */
export function concatList(segments: readonly { readonly file: string; readonly frames: number }[], rate: Rate): string {
  return segments
    .map(({ file, frames }) => `file '${file.replace(/'/g, "'\\''")}'\nduration ${((frames * rate.den) / rate.num).toFixed(9)}\n`)
    .join('');
}

export interface EncodeOptions {
  readonly container: Container;
  /** Size of the processed frames. */
  readonly frameWidth: number;
  readonly frameHeight: number;
  /** Size written to the file: frames are resized when the model's scale exceeds the requested one. */
  readonly outWidth: number;
  readonly outHeight: number;
  readonly frameRate: Rate;
  readonly crf?: number;
}

function codecArgs(container: Container, crf: number | undefined): string[] {
  if (container === 'webm') {
    return ['-c:v', 'libvpx-vp9', '-crf', String(crf ?? 30), '-b:v', '0', '-deadline', 'good', '-cpu-used', '4', '-row-mt', '1'];
  }
  return ['-c:v', 'libx264', '-preset', 'medium', '-crf', String(crf ?? 18)];
}

function videoArgs(options: EncodeOptions): string[] {
  const resize = options.outWidth !== options.frameWidth || options.outHeight !== options.frameHeight;
  const filter = `${resize ? `scale=${options.outWidth}:${options.outHeight}:flags=lanczos,` : ''}scale=out_color_matrix=bt709:out_range=tv,format=yuv420p`;
  return [
    '-vf', filter,
    // The segments' own timestamps (exact in NUT, offset by exact durations in the list) pass through.
    '-vsync', 'passthrough',
    ...codecArgs(options.container, options.crf),
    '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
  ];
}

const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus', 'flac']);
const WEBM_AUDIO = new Set(['opus', 'vorbis']);
const TEXT_SUBTITLES = new Set(['subrip', 'srt', 'ass', 'ssa', 'mov_text', 'webvtt', 'text']);

function audioArgs(container: Container, codecs: readonly string[]): string[] {
  if (codecs.length === 0) return [];
  const map = ['-map', '1:a'];
  if (container === 'mkv') return [...map, '-c:a', 'copy'];
  const allowed = container === 'webm' ? WEBM_AUDIO : MP4_AUDIO;
  if (codecs.every((c) => allowed.has(c))) return [...map, '-c:a', 'copy'];
  return [...map, ...(container === 'webm' ? ['-c:a', 'libopus', '-b:a', '160k'] : ['-c:a', 'aac', '-b:a', '192k'])];
}

function subtitleArgs(container: Container, codecs: readonly string[]): string[] {
  if (codecs.length === 0) return [];
  const map = ['-map', '1:s'];
  if (container === 'mkv') return [...map, '-c:s', 'copy'];
  if (!codecs.every((c) => TEXT_SUBTITLES.has(c))) return [];
  return [...map, '-c:s', container === 'webm' ? 'webvtt' : 'mov_text'];
}

/** The subtitle streams that the chosen container cannot carry (bitmap subtitles outside Matroska). */
export function droppedSubtitles(container: Container, info: MediaInfo): number {
  return info.subtitleCodecs.length > 0 && subtitleArgs(container, info.subtitleCodecs).length === 0
    ? info.subtitleCodecs.length
    : 0;
}

/**
 * The final encode: the segments joined (concat demuxer), encoded for the container, with the input's
 * audio and subtitles; progress (`frame=N`) on fd 3.
 */
export function finalArgs(
  options: EncodeOptions,
  info: MediaInfo,
  absoluteList: string,
  absoluteInput: string,
  absoluteOutput: string,
): string[] {
  const container = options.container;
  return [
    ...QUIET, '-progress', 'pipe:3', '-nostats',
    '-f', 'concat', '-safe', '0', ...INPUT_WHITELIST, '-i', fileArg(absoluteList),
    ...INPUT_WHITELIST, '-i', fileArg(absoluteInput),
    '-map', '0:v:0', ...videoArgs(options),
    ...audioArgs(container, info.audioCodecs),
    ...subtitleArgs(container, info.subtitleCodecs),
    '-map_metadata', '1', '-map_chapters', '1',
    // Audio primed before 0 (AAC's 1024 samples) keeps its place; shifting it would shift the video too.
    '-avoid_negative_ts', 'disabled',
    ...(container === 'mp4' || container === 'mov' ? ['-movflags', '+faststart'] : []),
    '-f', MUXER[container], '-y', fileArg(absoluteOutput),
  ];
}
