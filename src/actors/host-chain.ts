import { availableParallelism } from 'node:os';
import { DEFAULT_SCENE_THRESHOLD, type HostStep, type JobOptions, type ProbeResult, type ProcessWork, type Rate } from '../domain.js';
import type { FaceHostConfig, HostMessage, InterpolateHostConfig, SegmentMessage, UpscaleHostConfig } from '../hosts/protocol.js';
import { UserError } from '../services/errors.js';
import { hostDevice, modelFileFor, tileFor } from '../services/gpu.js';
import { hostArgs } from '../services/paths.js';
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
  /**
   * Hands the host a segment (its FIFOs in the message); resolves with the frames it wrote once it
   * closed its output and said `done`, rejects when it dies first (or died before).
   */
  segment(message: SegmentMessage): Promise<number>;
  /** Called with the host's running count of frames written in the current segment. */
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
  readonly sampleAspect?: Rate;
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

/**
 * Starts an inference host for the whole job: frames come and go over per-segment FIFOs named in
 * each segment message, never over its stdio.
 */
function startHost(scope: WorkScope, step: HostStep, config: object): Host {
  const owned = scope.spawn({
    command: process.execPath,
    args: [...hostArgs(step), JSON.stringify(config)],
    role: `${step}-host`,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const stderr = collectText(owned.child.stderr);
  let failure: HostError | undefined;
  let onFrames: (frames: number) => void = () => undefined;
  let onSteps: (frame: number, step: number) => void = () => undefined;
  let onDone: ((frames: number) => void) | undefined;
  owned.child.on('message', (message: HostMessage) => {
    if (message.type === 'frame') onFrames(message.done);
    else if (message.type === 'step') onSteps(message.frame, message.step);
    else if (message.type === 'notice') scope.notice(message.message);
    else if (message.type === 'done') onDone?.(message.frames);
    else if (message.type === 'error') failure = message;
  });
  // Messages can still be on their way when 'exit' fires; 'disconnect' comes after the last one.
  const channelClosed = new Promise<void>((resolveClosed) => (owned.child.connected ? owned.child.once('disconnect', () => resolveClosed()) : resolveClosed()));
  const died = owned.exited.then(async (exit) => {
    await channelClosed;
    return hostFailure(step, failure, await stderr, exit);
  });
  const ready = new Promise<Ready>((resolveReady, reject) => {
    owned.child.on('message', (message: HostMessage) => message.type === 'ready' && resolveReady(message));
    void died.then(reject);
  });
  // Awaited later, or never when loading fails first: either way its rejection is accounted for.
  ready.catch(() => undefined);
  const segment = (message: SegmentMessage): Promise<number> =>
    new Promise<number>((resolveSegment, reject) => {
      onDone = (frames) => {
        onDone = undefined;
        resolveSegment(frames);
      };
      void died.then(reject);
      // A host that died since is answered by `died`: a failed send must not become an 'error' event.
      if (owned.child.connected) owned.child.send(message, (error: Error | null) => void error);
    });
  return { owned, ready, segment, onFrames: (listener) => (onFrames = listener), onSteps: (listener) => (onSteps = listener) };
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
  if (options.threads !== undefined) return options.threads;
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
  config(work: ProcessWork, geometry: Geometry): UpscaleHostConfig | InterpolateHostConfig | FaceHostConfig;
  loaded(work: ProcessWork, geometry: Geometry, ready: Ready): Loaded;
}

const STEPS: { readonly [S in HostStep]: StepSpec } = {
  upscale: {
    config: ({ plan, options }, geometry): UpscaleHostConfig => ({
      modelPath: modelFileFor(plan.model!.path, options.device, options.precision), device: hostDevice(options.device),
      tileSize: options.tile ?? tileFor(options.device, plan.model!, options.precision), overlap: plan.model!.tile.overlap,
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
      modelPath: modelFileFor(plan.interpolation!.model.path, options.device, options.precision), device: hostDevice(options.device), width: geometry.width, height: geometry.height,
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
  face: {
    config: ({ plan, options }, geometry): FaceHostConfig => ({
      restorerPath: plan.face!.restorer.path, detectorPath: plan.face!.detector.path, device: hostDevice(options.device),
      width: geometry.width, height: geometry.height, frameCount: plan.media.frameCount, awaitSegment: true, threads: threadsPerHost(options),
      ...(options.faceStrength !== undefined ? { strength: options.faceStrength } : {}),
      ...(options.faceMinSize !== undefined ? { minSize: options.faceMinSize } : {}),
      ...(options.faceFidelity !== undefined ? { fidelity: options.faceFidelity } : {}),
    }),
    loaded: ({ plan }, geometry, ready) => {
      const { restorer, detector } = plan.face!;
      return { geometry, radius: 0, notice: `faces: ${restorer.origin === 'file' ? 'restorer' : restorer.name} with ${detector.origin === 'file' ? 'a detector file' : detector.name} at ${geometry.width}×${geometry.height} on ${ready.provider}` };
    },
  },
};

/**
 * Starts the hosts of the plan, which then serve every segment of the job, and waits for each to
 * load: only then are the next host's input size and the segment plan known.
 */
export async function startChain(scope: WorkScope, work: ProcessWork, reportNotices: boolean): Promise<Chain> {
  const { media } = work.plan;
  let geometry: Geometry = { width: media.width, height: media.height, rate: media.frameRate, outWidth: media.width, outHeight: media.height, sampleAspect: media.sampleAspect };
  let radius = 0;
  let frameSteps = 1;
  const hosts: Host[] = [];
  const notice = (message: string) => reportNotices && scope.notice(message);
  for (const step of work.plan.steps) {
    const host = startHost(scope, step, STEPS[step].config(work, geometry));
    hosts.push(host);
    const ready = await host.ready;
    if (ready.fallbackReason) notice(ready.fallbackReason);
    const loaded = STEPS[step].loaded(work, geometry, ready);
    notice(loaded.notice);
    geometry = loaded.geometry;
    radius = Math.max(radius, loaded.radius);
    // Progress counts the last host's frames: its runs per frame are the steps a user sees.
    frameSteps = ready.steps ?? 1;
  }
  return { hosts, steps: work.plan.steps, geometry, radius, frameSteps };
}

/**
 * Ends the chain once the job's segments are done (or were all there already): the hosts are idle
 * between segments, holding nothing but their sessions, which the OS reclaims.
 */
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
    // Face restoration, last after others, writes every frame it gets; alone, it drops the context as upscale does.
    if (step === 'face' && chain.steps[0] !== 'face') return { type: 'segment' };
    // Upscale first (or alone): it drops the context frames, keeping the right frame for interpolation.
    const emitEnd = segment.rightFrame ? segment.end + 1 : segment.end;
    const message: SegmentMessage = { type: 'segment', emitStart: segment.start - receivedFrom, emitCount: emitEnd - segment.start };
    receivedFrom = segment.start;
    return message;
  });
}
