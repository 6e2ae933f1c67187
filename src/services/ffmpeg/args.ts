import { extname } from 'node:path';
import { UserError } from '../errors.js';
import type { JobOptions, MediaInfo, Rate } from '../../domain.js';
import { resolvedDevice } from '../gpu.js';
import { availableEncoders, encoderArgs, isVaapi, pixelFormats, resolveEncoding, VAAPI_DEVICE, videoTagArgs, type Encoding } from './encoders.js';
import { colourTags, hdr10Params, wideColour, yuvFormat, type WideColour } from './colour.js';
import { videoSpecifier } from './probe.js';

export type Container = 'mp4' | 'mkv' | 'mov' | 'webm';

const CONTAINERS: Record<string, Container> = { '.mp4': 'mp4', '.m4v': 'mp4', '.mkv': 'mkv', '.mov': 'mov', '.webm': 'webm' };
const MUXER: Record<Container, string> = { mp4: 'mp4', mkv: 'matroska', mov: 'mov', webm: 'webm' };
export const QUIET = ['-nostdin', '-hide_banner', '-loglevel', 'error'];
export const INPUT_WHITELIST = ['-protocol_whitelist', 'file,pipe'];

/** The container an output's extension names, if any. */
export function containerOf(output: string): Container | undefined {
  return CONTAINERS[extname(output).toLowerCase()];
}

