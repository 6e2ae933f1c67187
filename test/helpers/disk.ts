import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Mounts a tmpfs of `size` (e.g. '300k') on `dir`: a small disk that fills up for real. Needs root
 * (or CAP_SYS_ADMIN); returns the reason when it cannot, so a test can skip and say why.
 */
export function mountSmallDisk(dir: string, size: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (cause) {
    const stderr = (cause as { stderr?: Buffer }).stderr?.toString().trim();
    return stderr || (cause as Error).message;
  }
}

/** Whether a tmpfs can be mounted here (tried, then unmounted at once): the reason when not. */
export function cannotMountTmpfs(probe: string): string | undefined {
  const refusal = mountSmallDisk(probe, '64k');
  unmount(probe);
  return refusal;
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}

/** What upframe itself may leave in an output folder: partial files and output locks, whatever their names. */
export function upframeLeftovers(folder: string): string[] {
  return readdirSync(folder).filter((name) => name.includes('.upframe-partial-') || name.startsWith('.upframe-lock-'));
}

/** Bytes under a folder (its files' sizes), 0 when it is gone; files removed while counted count 0. */
export function folderBytes(folder: string): number {
  if (!existsSync(folder)) return 0;
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    try {
      total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
    } catch {
      // removed while counted
    }
  }
  return total;
}
