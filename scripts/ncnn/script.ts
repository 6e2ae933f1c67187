import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes a converted model and prints its size and sha256 (what models.json must say). */
export function writeModel(out: string, model: Uint8Array): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, model);
  console.log(`wrote ${out} (${model.byteLength} bytes)`);
  console.log(`sha256 ${sha256Hex(model)}`);
}

/** Runs `main` when the file is the entry point (not when a test imports it); errors as one line, exit 1. */
export function runIfMain(moduleUrl: string, main: () => void): void {
  const entry = process.argv[1];
  if (!entry) return;
  let isMain = false;
  try {
    isMain = pathToFileURL(realpathSync(entry)).href === pathToFileURL(realpathSync(fileURLToPath(moduleUrl))).href;
  } catch {
    return;
  }
  if (!isMain) return;
  try {
    main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
