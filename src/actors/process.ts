import { renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { JobOptions, ProcessResult, ProcessWork } from '../domain.js';
import { inputIdentity, openResumeStore, removeParts, resumeDir, temporaryStore, type SegmentStore } from '../services/checkpoints.js';
import { decodeArgs, segmentArgs } from '../services/ffmpeg/args.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { freeBytes, isNoSpace, notEnoughSpace } from '../services/disk-space.js';
import { UserError } from '../services/errors.js';
import { cudaMayBeUsed } from '../services/gpu.js';
import { sha256File as sha256Of } from '../services/models.js';
import { outputSideImages, paneInfo, PREVIEW_SOURCE_FILE, previewSourceFrame, sourceSideImages, writePaneInfo } from '../services/previews.js';
import { planSegments, previewSegment, type Segment } from '../services/segments.js';
import { endingOf, toolFailure, type Ending } from '../services/tool-failure.js';
import { outputRange, segmentMessages, startChain, stopChain, type Chain } from './host-chain.js';
import { readBackFrames } from './read-back.js';
import { defineWork, type WorkScope } from './work.js';

function settingsOf(work: ProcessWork): unknown {
  const { plan, options } = work;
  const pick = (o: JobOptions) => ({
    scale: o.scale, tile: o.tile, device: o.device === 'cpu' ? 'cpu' : 'auto', interpolate: o.interpolate, fps: o.fps, order: o.order,
    sceneThreshold: o.sceneThreshold, scenes: o.scenes, minScene: o.minScene, mode: o.mode ?? 'chunked', chunk: o.chunk, window: o.window, overlap: o.overlap,
    // Undefined unless given, so checkpoints made before these options existed still match.
    ensemble: o.ensemble, steps: o.steps,
  });
  return {
    options: pick(options),
    steps: plan.steps,
    model: plan.model && { name: plan.model.name, sha256: plan.model.sha256 ?? sha256Of(plan.model.path), steps: plan.model.steps },
    interpolation: plan.interpolation && { name: plan.interpolation.model.name, sha256: plan.interpolation.model.sha256 ?? sha256Of(plan.interpolation.model.path) },
  };
}

function openStore(scope: WorkScope, work: ProcessWork): SegmentStore {
  if (!work.options.resume) return temporaryStore(work.jobDir);
  const input = resolve(work.input);
  const { store, notice } = openResumeStore(resumeDir(work.options.tempRoot, input, resolve(work.output)), inputIdentity(input), settingsOf(work));
  if (notice) scope.notice(notice);
  return store;
}

/** The GPU is one job's at a time; the CPU is shared by --jobs hosts, each with its share of the cores. */
async function takeDeviceLease(scope: WorkScope, options: JobOptions): Promise<void> {
  const onCpu = options.device === 'cpu' || (options.device === 'auto' && !cudaMayBeUsed());
  await scope.lease(onCpu ? 'cpu' : 'gpu', onCpu ? Math.max(1, options.jobs ?? 1) : 1);
}

function planFor(work: ProcessWork, radius: number): Segment[] {
  const { plan, options } = work;
  return planSegments({
    frames: plan.media.frameCount, scenes: work.scenes ?? [], mode: options.mode ?? 'chunked', chunk: options.chunk,
    window: options.window, overlap: options.overlap, radius, interpolation: Boolean(plan.interpolation),
  });
}

/** A preview's one segment, cut from the run's segment that holds its source frame (services/segments.ts). */
function previewSegmentOf(work: ProcessWork, radius: number): Segment {
  const source = previewSourceFrame(work);
  const within = planFor(work, radius).find((segment) => segment.start <= source && source < segment.end)!;
  return previewSegment(within, source, work.plan.preview!.frame, radius, Boolean(work.plan.interpolation), work.plan.steps[0] === 'upscale');
}

function noticeReuse(scope: WorkScope, reused: number, count: number): void {
  if (reused === 0) return;
  scope.notice(reused === count ? `resuming: all ${reused} segments reused` : `resuming: ${reused} of ${count} segments reused`);
}

function failureOf(ended: Ending, what: string, file: string, kind: 'input' | 'runtime'): UserError | undefined {
  if (ended.exit.code === 0) return undefined;
  if (isNoSpace(ended.stderr)) return notEnoughSpace(dirname(file), undefined, freeBytes(dirname(file)), { written: 'the segments', elsewhere: 'another --temp-dir' });
  return toolFailure(`${what} failed for`, 'ffmpeg', ended, { kind, file });
}

async function expectSuccess(ending: Promise<Ending>, what: string, file: string, kind: 'input' | 'runtime'): Promise<void> {
  const failure = failureOf(await ending, what, file, kind);
  if (failure) throw failure;
}

/**
 * The hosts' result, or the real cause when they fail: a host whose input stops inside a frame
 * usually means the decoder died, one that cannot write its frames that the encoder died first
 * (killed, or its disk full); "stdin ended inside a frame" or "write EPIPE" would name the wrong one.
 */
async function chainFrames(chain: Chain, decoded: Promise<Ending>, encoded: Promise<Ending>, input: string, part: string): Promise<number> {
  try {
    const counts = await Promise.all(chain.hosts.map((host) => host.finished));
    return counts[counts.length - 1];
  } catch (hostFailure) {
    // Only a neighbour that was killed or ran out of space is the cause: one that merely lost its pipe
    // (a broken pipe, a short last frame) ended because the host did.
    const neighbours = [
      { ending: decoded, what: 'decoding', file: input, kind: 'input' },
      { ending: encoded, what: 'encoding', file: part, kind: 'runtime' },
    ] as const;
    for (const { ending, what, file, kind } of neighbours) {
      const ended = await ending;
      if (ended.exit.signal !== null || isNoSpace(ended.stderr)) throw failureOf(ended, what, file, kind) ?? hostFailure;
    }
    throw hostFailure;
  }
}

function shortFrames(got: number, planned: number, segment: Segment, input: string): UserError {
  return new UserError(`the input gave ${got} frames where ${planned} were planned for frames ${segment.start}–${segment.end - 1}`, {
    kind: 'runtime',
    file: input,
    tryMessage: 'was it changed or truncated while upframe ran? run again on the complete file',
  });
}

/**
 * One segment through the chain: decode ffmpeg (the segment's frames and their context) → the hosts →
 * the encoder writing `part`, joined by pipes handed from one child to the next, so frames never
 * enter this process. Our copies of the pipe ends are closed as soon as they are handed over. The
 * segment counts only with exactly the planned frames, by the hosts' count and by ffprobe's.
 */
async function runSegment(
  scope: WorkScope, work: ProcessWork, chain: Chain, segment: Segment, whole: boolean, part: string,
  onFrames: (frames: number) => void, onStep: (frame: number, step: number) => void,
): Promise<void> {
  const input = resolve(work.input);
  const tail = chain.hosts[chain.hosts.length - 1];
  const head = chain.hosts[0];
  tail.onFrames(onFrames);
  tail.onSteps(onStep);
  onFrames(0);
  const messages = segmentMessages(chain, work.plan, segment);
  chain.hosts.forEach((host, n) => host.owned.child.send(messages[n]));

  const range = outputRange(work.plan, segment);
  const encode = scope.spawn({ command: ffmpegBinaries().ffmpeg, args: segmentArgs(chain.geometry, part, outputSideImages(work, range, chain.geometry)), role: 'encode', stdio: [tail.owned.child.stdout!, 'ignore', 'pipe'] });
  const encoded = endingOf(encode);
  tail.owned.child.stdout!.destroy();
  const decode = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: decodeArgs(input, whole ? undefined : { start: segment.decodeStart, end: segment.decodeEnd }, sourceSideImages(work, segment, range)),
    role: 'decode',
    stdio: ['ignore', head.owned.child.stdin!, 'pipe'],
  });
  const decoded = endingOf(decode);
  head.owned.child.stdin!.destroy();
  const written = await chainFrames(chain, decoded, encoded, input, part);
  await Promise.all([expectSuccess(decoded, 'decoding', input, 'input'), expectSuccess(encoded, 'encoding', part, 'runtime')]);
  const planned = range.to - range.from;
  if (written !== planned) throw shortFrames(written, planned, segment, input);
  // What will be joined, not what was meant to be.
  const stored = await readBackFrames(scope, part);
  if (stored !== planned) {
    const what = stored === undefined ? 'a segment file cannot be read back' : `a segment file holds ${stored} of its ${planned} frames`;
    throw new UserError(what, { kind: 'runtime', file: part, tryMessage: 'is the temp disk full or failing? see upframe doctor' });
  }
}

