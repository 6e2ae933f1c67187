import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, basename } from 'node:path';
import { RUN_MARKER_ENV, SUPERVISED_ENV } from '../../src/services/supervisor.js';

/** A process's state letter from /proc (`R`, `S`, `T` stopped, `Z` zombie), undefined once it is gone. */
export function processState(pid: number | string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/**
 * Pids of live processes that a run started (supervised, carrying this run marker), found through
 * /proc even after reparenting.
 */
export function markedProcesses(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const vars = environ.split('\0');
      if (!vars.includes(`${RUN_MARKER_ENV}=${marker}`) || !vars.some((v) => v.startsWith(`${SUPERVISED_ENV}=`))) continue;
      const state = processState(entry);
      if (state !== undefined && state !== 'Z') found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** A process as a failing check names it: its pid, state and command line (so a leftover says what it is). */
export function describeProcess(pid: number): string {
  try {
    const state = processState(pid) ?? '?';
    return `${pid} ${state} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim()}`;
  } catch {
    return `${pid} (gone)`;
  }
}

export function jobDirs(tempRoot: string): string[] {
  return existsSync(tempRoot) ? readdirSync(tempRoot).filter((e) => e.startsWith('job-')) : [];
}

export function partialFiles(output: string): string[] {
  const dir = dirname(output);
  return existsSync(dir) ? readdirSync(dir).filter((e) => e.startsWith(`${basename(output)}.upframe-partial-`)) : [];
}

export async function waitUntil(predicate: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return predicate();
}
