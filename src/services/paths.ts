import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODELS_DIR = join(PACKAGE_ROOT, 'models');

export function hostEntry(name: 'upscale'): string {
  return join(PACKAGE_ROOT, 'src', 'hosts', `${name}.ts`);
}

/** Node arguments that run a TypeScript entry point of this package. */
export function tsNodeArgs(entry: string): string[] {
  return ['--import', 'tsx', entry];
}
