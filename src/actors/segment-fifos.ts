import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The FIFOs of a job's segments, in its folder: per segment, decoder → host 1 → … → host n → encoder,
 * made before the segment's processes start and removed after it (and on any ending, cancel included).
 */
export class SegmentFifos {
  private readonly live = new Set<string>();
  private readonly held = new Map<string, number>();

  constructor(private readonly dir: string) {}

  /** `count` FIFOs for segment `index`, in chain order. */
  make(index: number, count: number): string[] {
    return this.mkfifo(Array.from({ length: count }, (_, n) => join(this.dir, `segment-${index}.${n}.fifo`)));
  }

  /** The one FIFO that a run's encoder reads, or its decoder writes (segment-run.ts), the run's segments one after another. */
  makeRun(first: number, side: 'decode' | 'encode'): string {
    return this.mkfifo([join(this.dir, `run-${first}.${side}.fifo`)])[0];
  }

  private mkfifo(paths: string[]): string[] {
    // One host between a run's decoder and its encoder: the segment has no FIFO of its own.
    if (paths.length === 0) return paths;
    for (const path of paths) rmSync(path, { force: true });
    execFileSync('mkfifo', ['-m', '600', '--', ...paths], { stdio: 'ignore' });
    paths.forEach((path) => this.live.add(path));
    return paths;
  }

  /**
   * Opens a run's FIFO here, never to write to it (O_RDWR: it never blocks), so that a host closing its
   * output at the end of a segment does not end the encoder's input: the encoder sees EOF once this is
   * released, after the run's last segment, or as soon as anyone in a segment dies.
   */
  holdWriteSide(path: string): void {
    this.held.set(path, openSync(path, constants.O_RDWR | constants.O_NONBLOCK));
  }

  /**
   * Opens the FIFO's read side here, never to read from it: its writer's `open` returns at once, so a
   * decoder gets through its start (opening the input, seeking, decoding up to its first frame) while
   * the hosts still work on the segment before, and the frame waits in the pipe. Released as soon as
   * anyone in the segment dies (a held read side keeps a writer blocked on a full pipe instead of
   * failing it), and with the FIFO's removal.
   */
  holdReadSide(path: string): void {
    try {
      this.held.set(path, openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch {
      // not held: the writer's open waits for the host, as without it
    }
  }

  release(path: string): void {
    const fd = this.held.get(path);
    if (fd === undefined) return;
    this.held.delete(path);
    closeSync(fd);
  }

  remove(paths: Iterable<string> = [...this.live]): void {
    for (const path of paths) {
      this.release(path);
      rmSync(path, { force: true });
      this.live.delete(path);
    }
  }
}

/**
 * Lets whoever waits on a FIFO whose other side died go on: a reader blocked in open (or reading)
 * then sees EOF, a writer EPIPE. An O_RDWR open never blocks on Linux and counts as both sides; it
 * wakes a blocked open, and closing it at once leaves the survivor alone with the FIFO.
 */
export function unstick(path: string): void {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_NONBLOCK));
  } catch {
    // gone already: nobody can be waiting on it
  }
}

/** ffmpeg's arguments with its stdin or stdout (`pipe:0`, `pipe:1`) replaced by a FIFO. */
export function viaFifo(args: readonly string[], pipe: 'pipe:0' | 'pipe:1', replacement: readonly string[]): string[] {
  const at = args.indexOf(pipe);
  if (at < 0) throw new Error(`ffmpeg arguments without ${pipe}: ${args.join(' ')}`);
  return [...args.slice(0, at), ...replacement, ...args.slice(at + 1)];
}
