import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/services/paths.js';
import { RUN_MARKER_ENV } from '../../src/services/supervisor.js';

export const BIN = join(PACKAGE_ROOT, 'bin', 'upframe.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly child: ChildProcess;
  readonly marker: string;
  readonly result: Promise<CliResult>;
  stdoutSoFar(): string;
  stderrSoFar(): string;
}

let runs = 0;

/** Runs the real CLI as a user would, with a marker to find every process it starts. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const marker = `upframe-e2e-${process.pid}-${++runs}`;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, [RUN_MARKER_ENV]: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, marker, result, stdoutSoFar: () => stdout, stderrSoFar: () => stderr };
}

export function jsonEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
