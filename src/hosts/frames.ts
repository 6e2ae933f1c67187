import { close as closeFd, constants, open, write as writeFd } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
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

/** Segment messages from the parent, in order, until it disconnects. */
async function* segmentMessages(): AsyncGenerator<SegmentMessage> {
  const queued: SegmentMessage[] = [];
  let wake: (() => void) | undefined;
  let disconnected = !process.connected;
  process.on('message', (message: SegmentMessage) => {
    if (message?.type !== 'segment') return;
    queued.push(message);
    wake?.();
  });
  process.once('disconnect', () => {
    disconnected = true;
    wake?.();
  });
  for (;;) {
    if (queued.length > 0) yield queued.shift()!;
    else if (disconnected) return;
    else await new Promise<void>((resolve) => (wake = resolve));
  }
}

/** Where a segment's frames go, one whole frame per write. A write after the reader went throws. */
interface FrameSink {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A stream (a host run on its own writes to stdout); respects backpressure: the next stage's pace sets ours. */
function streamSink(output: Writable): FrameSink {
  return {
    async write(data) {
      if (output.errored) throw output.errored;
      if (output.write(data)) return;
      await new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          output.off('drain', done);
          output.off('error', done);
          output.off('close', closed);
          if (error) reject(error);
          else resolve();
        };
        const closed = () => done(output.errored ?? new Error('write EPIPE'));
        output.once('drain', done);
        output.once('error', done);
        output.once('close', closed);
      });
    },
    close: () => new Promise<void>((resolve) => output.end(resolve)),
  };
}

const writeBytes = promisify(writeFd);
const closeDescriptor = promisify(closeFd);

/**
 * A FIFO's blocking descriptor, written in the thread pool: the kernel moves a whole frame in one
 * system call, where a socket's non-blocking writes wake the event loop once per 64 KiB the pipe
 * holds (a 1080p frame: 95 wake-ups; 96 frames took 330 ms of CPU that way, 165 ms this way).
 * The event loop stays free meanwhile: the next frame is computed while this one drains.
 */
function fifoSink(fd: number): FrameSink {
  return {
    async write(data) {
      for (let offset = 0; offset < data.length; ) {
        const { bytesWritten } = await writeBytes(fd, data, offset, data.length - offset);
        offset += bytesWritten;
      }
    },
    close: () => closeDescriptor(fd),
  };
}

/** A FIFO of the segment, opened as the OS does it (the open waits for the other side) in the thread pool. */
function openFifo(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, (error, fd) => (error ? reject(error) : resolve(fd))));
}

/** The segment's input FIFO, handed to a socket for non-blocking reads on the event loop. */
async function openInput(path: string, frameBytes: number): Promise<Socket> {
  const fd = await openFifo(path, constants.O_RDONLY);
  // Two frames may wait in memory: the decoder runs ahead while a frame is computed.
  const options = { fd, readable: true, writable: false, readableHighWaterMark: 2 * frameBytes };
  const socket = new Socket(options);
  // A read error ends the frames early, which the segment's frame count catches; an unheard 'error' would crash the host.
  socket.on('error', () => undefined);
  return socket;
}

/** What a host's segment work gets: the frames received, and the way to write its own. */
export interface SegmentIO {
  readonly frames: AsyncGenerator<Buffer>;
  /** Writes one output frame and reports it. */
  emit(frame: Uint8Array): Promise<void>;
  /** Frames written so far in this segment. */
  readonly written: number;
}

/**
 * The host's life after `ready`. With `awaitSegment` (a job's hosts), one segment after another as
 * the parent sends them, each read from its input FIFO to EOF (or its `inputFrames`, the input then
 * kept open for the next segment when `keepInput` says so) and written to its output FIFO, which
 * is then closed (the next process sees EOF) before `done`; the host stays until the parent
 * disconnects. Without (a host run on its own), one segment on stdin → stdout, then exit. Each
 * segment starts from nothing: `serve` keeps no state from one to the next.
 */
export async function serveSegments<C extends { readonly awaitSegment?: boolean }>(
  config: C,
  frameBytes: number,
  serve: (segment: C & Partial<SegmentMessage>, io: SegmentIO) => Promise<void>,
  release: () => Promise<void>,
): Promise<void> {
  const one = async (segment: C & Partial<SegmentMessage>, received: AsyncGenerator<Buffer>, output: FrameSink): Promise<number> => {
    let written = 0;
    // One frame in flight: the next is computed while the last drains into the next process.
    let draining: Promise<void> = Promise.resolve();
    const io: SegmentIO = {
      frames: received,
      emit: async (frame) => {
        await draining;
        draining = output.write(frame);
        draining.catch(() => undefined);
        written += 1;
        void report({ type: 'frame', done: written });
      },
      get written() {
        return written;
      },
    };
    await serve(segment, io);
    await draining;
    return written;
  };
  if (!config.awaitSegment) {
    const stdout = streamSink(process.stdout);
    const written = await one(config, frames(process.stdin, frameBytes), stdout);
    await stdout.close();
    await release();
    await report({ type: 'done', frames: written });
    process.disconnect?.();
    return;
  }
  // An input kept open for the next segment (a run's decoder): its socket, and the frames read from it.
  let kept: { readonly path: string; readonly socket: Socket; readonly frames: AsyncGenerator<Buffer> } | undefined;
  for await (const message of segmentMessages()) {
    if (!message.input || !message.output) throw new Error('a segment message without its FIFOs');
    const going = kept?.path === message.input ? kept : undefined;
    if (kept && !going) kept.socket.destroy();
    kept = undefined;
    const [input, output] = await Promise.all([going?.socket ?? openInput(message.input, frameBytes), openFifo(message.output, constants.O_WRONLY).then(fifoSink)]);
    const source = going?.frames ?? frames(input, frameBytes);
    const written = await one({ ...config, ...message }, message.inputFrames === undefined ? source : take(source, message.inputFrames), output);
    if (message.keepInput) kept = { path: message.input, socket: input, frames: source };
    else input.destroy();
    await output.close();
    await report({ type: 'done', frames: written });
  }
  kept?.socket.destroy();
  await release();
}

/** The next `count` frames of `source`, fewer if it ends first, leaving the rest of it to be read on. */
async function* take(source: AsyncGenerator<Buffer>, count: number): AsyncGenerator<Buffer> {
  for (let n = 0; n < count; n++) {
    const next = await source.next();
    if (next.done) return;
    yield next.value;
  }
}

/** Every host's last word on failure: one error message over IPC, exit 1. */
export function runHost(main: () => Promise<void>): void {
  main().catch(async (error: unknown) => {
    const { kind, message } = toJobError(error);
    await report({ type: 'error', kind, message });
    process.exit(1);
  });
}
