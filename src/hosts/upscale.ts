/**
 * Inference host: loads the model once, reads rgb24 frames on stdin, writes upscaled rgb24 frames on
 * stdout, and reports over IPC. It installs no signal handler: `session.run` holds the JS thread, so
 * it is stopped from outside with SIGKILL and the OS reclaims everything, GPU memory included.
 */
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { toJobError } from '../services/errors.js';
import { createUpscaler } from '../services/upscaler.js';
import type { HostMessage, UpscaleHostConfig } from './protocol.js';

function report(message: HostMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function* frames(input: Readable, frameBytes: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < frameBytes) continue;
    let joined = Buffer.concat(pending, pendingBytes);
    let offset = 0;
    while (joined.length - offset >= frameBytes) {
      yield joined.subarray(offset, offset + frameBytes);
      offset += frameBytes;
    }
    joined = joined.subarray(offset);
    pending = joined.length > 0 ? [joined] : [];
    pendingBytes = joined.length;
  }
  if (pendingBytes > 0) throw new Error(`stdin ended inside a frame (${pendingBytes} of ${frameBytes} bytes)`);
}

async function write(output: Writable, data: Uint8Array): Promise<void> {
  if (!output.write(data)) await once(output, 'drain');
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as UpscaleHostConfig;
  const upscaler = await createUpscaler(config);
  await report({ type: 'ready', scale: upscaler.scale, provider: upscaler.provider, fallbackReason: upscaler.fallbackReason });
  let done = 0;
  for await (const frame of frames(process.stdin, config.width * config.height * 3)) {
    await write(process.stdout, await upscaler.upscale(frame, config.width, config.height));
    done += 1;
    void report({ type: 'frame', done });
  }
  await new Promise<void>((resolve) => process.stdout.end(resolve));
  await upscaler.release();
  await report({ type: 'done', frames: done });
  process.disconnect?.();
}

main().catch(async (error: unknown) => {
  const { kind, message } = toJobError(error);
  await report({ type: 'error', kind, message });
  process.exit(1);
});
