import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compiled } from '../../bin/compile.js';

/** The folder of upframe's package.json: found by walking up, as this module may run from a build. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'upframe') return dir;
    if (dirname(dir) === dir) throw new Error(`upframe's package.json not found above ${from}`);
  }
}

export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));
export const MODELS_DIR = join(PACKAGE_ROOT, 'models');

const require = createRequire(import.meta.url);

export type HostName = 'upscale' | 'interpolate' | 'face' | 'check-session' | 'face-check' | 'device-check';

/** A process of its own that may load onnxruntime (the orchestrator never does): its source. */
function hostEntry(name: HostName): string {
  return join(PACKAGE_ROOT, 'src', 'hosts', `${name}.ts`);
}

/** Node arguments that run a TypeScript entry point of this package through tsx. */
export function tsNodeArgs(entry: string): string[] {
  // An absolute URL: `--import tsx` alone would resolve from the user's working directory.
  return ['--import', pathToFileURL(require.resolve('tsx')).href, entry];
}

let build: string | undefined | null = null;

/** The build this process runs from (set by bin/upframe.js), else the current one, built if need be. */
function currentBuild(): string | undefined {
  build ??= (globalThis as { upframeBuild?: string }).upframeBuild ?? compiled(PACKAGE_ROOT) ?? undefined;
  return build;
}

/** Node arguments that start a host: its built module, or its source under tsx where there is no build. */
export function hostArgs(name: HostName): string[] {
  const dir = currentBuild();
  return dir ? [join(dir, 'hosts', `${name}.mjs`)] : tsNodeArgs(hostEntry(name));
}
