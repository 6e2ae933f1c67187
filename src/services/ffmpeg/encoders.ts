import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Codec, JobOptions } from '../../domain.js';
import { UserError } from '../errors.js';
import type { Container } from './args.js';
import { ffmpegBinaries } from './resolve.js';
import { parsePixelFormats } from './colour.js';

export const CODECS: readonly Codec[] = ['h264', 'h265', 'vp9', 'av1', 'ffv1'];

/** What an encoder accepts: its quality scale (none for a lossless one) and its speed presets. */
interface EncoderSpec {
  readonly codec: Codec;
  readonly quality?: { readonly min: number; readonly max: number; readonly default: number };
  readonly presets: readonly string[];
  readonly defaultPreset?: string;
  /** ffmpeg's options for a lossy encode. */
  args(quality: number, preset: string | undefined): string[];
  /**
   * Set where a forced keyframe starts a closed GOP (an IDR frame) with these options, checked by
   * reading each file back: one encoder may then write a run of segments, cut at those keyframes.
   */
  readonly forcedKeyframes?: readonly string[];
}

const X26X_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'];
const NVENC_PRESETS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'default', 'slow', 'medium', 'fast', 'hp', 'hq', 'bd', 'll', 'llhq', 'llhp'];
const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, n) => String(from + n));

function nvenc(codec: Codec, name: string): EncoderSpec {
  return {
    codec,
    quality: { min: 0, max: 51, default: 23 },
    presets: NVENC_PRESETS,
    args: (cq, preset) => ['-c:v', name, '-rc', 'vbr', '-cq', String(cq), '-b:v', '0', ...(preset ? ['-preset', preset] : [])],
  };
}

/** The render node VAAPI encoders upload to (the first GPU's). */
export const VAAPI_DEVICE = '/dev/dri/renderD128';

export function isVaapi(encoder: string): boolean {
  return encoder.endsWith('_vaapi');
}

/** A VAAPI encoder (Intel, AMD): frames uploaded as NV12 (args.ts `encodeFilter`), constant QP; no presets. */
function vaapi(codec: Codec, name: string): EncoderSpec {
  return { codec, quality: { min: 1, max: 51, default: 25 }, presets: [], args: (qp) => ['-c:v', name, '-qp', String(qp)] };
}

/**
 * The encoders upframe drives, by ffmpeg name. `--crf` is each one's constant-quality scale (nvenc's
 * `-cq`); `--preset` its speed knob: x264/x265 presets, SVT-AV1's 0–13, and libvpx/libaom's
 * `-cpu-used` 0–8, higher is faster.
 */
const ENCODERS: Readonly<Record<string, EncoderSpec>> = {
  libx264: {
    codec: 'h264', quality: { min: 0, max: 51, default: 18 }, presets: X26X_PRESETS, defaultPreset: 'medium',
    // stitchable: every segment's headers alike, so the joined stream needs only the first's.
    args: (crf, preset) => ['-c:v', 'libx264', '-preset', preset!, '-crf', String(crf), '-x264-params', 'stitchable=1'],
    forcedKeyframes: ['-forced-idr', '1'],
  },
  libx265: {
    codec: 'h265', quality: { min: 0, max: 51, default: 22 }, presets: X26X_PRESETS, defaultPreset: 'medium',
    args: (crf, preset) => ['-c:v', 'libx265', '-preset', preset!, '-crf', String(crf), '-x265-params', 'open-gop=0:log-level=error'],
    forcedKeyframes: ['-forced-idr', '1'],
  },
  'libvpx-vp9': {
    codec: 'vp9', quality: { min: 0, max: 63, default: 30 }, presets: numbers(0, 8), defaultPreset: '4',
    args: (crf, preset) => ['-c:v', 'libvpx-vp9', '-crf', String(crf), '-b:v', '0', '-deadline', 'good', '-cpu-used', preset!, '-row-mt', '1'],
    // Every VP9 keyframe is one no later frame looks past.
    forcedKeyframes: [],
  },
  libsvtav1: {
    codec: 'av1', quality: { min: 0, max: 63, default: 30 }, presets: numbers(0, 13), defaultPreset: '8',
    args: (crf, preset) => ['-c:v', 'libsvtav1', '-preset', preset!, '-crf', String(crf)],
  },
  'libaom-av1': {
    codec: 'av1', quality: { min: 0, max: 63, default: 30 }, presets: numbers(0, 8), defaultPreset: '6',
    // Older ffmpeg (4.x) calls its libaom wrapper experimental.
    args: (crf, preset) => ['-c:v', 'libaom-av1', '-crf', String(crf), '-b:v', '0', '-cpu-used', preset!, '-row-mt', '1', '-strict', 'experimental'],
  },
  ffv1: { codec: 'ffv1', presets: [], args: () => FFV1_ARGS },
  h264_nvenc: nvenc('h264', 'h264_nvenc'),
  hevc_nvenc: nvenc('h265', 'hevc_nvenc'),
  av1_nvenc: nvenc('av1', 'av1_nvenc'),
  h264_vaapi: vaapi('h264', 'h264_vaapi'),
  hevc_vaapi: vaapi('h265', 'hevc_vaapi'),
};