export function containerFor(output: string): Container {
  const container = containerOf(output);
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

/** bwdif's frame n reads frames n − 1 and n + 1: a decoder that seeks starts one frame early (segment-run.ts). */
const DEINTERLACE = 'bwdif=mode=send_frame:parity=auto:deint=all';

/**
 * A variable-rate source put on `rate`'s grid (services/ffmpeg/constant-rate.ts), as decoders and
 * scene detection both do; `pass`: the last frame is given at least once, however short its duration.
 */
export function gridFilter(rate: Rate): string {
  return `fps=fps=${rateArg(rate)}:eof_action=pass`;
}

export function rateArg(rate: Rate): string {
  return `${rate.num}/${rate.den}`;
}

/** How a decoder reads its source (`decodeArgs`). */
export interface DecodeOptions {
  /** Only source frames [start, end), counted from the seek point when seeking. */
  readonly range?: { readonly start: number; readonly end: number };
  readonly side?: readonly SideImages[];
  /** Seconds to seek to first (`seekBefore`). */
  readonly seek?: number;
  /** A variable-rate source (never seeking) is first put on this constant rate; the range then counts the grid's frames. */
  readonly grid?: Rate;
  /** An interlaced source's frames, each made whole from its two fields and its neighbours' (bwdif, motion-adaptive, one frame per frame) before anything else. */
  readonly deinterlace?: boolean;
  /** The source's processed video stream (MediaInfo `videoStream`); unset: its first. */
  readonly videoStream?: number;
}

/** Decodes the source's video stream to rgb24 frames on stdout, rotation applied, one frame per input frame. */
export function decodeArgs(absoluteInput: string, { range, side, seek, grid, deinterlace = false, videoStream }: DecodeOptions = {}): string[] {
  const video = `0:${videoSpecifier({ videoStream })}`;
  const trim = [
    deinterlace && DEINTERLACE,
    grid && gridFilter(grid),
    range && `trim=start_frame=${range.start}:end_frame=${range.end}`,
  ].filter(Boolean).join(',') || undefined;
  const frames = ['-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  // `-ss` before `-i`: a seek in the input, frames before that point decoded and dropped (accurate seek).
  const from = seek === undefined ? [] : ['-ss', seek.toFixed(6)];
  if (side && side.length > 0) {
    return [...QUIET, ...INPUT_WHITELIST, ...from, '-i', fileArg(absoluteInput), ...withSideImages(`[${video}]`, trim, frames, side, ['-an', '-sn', '-dn'])];
  }
  return [
    ...QUIET, ...INPUT_WHITELIST, ...from,
    '-i', fileArg(absoluteInput),
    '-map', video, '-an', '-sn', '-dn',
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
 * The main output's frames through `split` (then `mainFilter`, the encoder's conversion, on their
 * branch alone), the side images' through their own branch. The graph names libswscale's flags as a
 * simple `-vf` graph gets them by default, so the main output's pixels are those it has without side
 * images.
 */
function withSideImages(input: string, filter: string | undefined, mainArgs: readonly string[], side: readonly SideImages[], extra: readonly string[] = [], mainFilter?: string): string[] {
  const outputs = side.map((image, n) => sideOutput(`side${n}`, image));
  const branches = side.map((_, n) => `[in${n}]`).join('');
  const graph = [
    `sws_flags=bicubic;${input}${filter ? `${filter},` : ''}split=${side.length + 1}${mainFilter ? '[premain]' : '[main]'}${branches}`,
    ...(mainFilter ? [`[premain]${mainFilter}[main]`] : []),
    ...outputs.map((output, n) => `[in${n}]${output.filter}`),
  ].join(';');
  return ['-filter_complex', graph, '-map', '[main]', ...extra, ...mainArgs, ...outputs.flatMap((output) => output.args)];
}

/** Where a segment's frames go: the output's own encode, or (a preview's one frame) exact RGB. */
export type SegmentEncoding =
  | { readonly kind: 'final'; readonly encoding: Encoding; readonly container: Container; readonly wide?: WideColour }
  | { readonly kind: 'exact' };

/** The processed frames' geometry and rate as the last host writes them, and the size the output gets. */
export interface SegmentFrame {
  readonly width: number;
  readonly height: number;
  readonly rate: Rate;
  /** The output's size; unset: the frames' own. */
  readonly outWidth?: number;
  readonly outHeight?: number;
  /** The source's non-square pixel shape, kept (MediaInfo `sampleAspect`). */
  readonly sampleAspect?: Rate;
}

/**
 * A job's segments are encoded straight into the output's codec (joined later by stream copy); a
 * preview's one frame stays exact, as the PNG is made from it.
 */
export function segmentEncoding(work: { readonly output: string; readonly options: JobOptions; readonly plan: { readonly preview?: unknown; readonly media: MediaInfo } }): SegmentEncoding {
  if (work.plan.preview) return { kind: 'exact' };
  const hardware = resolvedDevice(work.options.device)?.encoders;
  return { kind: 'final', ...jobEncoding(work.options, work.output, work.plan.media, hardware) };
}

/**
 * The encode of a job's video, for its output's container and its source's colour. A wide-gamut or
 * HDR source with no codec named is written in h265 where the container and ffmpeg allow: that is
 * how HDR is delivered, and its 10-bit H.264 (High 10) plays on few devices.
 */
export function jobEncoding(options: JobOptions, output: string, media: MediaInfo, hardware?: readonly string[]): { readonly container: Container; readonly encoding: Encoding; readonly wide?: WideColour } {
  const container = containerFor(output);
  const available = availableEncoders();
  const wide = wideColour(media.colour);
  const unnamed = options.codec === undefined && options.encoder === undefined && !options.lossless;
  const codec = wide && unnamed && container !== 'webm' && available.has('libx265') ? 'h265' : options.codec;
  const encoding = resolveEncoding({ ...options, codec }, container, available, output, hardware);
  return wide ? { container, encoding, wide } : { container, encoding };
}

/**
 * The frames resized to the output's size (when the model's scale exceeds the one asked for) and
 * converted for the encoder: limited-range YUV 4:2:0 by the source's matrix family (BT.709, or
 * BT.2020 for a wide or HDR source, 10-bit where the encoder takes it), or RGB for a lossless codec.
 */
function encodeFilter(encoding: Encoding, frame: SegmentFrame, wide: WideColour | undefined): string {
  const width = frame.outWidth ?? frame.width;
  const height = frame.outHeight ?? frame.height;
  // Scaled alike both ways, a non-square pixel keeps its shape: the source's ratio is the output's.
  const shape = frame.sampleAspect ? `setsar=${frame.sampleAspect.num}/${frame.sampleAspect.den},` : '';
  const resize = `${width !== frame.width || height !== frame.height ? `scale=${width}:${height}:flags=lanczos,` : ''}${shape}`;
  if (encoding.lossless) return `${resize}format=${encoding.codec === 'ffv1' ? 'bgr0' : 'rgb24'}`;
  const matrix = `scale=out_color_matrix=${wide?.matrix ?? 'bt709'}:out_range=tv`;
  // A VAAPI encoder takes its frames in GPU memory: converted here, then uploaded.
  if (isVaapi(encoding.encoder)) return `${resize}${matrix},format=nv12,hwupload`;
  return `${resize}${matrix},format=${yuvFormatOf(encoding, wide)}`;
}

/** NVENC's H.264 lists P010 with the others (one list for all its codecs) but refuses 10-bit input. */
const EIGHT_BIT_ONLY = new Set(['h264_nvenc']);

function yuvFormatOf(encoding: Encoding, wide: WideColour | undefined): string {
  return wide && !EIGHT_BIT_ONLY.has(encoding.encoder) ? yuvFormat(wide, pixelFormats(encoding.encoder)) : 'yuv420p';
}

/** x265's options with a PQ source's HDR10 metadata added to its `-x265-params` (given twice, ffmpeg would keep the last). */
function withHdr10(args: readonly string[], wide: WideColour | undefined): string[] {
  const at = args.indexOf('-x265-params');
  const params = hdr10Params(wide?.hdr10);
  if (at < 0 || params.length === 0) return [...args];
  return [...args.slice(0, at + 1), [args[at + 1], ...params].join(':'), ...args.slice(at + 2)];
}

/** What a job with a wide or HDR source is told about its output's colour. */
export function colourNotice(wide: WideColour, encoding: Encoding): string {
  const depth = encoding.lossless ? 'RGB' : !isVaapi(encoding.encoder) && yuvFormatOf(encoding, wide) !== 'yuv420p' ? '10-bit' : '8-bit';
  const metadata = wide.hdr10 ? (encoding.encoder === 'libx265' ? ', with its HDR10 metadata' : `; its HDR10 metadata is carried by libx265 only, not ${encoding.encoder}`) : '';
  return `${wide.label} source: written ${depth} ${encoding.codec}, tagged ${wide.primaries}/${wide.transfer} as the source is${metadata}; the models see its picture as 8-bit RGB`;
}

/**
 * A processed segment. In the output's codec: each segment's encode starts on a keyframe and its
 * GOPs close inside it, with the codec's headers global (`+global_header`), so the concat demuxer
 * joins the segments by stream copy; NUT keeps the exact timestamps of the pipe's rate. A preview's
 * frame: Ut Video (planar RGB, exact) in NUT.
 */
export function segmentArgs(frame: SegmentFrame, absoluteOutput: string, side?: readonly SideImages[], encode: SegmentEncoding = { kind: 'exact' }): string[] {
  return encodeArgs(frame, ['-f', 'nut', '-y', fileArg(absoluteOutput)], side, encode);
}

/** Consecutive segments that one encoder writes, each to its own file. */
export interface SegmentRun {
  /** The part files' printf pattern (`%05d`), numbered from `first`. */
  readonly pattern: string;
  readonly first: number;
  /** The frames (counted from the run's first) that start a new segment. */
  readonly cuts: readonly number[];
  /** The encoder's options that make a forced keyframe an IDR frame (encoders.ts `forcedKeyframeArgs`). */
  readonly keyframes: readonly string[];
}

/**
 * A run of segments through one encoder: a keyframe forced on each segment's first frame and the file
 * cut there by ffmpeg's segment muxer, each file's timestamps from 0, so each is a segment file as
 * segmentArgs writes one, with one encoder's start, ramp-up and flush for the run instead of one per
 * segment. Each file's name is written to fd 3 once the file is complete.
 */
export function segmentRunArgs(frame: SegmentFrame, run: SegmentRun, side: readonly SideImages[], encode: SegmentEncoding & { kind: 'final' }): string[] {
  // A quarter frame before each cut: ffmpeg 4 rounds the times to the nearest frame, later ones take
  // the first frame at or past them; either way the cut's frame gets the keyframe.
  const times = run.cuts.map((n) => (((n - 0.25) * frame.rate.den) / frame.rate.num).toFixed(6)).join(',');
  const muxer = [
    ...run.keyframes, '-force_key_frames', times,
    '-f', 'segment', '-segment_format', 'nut', '-segment_frames', run.cuts.join(','), '-reset_timestamps', '1',
    '-segment_start_number', String(run.first), '-segment_list', 'pipe:3', '-segment_list_type', 'flat',
    '-y', fileArg(run.pattern),
  ];
  // The segment muxer names no default stream: the video is mapped (withSideImages maps its branch).
  return encodeArgs(frame, side.length > 0 ? muxer : ['-map', '0:v', ...muxer], side, encode);
}

function encodeArgs(frame: SegmentFrame, output: readonly string[], side: readonly SideImages[] | undefined, encode: SegmentEncoding): string[] {
  const input = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${frame.width}x${frame.height}`, '-framerate', rateArg(frame.rate), '-i', 'pipe:0'];
  const filter = encode.kind === 'final' ? encodeFilter(encode.encoding, frame, encode.wide) : undefined;
  const codec =
    encode.kind === 'final'
      ? [...withHdr10(encoderArgs(encode.encoding), encode.wide), ...colourTags(encode.wide, encode.encoding.lossless), '-flags', '+global_header']
      : ['-c:v', 'utvideo', '-pix_fmt', 'gbrp'];
  // The pipe's rate is given: without `-fpsprobesize 0` ffmpeg would read 20 frames to guess it before
  // passing any on, and the pictures would come that late (the segment file is byte for byte the same).
  const device = encode.kind === 'final' && isVaapi(encode.encoding.encoder) ? ['-vaapi_device', VAAPI_DEVICE] : [];
  if (side && side.length > 0) return [...QUIET, ...device, '-fpsprobesize', '0', ...input, ...withSideImages('[0:v]', undefined, [...codec, ...output], side, [], filter)];
  return [...QUIET, ...device, ...input, ...(filter ? ['-vf', filter] : []), ...codec, ...output];
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

/** The geometry a preview's picture is made at. */
export interface EncodeOptions {
  /** Size of the processed frames. */
  readonly frameWidth: number;
  readonly frameHeight: number;
  /** Size written to the file: frames are resized when the model's scale exceeds the requested one. */
  readonly outWidth: number;
  readonly outHeight: number;
}

const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus', 'flac']);
const WEBM_AUDIO = new Set(['opus', 'vorbis']);
const TEXT_SUBTITLES = new Set(['subrip', 'srt', 'ass', 'ssa', 'mov_text', 'webvtt', 'text']);

/** The source's audio or its subtitles: the two kinds of stream a job carries over from its input. */
export type SideKind = 'audio' | 'subtitles';

/**
 * Audio as the container takes it: copied where its codecs are the container's own, else encoded (AAC,
 * Opus for WebM); `convert` when the container refused a copy (probe's check, {@link sideCheckArgs}).
 */
function audioArgs(container: Container, codecs: readonly string[], input: number, convert = false): string[] {
  if (codecs.length === 0) return [];
  const map = ['-map', `${input}:a`];
  const encode = [...map, ...(container === 'webm' ? ['-c:a', 'libopus', '-b:a', '160k'] : ['-c:a', 'aac', '-b:a', '192k'])];
  if (convert) return encode;
  if (container === 'mkv') return [...map, '-c:a', 'copy'];
  const allowed = container === 'webm' ? WEBM_AUDIO : MP4_AUDIO;
  return codecs.every((c) => allowed.has(c)) ? [...map, '-c:a', 'copy'] : encode;
}

/** Subtitles as the container takes them: text as its text format (Matroska: copied, or SubRip when `convert`), bitmaps in Matroska only. */
function subtitleArgs(container: Container, codecs: readonly string[], input: number, convert = false): string[] {
  if (codecs.length === 0) return [];
  const map = ['-map', `${input}:s`];
  if (container === 'mkv') return [...map, '-c:s', convert && codecs.every((c) => TEXT_SUBTITLES.has(c)) ? 'srt' : 'copy'];
  if (!codecs.every((c) => TEXT_SUBTITLES.has(c))) return [];
  return [...map, '-c:s', container === 'webm' ? 'webvtt' : 'mov_text'];
}

function sideArgs(kind: SideKind, container: Container, info: MediaInfo, input: number, convert: boolean): string[] {
  return kind === 'audio' ? audioArgs(container, info.audioCodecs, input, convert) : subtitleArgs(container, info.subtitleCodecs, input, convert);
}

/**
 * Whether the container takes the source's audio (or subtitles) as the assembly writes them: a tenth
 * of a second of them muxed to nowhere. Undefined when there is nothing to write, or when `convert`
 * would write them no differently.
 */
export function sideCheckArgs(kind: SideKind, container: Container, info: MediaInfo, absoluteInput: string, convert: boolean): string[] | undefined {
  const args = sideArgs(kind, container, info, 0, convert);
  if (args.length === 0 || (convert && args.join(' ') === sideArgs(kind, container, info, 0, false).join(' '))) return undefined;
  return [...QUIET, ...INPUT_WHITELIST, '-i', fileArg(absoluteInput), ...args, '-t', '0.1', '-f', MUXER[container], '-y', '/dev/null'];
}

/** The subtitle streams that the chosen container cannot carry (bitmap subtitles outside Matroska). */
export function droppedSubtitles(container: Container, info: MediaInfo): number {
  return info.subtitleCodecs.length > 0 && subtitleArgs(container, info.subtitleCodecs, 1).length === 0
    ? info.subtitleCodecs.length
    : 0;
}

/**
 * Assembling: the segments joined (concat demuxer, exact durations) by stream copy, with the input's
 * audio and subtitles (copied, or converted where the container needs it), Matroska's attachments,
 * the source's cover pictures (`covers`: covers.ts `coverArgs`), metadata and chapters;
 * progress (`frame=N`) on fd 3. No video is encoded here.
 */
export function assembleArgs(container: Container, video: { readonly encoding: Encoding; readonly wide?: WideColour }, info: MediaInfo, absoluteList: string, absoluteInput: string, absoluteOutput: string, covers: readonly string[] = []): string[] {
  return [
    ...QUIET, '-progress', 'pipe:3', '-nostats',
    // The segments start at 0; the source's sound keeps its time from the file's start: a picture that
    // started later than its sound starts as late again, or it would play that much ahead of it.
    ...(info.pictureDelay ? ['-itsoffset', info.pictureDelay.toFixed(6)] : []),
    '-f', 'concat', '-safe', '0', ...INPUT_WHITELIST, '-i', fileArg(absoluteList),
    ...INPUT_WHITELIST, '-i', fileArg(absoluteInput),
    '-map', '0:v:0', '-c:v', 'copy', ...videoTagArgs(video.encoding.codec, container),
    // The container's colour tags, as the segments were encoded: NUT keeps none, and FFV1's stream has none of its own.
    ...colourTags(video.wide, video.encoding.lossless),
    ...sideArgs('audio', container, info, 1, info.convert?.audio === true),
    ...sideArgs('subtitles', container, info, 1, info.convert?.subtitles === true),
    // Matroska's attachments (the fonts its ASS subtitles are drawn with), where the output is Matroska.
    ...(container === 'mkv' ? ['-map', '1:t?', '-c:t', 'copy'] : []),
    ...covers,
    '-map_metadata', '1', '-map_chapters', '1',
    // Audio primed before 0 (AAC's 1024 samples) keeps its place; shifting it would shift the video too.
    '-avoid_negative_ts', 'disabled',
    ...(container === 'mp4' || container === 'mov' ? ['-movflags', '+faststart'] : []),
    '-f', MUXER[container], '-y', fileArg(absoluteOutput),
  ];
}
