import type { Readable } from 'node:stream';
import { onLines } from '../streams.js';

/** `frame=N` lines of ffmpeg's `-progress` output, as they come. */
export function onProgressFrames(stream: Readable, onFrame: (frame: number) => void): void {
  onLines(stream, (line) => {
    if (line.startsWith('frame=')) onFrame(Number(line.slice(6)));
  });
}
