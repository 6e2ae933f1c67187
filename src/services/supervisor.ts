import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

export type ProcessRole = 'ffprobe' | 'decode' | 'upscale-host' | 'interpolate-host' | 'face-host' | 'encode' | 'mux' | 'scenes' | 'device-check';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface OwnedProcess {
  readonly pid: number;
  readonly role: ProcessRole;
  readonly owner: string;
  readonly startedAt: number;
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  isAlive(): boolean;
  /** Signals the whole process group: the child is its group's leader. */
  kill(signal: NodeJS.Signals): void;
}

export interface SpawnRequest {
  readonly command: string;
  readonly args: readonly string[];
  readonly role: ProcessRole;
  readonly owner: string;
  readonly stdio?: StdioOptions;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Every child carries this variable, so a leak check can find orphans even after reparenting. */
export const RUN_MARKER_ENV = 'UPFRAME_RUN_MARKER';
/** Set on supervised children (and so on theirs), not on the orchestrator's own helpers (tsx's esbuild). */
export const SUPERVISED_ENV = 'UPFRAME_SUPERVISED';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
const registry = new Map<number, OwnedProcess>();
let exitHookInstalled = false;

export function runMarker(): string {
  return process.env[RUN_MARKER_ENV] ?? `upframe-${process.pid}`;
}

/**
 * Between the fork and setpriv's `prctl` the child has no death signal yet: an orchestrator killed in
 * that window (a SIGKILL just after a spawn) would leave it running, reparented, maybe blocked for good
 * on a FIFO nobody opens. So the death signal is set first, then a shell checks that its parent is
 * still this process before it becomes the command: dead before the check, it exits; dead after, the
 * signal kills it.
 */
const PARENT_CHECK = '[ "$PPID" = "$0" ] || exit 1; exec "$@"';

/**
 * Spawns a child in its own process group, recorded under its owner actor. On Linux the child is
 * wrapped with `setpriv --pdeathsig KILL` so it dies with the orchestrator even on SIGKILL.
 */
export function spawnOwned(request: SpawnRequest): OwnedProcess {
  installExitHook();
  const [command, args] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', '/bin/sh', '-c', PARENT_CHECK, String(process.pid), request.command, ...request.args]]
    : [request.command, [...request.args]];
  const child = spawn(command, args, {
    stdio: request.stdio ?? ['ignore', 'pipe', 'pipe'],
    env: { ...(request.env ?? process.env), [RUN_MARKER_ENV]: runMarker(), [SUPERVISED_ENV]: request.owner },
    cwd: request.cwd,
    detached: true,
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT reported on 'error'); keep the same shape for callers.
    const failed = new Promise<ExitInfo>((resolve) => {
      child.once('error', () => resolve({ code: 127, signal: null }));
    });
    return deadProcess(request, child, failed);
  }
  const pid = child.pid;
  let alive = true;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      registry.delete(pid);
      resolve({ code, signal });
    });
    child.once('error', () => {
      if (!alive) return;
      alive = false;
      registry.delete(pid);
      resolve({ code: 127, signal: null });
    });
  });
  const owned: OwnedProcess = {
    pid,
    role: request.role,
    owner: request.owner,
    startedAt: Date.now(),
    child,
    exited,
    isAlive: () => alive,
    kill: (signal) => killGroup(pid, signal),
  };
  registry.set(pid, owned);
  return owned;
}

function deadProcess(request: SpawnRequest, child: ChildProcess, exited: Promise<ExitInfo>): OwnedProcess {
  return {
    pid: -1,
    role: request.role,
    owner: request.owner,
    startedAt: Date.now(),
    child,
    exited,
    isAlive: () => false,
    kill: () => undefined,
  };
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone: ESRCH is the expected outcome of a race with exit
    }
  }
}

/** Synchronous last resort: whatever way the orchestrator exits, its children go with it. */
export function killAllSync(): void {
  for (const owned of registry.values()) owned.kill('SIGKILL');
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllSync);
}
