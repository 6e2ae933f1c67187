import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * This machine, as a name-safe tag (`h` + 8 hex). Folders may be shared between machines (queue
 * workers): an owner recorded on another machine cannot be checked from here, so it counts as alive.
 */
export function hostTag(): string {
  return `h${createHash('sha256').update(hostname()).digest('hex').slice(0, 8)}`;
}

/**
 * Who owns a leftover (a job folder, a partial output, an output lock): `<pid> <kernel start time>`,
 * so a pid reused by another process does not pass for the owner.
 */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}

let self: string | undefined;

/** This process's identity, `<pid> <start> <host tag>` (start 0 where /proc cannot tell it). */
export function ownIdentity(): string {
  self ??= `${processIdentity(process.pid) ?? `${process.pid} 0`} ${hostTag()}`;
  return self;
}

/**
 * Whether the owner recorded as `<pid> <start> [<host tag>]` still runs. An owner on another machine
 * cannot be checked and counts as alive; without a start time only the pid can be checked, and a live
 * pid counts as the owner: a leftover is kept rather than a live run's removed.
 */
export function isOwnerAlive(owner: string): boolean {
  const [pidText, start = '0', host] = owner.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (host !== undefined && host !== hostTag()) return true;
  if (start !== '0' && processIdentity(process.pid) !== undefined) return processIdentity(pid) === `${pid} ${start}`;
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of an owner, for messages. */
export function ownerPid(owner: string): number {
  return Number(owner.trim().split(/\s+/)[0]);
}

/** This process's identity as a file-name part, `<pid>-<start>-<host tag>` (start 0 where unknown). */
export function ownerTag(): string {
  return ownIdentity().split(' ').join('-');
}

/** The identity written in a file-name part, in the form {@link isOwnerAlive} takes; no host: this one. */
export function ownerOfTag(pid: string, start: string, host?: string): string {
  return [pid, start, host].filter((part) => part !== undefined).join(' ');
}

/** The files in `folder` whose names `pattern` matches, with the match: what a sweep of leftovers reads. */
export function leftoversIn(folder: string, pattern: RegExp): { readonly path: string; readonly match: RegExpExecArray }[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const match = pattern.exec(name);
    return match ? [{ path: join(folder, name), match }] : [];
  });
}

/** `<pid>-<start>[-<host tag>]` inside a file name, as {@link ownerTag} writes it. */
export const OWNER_TAG_PATTERN = '(\\d+)-(\\d+)(?:-(h[0-9a-f]{8}))?';
