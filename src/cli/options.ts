import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { UserError } from '../services/errors.js';
import { resolveTempRoot } from '../services/workdir.js';
import { parseRate } from '../services/rational.js';
import { containerOf } from '../services/ffmpeg/args.js';
import { CODECS, checkEncodingFlags, resolveEncoding } from '../services/ffmpeg/encoders.js';
import type { JobOptions, StartRequest } from '../domain.js';

/** Flags as commander hands them over: strings, unvalidated. */
export interface RunFlags {
  readonly output?: string;
  readonly model?: string;
  readonly scale?: string;
  readonly device?: string;
  /** `fp16` or `fp32`; default fp16 on a GPU that runs it, fp32 on the CPU. */
  readonly precision?: string;
  readonly tile?: string;
  readonly crf?: string;
  readonly codec?: string;
  readonly encoder?: string;
  readonly preset?: string;
  readonly lossless?: boolean;
  readonly overwrite?: boolean;
  readonly tempDir?: string;
  /** Removed: a cancel kills at once. Still parsed so that a script passing it hears why it is refused. */
  readonly grace?: string;
  readonly json?: boolean;
  readonly trace?: string;
  /** The live statechart: the TUI's panel open from the start, or transitions on stderr when headless. */
  readonly inspect?: boolean;
  readonly interpolate?: string;
  readonly fps?: string;
  readonly order?: string;
  readonly interpolationModel?: string;
  readonly sceneThreshold?: string;
  readonly failFast?: boolean;
  readonly scenes?: boolean;
  readonly minScene?: string;
  readonly mode?: string;
  readonly chunk?: string;
  readonly window?: string;
  readonly overlap?: string;
  readonly resume?: boolean;
  readonly jobs?: string;
  readonly threads?: string;
  /** `--queue redis://…`: the batch goes to a queue (src/queue), loaded only then. */
  readonly queue?: string;
  /** Self-ensemble of 8 (`--ensemble 8`). */
  readonly tta?: boolean;
  readonly ensemble?: string;
  /** A steps model's runs per frame. */
  readonly steps?: string;
  readonly faceRestore?: string;
  readonly faceStrength?: string;
  readonly faceMinSize?: string;
  readonly faceFidelity?: string;
  readonly faceDetector?: string;
}

/** A usage error (exit 2): what was wrong with the flags, and what to try. */
export function usage(message: string, tryMessage: string): UserError {
  return new UserError(message, { kind: 'usage', tryMessage });
}

function integer(flag: string, value: string | undefined, range: { min: number; max: number; example: number }): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw usage(`${flag} expects an integer from ${range.min} to ${range.max}, got "${value}"`, `e.g. ${flag} ${range.example}`);
  }
  return n;
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw usage(`${flag} expects ${allowed.join(' or ')}, got "${value}"`, `e.g. ${flag} ${allowed[0]}`);
  }
  return value as T;
}

function sceneThreshold(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw usage(`--scene-threshold expects a number between 0 and 1, got "${value}"`, 'e.g. --scene-threshold 0.3');
  return n;
}

function unitInterval(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw usage(`${flag} expects a number from 0 to 1, got "${value}"`, `e.g. ${flag} 0.8`);
  return n;
}

