import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FaceCheckResult } from '../hosts/face-check.js';
import { UserError } from '../services/errors.js';
import { addToStore, checkImport, defaultModelName, modelStoreDir, storedModels, verifyStore } from '../services/model-store.js';
import { loadManifest, verifyModels } from '../services/models.js';
import { hostArgs } from '../services/paths.js';

export function modelsList(): number {
  for (const m of loadManifest().models) {
    process.stdout.write(`${m.name}\t${m.kind}\t${m.scale ? `×${m.scale}` : '-'}\t${m.licence}\t${m.file}\n`);
  }
  const dir = modelStoreDir();
  for (const m of storedModels(dir)) {
    const layout = m.layout ? `${m.layout.size}×${m.layout.size}${m.layout.fidelity ? ' +fidelity' : ''}` : '-';
    process.stdout.write(`${m.name}\t${m.kind}\t${layout}\timported\t${dir}/${m.file}\n`);
  }
  return 0;
}

export function modelsVerify(): number {
  const results = [...verifyModels(), ...verifyStore()];
  for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

const KINDS = ['face-restore', 'face-detect'] as const;
/** Generous: loading a big restorer and running it once on the CPU. */
const CHECK_TIMEOUT_MS = 180_000;

/** ONNX is a protobuf ModelProto: its first field is ir_version (field 1, varint), so it starts with 0x08. */
function looksLikeOnnx(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(1);
    return readSync(fd, head, 0, 1, 0) === 1 && head[0] === 0x08;
  } finally {
    closeSync(fd);
  }
}

/** Loads the model in a child process, as its kind, and says what it found. */
function loadCheck(kind: (typeof KINDS)[number], file: string): Extract<FaceCheckResult, { ok: true }> {
  const run = spawnSync(process.execPath, [...hostArgs('face-check'), kind, file], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = run.stdout?.split('\n').find((l) => l.startsWith('{'));
  let result: FaceCheckResult | undefined;
  try {
    result = line ? (JSON.parse(line) as FaceCheckResult) : undefined;
  } catch {
    result = undefined;
  }
  if (!result) throw new UserError(`the model check stopped (${run.signal ? `killed by ${run.signal}` : `exit code ${run.status}`})`, { kind: 'runtime', file });
  if (!result.ok) throw new UserError(result.error, { kind: result.kind });
  return result;
}

/**
 * `upframe models import FILE.onnx --kind face-restore [--name N]`: checks everything first (the
 * name, the bytes not already imported, an ONNX file that loads as its kind, in a child process),
 * and only then copies it into the store and lists it with its sha256.
 */
export function modelsImport(file: string, flags: { kind?: string; name?: string }): number {
  if (!flags.kind) throw new UserError('models import needs --kind', { kind: 'usage', tryMessage: `e.g. upframe models import ${file} --kind face-restore` });
  if (!(KINDS as readonly string[]).includes(flags.kind)) {
    throw new UserError(`--kind expects ${KINDS.join(' or ')}, got "${flags.kind}"`, { kind: 'usage', tryMessage: 'upscale and interpolation models are used as files: --model file.onnx' });
  }
  const kind = flags.kind as (typeof KINDS)[number];
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UserError('model file not found', { kind: 'usage', file: path, tryMessage: 'check the path' });
  const name = flags.name ?? defaultModelName(path);
  const sha256 = checkImport(path, name, undefined, loadManifest().models.map((m) => m.name));
  if (!looksLikeOnnx(path)) throw new UserError('not an ONNX model', { kind: 'usage', file: path, tryMessage: 'import a .onnx file exported for inference' });
  const check = loadCheck(kind, path);
  const stored = addToStore(path, { name, kind, sha256, importedFrom: path, importedAt: new Date().toISOString(), layout: { size: check.size, fidelity: check.fidelity } });
  process.stdout.write(`imported ${stored.name} (${kind}, ${check.size}×${check.size}${check.fidelity ? ', fidelity input' : ''}), sha256 ${sha256}\n`);
  process.stdout.write(`use it with: upframe run IN -o OUT ${kind === 'face-restore' ? '--face-restore' : '--face-detector'} ${stored.name}\n`);
  return 0;
}