const FFV1_ARGS = ['-c:v', 'ffv1', '-level', '3', '-pix_fmt', 'bgr0'];

/** Each codec's encoders, the first available one chosen when only the codec is given. */
const PREFERRED: Readonly<Record<Codec, readonly string[]>> = {
  h264: ['libx264', 'h264_nvenc'],
  h265: ['libx265', 'hevc_nvenc'],
  vp9: ['libvpx-vp9'],
  av1: ['libsvtav1', 'libaom-av1', 'av1_nvenc'],
  ffv1: ['ffv1'],
};

/** NVIDIA's hardware encoder for each codec it makes. */
export const NVENC: Readonly<Partial<Record<Codec, string>>> = { h264: 'h264_nvenc', h265: 'hevc_nvenc', av1: 'av1_nvenc' };

/** What each container holds (checked with ffmpeg's muxers: vp9/av1 only in mp4 of the ISO family, ffv1 not in mp4). */
const HOLDS: Readonly<Record<Container, readonly Codec[]>> = {
  mp4: ['h264', 'h265', 'vp9', 'av1'],
  mov: ['h264', 'h265', 'ffv1'],
  mkv: ['h264', 'h265', 'vp9', 'av1', 'ffv1'],
  webm: ['vp9', 'av1'],
};

const DEFAULT_CODEC: Readonly<Record<Container, Codec>> = { mp4: 'h264', mov: 'h264', mkv: 'h264', webm: 'vp9' };
const LOSSLESS_CODEC: Readonly<Record<Container, Codec | undefined>> = { mp4: 'h264', mov: 'h264', mkv: 'ffv1', webm: undefined };

/** The encode a job's video gets, decided from the options and the container. */
export interface Encoding {
  readonly codec: Codec;
  /** The encoder named by the user or chosen for the codec (`libx264` also for lossless, which runs libx264rgb). */
  readonly encoder: string;
  readonly lossless: boolean;
  readonly quality?: number;
  readonly preset?: string;
}

export type EncodingOptions = Pick<JobOptions, 'codec' | 'encoder' | 'crf' | 'preset' | 'lossless'>;

let found: ReadonlySet<string> | undefined;

