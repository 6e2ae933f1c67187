import { statfsSync } from 'node:fs';
import { UserError } from './errors.js';

/** Bytes an unprivileged writer may still use on the file system holding `dir`; undefined if unknown. */
export function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/** `ENOSPC` as an error, or ffmpeg's words for it in its stderr. */
export function isNoSpace(failure: unknown): boolean {
  if (typeof failure === 'string') return /No space left on device/i.test(failure);
  return (failure as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1e3)} KB`;
}

/** One line: the folder, about how much is needed and how much is free, and what to do. */
export function notEnoughSpace(dir: string, needed: number | undefined, free: number | undefined, what = { written: 'the output', elsewhere: 'another folder' }): UserError {
  const sizes = [needed === undefined ? undefined : `about ${formatBytes(needed)} needed`, free === undefined ? undefined : `${formatBytes(free)} free`].filter(Boolean);
  return new UserError(`not enough space to write ${what.written} in`, {
    kind: 'runtime',
    file: dir,
    tryMessage: `${sizes.length > 0 ? `${sizes.join(', ')}; ` : ''}free some space there or choose ${what.elsewhere}`,
  });
}
