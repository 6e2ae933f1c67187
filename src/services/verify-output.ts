import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { freeBytes, isNoSpace, notEnoughSpace } from './disk-space.js';
import { UserError } from './errors.js';

/** What ffprobe read back from a written file: whether it opened, and its video packets (one a frame). */
export interface WrittenFile {
  readonly opened: boolean;
  readonly frames: number;
}

/** What the writer said and what it wrote, to judge a file before it becomes the user's. */
export interface WriteReport {
  /** The written file (the partial): its size tells how much space the whole would take. */
  readonly file: string;
  /** The destination, named in the error. */
  readonly output: string;
  readonly plannedFrames: number;
  /** Frames the writer reported encoding, for the estimate when the file cannot be read back. */
  readonly encodedFrames: number;
  /** The writer's stderr: ffmpeg 5.1 reports a full disk there and still exits 0. */
  readonly stderr: string;
  /** About what the output takes (its segments' size: they are its video), for when no frame was written. */
  readonly fallbackBytes: number;
  readonly written: WrittenFile;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * About how many bytes the whole output takes: the bytes written so far scaled by the frames they
 * hold, with a margin for the index a container writes at its end (mp4's moov, mkv's cues).
 */
export function estimateNeeded(writtenBytes: number, writtenFrames: number, plannedFrames: number, fallbackBytes: number): number {
  const scaled = writtenFrames > 0 ? (writtenBytes * plannedFrames) / writtenFrames : fallbackBytes;
  return Math.ceil(Math.max(scaled, writtenBytes) * 1.05 + 64 * 1024);
}

/**
 * Throws unless the written file holds the whole output: it opens and has the planned frames.
 * A full disk (said by the writer, or a short file where the free space is less than the whole
 * needs) is one line naming the folder, the space needed and the space free.
 */
export function verifyWritten(report: WriteReport): void {
  const folder = dirname(report.file);
  const complete = report.written.opened && report.written.frames === report.plannedFrames;
  if (complete && !isNoSpace(report.stderr)) return;
  const written = sizeOf(report.file);
  const frames = report.written.opened && report.written.frames > 0 ? report.written.frames : report.encodedFrames;
  const needed = estimateNeeded(written, frames, report.plannedFrames, report.fallbackBytes);
  const free = freeBytes(folder);
  // The partial is removed on failure: its bytes count as free for the next try.
  const freeForOutput = free === undefined ? undefined : free + written;
  if (isNoSpace(report.stderr) || (freeForOutput !== undefined && freeForOutput < needed)) throw notEnoughSpace(folder, needed, freeForOutput);
  const got = report.written.opened ? `${report.written.frames} of ${report.plannedFrames} frames` : 'ffprobe cannot open it';
  throw new UserError(`the output was written incomplete (${got})`, { kind: 'runtime', file: report.output, tryMessage: 'run again; if it repeats, write to another folder' });
}
