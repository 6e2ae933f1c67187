import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SegmentFifos, unstick } from '../../src/actors/segment-fifos.js';
import { scratchDir } from '../helpers/app.js';

/** A child that opens the FIFO for writing, says when its open returned, then writes `bytes` and exits. */
function writer(path: string, bytes: number) {
  const script = `
    const fs = require('node:fs');
    const fd = fs.openSync(${JSON.stringify(path)}, 'w');
    process.stdout.write('opened\\n');
    // In pieces, as ffmpeg writes: a piece cut short by a vanished reader is followed by EPIPE.
    try { for (let left = ${bytes}; left > 0; left -= 65536) fs.writeSync(fd, Buffer.alloc(Math.min(65536, left), 7)); } catch (e) { process.stdout.write(e.code + '\\n'); process.exit(3); }
    process.exit(0);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const opened = new Promise<number>((resolve) => child.stdout.on('data', () => out.includes('opened') && resolve(performance.now())));
  const exited = new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })));
  return { child, opened, exited };
}

describe('a segment FIFO whose read side is held ahead of its reader', () => {
  it('the writer gets past its open at once, and what it wrote waits in the pipe for the reader that comes later', async () => {
    const fifos = new SegmentFifos(scratchDir());
    const [path] = fifos.make(0, 1);
    fifos.holdReadSide(path);
    // All of it fits in the pipe: the writer is done and gone before its reader comes.
    const w = writer(path, 16 * 1024);
    expect((await w.exited).code).toBe(0);
    // The host comes later. Its open waits for a writer, and none is left: the segment's sweep
    // (process.ts, every 50 ms, for a side that died) lets it in, and it reads every byte, then EOF.
    const chunks: Buffer[] = [];
    const read = (async () => {
      for await (const chunk of createReadStream(path)) chunks.push(chunk as Buffer);
    })();
    await new Promise((r) => setTimeout(r, 50));
    unstick(path);
    await read;
    expect(Buffer.concat(chunks).length).toBe(16 * 1024);
    fifos.remove();
  });

  it('without the hold, the writer waits in its open until the reader comes', async () => {
    const fifos = new SegmentFifos(scratchDir());
    const [path] = fifos.make(0, 1);
    const w = writer(path, 1024);
    const first = await Promise.race([w.opened, new Promise<undefined>((r) => setTimeout(r, 300))]);
    expect(first).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const chunk of createReadStream(path)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).length).toBe(1024);
    expect((await w.exited).code).toBe(0);
    fifos.remove();
  });

  it('released with the writer blocked on a full pipe and no reader: the writer fails with EPIPE, it does not hang', async () => {
    const fifos = new SegmentFifos(scratchDir());
    const [path] = fifos.make(0, 1);
    fifos.holdReadSide(path);
    // More than a pipe holds: the writer blocks in its write, as a decoder does on a frame.
    const w = writer(path, 4 << 20);
    await w.opened;
    await new Promise((r) => setTimeout(r, 100));
    expect(w.child.exitCode).toBeNull();
    const released = performance.now();
    fifos.release(path);
    const ended = await w.exited;
    expect(ended.code).toBe(3);
    expect(ended.out).toContain('EPIPE');
    expect(performance.now() - released).toBeLessThan(2000);
    fifos.remove();
  });
});
