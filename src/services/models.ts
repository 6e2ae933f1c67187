import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { ModelKind, ResolvedModel, TileSpec } from '../domain.js';
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
const DEFAULT_TILE: TileSpec = { multiple: 1, minSize: 8, defaultSize: 256, overlap: 8 };

export function loadManifest(dir: string = MODELS_DIR): Manifest {
  return JSON.parse(readFileSync(join(dir, 'models.json'), 'utf8')) as Manifest;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function looksLikePath(spec: string): boolean {
  return extname(spec).toLowerCase() === '.onnx' || spec.includes('/');
}

export function resolveModel(spec: string | undefined, dir: string = MODELS_DIR, kind: ModelKind = 'upscale'): ResolvedModel {
  const name = spec ?? DEFAULT_MODEL;
  if (looksLikePath(name)) {
    const path = resolve(name);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new UserError('model file not found', { kind: 'usage', file: path, tryMessage: 'check the --model path' });
    }
    return { name: path, path, tile: DEFAULT_TILE, origin: 'file' };
  }
  const entry = loadManifest(dir).models.find((m) => m.name === name);
  if (!entry) {
    throw new UserError(`unknown model "${name}"`, { kind: 'usage', tryMessage: 'run "upframe models list" for the names, or pass a .onnx file' });
  }
  if (entry.kind !== kind) {
    throw new UserError(`"${name}" is a${entry.kind === 'interpolate' ? 'n' : ''} ${entry.kind} model, not ${kind === 'interpolate' ? 'an' : 'a'} ${kind} one`, {
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
