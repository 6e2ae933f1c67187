import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { RUN_MARKER_ENV, SUPERVISED_ENV, type ProcessRole } from '../../src/services/supervisor.js';

/** What the soak can tell about a process from /proc: the supervisor's roles, or a helper. */
export type SeenRole = ProcessRole | 'esbuild' | 'cli' | 'other';

export interface MarkedProcess {
  readonly pid: number;
  readonly marker: string;
  /** Started by the supervisor (or by such a child): carries UPFRAME_SUPERVISED. */
  readonly supervised: boolean;
  readonly role: SeenRole;
  /** Still `setpriv … -- cmd`: forked, not yet exec'd. */
  readonly preExec: boolean;
  /** The one-letter state from /proc/<pid>/stat: R, S, T (stopped), Z … */
  readonly state: string;
  readonly cmdline: string;
}

/** Which child this is, from its argv: the supervisor's roles are not in the environment. */
export function roleOf(argv: readonly string[]): { role: SeenRole; preExec: boolean } {
  let args = argv;
  let preExec = false;
  if (args.length > 0 && basename(args[0]) === 'setpriv') {
    preExec = true;
    const dash = args.indexOf('--');
    args = dash >= 0 ? args.slice(dash + 1) : [];
  }
  if (args.length === 0) return { role: 'other', preExec };
  const program = basename(args[0]);
  const rest = args.slice(1).join(' ');
  if (program.startsWith('ffprobe')) return { role: 'ffprobe', preExec };
  if (program.startsWith('ffmpeg')) {
    if (/\butvideo\b|-i (pipe:0|file:\S*\.fifo)(\s|$)/.test(rest)) return { role: 'encode', preExec };
    if (/-f concat\b/.test(rest)) return { role: 'mux', preExec };
    if (/select='gt\(scene/.test(rest)) return { role: 'scenes', preExec };
    if (/-f rawvideo -pix_fmt rgb24 (pipe:1\b|-y file:\S*\.fifo\b)/.test(rest)) return { role: 'decode', preExec };
    return { role: 'other', preExec };
  }
  if (program.startsWith('esbuild') || /\/esbuild\b/.test(args[0])) return { role: 'esbuild', preExec };
  if (/hosts\/upscale\.(ts|mjs)\b/.test(rest)) return { role: 'upscale-host', preExec };
  if (/hosts\/interpolate\.(ts|mjs)\b/.test(rest)) return { role: 'interpolate-host', preExec };
  if (/hosts\/face\.(ts|mjs)\b/.test(rest)) return { role: 'face-host', preExec };
  if (/hosts\/device-check\.(ts|mjs)\b/.test(rest)) return { role: 'device-check', preExec };
  if (/\bbin\/upframe\.js\b|\bsrc\/cli\.ts\b/.test(rest)) return { role: 'cli', preExec };
  return { role: 'other', preExec };
}

/**
 * Live processes whose environment carries a run marker accepted by `wanted`, found through /proc
 * (so even after reparenting). Zombies are left out: they are dead, only not yet reaped.
 */
export function markedProcesses(wanted: (marker: string) => boolean): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  const prefix = `${RUN_MARKER_ENV}=`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const vars = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const markerVar = vars.find((v) => v.startsWith(prefix));
      if (!markerVar) continue;
      const marker = markerVar.slice(prefix.length);
      if (!wanted(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').filter(Boolean);
      const supervised = vars.some((v) => v.startsWith(`${SUPERVISED_ENV}=`));
      found.push({ pid: Number(entry), marker, supervised, state, cmdline: argv.join(' '), ...roleOf(argv) });
    } catch {
      // it ended while we looked, or it is not ours to read
    }
  }
  return found;
}

/** The state letter of a pid now ('' once it is gone). */
export function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

/** PF_EXITING in /proc/<pid>/stat's flags: the process is inside exit, its status already set. */
const PF_EXITING = 0x4;

/**
 * Whether the process has begun to exit (its exit status is set: a signal now changes nothing, and
 * a short-lived tool such as ffprobe spends much of its life there).
 */
export function isExiting(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
    return (flags & PF_EXITING) !== 0;
  } catch {
    return true;
  }
}

/** Sends a signal; false when the process is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs every process group and process that carries a marker accepted by `wanted`: the soak's
 * own safety net, whatever a run left behind (stopped children included: SIGKILL ends them too).
 */
export function killMarked(wanted: (marker: string) => boolean): number {
  const live = markedProcesses(wanted);
  for (const p of live) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // not a group leader, or gone
    }
    signal(p.pid, 'SIGKILL');
  }
  return live.length;
}
