import { availableParallelism } from 'node:os';
import { DEFAULT_SCENE_THRESHOLD, type HostStep, type JobOptions, type ProbeResult, type ProcessWork, type Rate } from '../domain.js';
import type { HostMessage, InterpolateHostConfig, SegmentMessage, UpscaleHostConfig } from '../hosts/protocol.js';
import { UserError } from '../services/errors.js';
import { hostEntry, tsNodeArgs } from '../services/paths.js';
import type { Segment } from '../services/segments.js';
import { collectText, lastLine, oneLine } from '../services/streams.js';
import type { OwnedProcess } from '../services/supervisor.js';
import { outputFrameCount } from '../services/timing.js';
import { describeExit } from '../services/tool-failure.js';
import type { WorkScope } from './work.js';

type Ready = Extract<HostMessage, { type: 'ready' }>;
type HostError = Extract<HostMessage, { type: 'error' }>;

export interface Host {
  readonly owned: OwnedProcess;
  readonly ready: Promise<Ready>;
  /** Resolves with the frames the host wrote, once it exited cleanly and its last message is in. */
  readonly finished: Promise<number>;
  /** Called with the host's running count of frames written. */
  onFrames(listener: (frames: number) => void): void;
  /** Called after each model run of a frame that takes several: frames written before it, runs done in it. */
  onSteps(listener: (frame: number, step: number) => void): void;
}

/** What flows out of the chain: frame size and rate, and the size the user asked for. */
export interface Geometry {
  readonly width: number;
  readonly height: number;
  readonly rate: Rate;
  readonly outWidth: number;
  readonly outHeight: number;
}

export interface Chain {
  readonly hosts: readonly Host[];
  readonly steps: readonly HostStep[];
  readonly geometry: Geometry;
  /** A temporal upscale model's reach on each side of a frame. */
  readonly radius: number;
  /** Model runs per output frame of the last host (self-ensemble, a steps model); 1 otherwise. */
  readonly frameSteps: number;
}

function hostFailure(step: HostStep, message: HostError | undefined, stderr: string, exit: Parameters<typeof describeExit>[0]): UserError {
  if (message) return new UserError(oneLine(message.message) || `the ${step} host failed`, { kind: message.kind });
  return new UserError(`the ${step} host stopped (${describeExit(exit)})`, { kind: 'runtime', tryMessage: lastLine(stderr) || undefined });
}

