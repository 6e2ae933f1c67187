import { existsSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { UserError } from '../services/errors.js';
import { resolveTempRoot } from '../services/workdir.js';
import type { JobOptions, StartRequest } from '../machines/types.js';

/** Flags as commander hands them over: strings, unvalidated. */
export interface RunFlags {
  readonly output?: string;
  readonly model?: string;
  readonly scale?: string;
  readonly device?: string;
  readonly tile?: string;
  readonly crf?: string;
  readonly overwrite?: boolean;
  readonly tempDir?: string;
  readonly grace?: string;
  readonly json?: boolean;
  readonly trace?: string;
}

function usage(message: string, tryMessage: string): UserError {
  return new UserError(message, { kind: 'usage', tryMessage });
}

function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw usage(`${flag} expects an integer from ${min} to ${max}, got "${value}"`, `e.g. ${flag} ${min === 0 ? max > 100 ? 256 : 18 : min}`);
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

export function jobOptions(flags: RunFlags): JobOptions {
  const scale = oneOf('--scale', flags.scale, ['2', '4'] as const);
  return {
    model: flags.model,
    scale: scale === undefined ? undefined : (Number(scale) as 2 | 4),
    device: oneOf('--device', flags.device, ['auto', 'cpu', 'cuda'] as const) ?? 'auto',
    tile: integer('--tile', flags.tile, 0, 8192),
    crf: integer('--crf', flags.crf, 0, 63),
    overwrite: flags.overwrite ?? false,
    tempRoot: resolveTempRoot(flags.tempDir),
    graceMs: integer('--grace', flags.grace, 0, 60_000) ?? 500,
  };
}

const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mkv', '.mov', '.webm']);

/** `<dir>/<stem>.upscaled.<ext>`: the input's container when it is one we write, else mp4. */
export function derivedOutput(input: string, dir: string): string {
  const ext = extname(input).toLowerCase();
  return join(dir, `${basename(input, extname(input))}.upscaled${VIDEO_EXTENSIONS.has(ext) ? ext : '.mp4'}`);
}

function isDirectoryTarget(output: string): boolean {
  return output.endsWith('/') || (existsSync(output) && statSync(output).isDirectory());
}

export function startRequest(inputs: readonly string[], flags: RunFlags): StartRequest {
  if (inputs.length === 0) throw usage('no input given', 'upframe run <input> -o <output>');
  if (!flags.output) throw usage('no output given', 'add -o <file> (or -o <dir>/ for several inputs)');
  const options = jobOptions(flags);
  const toDir = isDirectoryTarget(flags.output);
  if (inputs.length > 1 && !toDir) throw usage('several inputs need an output folder', `-o ${flags.output}/`);
  const items = inputs.map((input) => ({
    input: resolve(input),
    output: resolve(toDir ? derivedOutput(input, flags.output!) : flags.output!),
  }));
  return { runId: newRunId(), items, options };
}

let runs = 0;
/** pid, time and a counter: two processes sharing a temp root never pick the same job folder. */
export function newRunId(): string {
  return `${process.pid.toString(36)}${Date.now().toString(36)}${(++runs).toString(36)}`;
}
