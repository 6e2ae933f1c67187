import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { ModelKind, ResolvedModel, StepsSpec, TileSpec } from '../domain.js';
import { UserError } from './errors.js';
import { MODELS_DIR } from './paths.js';

export interface ModelEntry {
  readonly name: string;
  readonly kind: ModelKind;
  readonly file: string;
  readonly sha256: string;
  readonly scale: number;
  readonly licence: string;
  readonly frames: number;
  readonly tile: TileSpec;
  readonly source?: { readonly package?: string; readonly upstream?: string };
}

interface Manifest {
  readonly models: readonly ModelEntry[];
}

export const DEFAULT_MODEL = 'realesr-general-x4v3';
export const DEFAULT_TILE: TileSpec = { multiple: 1, minSize: 8, defaultSize: 256, overlap: 8 };

export function loadManifest(dir: string = MODELS_DIR): Manifest {
  return JSON.parse(readFileSync(join(dir, 'models.json'), 'utf8')) as Manifest;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function looksLikePath(spec: string): boolean {
  return extname(spec).toLowerCase() === '.onnx' || spec.includes('/');
}

export function resolveModel(spec: string | undefined, dir: string = MODELS_DIR, kind: ModelKind = 'upscale'): ResolvedModel {
  const name = spec ?? DEFAULT_MODEL;
  if (looksLikePath(name)) {
    const path = resolve(name);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new UserError('model file not found', { kind: 'usage', file: path, tryMessage: 'check the --model path' });
    }
    const steps = kind === 'upscale' ? readStepsManifest(path) : undefined;
    return { name: path, path, tile: DEFAULT_TILE, origin: 'file', ...(steps ? { steps } : {}) };
  }
  const entry = loadManifest(dir).models.find((m) => m.name === name);
  if (!entry) {
    throw new UserError(`unknown model "${name}"`, { kind: 'usage', tryMessage: 'run "upframe models list" for the names, or pass a .onnx file' });
  }
  if (entry.kind !== kind) {
    const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');
    throw new UserError(`"${name}" is ${article(entry.kind)} ${entry.kind} model, not ${article(kind)} ${kind} one`, {
      kind: 'usage',
      tryMessage: 'run "upframe models list" to see each model\'s kind',
    });
  }
  return { name: entry.name, path: join(dir, entry.file), scale: entry.scale, sha256: entry.sha256, tile: entry.tile, origin: 'bundled' };
}

export interface Verification {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export function verifyModels(dir: string = MODELS_DIR): Verification[] {
  return loadManifest(dir).models.map((entry) => {
    const path = join(dir, entry.file);
    if (!existsSync(path)) return { name: entry.name, ok: false, detail: `missing file ${path}` };
    const actual = sha256File(path);
    return actual === entry.sha256
      ? { name: entry.name, ok: true, detail: `sha256 ${actual}` }
      : { name: entry.name, ok: false, detail: `sha256 ${actual} != manifest ${entry.sha256}` };
  });
}

/** The sidecar manifest of a model file: `<file>.onnx.json`. */
export function stepsManifestPath(modelPath: string): string {
  return `${modelPath}.json`;
}

const isWhole = (n: unknown, min: number): n is number => typeof n === 'number' && Number.isInteger(n) && n >= min;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * A model file's sidecar, when there is one: `{ "kind": "steps", "inputs": { "image", "step",
 * "source"? }, "output"?, "steps", "maxSteps"?, "schedule"?, "scale"? }` (README, "Steps models").
 * Read here, in the orchestrator, so that bad values fail before any process starts; the host
 * checks the inputs against the model itself.
 */
export function readStepsManifest(modelPath: string): StepsSpec | undefined {
  const file = stepsManifestPath(modelPath);
  if (!existsSync(file)) return undefined;
  const invalid = (what: string) => new UserError(`invalid steps manifest: ${what}`, { kind: 'input', file, tryMessage: 'see README, "Steps models"' });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw invalid(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('not a JSON object');
  if (raw.kind !== 'steps') throw invalid(`"kind" is ${JSON.stringify(raw.kind)}, expected "steps"`);
  const inputs = raw.inputs as Record<string, unknown> | undefined;
  if (!inputs || !isName(inputs.image) || !isName(inputs.step)) throw invalid('"inputs" needs "image" and "step": the model\'s input names');
  if (inputs.source !== undefined && !isName(inputs.source)) throw invalid('"inputs.source" must be an input name');
  if (raw.output !== undefined && !isName(raw.output)) throw invalid('"output" must be an output name');
  const scale = raw.scale ?? 1;
  if (!isWhole(scale, 1) || scale > 8) throw invalid('"scale" must be an integer from 1 to 8');
  const schedule = raw.schedule as unknown;
  let listed: number | undefined;
  if (Array.isArray(schedule)) {
    if (schedule.length === 0 || !schedule.every((v) => typeof v === 'number' && Number.isFinite(v))) throw invalid('"schedule" must be a non-empty list of numbers');
    listed = schedule.length;
  } else if (schedule !== undefined) {
    const range = schedule as Record<string, unknown>;
    if (typeof range !== 'object' || range === null || !Number.isFinite(range.from) || !Number.isFinite(range.to)) {
      throw invalid('"schedule" must be a list of numbers or { "from": a, "to": b }');
    }
  }
  const steps = raw.steps ?? listed;
  if (!isWhole(steps, 1)) throw invalid('"steps" must be an integer of at least 1');
  const maxSteps = raw.maxSteps ?? listed ?? steps;
  if (!isWhole(maxSteps, steps)) throw invalid(`"maxSteps" must be an integer of at least "steps" (${steps})`);
  if (listed !== undefined && maxSteps > listed) throw invalid(`"maxSteps" is ${maxSteps} but the schedule lists ${listed} values`);
  return {
    steps,
    maxSteps,
    ...(schedule === undefined ? {} : { schedule: Array.isArray(schedule) ? (schedule as number[]) : { from: Number((schedule as { from: number }).from), to: Number((schedule as { to: number }).to) } }),
    inputs: { image: inputs.image, step: inputs.step, ...(inputs.source === undefined ? {} : { source: inputs.source as string }) },
    ...(raw.output === undefined ? {} : { output: raw.output as string }),
    scale,
  };
}
