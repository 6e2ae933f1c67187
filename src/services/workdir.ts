import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from './errors.js';

export function resolveTempRoot(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.UPFRAME_TMPDIR ?? join(tmpdir(), 'upframe'));
}

const OWNER_FILE = 'owner';

/** pid and kernel start time: a pid reused by another process does not pass for the owner. */
function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}

export function createJobDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, OWNER_FILE), processIdentity(process.pid) ?? String(process.pid));
}

/**
 * Removes job folders whose owner process is gone: an orchestrator killed with SIGKILL cannot
 * clean up after itself, so the next job in the same temp root does it.
 */
export function sweepStaleJobDirs(tempRoot: string): string[] {
  const removed: string[] = [];
  for (const name of listTempRoot(tempRoot).filter((n) => n.startsWith('job-'))) {
    const dir = join(tempRoot, name);
    let owner: string;
    try {
      owner = readFileSync(join(dir, OWNER_FILE), 'utf8').trim();
    } catch {
      continue;
    }
    const pid = Number(owner.split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && processIdentity(pid) === owner) continue;
    removeJobDir(dir);
    removed.push(dir);
  }
  return removed;
}

/**
 * Synchronous on purpose: it runs as the job's last step and in actor cleanup, which XState does not
 * await. A folder that was never made (its parent is a file, or gone) is nothing to remove.
 */
export function removeJobDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOTDIR') throw cause;
  }
}

export function partialPath(destination: string, jobId: string): string {
  return join(dirname(destination), `${basename(destination)}.upframe-partial-${jobId}`);
}

export function removeIfExists(path: string): void {
  rmSync(path, { force: true });
}

/**
 * Moves the finished partial file onto its destination in one step. Without `overwrite`, a hard
 * link refuses an existing destination atomically, so a file that appeared meanwhile is never replaced.
 */
export function commitOutput(partial: string, destination: string, overwrite: boolean): void {
  if (overwrite) {
    renameSync(partial, destination);
    return;
  }
  try {
    linkSync(partial, destination);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UserError('the output already exists', { file: destination, tryMessage: 'pass --overwrite to replace it', cause });
    }
    throw cause;
  }
  unlinkSync(partial);
}

export function listTempRoot(tempRoot: string): string[] {
  return existsSync(tempRoot) ? readdirSync(tempRoot) : [];
}
