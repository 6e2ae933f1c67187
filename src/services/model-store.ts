/**
 * The user's model store: models people bring (face restorers: no restorer's weights ship in any
 * package we may take from), imported once with `upframe models import` and named from then on.
 * A folder of `.onnx` files and a `models.json` listing them with their sha256, under
 * `$XDG_DATA_HOME/upframe/models` (default `~/.local/share/upframe/models`), never in the package.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join } from 'node:path';
import type { ModelKind, ResolvedModel } from '../domain.js';
import { UserError } from './errors.js';
import { DEFAULT_TILE, loadManifest, looksLikePath, resolveModel, sha256File } from './models.js';

export interface StoredModel {
  readonly name: string;
  readonly kind: ModelKind;
  /** File name inside the store. */
  readonly file: string;
  readonly sha256: string;
  /** Where it was imported from, and when (ISO time). */
  readonly importedFrom: string;
  readonly importedAt: string;
  /** What the load check found: the crop's side, and CodeFormer's fidelity input. */
  readonly layout?: { readonly size: number; readonly fidelity: boolean };
}

interface StoreManifest {
  readonly models: readonly StoredModel[];
}

export function modelStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const data = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(data, 'upframe', 'models');
}

const manifestPath = (dir: string) => join(dir, 'models.json');

export function storedModels(dir: string = modelStoreDir()): readonly StoredModel[] {
  const path = manifestPath(dir);
  if (!existsSync(path)) return [];
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as StoreManifest).models;
  } catch (cause) {
    throw new UserError('the model store\'s list is not readable', { kind: 'input', file: path, tryMessage: 'fix or remove it, then import the models again', cause });
  }
}

export function storedModelPath(model: StoredModel, dir: string = modelStoreDir()): string {
  return join(dir, model.file);
}

export function findStoredModel(name: string, dir: string = modelStoreDir()): StoredModel | undefined {
  return storedModels(dir).find((m) => m.name === name);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The name a file is imported under without `--name`: its base name, without `.onnx`. */
export function defaultModelName(file: string): string {
  return basename(file, extname(file)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'model';
}

/**
 * Every check that needs no model loading, before anything is made: the name's form, a name already
 * taken, the same bytes already imported under another name. Returns the file's sha256.
 */
export function checkImport(file: string, name: string, dir: string = modelStoreDir(), reserved: readonly string[] = []): string {
  if (!NAME.test(name)) {
    throw new UserError(`"${name}" is not a model name`, { kind: 'usage', tryMessage: 'give --name with letters, digits, ".", "_" or "-" (up to 64)' });
  }
  if (reserved.includes(name)) throw new UserError(`"${name}" is a bundled model's name`, { kind: 'usage', tryMessage: 'give another --name' });
  const sha256 = sha256File(file);
  const models = storedModels(dir);
  const same = models.find((m) => m.sha256 === sha256);
  if (same) {
    throw new UserError(`this model is already imported as "${same.name}"`, {
      kind: 'usage', file, tryMessage: same.name === name ? 'nothing to do: use it by that name' : `use it as "${same.name}", or remove that one from ${dir} first`,
    });
  }
  if (models.some((m) => m.name === name)) {
    throw new UserError(`a model named "${name}" is already imported`, { kind: 'usage', tryMessage: 'give another --name' });
  }
  return sha256;
}

/** Copies the file in (a partial file, then a rename) and adds it to the list (the same way). */
export function addToStore(file: string, entry: Omit<StoredModel, 'file'>, dir: string = modelStoreDir()): StoredModel {
  mkdirSync(dir, { recursive: true });
  const stored: StoredModel = { ...entry, file: `${entry.name}.onnx` };
  const target = join(dir, stored.file);
  const part = `${target}.part-${process.pid}`;
  const list = `${manifestPath(dir)}.part-${process.pid}`;
  try {
    copyFileSync(file, part);
    if (sha256File(part) !== entry.sha256) throw new UserError('the copy differs from the file (it changed while being imported)', { kind: 'input', file, tryMessage: 'import it again' });
    writeFileSync(list, `${JSON.stringify({ models: [...storedModels(dir), stored] } satisfies StoreManifest, null, 2)}\n`);
    renameSync(part, target);
    renameSync(list, manifestPath(dir));
  } finally {
    rmSync(part, { force: true });
    rmSync(list, { force: true });
  }
  return stored;
}

export interface StoreVerification {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Each imported model's file against the sha256 recorded when it was imported. */
export function verifyStore(dir: string = modelStoreDir()): StoreVerification[] {
  return storedModels(dir).map((m) => {
    const path = storedModelPath(m, dir);
    if (!existsSync(path)) return { name: m.name, ok: false, detail: `missing file ${path}` };
    const actual = sha256File(path);
    return actual === m.sha256
      ? { name: m.name, ok: true, detail: `sha256 ${actual} (imported)` }
      : { name: m.name, ok: false, detail: `sha256 ${actual} != imported ${m.sha256}` };
  });
}

export const DEFAULT_FACE_DETECTOR = 'blazeface-back-256';

/** A model of `kind` by name (the store first, then the bundled ones) or by file. */
function resolveKind(spec: string, kind: 'face-restore' | 'face-detect', flag: string, dir: string): ResolvedModel {
  if (looksLikePath(spec)) return resolveModel(spec, undefined, kind);
  const stored = findStoredModel(spec, dir);
  if (stored) {
    if (stored.kind !== kind) {
      throw new UserError(`"${spec}" was imported as a ${stored.kind} model, not a ${kind} one`, { kind: 'usage', tryMessage: `${flag} takes a ${kind} model: run "upframe models list"` });
    }
    return { name: stored.name, path: storedModelPath(stored, dir), sha256: stored.sha256, tile: DEFAULT_TILE, origin: 'imported' };
  }
  if (loadManifest().models.some((m) => m.name === spec)) return resolveModel(spec, undefined, kind);
  throw new UserError(`no ${kind} model named "${spec}" is imported`, {
    kind: 'usage',
    tryMessage: `import it first: upframe models import FILE.onnx --kind ${kind} --name ${spec} ("upframe models list" shows what there is)`,
  });
}

export function resolveFaceRestorer(spec: string, dir: string = modelStoreDir()): ResolvedModel {
  return resolveKind(spec, 'face-restore', '--face-restore', dir);
}

export function resolveFaceDetector(spec: string | undefined, dir: string = modelStoreDir()): ResolvedModel {
  return resolveKind(spec ?? DEFAULT_FACE_DETECTOR, 'face-detect', '--face-detector', dir);
}
