import type { Readable } from 'node:stream';

/** `frame=N` lines of ffmpeg's `-progress` output, as they come. */
export function onProgressFrames(stream: Readable, onFrame: (frame: number) => void): void {
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('frame=')) onFrame(Number(line.slice(6)));
  });
}
