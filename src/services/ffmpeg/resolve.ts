import { accessSync, chmodSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { UserError } from '../errors.js';

export type BinarySource = 'env' | 'path' | 'bundled';

export interface FfmpegBinaries {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  readonly source: BinarySource;
}

const require = createRequire(import.meta.url);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The npm-shipped binary. Installs skip its package's `chmod u+x` postinstall (.npmrc ignore-scripts),
 * and ffprobe's tarball has no exec bit: it is given one here, as that script would.
 */
function bundled(pkg: string, name: string): string | undefined {
  try {
    const path = join(dirname(require.resolve(`${pkg}/package.json`)), name);
    if (!existsSync(path)) return undefined;
    if (!isExecutable(path)) {
      try {
        chmodSync(path, statSync(path).mode | 0o100);
      } catch {
        // not ours to change: requireExecutable says what to run
      }
    }
    return path;
  } catch {
    return undefined;
  }
}

function requireExecutable(path: string, what: string): string {
  if (isExecutable(path)) return path;
  throw new UserError(`${what} at ${path} is not executable`, {
    tryMessage: `run: chmod +x ${path}`,
  });
}

/** UPFRAME_FFMPEG (and UPFRAME_FFPROBE) → PATH → the npm-shipped static build. */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegBinaries {
  const fromEnv = env.UPFRAME_FFMPEG;
  if (fromEnv) {
    const ffprobe = env.UPFRAME_FFPROBE ?? join(dirname(fromEnv), 'ffprobe');
    return {
      ffmpeg: requireExecutable(fromEnv, 'UPFRAME_FFMPEG'),
      ffprobe: requireExecutable(ffprobe, 'ffprobe beside UPFRAME_FFMPEG (or UPFRAME_FFPROBE)'),
      source: 'env',
    };
  }
  const pathFfmpeg = onPath('ffmpeg');
  const pathFfprobe = onPath('ffprobe');
  if (pathFfmpeg && pathFfprobe) return { ffmpeg: pathFfmpeg, ffprobe: pathFfprobe, source: 'path' };
  const shippedFfmpeg = bundled('@ffmpeg-installer/linux-x64', 'ffmpeg');
  const shippedFfprobe = bundled('@ffprobe-installer/linux-x64', 'ffprobe');
  if (shippedFfmpeg && shippedFfprobe) {
    return {
      ffmpeg: requireExecutable(shippedFfmpeg, 'bundled ffmpeg'),
      ffprobe: requireExecutable(shippedFfprobe, 'bundled ffprobe'),
      source: 'bundled',
    };
  }
  throw new UserError('ffmpeg and ffprobe were not found', {
    tryMessage: 'install ffmpeg (apt-get install ffmpeg) or set UPFRAME_FFMPEG to its path',
  });
}

let cached: FfmpegBinaries | undefined;
export function ffmpegBinaries(): FfmpegBinaries {
  cached ??= resolveFfmpeg();
  return cached;
}