/** Starts an inference host reading `stdin` (a pipe of ours, or the previous host's stdout). */
function startHost(scope: WorkScope, step: HostStep, config: object, stdin: 'pipe' | NodeJS.ReadableStream): Host {
  const owned = scope.spawn({
    command: process.execPath,
    args: [...tsNodeArgs(hostEntry(step)), JSON.stringify(config)],
    role: `${step}-host`,
    stdio: [stdin as 'pipe', 'pipe', 'pipe', 'ipc'],
  });
  const stderr = collectText(owned.child.stderr);
  let failure: HostError | undefined;
  let framesDone = 0;
  let onFrames: (frames: number) => void = () => undefined;
  let onSteps: (frame: number, step: number) => void = () => undefined;
  const ready = new Promise<Ready>((resolveReady, reject) => {
    owned.child.on('message', (message: HostMessage) => {
      if (message.type === 'ready') resolveReady(message);
      else if (message.type === 'frame') {
        framesDone = message.done;
        onFrames(message.done);
      } else if (message.type === 'step') onSteps(message.frame, message.step);
      else if (message.type === 'error') failure = message;
    });
    void owned.exited.then(async (exit) => reject(hostFailure(step, failure, await stderr, exit)));
  });
  // Messages can still be on their way when 'exit' fires; 'disconnect' comes after the last one.
  const channelClosed = new Promise<void>((resolveClosed) => (owned.child.connected ? owned.child.once('disconnect', () => resolveClosed()) : resolveClosed()));
  const finished = owned.exited.then(async (exit) => {
    if (exit.code !== 0) throw hostFailure(step, failure, await stderr, exit);
    await channelClosed;
    return framesDone;
  });
  // Awaited later, or never when loading fails first: either way its rejection is accounted for.
  finished.catch(() => undefined);
  ready.catch(() => undefined);
  return { owned, ready, finished, onFrames: (listener) => (onFrames = listener), onSteps: (listener) => (onSteps = listener) };
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

interface Loaded {
  readonly geometry: Geometry;
  readonly radius: number;
  readonly notice: string;
}

/** Per step of the chain: the host's config from the frames it receives, and what its loading tells us. */
interface StepSpec {
  config(work: ProcessWork, geometry: Geometry): UpscaleHostConfig | InterpolateHostConfig;
  loaded(work: ProcessWork, geometry: Geometry, ready: Ready): Loaded;
}

const STEPS: { readonly [S in HostStep]: StepSpec } = {
  upscale: {
    config: ({ plan, options }, geometry): UpscaleHostConfig => ({
      modelPath: plan.model!.path, device: options.device, tileSize: options.tile ?? plan.model!.tile.defaultSize, overlap: plan.model!.tile.overlap,
      scale: plan.model!.scale, width: geometry.width, height: geometry.height, frameCount: plan.media.frameCount, awaitSegment: true,
      threads: threadsPerHost(options),
      ...(options.ensemble ? { ensemble: options.ensemble } : {}),
      ...(plan.model!.steps ? { stepsSpec: plan.model!.steps } : {}),
      ...(options.steps !== undefined ? { steps: options.steps } : {}),
    }),
    loaded: ({ plan, options }, geometry, ready) => {
      const model = plan.model!;
      const factor = ready.scale ?? 1;
      const scale = outputScale(options.scale, factor, model.name);
      const radius = ((ready.frames ?? 1) - 1) / 2;
      if (radius > 0 && plan.interpolation) {
        throw new UserError('a temporal upscale model cannot be combined with interpolation yet', { kind: 'usage', file: model.path, tryMessage: 'run the two in separate passes' });
      }
      return {
        geometry: { ...geometry, width: geometry.width * factor, height: geometry.height * factor, outWidth: geometry.outWidth * scale, outHeight: geometry.outHeight * scale },
        radius,
        notice: `${model.origin === 'file' ? 'model' : model.name} ×${factor}${radius > 0 ? `, ${ready.frames} frames in` : ''}${ready.stepsLabel ? `, ${ready.stepsLabel}` : ''} on ${ready.provider}`,
      };
    },
  },
  interpolate: {
    config: ({ plan, options, scenes }, geometry): InterpolateHostConfig => ({
      modelPath: plan.interpolation!.model.path, device: options.device, width: geometry.width, height: geometry.height,
      inRate: geometry.rate, outRate: plan.interpolation!.outRate, frameCount: plan.media.frameCount,
      sceneThreshold: options.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD, cuts: scenes?.slice(1).map((scene) => scene.start), awaitSegment: true,
      threads: threadsPerHost(options),
    }),
    loaded: ({ plan }, geometry, ready) => {
      const { model, outRate } = plan.interpolation!;
      return {
        geometry: { ...geometry, rate: outRate },
        radius: 0,
        notice: `${model.origin === 'file' ? 'interpolation model' : model.name} to ${outRate.num}/${outRate.den} fps on ${ready.provider}`,
      };
    },
  },
};

/**
 * Starts the hosts of the plan, each reading the previous one's stdout, and waits for each to load:
 * only then are the next host's input size and the segment plan known.
 */
export async function startChain(scope: WorkScope, work: ProcessWork, reportNotices: boolean): Promise<Chain> {
  const { media } = work.plan;
  let geometry: Geometry = { width: media.width, height: media.height, rate: media.frameRate, outWidth: media.width, outHeight: media.height };
  let radius = 0;
  let frameSteps = 1;
  const hosts: Host[] = [];
  const notice = (message: string) => reportNotices && scope.notice(message);
  for (const step of work.plan.steps) {
    const previous = hosts.at(-1);
    const host = startHost(scope, step, STEPS[step].config(work, geometry), previous ? previous.owned.child.stdout! : 'pipe');
    // Our copy of the previous host's read end goes at once, before any frame exists.
    previous?.owned.child.stdout!.destroy();
    hosts.push(host);
    const ready = await host.ready;
    if (ready.fallbackReason) notice(`CUDA is not available, running on the CPU (${ready.fallbackReason})`);
    const loaded = STEPS[step].loaded(work, geometry, ready);
    notice(loaded.notice);
    geometry = loaded.geometry;
    radius = Math.max(radius, loaded.radius);
    // Progress counts the last host's frames: its runs per frame are the steps a user sees.
    frameSteps = ready.steps ?? 1;
  }
  return { hosts, steps: work.plan.steps, geometry, radius, frameSteps };
}

/** Kills a chain that served only to plan (every segment was already there). */
export async function stopChain(chain: Chain): Promise<void> {
  for (const host of chain.hosts) host.owned.kill('SIGKILL');
  await Promise.all(chain.hosts.map((host) => host.owned.exited));
}

/** Output frames of a segment: its source frames, or with interpolation the output slots in its time span. */
export function outputRange(plan: ProbeResult, segment: Segment): { from: number; to: number } {
  if (segment.output) return segment.output;
  if (!plan.interpolation) return { from: segment.start, to: segment.end };
  const inRate = plan.media.frameRate;
  const outRate = plan.interpolation.outRate;
  return { from: outputFrameCount(segment.start, inRate, outRate), to: outputFrameCount(segment.end, inRate, outRate) };
}

/** What each host is to emit for this segment, from what it receives. */
export function segmentMessages(chain: Chain, plan: ProbeResult, segment: Segment): SegmentMessage[] {
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
