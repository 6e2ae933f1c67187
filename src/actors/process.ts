import { setTimeout as sleep } from 'node:timers/promises';
import { renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { JobOptions, ProcessResult, ProcessWork } from '../domain.js';
import type { OwnedProcess } from '../services/supervisor.js';
import { inputIdentity, openResumeStore, removeParts, resumeDir, temporaryStore, type SegmentStore } from '../services/checkpoints.js';
import { colourNotice, fileArg, segmentArgs, segmentEncoding } from '../services/ffmpeg/args.js';
import type { FrameTimes } from '../services/ffmpeg/probe.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { freeBytes, isNoSpace, notEnoughSpace } from '../services/disk-space.js';
import { UserError } from '../services/errors.js';
import { ownedDeviceCheck, ownedTool, precisionPlan, resolveDevice } from '../services/gpu.js';
import { sha256File as sha256Of } from '../services/models.js';
import { outputSideImages, paneInfo, PREVIEW_SOURCE_FILE, previewSourceFrame, sourceSideImages, writePaneInfo } from '../services/previews.js';
import { planSegments, previewSegment, type Segment } from '../services/segments.js';
import { endingOf, toolFailure, type Ending } from '../services/tool-failure.js';
import { outputRange, segmentMessages, startChain, stopChain, type Chain } from './host-chain.js';
import { SegmentFifos, unstick, viaFifo } from './segment-fifos.js';
import { planDecodeRuns, planRuns, sharesEncoder, startDecoder, startRunEncoder, type Decoder, type RunEncoder } from './segment-run.js';
import { readFrameTimes } from './frame-times.js';
import { readBackFrames } from './read-back.js';
import { defineWork, type WorkScope } from './work.js';

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function settingsOf(work: ProcessWork): unknown {
  const { plan, options } = work;
  const pick = (o: JobOptions) => ({
    scale: o.scale, tile: o.tile, device: o.device === 'cpu' ? 'cpu' : 'auto', interpolate: o.interpolate, fps: o.fps, order: o.order,
    sceneThreshold: o.sceneThreshold, scenes: o.scenes, minScene: o.minScene, mode: o.mode ?? 'chunked', chunk: o.chunk, window: o.window, overlap: o.overlap,
    // Undefined unless given, so checkpoints made before these options existed still match.
    ensemble: o.ensemble, steps: o.steps, precision: o.precision,
  });
  return {
    options: pick(options),
    // Segments are in the output's codec: another encoder, quality or preset makes other segments.
    encoding: segmentEncoding(work),
    steps: plan.steps,
    model: plan.model && { name: plan.model.name, sha256: plan.model.sha256 ?? sha256Of(plan.model.path), steps: plan.model.steps },
    interpolation: plan.interpolation && { name: plan.interpolation.model.name, sha256: plan.interpolation.model.sha256 ?? sha256Of(plan.interpolation.model.path) },
    // Absent without --face-restore, so checkpoints made before face restoration existed still match.
    face: plan.face && {
      restorer: plan.face.restorer.sha256 ?? sha256Of(plan.face.restorer.path), detector: plan.face.detector.sha256 ?? sha256Of(plan.face.detector.path),
      strength: options.faceStrength, minSize: options.faceMinSize, fidelity: options.faceFidelity,
    },
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
// The device is resolved first (services/gpu.ts `chooseDevice`: a check host this job owns, once per
// process); a WebGPU or CUDA host then takes the `gpu` lease, so --jobs N queues the GPU stages.
async function takeDeviceLease(scope: WorkScope, work: ProcessWork): Promise<void> {
  const { options, plan } = work;
  const spawn = (request: Parameters<WorkScope['spawn']>[0]) => scope.spawn(request);
  const choice = await resolveDevice(options.device, ownedDeviceCheck(spawn), ownedTool(spawn));
  const precision = [plan.model?.path, plan.interpolation?.model.path].map((model) => precisionPlan(choice, model, options.precision).notice);
  for (const line of [...choice.notices, ...new Set(precision.filter((n): n is string => n !== undefined))]) scope.notice(line);
  const segments = segmentEncoding(work);
  if (segments.kind === 'final' && options.encoder === undefined && choice.encoders?.includes(segments.encoding.encoder)) {
    scope.notice(`encoder auto: ${segments.encoding.encoder}${choice.adapter ? ` on ${choice.adapter}` : ''}, as inference runs there (--encoder names the CPU's)`);
  }
  if (segments.kind === 'final' && segments.wide) scope.notice(colourNotice(segments.wide, segments.encoding));
  const onCpu = choice.device === 'cpu';
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

/** How long a failed job waits for a run's encoder to complete the files of the segments fed whole. */
const RUN_FLUSH_MS = 3000;
/** How long a segment that came out short waits for its run's decoder to end, for the cause. */
const DECODER_END_MS = 500;

/** The space the job's segments still need, estimated from those on disk: bytes a frame × frames to go. */
type SpaceNeeded = () => number | undefined;

function failureOf(ended: Ending, what: string, file: string, kind: 'input' | 'runtime', needed?: SpaceNeeded): UserError | undefined {
  if (ended.exit.code === 0) return undefined;
  if (isNoSpace(ended.stderr)) return notEnoughSpace(dirname(file), needed?.(), freeBytes(dirname(file)), { written: 'the segments', elsewhere: 'another --temp-dir' });
  return toolFailure(`${what} failed for`, 'ffmpeg', ended, { kind, file });
}

async function expectSuccess(ending: Promise<Ending>, what: string, file: string, kind: 'input' | 'runtime', needed?: SpaceNeeded): Promise<void> {
  const failure = failureOf(await ending, what, file, kind, needed);
  if (failure) throw failure;
}

/**
 * The hosts' result, or the real cause when they fail: a host whose input stops inside a frame
 * usually means the decoder died, one that cannot write its frames that the encoder died first
 * (killed, or its disk full); "stdin ended inside a frame" or "write EPIPE" would name the wrong one.
 */
async function chainFrames(
  hostsDone: readonly Promise<number>[], decoded: Promise<Ending>, encoded: Promise<Ending>, input: string, part: string, needed: SpaceNeeded,
): Promise<number> {
  try {
    const counts = await Promise.all(hostsDone);
    return counts[counts.length - 1];
  } catch (hostFailure) {
    // Only a neighbour that was killed or ran out of space is the cause: one that merely lost its pipe
    // (a broken pipe, a short last frame) ended because the host did.
    const neighbours = [
      { ending: decoded, what: 'decoding', file: input, kind: 'input' },
      { ending: encoded, what: 'encoding', file: part, kind: 'runtime' },
    ] as const;
    // A host that could not write (EPIPE) lost its reader: an encoder that exited with an error
    // (an encoder this ffmpeg cannot open, a size it refuses) is then the cause, and says why.
    const lostReader = /\bEPIPE\b/.test(hostFailure instanceof Error ? hostFailure.message : String(hostFailure));
    for (const { ending, what, file, kind } of neighbours) {
      const ended = await ending;
      const failed = ended.exit.signal !== null || isNoSpace(ended.stderr) || (what === 'encoding' && lostReader && ended.exit.code !== 0);
      if (failed) throw failureOf(ended, what, file, kind, needed) ?? hostFailure;
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

/** A segment's FIFOs and ffmpegs, started ahead: each ffmpeg waits on its FIFO until the hosts open theirs. */
interface Prepared {
  readonly fifos: readonly string[];
  /** The FIFOs removed after this segment: its own, and a run's once this is its last segment. */
  readonly own: readonly string[];
  /** The encoder of the run this segment is in, when it is not the segment's own. */
  readonly run?: RunEncoder;
  /** Set when the segment's frames come from a run's decoder: read by count; the run's last segment? */
  readonly shared?: { readonly last: boolean };
  readonly encode: OwnedProcess;
  readonly encoded: Promise<Ending>;
  readonly decode: OwnedProcess;
  readonly decoded: Promise<Ending>;
}

/**
 * Makes a segment's FIFOs (decoder → host 1 → … → encoder) and starts its encoder (reading the last)
 * and its decoder (writing the first), or takes its run's (segment-run.ts). Started while the previous
 * segment runs, their start and the decoder's way to its first frame cost the hosts nothing.
 */
function prepareSegment(
  scope: WorkScope, work: ProcessWork, chain: Chain, segment: Segment, index: number, whole: boolean, part: string, pipes: SegmentFifos, times: FrameTimes | undefined,
  run: { readonly encoder?: RunEncoder; readonly decoder?: Decoder; readonly lastOfEncoder: boolean; readonly lastOfDecoder: boolean },
): Prepared {
  const made = pipes.make(index, chain.hosts.length + 1 - (run.encoder ? 1 : 0) - (run.decoder ? 1 : 0));
  const fifos = [...(run.decoder ? [run.decoder.fifo] : []), ...made, ...(run.encoder ? [run.encoder.fifo] : [])];
  const own = [...made, ...(run.decoder && run.lastOfDecoder ? [run.decoder.fifo] : []), ...(run.encoder && run.lastOfEncoder ? [run.encoder.fifo] : [])];
  const range = outputRange(work.plan, segment);
  let encode: OwnedProcess;
  let encoded: Promise<Ending>;
  if (run.encoder) {
    ({ encode, encoded } = run.encoder);
  } else {
    encode = scope.spawn({ command: ffmpegBinaries().ffmpeg, args: viaFifo(segmentArgs(chain.geometry, part, outputSideImages(work, range, chain.geometry), segmentEncoding(work)), 'pipe:0', [fileArg(fifos[chain.hosts.length])]), role: 'encode', stdio: ['ignore', 'ignore', 'pipe'] });
    encoded = endingOf(encode);
    encoded.catch(() => undefined);
  }
  const { decode, decoded } = run.decoder ?? startDecoder(scope, work, segment, whole, times, sourceSideImages(work, segment, range), pipes, fifos[0]);
  return { fifos, own, run: run.encoder, shared: run.decoder && { last: run.lastOfDecoder }, encode, encoded, decode, decoded };
}

/**
 * One segment through the chain: decode ffmpeg (the segment's frames and their context) → the hosts →
 * the encoder writing `part`, joined by the segment's FIFOs, so frames never enter this process. The
 * hosts live for the whole job: they get the segment and its FIFOs over IPC; each side opens its own
 * end, and the EOF that ends the segment travels down the chain as each closes its output. Whoever
 * dies leaves its FIFOs' other sides unstuck (EOF, EPIPE), so nothing waits on it. Resolves once the
 * hosts have written exactly the planned frames (the decoder done), with what is left: the encoder's
 * end and ffprobe's count of the file, which run while the hosts take the next segment.
 */
async function feedSegment(
  scope: WorkScope, work: ProcessWork, chain: Chain, segment: Segment, part: string, prepared: Prepared,
  pipes: SegmentFifos, onFrames: (frames: number) => void, onStep: (frame: number, step: number) => void, needed: SpaceNeeded,
  last: boolean,
): Promise<() => Promise<void>> {
  const input = resolve(work.input);
  const { fifos, own, run, shared, encode, encoded, decode, decoded } = prepared;
  const tail = chain.hosts[chain.hosts.length - 1];
  tail.onFrames(onFrames);
  tail.onSteps(onStep);
  onFrames(0);
  const messages = segmentMessages(chain, work.plan, segment);
  // From a run's decoder the first host reads its frames by count, and leaves the rest for the next segment.
  const reading = shared ? { inputFrames: segment.decodeEnd - segment.decodeStart, keepInput: !shared.last } : {};
  const hostsDone = chain.hosts.map((host, n) => host.segment({ ...messages[n], ...(n === 0 ? reading : {}), input: fifos[n], output: fifos[n + 1] }));
  hostsDone.forEach((done) => done.catch(() => undefined));
  // The job's last segment: each host goes as soon as it has written it (a GPU host's memory with it),
  // not once the whole chain has; after that point its end costs nothing, and a host killed before it
  // fails the job.
  const finished = new Set<number>();
  if (last) {
    hostsDone.forEach((done, n) => done.then(() => {
      finished.add(n);
      chain.hosts[n].owned.kill('SIGKILL');
    }, () => undefined));
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const range = outputRange(work.plan, segment);
    // In chain order: process k writes FIFO k and reads FIFO k − 1.
    const sides = [decode, ...chain.hosts.map((host) => host.owned), encode];
    timer = setInterval(() => {
      sides.forEach((side, k) => {
        if (side.isAlive() || finished.has(k - 1)) return;
        pipes.release(fifos[0]);
        // A host or the encoder died: the run's encoder gets its EOF, a host its EPIPE. (A decoder ends
        // when its segment's frames are out: the run goes on.)
        if (run && k > 0) run.close();
        if (k > 0) unstick(fifos[k - 1]);
        if (k < fifos.length) unstick(fifos[k]);
      });
    }, 50);
    const written = await chainFrames(hostsDone, decoded, encoded, input, part, needed);
    // A run's decoder goes on with the next segment: its ending tells only at the run's end, or once it
    // ended. At the end its FIFO has no reader left (the host let go of it): a decoder with frames
    // beyond the plan gets EPIPE, not a wait.
    if (shared?.last) pipes.release(fifos[0]);
    if (!shared || shared.last || !decode.isAlive()) await expectSuccess(decoded, 'decoding', input, 'input');
    const planned = range.to - range.from;
    if (written !== planned) {
      // A run's decoder killed mid-run closes its FIFO at once: the host's `done` with too few frames
      // may come before the decoder's exit does. Its ending, if it comes now, is the cause to name.
      if (shared && !shared.last) await Promise.race([expectSuccess(decoded, 'decoding', input, 'input'), sleep(DECODER_END_MS)]);
      throw shortFrames(written, planned, segment, input);
    }
    encoded.catch(() => undefined);
    return async () => {
      // A run's encoder names each file as it completes it; a segment's own encoder is done when it exits.
      if (!run || !(await run.complete(segment.index))) await expectSuccess(encoded, 'encoding', part, 'runtime', needed);
      // What will be joined, not what was meant to be.
      const stored = await readBackFrames(scope, part);
      if (stored !== planned) {
        const what = stored === undefined ? 'a segment file cannot be read back' : `a segment file holds ${stored} of its ${planned} frames`;
        throw new UserError(what, { kind: 'runtime', file: part, tryMessage: 'is the temp disk full or failing? see upframe doctor' });
      }
    };
  } finally {
    // Every process has opened its FIFOs by now (or died): the names can go.
    clearInterval(timer);
    pipes.remove(own);
  }
}

/**
 * A finished segment renamed into the store and recorded. A record that cannot be written (the disk
 * filled meanwhile: the next segment's encoder writes beside it) leaves no file the manifest does not
 * name, and says which folder needs how much.
 */
export function keep(store: SegmentStore, index: number, frames: number, needed: SpaceNeeded): void {
  renameSync(store.partPath(index), store.path(index));
  try {
    store.record(index, frames);
  } catch (cause) {
    rmSync(store.path(index), { force: true });
    if (isNoSpace(cause)) throw notEnoughSpace(store.dir, needed(), freeBytes(store.dir), { written: 'the segments', elsewhere: 'another --temp-dir' });
    throw cause;
  }
}

/**
 * Segment by segment through one chain of hosts, started once for the job, into segment files. With
 * --resume, segments already in the store are skipped.
 */
export const processWork = defineWork<ProcessWork, ProcessResult>('process', async (work, scope) => {
  scope.started();
  const { plan } = work;
  await takeDeviceLease(scope, work);
  // A preview makes one frame in its own folder: no --resume store to read or fill.
  const store = plan.preview ? temporaryStore(work.jobDir) : openStore(scope, work);
  // A resume folder outlives the job: a segment being written when the job ends must not stay in it.
  scope.onRelease(() => removeParts(store));
  const total = plan.preview ? 1 : plan.interpolation ? plan.interpolation.outputFrames : plan.media.frameCount;
  if (work.options.previews && !plan.preview) writePaneInfo(work.jobDir, paneInfo(work));

  // One chain for the whole job, started before the plan: a temporal model's reach decides the context.
  const chain: Chain = await startChain(scope, work, true);
  const pipes = new SegmentFifos(work.jobDir);
  scope.onRelease(() => pipes.remove());
  const geometry = chain.geometry;
  const segments = plan.preview ? [previewSegmentOf(work, chain.radius)] : planFor(work, chain.radius);
  const count = segments.length;
  // Checked once: with --resume each check reads a kept segment's size and sampled checksum.
  const kept = segments.map((_, index) => store.has(index));
  noticeReuse(scope, kept.filter(Boolean).length, count);
  const at = (segment: number) => (count > 1 ? { segment, segments: count } : undefined);
  // Frames of several model runs (self-ensemble, steps models) report each run: the ETA counts runs.
  const perFrame = chain.frameSteps;
  const runs = (step: number) => (perFrame > 1 ? { step, steps: perFrame } : undefined);
  // A segment is fed (its frames through the hosts), then finished (its encoder's end, ffprobe's
  // count, the rename, the record) while the next one is fed: the hosts never wait for a flush or a
  // read-back. Progress shows what it did when segments ran one by one: while a segment finishes it
  // stops at that segment's end, and the moment it is stored is reported as such.
  let feeding = 0;
  let lastDone = 0;
  let lastStep = 0;
  let finishing: Promise<void> = Promise.resolve();
  // Fed but not yet stored, in order: more than one only in a run, whose encoder completes a file some
  // frames after the next segment's start (its lookahead). Progress stops at the end of a segment
  // that waits for its own encoder's flush; in a run it goes on with the frames the hosts write.
  const unstored: number[] = [];
  const ownEncoder = (index: number) => (runOf.get(index)?.length ?? 1) < 2;
  const cap = () => (unstored.length > 0 && ownEncoder(unstored[0]) ? starts[unstored[0]] + sizes[unstored[0]] : Number.POSITIVE_INFINITY);
  const show = () => scope.progress(Math.min(lastDone, cap()), total, at(unstored[0] ?? feeding), runs(lastDone > cap() ? 0 : lastStep));
  const report = (frames: number, step: number) => {
    lastDone = frames;
    lastStep = step;
    show();
  };
  const sizes = segments.map((segment) => {
    const range = outputRange(plan, segment);
    return range.to - range.from;
  });
  const starts = sizes.map((_, index) => sizes.slice(0, index).reduce((sum, size) => sum + size, 0));
  const done = sizes.reduce((sum, size) => sum + size, 0);
  const todo = segments.map((_, index) => index).filter((index) => !kept[index]);
  const whole = (index: number) => !plan.preview && count === 1 && segments[index].decodeStart === 0;
  // A run's decoder starts at the run's first segment: only decoders starting past frame 0 seek.
  const decodeRuns = planDecodeRuns(todo, segments);
  // A variable-rate source's decoders never seek: the grid's slots are counted from its first frame.
  const seeks = !plan.media.variableRate && decodeRuns.some((run) => segments[run[0]].decodeStart > 0);
  const times = seeks ? await readFrameTimes(scope, resolve(work.input), plan.media) : undefined;
  const stored = new Set(segments.map((_, index) => index).filter((index) => kept[index]));
  const needed: SpaceNeeded = () => {
    // Stored segments tell best; before the first is stored, the one being written.
    const sample = stored.size > 0
      ? [...stored].map((index) => ({ bytes: fileBytes(store.path(index)), frames: sizes[index] }))
      : [{ bytes: fileBytes(store.partPath(feeding)), frames: Math.max(0, lastDone - starts[feeding]) }];
    const bytes = sample.reduce((sum, s) => sum + s.bytes, 0);
    const frames = sample.reduce((sum, s) => sum + s.frames, 0);
    const left = todo.filter((index) => !stored.has(index)).reduce((sum, index) => sum + sizes[index], 0);
    return bytes > 0 && frames > 0 ? Math.ceil((bytes / frames) * left) : undefined;
  };
  // Consecutive segments share one encoder where it can cut at forced keyframes, and one decoder where
  // their frames follow on (segment-run.ts).
  const runsOf = (runs: number[][]) => new Map<number, readonly number[]>(runs.flatMap((run) => run.map((index) => [index, run] as const)));
  const runOf = runsOf(planRuns(todo, (index) => sizes[index], sharesEncoder(work)));
  const decodeRunOf = runsOf(decodeRuns);
  const encoders = new Map<number, RunEncoder>();
  const decoders = new Map<number, Decoder>();
  const encoderOf = (index: number): RunEncoder | undefined => {
    const run = runOf.get(index)!;
    if (run.length < 2) return undefined;
    if (!encoders.has(run[0])) {
      const side = outputSideImages(work, outputRange(plan, segments[run[0]]), geometry);
      encoders.set(run[0], startRunEncoder(scope, work, geometry, store, pipes, run.map((i) => ({ index: i, frames: sizes[i] })), side));
    }
    return encoders.get(run[0]);
  };
  const decoderOf = (index: number): Decoder | undefined => {
    const run = decodeRunOf.get(index)!;
    if (run.length < 2) return undefined;
    if (!decoders.has(run[0])) {
      const [first, last] = [segments[run[0]], segments[run.at(-1)!]];
      const span: Segment = { ...first, end: last.end, decodeEnd: last.decodeEnd, rightFrame: last.rightFrame };
      const side = sourceSideImages(work, span, outputRange(plan, span));
      decoders.set(run[0], startDecoder(scope, work, span, false, times, side, pipes, pipes.makeRun(run[0], 'decode')));
    }
    return decoders.get(run[0]);
  };
  const prepare = (index: number) =>
    prepareSegment(scope, work, chain, segments[index], index, whole(index), store.partPath(index), pipes, times, {
      encoder: encoderOf(index), decoder: decoderOf(index), lastOfEncoder: runOf.get(index)!.at(-1) === index, lastOfDecoder: decodeRunOf.get(index)!.at(-1) === index,
    });
  let next = todo.length > 0 ? prepare(todo[0]) : undefined;
  for (const [k, index] of todo.entries()) {
    const segment = segments[index];
    const frames = sizes[index];
    const prepared = next!;
    const before = starts[index];
    const part = store.partPath(index);
    feeding = index;
    let finish: () => Promise<void>;
    try {
      const fed = feedSegment(
        scope, work, chain, segment, part, prepared, pipes,
        (written) => report(before + written, 0),
        (frame, step) => report(before + frame, step),
        needed,
        k === todo.length - 1,
      );
      fed.catch(() => undefined);
      // The hosts have this segment's message: the next segment's ffmpegs start now (a fork holds this
      // thread a few ms), and wait on their FIFOs until the hosts come to it.
      next = k + 1 < todo.length ? prepare(todo[k + 1]) : undefined;
      // The previous segment failing to finish ends the job at once, this one's processes with it.
      finish = await Promise.race([fed, finishing.then(() => fed)]);
    } catch (error) {
      // The segment before failing to finish is the earlier cause. A run's encoder names its files only
      // with later frames or at its input's end: it gets that end now, and the segments fed whole are
      // kept (for --resume); a host still writing may hold the end back, so not for long.
      for (const encoder of encoders.values()) encoder.close();
      if (encoders.size === 0) await finishing;
      else await Promise.race([finishing, new Promise((resolve) => setTimeout(resolve, RUN_FLUSH_MS).unref())]);
      throw error;
    }
    // A segment with its own encoder finishes while the next is fed, one at a time; a run's segments
    // are fed on while its encoder completes their files, in order.
    const run = prepared.run;
    if (!run) await finishing;
    // The hosts have written their last segment: they go now, not after its encoder's flush and
    // read-back, so no host sits idle (and killable from outside for nothing) while the job ends.
    if (k === todo.length - 1) await stopChain(chain);
    if (run && runOf.get(index)!.at(-1) === index) run.close();
    const end = before + frames;
    unstored.push(index);
    finishing = finishing.then(finish).then(() => {
      keep(store, index, frames, needed);
      stored.add(index);
      unstored.shift();
      // The moment it is stored, as such, unless the hosts' frames of a run are reported past it already.
      if (ownEncoder(index) || lastDone <= end) scope.progress(end, total, at(index + 1), runs(0));
      if (lastDone > end) show();
    });
    finishing.catch(() => undefined);
  }
  await finishing;
  // Every segment was kept: the chain served only to plan.
  if (todo.length === 0) await stopChain(chain);
  return {
    segments: segments.map((_, index) => ({ file: store.path(index), frames: sizes[index] })),
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
