import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from './errors.js';
import { checkCreatable, fitName } from './name-limits.js';
import { isOwnerAlive, leftoversIn, OWNER_TAG_PATTERN, ownerOfTag, ownerTag, ownIdentity } from './owners.js';

export function resolveTempRoot(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.UPFRAME_TMPDIR ?? join(tmpdir(), 'upframe'));
}

const OWNER_FILE = 'owner';

/** The longest names made under the temp root: a --resume folder, and a segment being written. */
const LONGEST_FOLDER = 'resume-0123456789abcdef';
const LONGEST_FILE = 'segment-000000.nut.part';

export function createJobDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, OWNER_FILE), ownIdentity());
  // Before any work: every file the job will make under the temp root fits there.
  checkCreatable(dir, LONGEST_FILE, 'work file');
  checkCreatable(join(dirname(dir), LONGEST_FOLDER), LONGEST_FILE, 'work file');
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
    if (isOwnerAlive(owner)) continue;
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

const PARTIAL = '.upframe-partial-';
/** `<…>.upframe-partial-<pid>-<start time>-<host>-<tag>`: the owner's identity, then the job. */
const PARTIAL_NAME = new RegExp(`\\.upframe-partial-${OWNER_TAG_PATTERN}-[A-Za-z0-9-]+$`);

/** A job id as it appears in a name: itself when short and plain, else a short hash of it. */
function nameTag(jobId: string): string {
  return /^[A-Za-z0-9-]{1,40}$/.test(jobId) ? jobId : createHash('sha256').update(jobId).digest('hex').slice(0, 12);
}

/**
 * The partial file beside the destination, named after it and its owner (pid and start time, as
 * job folders are), so a run that finds it later can tell whether its owner still runs. The
 * destination's name is shortened as needed: the partial's name always fits, whatever the output's.
 */
export function partialPath(destination: string, jobId: string): string {
  return join(dirname(destination), fitName(basename(destination), `${PARTIAL}${ownerTag()}-${nameTag(jobId)}`));
}

/**
 * Removes the partial files in `folder` whose owner process is gone (an orchestrator killed with
 * SIGKILL or by a hang-up cannot remove its own), as {@link sweepStaleJobDirs} does for job folders.
 * A live owner's partials are left alone. Returns the files removed.
 */
export function sweepStalePartials(folder: string): string[] {
  const removed: string[] = [];
  for (const { path, match: owner } of leftoversIn(folder, PARTIAL_NAME)) {
    if (isOwnerAlive(ownerOfTag(owner[1], owner[2], owner[3]))) continue;
    try {
      unlinkSync(path);
      removed.push(path);
    } catch {
      // gone meanwhile, or not ours to remove: either way nothing to sweep
    }
  }
  return removed;
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
