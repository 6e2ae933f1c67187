import { basename, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { ProcessWork } from '../domain.js';
import { decodeArgs, fileArg, segmentEncoding, segmentRunArgs, type SegmentFrame, type SideImages } from '../services/ffmpeg/args.js';
import { gridOf } from '../services/ffmpeg/constant-rate.js';
import { seekBefore, type FrameTimes } from '../services/ffmpeg/probe.js';
import type { Segment } from '../services/segments.js';
import { forcedKeyframeArgs } from '../services/ffmpeg/encoders.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import type { SegmentStore } from '../services/checkpoints.js';
import type { OwnedProcess } from '../services/supervisor.js';
import { onLines } from '../services/streams.js';
import { endingOf, type Ending } from '../services/tool-failure.js';
import { viaFifo, type SegmentFifos } from './segment-fifos.js';
import type { WorkScope } from './work.js';

/** At most this many segments through one encoder: its keyframe and cut lists are arguments of its command line. */
const MOST_SEGMENTS = 1000;
/**
 * A shorter segment gets an encoder of its own. Cut from a stream with B-frames, a file of no more
 * frames than the encoder's reorder delay holds no packet whose decoding time can be known, so its
 * start time is unknown to the concat demuxer, which then places it that delay late; x264 and x265
 * take at most 16 B-frames. An encoder of its own codes so few frames without that delay.
 */
const FEWEST_FRAMES = 17;

/** Whether the job's encoder starts a segment on a forced keyframe (encoders.ts `forcedKeyframeArgs`). */
export function sharesEncoder(work: ProcessWork): boolean {
  const encoding = segmentEncoding(work);
  return encoding.kind === 'final' && forcedKeyframeArgs(encoding.encoding) !== undefined;
}

/**
 * The segments (indices, in order) that one encoder writes: the consecutive ones still to do, of
 * FEWEST_FRAMES or more, where the encoder can cut at forced keyframes (`shares`); every other
 * segment is a run of its own, with an encoder of its own.
 */
export function planRuns(todo: readonly number[], frames: (index: number) => number, shares: boolean): number[][] {
  const joinable = (index: number) => shares && frames(index) >= FEWEST_FRAMES;
  return consecutive(todo, (before, index) => joinable(before) && joinable(index));
}

/** `todo` cut into runs of consecutive indices, each index in a run joining the one before it, at most MOST_SEGMENTS long. */
function consecutive(todo: readonly number[], joins: (before: number, index: number) => boolean): number[][] {
  const runs: number[][] = [];
  for (const index of todo) {
    const last = runs.at(-1);
    if (last && last.at(-1) === index - 1 && last.length < MOST_SEGMENTS && joins(index - 1, index)) last.push(index);
    else runs.push([index]);
  }
  return runs;
}

/** One encoder writing a run's segment files in turn, from one FIFO that the run's segments feed in turn. */
export interface RunEncoder {
  readonly fifo: string;
  readonly encode: OwnedProcess;
  readonly encoded: Promise<Ending>;
  /** True once segment `index`'s file is complete; false if the encoder ended without naming it (its ending tells why). */
  complete(index: number): Promise<boolean>;
  /** After the run's last segment: the encoder's input ends, it flushes and writes the last file. */
  close(): void;
}

/**
 * Starts the encoder of a run: its FIFO held open for writing here (segment-fifos.ts
 * `holdWriteSide`), its files cut at each segment's first frame, each named on fd 3 when complete.
 */
export function startRunEncoder(
  scope: WorkScope, work: ProcessWork, frame: SegmentFrame, store: SegmentStore, pipes: SegmentFifos,
  run: readonly { readonly index: number; readonly frames: number }[], side: readonly SideImages[],
): RunEncoder {
  const encoding = segmentEncoding(work);
  if (encoding.kind !== 'final') throw new Error('a run of segments is encoded in the output\'s codec');
  const fifo = pipes.makeRun(run[0].index, 'encode');
  pipes.holdWriteSide(fifo);
  // Each segment but the first starts where the frames before it end.
  let sum = 0;
  const cuts = run.slice(0, -1).map((segment) => (sum += segment.frames));
  const args = segmentRunArgs(frame, { pattern: store.partPattern, first: run[0].index, cuts, keyframes: forcedKeyframeArgs(encoding.encoding)! }, side, encoding);
  const encode = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: viaFifo(args, 'pipe:0', [fileArg(fifo)]),
    role: 'encode',
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const encoded = endingOf(encode);
  encoded.catch(() => undefined);
  const completed = new Set<number>();
  const waiting = new Map<number, () => void>();
  const list = encode.child.stdio[3] as Readable;
  onLines(list, (line) => {
    const index = Number(/(\d+)\.nut\.part$/.exec(basename(line.trim()))?.[1]);
    if (!Number.isInteger(index)) return;
    completed.add(index);
    waiting.get(index)?.();
  });
  // Every name the encoder wrote has arrived once its fd 3 is closed, which may come after its exit.
  const listEnded = new Promise<void>((resolve) => list.once('close', resolve));
  const ended = Promise.all([encoded, listEnded]).then(() => undefined, () => undefined);
  return {
    fifo,
    encode,
    encoded,
    complete: (index) => Promise.race([new Promise<void>((resolve) => (completed.has(index) ? resolve() : waiting.set(index, resolve))), ended]).then(() => completed.has(index)),
    close: () => pipes.release(fifo),
  };
}

/**
 * The segments (indices, in order) that one decoder feeds: consecutive ones still to do whose decoded
 * frames follow on from one another (chunks without context or an interpolation pair's right frame).
 * The first host reads each segment's frames by count from the run's FIFO; no decoder seeks or starts
 * per segment.
 */
export function planDecodeRuns(todo: readonly number[], segments: readonly Segment[]): number[][] {
  const follows = (before: Segment, after: Segment) => before.decodeEnd === after.decodeStart && before.decodeEnd === before.end && after.decodeStart === after.start;
  return consecutive(todo, (before, index) => follows(segments[before], segments[index]));
}

/** One decoder's ffmpeg and its FIFO: a segment's own, or a run's. */
export interface Decoder {
  readonly fifo: string;
  readonly decode: OwnedProcess;
  readonly decoded: Promise<Ending>;
}

/**
 * A decoder for `span` (a segment, or a run's segments as one): seeking near its first frame when
 * the frame times are known, then `trim` to its frames, writing `fifo`, whose read side is held here
 * (segment-fifos.ts `holdReadSide`) so that its start and way to the first frame need no reader yet.
 */
export function startDecoder(
  scope: WorkScope, work: ProcessWork, span: Pick<Segment, 'decodeStart' | 'decodeEnd'>, whole: boolean, times: FrameTimes | undefined,
  side: readonly SideImages[], pipes: SegmentFifos, fifo: string,
): Decoder {
  const { media } = work.plan;
  // Deinterlacing reads each frame's neighbours: a decoder that seeks starts a frame early, so its
  // first frame is made as in a whole run (the one before it, made without its own, is trimmed).
  const margin = media.interlaced ? 1 : 0;
  const seek = times && !whole ? seekBefore(times, span.decodeStart - margin) : undefined;
  const frames = seek === undefined ? { start: span.decodeStart, end: span.decodeEnd } : { start: margin, end: span.decodeEnd - span.decodeStart + margin };
  // A variable-rate source goes on its grid, whose end-of-stream may repeat the last frame: always trimmed.
  const grid = gridOf(media);
  pipes.holdReadSide(fifo);
  const decode = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: viaFifo(decodeArgs(resolve(work.input), { range: whole && !grid ? undefined : frames, side, seek, grid, deinterlace: Boolean(media.interlaced), videoStream: media.videoStream }), 'pipe:1', ['-y', fileArg(fifo)]),
    role: 'decode',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const decoded = endingOf(decode);
  decoded.catch(() => undefined);
  return { fifo, decode, decoded };
}
