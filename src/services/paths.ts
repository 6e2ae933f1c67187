import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODELS_DIR = join(PACKAGE_ROOT, 'models');

const require = createRequire(import.meta.url);
// An absolute URL: `--import tsx` alone would resolve from the user's working directory.
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** A process of its own that may load onnxruntime (the orchestrator never does). */
export function hostEntry(name: 'upscale' | 'interpolate' | 'face' | 'check-session' | 'face-check'): string {
  return join(PACKAGE_ROOT, 'src', 'hosts', `${name}.ts`);
}

/** Node arguments that run a TypeScript entry point of this package. */
export function tsNodeArgs(entry: string): string[] {
  return ['--import', TSX_LOADER, entry];
}
