import { spawn } from 'node:child_process';
import type { HostMessage, UpscaleHostConfig } from '../../src/hosts/protocol.js';
import { hostArgs } from '../../src/services/paths.js';

export interface HostRun {
  readonly code: number | null;
  /** Everything the host wrote on stdout: its frames, back to back. */
  readonly output: Buffer;
  readonly messages: HostMessage[];
  readonly stderr: string;
}

/** The real upscale host as a child process: `frames` in on stdin, its frames and IPC messages out. */
export function runUpscaleHost(config: UpscaleHostConfig, frames: readonly Uint8Array[]): Promise<HostRun> {
  const child = spawn(process.execPath, [...hostArgs('upscale'), JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  const messages: HostMessage[] = [];
  const chunks: Buffer[] = [];
  let stderr = '';
  child.on('message', (message: HostMessage) => messages.push(message));
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => undefined);
  for (const frame of frames) child.stdin!.write(frame);
  child.stdin!.end();
  // The last messages can come after 'exit': the channel's 'disconnect' follows them.
  const disconnected = new Promise<void>((resolve) => (child.connected ? child.once('disconnect', () => resolve()) : resolve()));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return Promise.all([closed, disconnected]).then(([code]) => ({ code, output: Buffer.concat(chunks), messages, stderr }));
}
