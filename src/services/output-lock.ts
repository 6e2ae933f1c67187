import { createHash } from 'node:crypto';
import { linkSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { notEnoughSpace } from './disk-space.js';
import { UserError } from './errors.js';
import { isOwnerAlive, leftoversIn, OWNER_TAG_PATTERN, ownerOfTag, ownerPid, ownerTag, ownIdentity } from './owners.js';

/** Held by one job from its start to its end: no other job, in this process or another, writes the same output. */
export interface OutputLock {
  readonly path: string;
  release(): void;
}

/** A lock, `.upframe-lock-<hash>`, or one being made or moved aside by its owner: `….<pid>-<start>-<n>.new|.old`. */
const LOCK_NAME = new RegExp(`^\\.upframe-lock-[0-9a-f]{16}(?:\\.${OWNER_TAG_PATTERN}-\\d+\\.(?:new|old))?$`);
let made = 0;

/**
 * The lock's path: in the output's own folder (two runs with different temp folders still meet
 * there), named by a hash of the output's real path, so two spellings of one file share one lock.
 */
export function outputLockPath(output: string): string {
  const folder = realpathSync(dirname(resolve(output)));
  const hash = createHash('sha256').update(join(folder, basename(output))).digest('hex').slice(0, 16);
  return join(folder, `.upframe-lock-${hash}`);
}

function ownFileBeside(path: string, ending: 'new' | 'old'): string {
  return `${path}.${ownerTag()}-${++made}.${ending}`;
}

function readOwner(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').split('\n')[0].trim() || undefined;
  } catch {
    return undefined;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function busy(owner: string | undefined, output: string): UserError {
  const pid = owner === undefined ? undefined : ownerPid(owner);
  const who = pid === process.pid ? `another job of this run (pid ${pid})` : pid === undefined ? 'another upframe run' : `another upframe run (pid ${pid})`;
  return new UserError(`${who} is already writing the output`, { kind: 'usage', file: output, tryMessage: 'wait for it to end, or choose another output' });
}

/**
 * Removes the lock at `path` if its owner is dead, safe against another run doing the same at the
 * same moment: the lock is moved aside first (one mover wins), and what was moved is checked again;
 * a live lock moved by mistake is put back. False while a live owner holds it.
 */
function removeIfStale(path: string): boolean {
  const owner = readOwner(path);
  if (owner !== undefined && isOwnerAlive(owner)) return false;
  const aside = ownFileBeside(path, 'old');
  try {
    renameSync(path, aside);
  } catch {
    return true; // gone meanwhile
  }
  const moved = readOwner(aside);
  if (moved !== undefined && isOwnerAlive(moved)) {
    try {
      linkSync(aside, path);
    } catch {
      // taken meanwhile by a third run, which now holds it
    }
    unlinkQuietly(aside);
    return false;
  }
  unlinkQuietly(aside);
  return true;
}

/**
 * Takes the output's lock, or refuses at once naming the run that holds it; a lock whose owner is
 * dead (an orchestrator killed with SIGKILL) is taken over. A lock is whole before it appears
 * (written aside, then hard-linked into place, which fails if one exists), so no reader sees half
 * of one. An output folder that is missing or not writable takes no lock: the probe refuses it.
 */
export function lockOutput(output: string, jobDir: string): OutputLock | undefined {
  let path: string;
  try {
    path = outputLockPath(output);
  } catch {
    return undefined;
  }
  const content = `${ownIdentity()}\n${jobDir}\n${resolve(output)}\n`;
  const fresh = ownFileBeside(path, 'new');
  try {
    writeFileSync(fresh, content, { flag: 'wx' });
  } catch (cause) {
    unlinkQuietly(fresh);
    if ((cause as NodeJS.ErrnoException).code === 'ENOSPC') throw notEnoughSpace(dirname(path), undefined, 0);
    return undefined;
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(fresh, path);
        return { path, release: () => releaseLock(path, content) };
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
      }
      if (!removeIfStale(path)) throw busy(readOwner(path), resolve(output));
    }
    throw busy(readOwner(path), resolve(output));
  } finally {
    unlinkQuietly(fresh);
  }
}

/**
 * Synchronous: it runs in the job's teardown, which XState does not await. Only our own lock is
 * removed; while we live nobody else takes it over, so reading then removing it is safe.
 */
function releaseLock(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Removes, in `folder`, the locks (and the files of locks being made or moved) of runs that are gone. */
export function sweepStaleLocks(folder: string): string[] {
  const removed: string[] = [];
  for (const { path, match } of leftoversIn(folder, LOCK_NAME)) {
    const [, pid, start, host] = match;
    if (pid === undefined) {
      if (readOwner(path) !== undefined && removeIfStale(path)) removed.push(path);
    } else if (!isOwnerAlive(ownerOfTag(pid, start, host))) {
      unlinkQuietly(path);
      removed.push(path);
    }
  }
  return removed;
}
