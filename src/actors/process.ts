import { renameSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { ProbeResult, ProcessResult, ProcessWork } from '../machines/job.js';
import type { JobOptions, Rate } from '../machines/types.js';
import type { HostMessage, InterpolateHostConfig, SegmentMessage, UpscaleHostConfig } from '../hosts/protocol.js';
import { inputIdentity, openResumeStore, resumeDir, temporaryStore, type SegmentStore } from '../services/checkpoints.js';
import { planSegments, type Segment } from '../services/segments.js';
import { outputFrameCount } from '../services/timing.js';
import { UserError } from '../services/errors.js';
import { decodeArgs, segmentArgs } from '../services/ffmpeg/args.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { hostEntry, tsNodeArgs } from '../services/paths.js';
import { DEFAULT_SCENE_THRESHOLD } from '../services/scene-cut.js';
import { sha256File as sha256Of } from '../services/models.js';
import { cudaMayBeUsed } from '../services/gpu.js';
import { collectText, lastLine } from '../services/streams.js';
import type { ExitInfo, OwnedProcess } from '../services/supervisor.js';
import { defineWork, type WorkScope } from './work.js';

type Ready = Extract<HostMessage, { type: 'ready' }>;
type HostError = Extract<HostMessage, { type: 'error' }>;

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

function hostFailure(name: string, message: HostError | undefined, stderr: string, exit: ExitInfo): UserError {
  if (message) return new UserError(message.message, { kind: message.kind });
  return new UserError(`the ${name} host stopped (${describeExit(exit)})`, { kind: 'runtime', tryMessage: lastLine(stderr) || undefined });
}

interface Host {
  readonly owned: OwnedProcess;
  readonly ready: Promise<Ready>;
  /** Resolves with the frames the host wrote, once it exited cleanly. */
  readonly finished: Promise<number>;
  /** Called with the host's running count of frames written. */
  onFrames(listener: (frames: number) => void): void;
}

/** Starts an inference host reading `stdin` (a pipe of ours, or the previous host's stdout). */
function startHost(scope: WorkScope, entry: 'upscale' | 'interpolate', config: object, stdin: 'pipe' | NodeJS.ReadableStream): Host {
  const owned = scope.spawn({
    command: process.execPath,
    args: [...tsNodeArgs(hostEntry(entry)), JSON.stringify(config)],
    role: `${entry}-host`,
    stdio: [stdin as 'pipe', 'pipe', 'pipe', 'ipc'],
  });
  const stderr = collectText(owned.child.stderr);
  let failure: HostError | undefined;
  let framesDone = 0;
  let onFrames: (frames: number) => void = () => undefined;
  const ready = new Promise<Ready>((resolveReady, reject) => {
    owned.child.on('message', (message: HostMessage) => {
      if (message.type === 'ready') resolveReady(message);
      else if (message.type === 'frame') {
        framesDone = message.done;
        onFrames(message.done);
      } else if (message.type === 'error') failure = message;
    });
    void owned.exited.then(async (exit) => reject(hostFailure(entry, failure, await stderr, exit)));
  });
  const finished = owned.exited.then(async (exit) => {
    if (exit.code !== 0) throw hostFailure(entry, failure, await stderr, exit);
    return framesDone;
  });
  // Awaited later, or never when loading fails first: either way its rejection is accounted for.
  finished.catch(() => undefined);
  ready.catch(() => undefined);
  return { owned, ready, finished, onFrames: (listener) => (onFrames = listener) };
}

async function ffmpegFinished(owned: OwnedProcess, what: string, file: string): Promise<void> {
  const stderr = collectText(owned.child.stderr);
  const exit = await owned.exited;
  if (exit.code !== 0) {
    throw new UserError(`${what} failed for`, { kind: what === 'decoding' ? 'input' : 'runtime', file, tryMessage: `ffmpeg says: ${lastLine(await stderr) || describeExit(exit)}` });
  }
}

function outputScale(requested: number | undefined, modelScale: number, model: string): number {
  const scale = requested ?? modelScale;
  if (scale > modelScale) {
    throw new UserError(`the model upscales ×${modelScale}; --scale ${scale} needs a ×${scale} model`, { kind: 'usage', file: model });
  }
  return scale;
}

/** With --jobs N on the CPU, each job's hosts get 1/N of the cores (onnxruntime's default is all of them). */
function threadsPerHost(options: JobOptions): number | undefined {
  const jobs = options.jobs ?? 1;
  return jobs > 1 ? Math.max(1, Math.floor(availableParallelism() / jobs)) : undefined;
}

/** What flows out of the chain: frame size and rate, and the size the user asked for. */
interface Geometry {
  readonly width: number;
  readonly height: number;
  readonly rate: Rate;
  readonly outWidth: number;
  readonly outHeight: number;
}

interface Chain {
  readonly hosts: readonly Host[];
  readonly steps: readonly ('upscale' | 'interpolate')[];
  readonly geometry: Geometry;
  /** A temporal upscale model's reach on each side of a frame. */
  readonly radius: number;
}

/**
 * Starts the hosts of the plan, each reading the previous one's stdout, and waits for each to load:
 * only then are the next host's input size and the segment plan known.
 */
async function startChain(scope: WorkScope, work: ProcessWork, reportNotices: boolean): Promise<Chain> {
  const { plan, options } = work;
  const { media } = plan;
  let geometry: Geometry = { width: media.width, height: media.height, rate: media.frameRate, outWidth: media.width, outHeight: media.height };
  let radius = 0;
  const hosts: Host[] = [];
  const notice = (message: string) => reportNotices && scope.notice(message);
  for (const step of plan.steps) {
    const stdin = hosts.length === 0 ? 'pipe' : hosts[hosts.length - 1].owned.child.stdout!;
    let host: Host;
    if (step === 'upscale') {
      const model = plan.model!;
      const config: UpscaleHostConfig = {
        modelPath: model.path, device: options.device, tileSize: options.tile ?? model.tile.defaultSize, overlap: model.tile.overlap,
        scale: model.scale, width: geometry.width, height: geometry.height, frameCount: media.frameCount, awaitSegment: true,
        threads: threadsPerHost(options),
      };
      host = startHost(scope, 'upscale', config, stdin);
    } else {
      const interpolation = plan.interpolation!;
      const config: InterpolateHostConfig = {
        modelPath: interpolation.model.path, device: options.device, width: geometry.width, height: geometry.height,
        inRate: geometry.rate, outRate: interpolation.outRate, frameCount: media.frameCount,
        sceneThreshold: options.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD, cuts: work.scenes?.slice(1).map((scene) => scene.start), awaitSegment: true,
        threads: threadsPerHost(options),
      };
      host = startHost(scope, 'interpolate', config, stdin);
    }
    // Our copy of the previous host's read end goes at once, before any frame exists.
    if (hosts.length > 0) hosts[hosts.length - 1].owned.child.stdout!.destroy();
    hosts.push(host);
    const loaded = await host.ready;
    if (loaded.fallbackReason) notice(`CUDA is not available, running on the CPU (${loaded.fallbackReason})`);
    if (step === 'upscale') {
      const model = plan.model!;
      const factor = loaded.scale ?? 1;
      const scale = outputScale(options.scale, factor, model.name);
      radius = ((loaded.frames ?? 1) - 1) / 2;
      if (radius > 0 && plan.interpolation) {
        throw new UserError('a temporal upscale model cannot be combined with interpolation yet', { kind: 'usage', file: model.path, tryMessage: 'run the two in separate passes' });
      }
      notice(`${model.origin === 'file' ? 'model' : model.name} ×${factor}${radius > 0 ? `, ${loaded.frames} frames in` : ''} on ${loaded.provider}`);
      geometry = { ...geometry, width: geometry.width * factor, height: geometry.height * factor, outWidth: geometry.outWidth * scale, outHeight: geometry.outHeight * scale };
    } else {
      const interpolation = plan.interpolation!;
      notice(`${interpolation.model.origin === 'file' ? 'interpolation model' : interpolation.model.name} to ${interpolation.outRate.num}/${interpolation.outRate.den} fps on ${loaded.provider}`);
      geometry = { ...geometry, rate: interpolation.outRate };
    }
  }
  return { hosts, steps: plan.steps, geometry, radius };
}

/** Output frames of a segment: its source frames, or with interpolation the output slots in its time span. */
function outputRange(plan: ProbeResult, segment: Segment): { from: number; to: number } {
  if (!plan.interpolation) return { from: segment.start, to: segment.end };
  const inRate = plan.media.frameRate;
  const outRate = plan.interpolation.outRate;
  return { from: outputFrameCount(segment.start, inRate, outRate), to: outputFrameCount(segment.end, inRate, outRate) };
}

/** What each host is to emit for this segment, from what it receives. */
function segmentMessages(chain: Chain, plan: ProbeResult, segment: Segment): SegmentMessage[] {
  const output = outputRange(plan, segment);
  let receivedFrom = segment.decodeStart;
  return chain.steps.map((step): SegmentMessage => {
    if (step === 'interpolate') {
      const message: SegmentMessage = { type: 'segment', firstSource: receivedFrom, outputFrom: output.from, outputTo: output.to };
      receivedFrom = output.from;
      return message;
    }
    if (chain.steps[0] === 'interpolate') return { type: 'segment' };
    // Upscale first (or alone): it drops the context frames, keeping the right frame for interpolation.
    const emitEnd = segment.rightFrame ? segment.end + 1 : segment.end;
    const message: SegmentMessage = { type: 'segment', emitStart: segment.start - receivedFrom, emitCount: emitEnd - segment.start };
    receivedFrom = segment.start;
    return message;
  });
}

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

/**
 * Segment by segment: decode ffmpeg (the segment's frames and their context) → upscale and/or
 * interpolation hosts → lossless segment file, joined by pipes handed from one child to the next:
 * frames never enter this process. With --resume, segments already in the store are skipped.
 */
export const processWork = defineWork<ProcessWork, ProcessResult>('process', async (work, scope) => {
  scope.started();
  const { plan, options } = work;
  const { media } = plan;
  const input = resolve(work.input);
  const jobs = Math.max(1, options.jobs ?? 1);
  // The GPU is one job's at a time; the CPU is shared by --jobs hosts, each with its share of the cores.
  const onCpu = options.device === 'cpu' || (options.device === 'auto' && !cudaMayBeUsed());
  await scope.lease(onCpu ? 'cpu' : 'gpu', onCpu ? jobs : 1);
  const store = openStore(scope, work);
  const total = plan.interpolation ? plan.interpolation.outputFrames : media.frameCount;

  // The first chain is started before the plan: a temporal model's reach decides the context.
  let spare: Chain | undefined = await startChain(scope, work, true);
  const geometry = spare.geometry;
  const segments = planSegments({
    frames: media.frameCount, scenes: work.scenes ?? [], mode: options.mode ?? 'chunked', chunk: options.chunk,
    window: options.window, overlap: options.overlap, radius: spare.radius, interpolation: Boolean(plan.interpolation),
  });
  const reused = segments.filter((_, index) => store.has(index)).length;
  if (reused > 0) scope.notice(reused === segments.length ? `resuming: all ${reused} segments reused` : `resuming: ${reused} of ${segments.length} segments reused`);
  const count = segments.length;
  const at = (segment: number) => (count > 1 ? { segment, segments: count } : undefined);
  let done = 0;
  for (const [index, segment] of segments.entries()) {
    const range = outputRange(plan, segment);
    if (store.has(index)) {
      done += range.to - range.from;
      continue;
    }
    const chain = spare ?? (await startChain(scope, work, false));
    spare = undefined;
    const before = done;
    const onFrame = (frames: number) => scope.progress(before + frames, total, at(index));
    chain.hosts[chain.hosts.length - 1].onFrames(onFrame);
    onFrame(0);
    const messages = segmentMessages(chain, plan, segment);
    chain.hosts.forEach((host, n) => host.owned.child.send(messages[n]));

    const tail = chain.hosts[chain.hosts.length - 1].owned.child;
    const part = store.partPath(index);
    const encode = scope.spawn({ command: ffmpegBinaries().ffmpeg, args: segmentArgs(chain.geometry, part), role: 'encode', stdio: [tail.stdout!, 'ignore', 'pipe'] });
    tail.stdout!.destroy();
    const head = chain.hosts[0].owned.child;
    const decode = scope.spawn({
      command: ffmpegBinaries().ffmpeg,
      args: decodeArgs(input, count === 1 && segment.decodeStart === 0 ? undefined : { start: segment.decodeStart, end: segment.decodeEnd }),
      role: 'decode',
      stdio: ['ignore', head.stdin!, 'pipe'],
    });
    head.stdin!.destroy();
    await Promise.all(chain.hosts.map((host) => host.finished));
    await Promise.all([ffmpegFinished(decode, 'decoding', input), ffmpegFinished(encode, 'encoding', part)]);
    renameSync(part, store.path(index));
    done += range.to - range.from;
    scope.progress(done, total, at(index + 1));
  }
  if (spare) {
    // Every segment was already there: the chain served only to plan.
    for (const host of spare.hosts) host.owned.kill('SIGKILL');
    await Promise.all(spare.hosts.map((host) => host.owned.exited));
  }
  const final = geometry;
  return {
    segments: segments.map((segment, index) => {
      const range = outputRange(plan, segment);
      return { file: store.path(index), frames: range.to - range.from };
    }),
    frames: done,
    frameWidth: final.width,
    frameHeight: final.height,
    outWidth: final.outWidth,
    outHeight: final.outHeight,
    rate: final.rate,
    resumeDir: store.resumable ? store.dir : undefined,
  };
});

