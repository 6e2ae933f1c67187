import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { toJobError } from '../services/errors.js';
import type { HostMessage, SegmentMessage } from './protocol.js';

/** IPC to the stage actor; resolves once the message is handed to the OS. */
export function report(message: HostMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Whole rgb24 frames from a byte stream; a stream that ends mid-frame is an error. */
export async function* frames(input: Readable, frameBytes: number): AsyncGenerator<Buffer> {
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

/** The segment to work on: the parent sends it after `ready`, before any frame arrives. */
export function segmentMessage(): Promise<SegmentMessage> {
  return new Promise((resolve) => {
    const onMessage = (message: SegmentMessage): void => {
      if (message?.type !== 'segment') return;
      process.off('message', onMessage);
      resolve(message);
    };
    process.on('message', onMessage);
  });
}

/** Respects backpressure: the next stage's pace sets ours. */
export async function write(output: Writable, data: Uint8Array): Promise<void> {
  if (!output.write(data)) await once(output, 'drain');
}

export async function finish(frames: number): Promise<void> {
  await new Promise<void>((resolve) => process.stdout.end(resolve));
  await report({ type: 'done', frames });
  process.disconnect?.();
}

/** Every host's last word on failure: one error message over IPC, exit 1. */
export function runHost(main: () => Promise<void>): void {
  main().catch(async (error: unknown) => {
    const { kind, message } = toJobError(error);
    await report({ type: 'error', kind, message });
    process.exit(1);
  });
}