/** The --face-* options; those that tune face restoration need it asked for. */
function faceOptions(flags: RunFlags): Pick<JobOptions, 'faceRestore' | 'faceStrength' | 'faceMinSize' | 'faceFidelity' | 'faceDetector'> {
  const tuning = (['faceStrength', 'faceMinSize', 'faceFidelity', 'faceDetector'] as const).find((key) => flags[key] !== undefined);
  if (!flags.faceRestore && tuning) {
    const flag = `--${tuning.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw usage(`${flag} tunes face restoration, which is not asked for`, 'add --face-restore NAME (upframe models import FILE.onnx --kind face-restore)');
  }
  return {
    faceRestore: flags.faceRestore,
    faceStrength: unitInterval('--face-strength', flags.faceStrength),
    faceMinSize: integer('--face-min-size', flags.faceMinSize, { min: 1, max: 100_000, example: 48 }),
    faceFidelity: unitInterval('--face-fidelity', flags.faceFidelity),
    faceDetector: flags.faceDetector,
  };
}

function checkModeFlags(flags: RunFlags): void {
  const mode = flags.mode ?? 'chunked';
  if (mode === 'chunked' && (flags.window !== undefined || flags.overlap !== undefined)) {
    throw usage('--window and --overlap belong to --mode context', 'add --mode context, or use --chunk N');
  }
  if (mode === 'context' && (flags.window === undefined || flags.overlap === undefined)) throw usage('--mode context needs --window N and --overlap K', 'e.g. --mode context --window 32 --overlap 4');
  if (mode === 'context' && flags.chunk !== undefined) throw usage('--chunk belongs to --mode chunked', 'drop --chunk, or use --mode chunked');
}

/** Checks that hold whichever way the options were given (flags, or the TUI form over them). */
function checkOptions(options: JobOptions): JobOptions {
  if (options.scale === 1 && !options.interpolate && !options.fps && !options.faceRestore) {
    throw usage('--scale 1 with no interpolation leaves nothing to do', 'add --interpolate 2 or --fps 60, or drop --scale 1');
  }
  if (options.scale === 1 && options.ensemble) throw usage(`--tta/--ensemble ${options.ensemble} runs the upscale model ${options.ensemble} ways, and --scale 1 runs no upscale model`, 'drop --scale 1, or the ensemble');
  if (options.scale === 1 && options.steps !== undefined) throw usage(`--steps ${options.steps} sets a steps upscale model's runs, and --scale 1 runs no upscale model`, 'drop --scale 1, or --steps');
  checkEncodingFlags(options);
  return options;
}

const SCALES = ['1', '2', '4'] as const;
const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
const PRECISIONS = ['fp16', 'fp32'] as const;

/** `--tta` is `--ensemble 8`; the two together are refused rather than guessed. */
function ensembleOf(flags: RunFlags): 2 | 4 | 8 | undefined {
  if (flags.tta && flags.ensemble !== undefined) throw usage('--tta and --ensemble both set the self-ensemble', '--tta is --ensemble 8: give one of them');
  if (flags.tta) return 8;
  const n = oneOf('--ensemble', flags.ensemble, ['2', '4', '8'] as const);
  return n === undefined ? undefined : (Number(n) as 2 | 4 | 8);
}

function scaleOf(value: string | undefined): 1 | 2 | 4 | undefined {
  const scale = oneOf('--scale', value, SCALES);
  return scale === undefined ? undefined : (Number(scale) as 1 | 2 | 4);
}

export function jobOptions(flags: RunFlags): JobOptions {
  if (flags.grace !== undefined) throw usage('--grace is gone: a cancel kills every process at once (nothing a cancel throws away is worth flushing)', 'drop --grace');
  checkModeFlags(flags);
  const interpolate = oneOf('--interpolate', flags.interpolate, ['2', '4'] as const);
  if (interpolate && flags.fps) throw usage('--interpolate and --fps both set the output rate', 'give one of them');
  return checkOptions({
    model: flags.model,
    scale: scaleOf(flags.scale),
    interpolate: interpolate === undefined ? undefined : (Number(interpolate) as 2 | 4),
    fps: flags.fps === undefined ? undefined : parseRate(flags.fps, '--fps'),
    order: oneOf('--order', flags.order, ['upscale-first', 'interpolate-first'] as const),
    interpolationModel: flags.interpolationModel,
    sceneThreshold: sceneThreshold(flags.sceneThreshold),
    failFast: flags.failFast ?? false,
    scenes: flags.scenes ?? false,
    mode: oneOf('--mode', flags.mode, ['chunked', 'context'] as const),
    chunk: integer('--chunk', flags.chunk, { min: 1, max: 10_000_000, example: 240 }),
    window: integer('--window', flags.window, { min: 3, max: 10_000_000, example: 32 }),
    overlap: integer('--overlap', flags.overlap, { min: 0, max: 1_000_000, example: 4 }),
    resume: flags.resume ?? false,
    jobs: integer('--jobs', flags.jobs, { min: 1, max: 64, example: 2 }),
    threads: integer('--threads', flags.threads, { min: 1, max: 1024, example: 4 }),
    minScene: integer('--min-scene', flags.minScene, { min: 1, max: 1_000_000, example: 12 }),
    device: oneOf('--device', flags.device, DEVICES) ?? 'auto',
    precision: oneOf('--precision', flags.precision, PRECISIONS),
    tile: integer('--tile', flags.tile, { min: 0, max: 8192, example: 256 }),
    crf: integer('--crf', flags.crf, { min: 0, max: 63, example: 18 }),
    codec: oneOf('--codec', flags.codec, CODECS),
    encoder: flags.encoder,
    preset: flags.preset,
    lossless: flags.lossless || undefined,
    ensemble: ensembleOf(flags),
    steps: integer('--steps', flags.steps, { min: 1, max: 10_000, example: 20 }),
    ...faceOptions(flags),
    overwrite: flags.overwrite ?? false,
    tempRoot: resolveTempRoot(flags.tempDir),
  });
}

/** The fields the TUI form edits, as typed. */
export interface FormFields {
  readonly input: string;
  readonly output: string;
  /** `model`: the model's own scale. */
  readonly scale: string;
  readonly model: string;
  readonly device: string;
}

/**
 * The TUI form over the options parsed from the command line: only the form's own fields are read
 * again; everything else keeps its parsed value.
 */
export function formRequest(form: FormFields, base: JobOptions, batch?: StartRequest): StartRequest {
  // Several inputs from the command line stay several while the form still shows the first.
  if (batch && batch.items.length > 1 && form.input === batch.items[0]?.input) return batch;
  const { inputs, output } = checkedPaths([form.input].filter(Boolean), form.output || undefined);
  const options = checkOptions({
    ...base,
    model: form.model || undefined,
    scale: form.scale === 'model' ? undefined : scaleOf(form.scale),
    device: oneOf('--device', form.device, DEVICES) ?? 'auto',
  });
  return requestFor(inputs, output, options);
}

const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mkv', '.mov', '.webm']);
/** What a folder given as input contributes: files ffmpeg commonly reads as video. */
const INPUT_EXTENSIONS = new Set([...VIDEO_EXTENSIONS, '.avi', '.wmv', '.flv', '.mpg', '.mpeg', '.ts', '.m2ts', '.mts', '.3gp', '.ogv', '.mxf', '.y4m']);

/** `<dir>/<stem>.upscaled.<ext>`: the input's container when it is one we write, else mp4. */
export function derivedOutput(input: string, dir: string): string {
  const ext = extname(input).toLowerCase();
  return join(dir, `${basename(input, extname(input))}.upscaled${VIDEO_EXTENSIONS.has(ext) ? ext : '.mp4'}`);
}

/** Folders become their video files, sorted by name; anything else is kept for the probe to judge. */
export function expandInputs(inputs: readonly string[]): string[] {
  return inputs.flatMap((input) => {
    if (!existsSync(input) || !statSync(input).isDirectory()) return [input];
    const videos = readdirSync(input)
      .filter((name) => INPUT_EXTENSIONS.has(extname(name).toLowerCase()) && statSync(join(input, name)).isFile())
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((name) => join(input, name));
    if (videos.length === 0) throw usage(`no video files in the folder ${input}`, `give files with one of ${[...INPUT_EXTENSIONS].join(' ')}`);
    return videos;
  });
}

/** Two inputs named alike (a/x.mp4, b/x.mp4) never write to one output: the later gets -2, -3, … */
function uniqueOutputs(outputs: readonly string[]): string[] {
  const taken = new Set<string>();
  return outputs.map((output) => {
    let candidate = output;
    for (let n = 2; taken.has(candidate); n++) {
      const ext = extname(output);
      candidate = `${output.slice(0, output.length - ext.length)}-${n}${ext}`;
    }
    taken.add(candidate);
    return candidate;
  });
}

function isDirectoryTarget(output: string): boolean {
  return output.endsWith('/') || (existsSync(output) && statSync(output).isDirectory());
}

export function startRequest(given: readonly string[], flags: RunFlags): StartRequest {
  const { inputs, output } = checkedPaths(given, flags.output);
  return requestFor(inputs, output, jobOptions(flags));
}

function checkedPaths(given: readonly string[], output: string | undefined): { inputs: string[]; output: string } {
  if (given.length === 0) throw usage('no input given', 'upframe run <input> -o <output>');
  const inputs = expandInputs(given);
  if (!output) throw usage('no output given', 'add -o <file> (or -o <dir>/ for several inputs)');
  return { inputs, output };
}

function requestFor(inputs: readonly string[], output: string, options: JobOptions): StartRequest {
  const toDir = isDirectoryTarget(output);
  if (inputs.length > 1 && !toDir) throw usage('several inputs need an output folder', `-o ${output}/`);
  if (toDir && !existsSync(output)) throw usage(`the output folder ${output} does not exist`, 'create it first');
  const outputs = uniqueOutputs(inputs.map((input) => resolve(toDir ? derivedOutput(input, output) : output)));
  const items = inputs.map((input, n) => ({ input: resolve(input), output: outputs[n] }));
  checkEncodings(outputs, options);
  return { runId: newRunId(), items, options };
}

/**
 * The encoder, --crf, --preset and --lossless against each output's container, before anything is
 * made. A preview writes PNG; an extension that is no container is refused by the job's own checks.
 */
function checkEncodings(outputs: readonly string[], options: JobOptions): void {
  if (options.preview) return;
  for (const output of outputs) {
    const container = containerOf(output);
    if (container) resolveEncoding(options, container, undefined, output);
  }
}

let runs = 0;
/** pid, time and a counter: two processes sharing a temp root never pick the same job folder. */
export function newRunId(): string {
  return `${process.pid.toString(36)}${Date.now().toString(36)}${(++runs).toString(36)}`;
}
