import { renameSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JobOptions, ProcessResult, ProcessWork } from '../domain.js';
import { inputIdentity, openResumeStore, removeParts, resumeDir, temporaryStore, type SegmentStore } from '../services/checkpoints.js';
import { decodeArgs, segmentArgs } from '../services/ffmpeg/args.js';
import { packetCountArgs } from '../services/ffmpeg/probe.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { UserError } from '../services/errors.js';
import { collectText } from '../services/streams.js';
import { cudaMayBeUsed } from '../services/gpu.js';
import { sha256File as sha256Of } from '../services/models.js';
import { planSegments, type Segment } from '../services/segments.js';
import { endingOf, toolFailure, type Ending } from '../services/tool-failure.js';
import { outputRange, segmentMessages, startChain, stopChain, type Chain } from './host-chain.js';
import { defineWork, type WorkScope } from './work.js';

function settingsOf(work: ProcessWork): unknown {
  const { plan, options } = work;
  const pick = (o: JobOptions) => ({
    scale: o.scale, tile: o.tile, device: o.device === 'cpu' ? 'cpu' : 'auto', interpolate: o.interpolate, fps: o.fps, order: o.order,
    sceneThreshold: o.sceneThreshold, scenes: o.scenes, minScene: o.minScene, mode: o.mode ?? 'chunked', chunk: o.chunk, window: o.window, overlap: o.overlap,
  });
  return {
    options: pick(options),
    steps: plan.steps,
    model: plan.model && { name: plan.model.name, sha256: plan.model.sha256 ?? sha256Of(plan.model.path) },
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

function noticeReuse(scope: WorkScope, reused: number, count: number): void {
  if (reused === 0) return;
  scope.notice(reused === count ? `resuming: all ${reused} segments reused` : `resuming: ${reused} of ${count} segments reused`);
}

async function expectSuccess(ending: Promise<Ending>, what: string, file: string, kind: 'input' | 'runtime'): Promise<void> {
  const ended = await ending;
  if (ended.exit.code !== 0) throw toolFailure(`${what} failed for`, 'ffmpeg', ended, { kind, file });
}

/**
 * The hosts' result, or the real cause when they fail: a host that cannot write its frames usually
 * means the encoder died first (killed, or its disk full), and "write EPIPE" would name the wrong one.
 */
async function chainFrames(chain: Chain, encoded: Promise<Ending>, part: string): Promise<number> {
  try {
    const counts = await Promise.all(chain.hosts.map((host) => host.finished));
    return counts[counts.length - 1];
  } catch (hostFailure) {
    await expectSuccess(encoded, 'encoding', part, 'runtime');
    throw hostFailure;
  }
}

/** ffprobe's packet count of a finished segment file: what will be joined, not what was meant to be. */
async function countFrames(scope: WorkScope, file: string): Promise<number> {
  const ffprobe = scope.spawn({ command: ffmpegBinaries().ffprobe, args: packetCountArgs(file), role: 'ffprobe' });
  const [stdout, ending] = await Promise.all([collectText(ffprobe.child.stdout), endingOf(ffprobe)]);
  if (ending.exit.code !== 0) throw toolFailure('a segment file cannot be read back', 'ffprobe', ending, { kind: 'runtime', file });
  return Number(stdout.trim());
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
async function runSegment(scope: WorkScope, work: ProcessWork, chain: Chain, segment: Segment, whole: boolean, part: string, onFrames: (frames: number) => void): Promise<void> {
  const input = resolve(work.input);
  const tail = chain.hosts[chain.hosts.length - 1];
  const head = chain.hosts[0];
  tail.onFrames(onFrames);
  onFrames(0);
  const messages = segmentMessages(chain, work.plan, segment);
  chain.hosts.forEach((host, n) => host.owned.child.send(messages[n]));

  const encode = scope.spawn({ command: ffmpegBinaries().ffmpeg, args: segmentArgs(chain.geometry, part), role: 'encode', stdio: [tail.owned.child.stdout!, 'ignore', 'pipe'] });
  const encoded = endingOf(encode);
  tail.owned.child.stdout!.destroy();
  const decode = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: decodeArgs(input, whole ? undefined : { start: segment.decodeStart, end: segment.decodeEnd }),
    role: 'decode',
    stdio: ['ignore', head.owned.child.stdin!, 'pipe'],
  });
  const decoded = endingOf(decode);
  head.owned.child.stdin!.destroy();
  const written = await chainFrames(chain, encoded, part);
  await Promise.all([expectSuccess(decoded, 'decoding', input, 'input'), expectSuccess(encoded, 'encoding', part, 'runtime')]);
  const range = outputRange(work.plan, segment);
  const planned = range.to - range.from;
  if (written !== planned) throw shortFrames(written, planned, segment, input);
  const stored = await countFrames(scope, part);
  if (stored !== planned) throw new UserError(`a segment file holds ${stored} of its ${planned} frames`, { kind: 'runtime', file: part, tryMessage: 'is the temp disk full or failing? see upframe doctor' });
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
  const store = openStore(scope, work);
  // A resume folder outlives the job: a segment being written when the job ends must not stay in it.
  scope.onRelease(() => removeParts(store));
  const total = plan.interpolation ? plan.interpolation.outputFrames : plan.media.frameCount;

  let spare: Chain | undefined = await startChain(scope, work, true);
  const geometry = spare.geometry;
  const segments = planFor(work, spare.radius);
  const count = segments.length;
  noticeReuse(scope, segments.filter((_, index) => store.has(index)).length, count);
  const at = (segment: number) => (count > 1 ? { segment, segments: count } : undefined);
  let done = 0;
  for (const [index, segment] of segments.entries()) {
    const range = outputRange(plan, segment);
    if (store.has(index)) {
      done += range.to - range.from;
      continue;
    }
    const chain: Chain = spare ?? (await startChain(scope, work, false));
    spare = undefined;
    const before = done;
    const whole = count === 1 && segment.decodeStart === 0;
    await runSegment(scope, work, chain, segment, whole, store.partPath(index), (frames) => scope.progress(before + frames, total, at(index)));
    renameSync(store.partPath(index), store.path(index));
    store.record(index, range.to - range.from);
    done += range.to - range.from;
    scope.progress(done, total, at(index + 1));
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
  };
});