/** The video encoders this ffmpeg has (`ffmpeg -hide_banner -encoders`), asked once per process. */
export function availableEncoders(): ReadonlySet<string> {
  if (found) return found;
  const ffmpeg = ffmpegBinaries().ffmpeg;
  let text: string;
  try {
    text = execFileSync(ffmpeg, ['-hide_banner', '-encoders'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch (cause) {
    throw new UserError('ffmpeg does not list its encoders', { kind: 'runtime', file: ffmpeg, tryMessage: 'see upframe doctor', cause });
  }
  found = parseEncoders(text);
  return found;
}

const formats = new Map<string, readonly string[]>();

/** The pixel formats an encoder takes (`ffmpeg -h encoder=NAME`), asked once per encoder and process; none when ffmpeg lists none. */
export function pixelFormats(encoder: string): readonly string[] {
  let known = formats.get(encoder);
  if (!known) {
    let text = '';
    try {
      text = execFileSync(ffmpegBinaries().ffmpeg, ['-hide_banner', '-h', `encoder=${encoder}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    } catch {
      // Unlisted: the encode stays 8-bit, which every encoder takes.
    }
    formats.set(encoder, (known = parsePixelFormats(text)));
  }
  return known;
}

/** The names in `ffmpeg -encoders`' video lines (` V..... name  description`). */
export function parseEncoders(text: string): ReadonlySet<string> {
  return new Set(text.split('\n').flatMap((line) => /^ V\S{5} (\S+)/.exec(line)?.[1] ?? []));
}

/** Every encoder `--encoder` accepts, where ffmpeg has it. */
export const KNOWN_ENCODERS: readonly string[] = Object.keys(ENCODERS);

/** The encoders upframe drives that this ffmpeg has, in a stable order (doctor, error messages). */
export function usableEncoders(available: ReadonlySet<string> = availableEncoders()): string[] {
  return Object.keys(ENCODERS).filter((name) => available.has(name));
}

function usage(message: string, tryMessage: string, file?: string): UserError {
  return new UserError(message, { kind: 'usage', tryMessage, file });
}

/**
 * With inference on an NVIDIA GPU (`hardware`: the NVENC encoders that opened there), a lossy encode
 * with no encoder named goes to NVENC: at the sizes a GPU upscales to, x264 on the CPU is the slowest
 * stage. A preset that only the CPU encoder knows (`--preset veryfast`) keeps the CPU encoder.
 */
function hardwareEncoder(options: EncodingOptions, codec: Codec, lossless: boolean, hardware: readonly string[]): string | undefined {
  const name = NVENC[codec];
  if (options.encoder !== undefined || lossless || !name || !hardware.includes(name)) return undefined;
  if (options.preset !== undefined && !NVENC_PRESETS.includes(options.preset)) return undefined;
  return name;
}

function pickEncoder(options: EncodingOptions, codec: Codec, available: ReadonlySet<string>): string {
  const usable = usableEncoders(available);
  const listed = `this ffmpeg has: ${usable.join(', ') || 'none of them'}`;
  if (options.encoder !== undefined) {
    if (!(options.encoder in ENCODERS) || !available.has(options.encoder)) throw usage(`--encoder ${options.encoder} is not one this ffmpeg has`, listed);
    if (ENCODERS[options.encoder].codec !== codec) throw usage(`--encoder ${options.encoder} makes ${ENCODERS[options.encoder].codec}, not --codec ${codec}`, 'give one of them, or a matching pair');
    if (isVaapi(options.encoder) && !existsSync(VAAPI_DEVICE)) {
      throw usage(`--encoder ${options.encoder} needs a VAAPI render node (${VAAPI_DEVICE}), and this machine has none`, `use a GPU whose driver exposes it, or another encoder; ${listed}`);
    }
    return options.encoder;
  }
  const encoder = PREFERRED[codec].find((name) => available.has(name));
  if (!encoder) throw usage(`this ffmpeg has no ${codec} encoder (${PREFERRED[codec].join(' or ')})`, `choose another --codec; ${listed}`);
  return encoder;
}

function losslessCodec(options: EncodingOptions, container: Container, output?: string): Codec {
  const given = options.codec ?? (options.encoder ? ENCODERS[options.encoder]?.codec : undefined);
  if (options.crf !== undefined) throw usage(`--crf ${options.crf} sets a lossy quality and --lossless keeps every pixel`, 'give one of them');
  if (given === undefined) {
    const codec = LOSSLESS_CODEC[container];
    if (!codec) throw usage(`--lossless: ${container} holds no lossless codec upframe writes`, 'write .mkv (FFV1), .mp4 or .mov (x264 -qp 0)', output);
    return codec;
  }
  if (given !== 'h264' && given !== 'ffv1') throw usage(`--lossless writes h264 (x264 -qp 0, RGB) or ffv1, not ${given}`, 'drop --codec/--encoder, or give --codec h264 or ffv1');
  if (options.encoder !== undefined && options.encoder !== 'libx264' && options.encoder !== 'ffv1') {
    throw usage(`--lossless runs libx264 or ffv1, not --encoder ${options.encoder}`, 'drop --encoder');
  }
  return given;
}

/**
 * The encode for a container, or a one-line usage error: an encoder this ffmpeg lacks, a codec the
 * container cannot hold, `--crf` outside the encoder's scale, a preset it does not know, `--lossless`
 * where no lossless codec fits. `output` is named in the container's refusals; `hardware` lists the
 * hardware encoders that opened on the device the job's inference runs on (services/gpu.ts).
 */
export function resolveEncoding(
  options: EncodingOptions,
  container: Container,
  available: ReadonlySet<string> = availableEncoders(),
  output?: string,
  hardware: readonly string[] = [],
): Encoding {
  if (options.codec !== undefined && !CODECS.includes(options.codec)) throw usage(`--codec expects ${CODECS.join(' or ')}, got "${options.codec}"`, 'e.g. --codec h265');
  const lossless = options.lossless === true || options.codec === 'ffv1' || options.encoder === 'ffv1';
  const codec = options.lossless ? losslessCodec(options, container, output) : (options.codec ?? (options.encoder ? ENCODERS[options.encoder]?.codec : undefined) ?? DEFAULT_CODEC[container]);
  const encoder = hardwareEncoder(options, codec, lossless, hardware) ?? pickEncoder(options, codec, available);
  if (!HOLDS[container].includes(codec)) {
    const fits = (Object.keys(HOLDS) as Container[]).filter((c) => HOLDS[c].includes(codec));
    throw usage(`${codec} cannot go into ${container}`, `write .${fits.join(', .')}, or give --codec ${HOLDS[container].join('|')}`, output);
  }
  const spec = ENCODERS[encoder];
  if (codec === 'h264' && lossless && !available.has('libx264rgb')) throw usage('--lossless h264 needs libx264rgb, which this ffmpeg lacks', 'write .mkv (FFV1)');
  return { codec, encoder, lossless, quality: options.lossless ? undefined : qualityOf(options, encoder, spec), preset: presetOf(options, encoder, spec, lossless) };
}

function qualityOf(options: EncodingOptions, encoder: string, spec: EncoderSpec): number | undefined {
  if (!spec.quality) {
    if (options.crf !== undefined) throw usage(`--crf does not apply to ${encoder}: it is lossless`, 'drop --crf');
    return undefined;
  }
  const { min, max } = spec.quality;
  if (options.crf === undefined) return spec.quality.default;
  if (options.crf < min || options.crf > max) throw usage(`--crf ${options.crf} is outside ${encoder}'s range ${min}–${max}`, `give --crf ${min} to ${max} (lower is better; default ${spec.quality.default})`);
  return options.crf;
}

function presetOf(options: EncodingOptions, encoder: string, spec: EncoderSpec, lossless: boolean): string | undefined {
  if (options.preset === undefined) return lossless && encoder === 'libx264' ? 'medium' : spec.defaultPreset;
  if (spec.presets.length === 0) throw usage(`${encoder} has no presets`, 'drop --preset');
  if (!spec.presets.includes(options.preset)) throw usage(`--preset ${options.preset} is not a ${encoder} preset`, `give one of: ${spec.presets.join(', ')}`);
  return options.preset;
}

/**
 * The checks that hold whatever the container, for options given before any output (the TUI's):
 * with a codec or encoder named, Matroska holds it, so the encoder, its scale and presets are
 * judged. Without one the container picks the codec: those wait for the output.
 */
export function checkEncodingFlags(options: EncodingOptions): void {
  if (options.codec === undefined && options.encoder === undefined) return;
  resolveEncoding(options, 'mkv');
}

/**
 * ffmpeg's output options for the video encode, without the pixel format's conversion: lossless
 * h264 is libx264rgb at `-qp 0` on the hosts' RGB (decoded as planar GBR, bit-exact), FFV1 codes
 * RGB as `bgr0`.
 */
export function encoderArgs(encoding: Encoding): string[] {
  if (encoding.lossless) {
    if (encoding.codec === 'ffv1') return FFV1_ARGS;
    return ['-c:v', 'libx264rgb', '-qp', '0', '-preset', encoding.preset ?? 'medium', '-pix_fmt', 'rgb24', '-x264-params', 'stitchable=1'];
  }
  return ENCODERS[encoding.encoder].args(encoding.quality!, encoding.preset);
}

/**
 * The options that make the encoder start a segment on a forced keyframe, or undefined where it
 * keeps its own GOP (FFV1 sets its keyframes by `-g` alone) or is not verified here (AV1, hardware
 * encoders): each segment then gets an encoder of its own.
 */
export function forcedKeyframeArgs(encoding: Encoding): readonly string[] | undefined {
  if (encoding.codec === 'ffv1') return undefined;
  return ENCODERS[encoding.encoder]?.forcedKeyframes;
}

/** The video's tag in the output, where the muxer's default is not the one players expect. */
export function videoTagArgs(codec: Codec, container: Container): string[] {
  // hvc1: parameter sets in the sample entry only, the tag Apple's players ask for.
  return codec === 'h265' && (container === 'mp4' || container === 'mov') ? ['-tag:v:0', 'hvc1'] : [];
}
