import { extname } from 'node:path';
import { UserError } from '../errors.js';
import type { MediaInfo, Rational } from './probe.js';

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

export function rateArg(rate: Rational): string {
  return `${rate.num}/${rate.den}`;
}

/** Decodes the first video stream to rgb24 frames on stdout, rotation applied, one frame per input frame. */
export function decodeArgs(absoluteInput: string): string[] {
  return [
    ...QUIET, ...INPUT_WHITELIST,
    '-i', fileArg(absoluteInput),
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vsync', 'passthrough',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
}

export interface EncodeOptions {
  readonly container: Container;
  /** Size of the raw frames arriving on stdin. */
  readonly frameWidth: number;
  readonly frameHeight: number;
  /** Size written to the file: frames are resized when the model's scale exceeds the requested one. */
  readonly outWidth: number;
  readonly outHeight: number;
  readonly frameRate: Rational;
  readonly crf?: number;
}

function codecArgs(container: Container, crf: number | undefined): string[] {
  if (container === 'webm') {
    return ['-c:v', 'libvpx-vp9', '-crf', String(crf ?? 30), '-b:v', '0', '-deadline', 'good', '-cpu-used', '4', '-row-mt', '1'];
  }
  return ['-c:v', 'libx264', '-preset', 'medium', '-crf', String(crf ?? 18)];
}

/** Encodes rgb24 frames from stdin into a video-only Matroska file (muxed into the final container later). */
export function encodeArgs(options: EncodeOptions, absoluteOutput: string): string[] {
  const resize = options.outWidth !== options.frameWidth || options.outHeight !== options.frameHeight;
  const filter = `${resize ? `scale=${options.outWidth}:${options.outHeight}:flags=lanczos,` : ''}scale=out_color_matrix=bt709:out_range=tv,format=yuv420p`;
  return [
    ...QUIET,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24',
    '-s', `${options.frameWidth}x${options.frameHeight}`,
    '-framerate', rateArg(options.frameRate),
    '-i', 'pipe:0',
    '-vf', filter,
    ...codecArgs(options.container, options.crf),
    '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
    '-f', 'matroska', '-y', fileArg(absoluteOutput),
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

/** Joins the encoded video with the input's audio and subtitles into the final container. */
export function muxArgs(
  container: Container,
  info: MediaInfo,
  absoluteVideo: string,
  absoluteInput: string,
  absoluteOutput: string,
): string[] {
  return [
    ...QUIET,
    ...INPUT_WHITELIST, '-i', fileArg(absoluteVideo),
    ...INPUT_WHITELIST, '-i', fileArg(absoluteInput),
    '-map', '0:v:0', '-c:v', 'copy',
    ...audioArgs(container, info.audioCodecs),
    ...subtitleArgs(container, info.subtitleCodecs),
    '-map_metadata', '1', '-map_chapters', '1',
    ...(container === 'mp4' || container === 'mov' ? ['-movflags', '+faststart'] : []),
    '-f', MUXER[container], '-y', fileArg(absoluteOutput),
  ];
}