/**
 * Segment by segment through the hosts into lossless segment files. With --resume, segments already
 * in the store are skipped. The first chain of hosts is started before the plan: a temporal model's
 * reach decides the context; it then serves the first missing segment.
 */
export const processWork = defineWork<ProcessWork, ProcessResult>('process', async (work, scope) => {
  scope.started();
  const { plan } = work;
  await takeDeviceLease(scope, work.options);
  // A preview makes one frame in its own folder: no --resume store to read or fill.
  const store = plan.preview ? temporaryStore(work.jobDir) : openStore(scope, work);
  // A resume folder outlives the job: a segment being written when the job ends must not stay in it.
  scope.onRelease(() => removeParts(store));
  const total = plan.preview ? 1 : plan.interpolation ? plan.interpolation.outputFrames : plan.media.frameCount;
  if (work.options.previews && !plan.preview) writePaneInfo(work.jobDir, paneInfo(work));

  let spare: Chain | undefined = await startChain(scope, work, true);
  const geometry = spare.geometry;
  const segments = plan.preview ? [previewSegmentOf(work, spare.radius)] : planFor(work, spare.radius);
  const count = segments.length;
  // Checked once: with --resume each check reads a kept segment's size and sampled checksum.
  const kept = segments.map((_, index) => store.has(index));
  noticeReuse(scope, kept.filter(Boolean).length, count);
  const at = (segment: number) => (count > 1 ? { segment, segments: count } : undefined);
  // Frames of several model runs (self-ensemble, steps models) report each run: the ETA counts runs.
  const perFrame = spare.frameSteps;
  const runs = (step: number) => (perFrame > 1 ? { step, steps: perFrame } : undefined);
  let done = 0;
  for (const [index, segment] of segments.entries()) {
    const range = outputRange(plan, segment);
    if (kept[index]) {
      done += range.to - range.from;
      continue;
    }
    const chain: Chain = spare ?? (await startChain(scope, work, false));
    spare = undefined;
    const before = done;
    const whole = !plan.preview && count === 1 && segment.decodeStart === 0;
    await runSegment(
      scope, work, chain, segment, whole, store.partPath(index),
      (frames) => scope.progress(before + frames, total, at(index), runs(0)),
      (frame, step) => scope.progress(before + frame, total, at(index), runs(step)),
    );
    renameSync(store.partPath(index), store.path(index));
    store.record(index, range.to - range.from);
    done += range.to - range.from;
    scope.progress(done, total, at(index + 1), runs(0));
  }
  if (spare) await stopChain(spare);
  return {
    segments: segments.map((segment, index) => {
      const range = outputRange(plan, segment);
      return { file: store.path(index), frames: range.to - range.from };
    }),
    frames: done,
    frameWidth: geometry.width,
    frameHeight: geometry.height,
    outWidth: geometry.outWidth,
    outHeight: geometry.outHeight,
    rate: geometry.rate,
    resumeDir: store.resumable ? store.dir : undefined,
    ...(plan.preview
      ? { preview: { ...plan.preview, sourceFrame: previewSourceFrame(work), sourceFile: plan.preview.compare ? join(work.jobDir, PREVIEW_SOURCE_FILE) : undefined } }
      : {}),
  };
});
