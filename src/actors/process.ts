import { join, resolve } from 'node:path';
import type { ProcessResult, ProcessWork } from '../machines/job.js';
import type { Rate } from '../machines/types.js';
import type { HostMessage, InterpolateHostConfig, UpscaleHostConfig } from '../hosts/protocol.js';
import { UserError } from '../services/errors.js';
import { containerFor, decodeArgs, encodeArgs } from '../services/ffmpeg/args.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { hostEntry, tsNodeArgs } from '../services/paths.js';
import { DEFAULT_SCENE_THRESHOLD } from '../services/scene-cut.js';
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
}

/**
 * Starts an inference host reading `stdin` (a pipe of ours, or the previous host's stdout).
 * Only the last host of the chain reports progress: its frames are the output's.
 */
function startHost(scope: WorkScope, entry: 'upscale' | 'interpolate', config: object, stdin: 'pipe' | NodeJS.ReadableStream, total?: number): Host {
  const owned = scope.spawn({
    command: process.execPath,
    args: [...tsNodeArgs(hostEntry(entry)), JSON.stringify(config)],
    role: `${entry}-host`,
    stdio: [stdin as 'pipe', 'pipe', 'pipe', 'ipc'],
  });
  const stderr = collectText(owned.child.stderr);
  let failure: HostError | undefined;
  let framesDone = 0;
  const ready = new Promise<Ready>((resolveReady, reject) => {
    owned.child.on('message', (message: HostMessage) => {
      if (message.type === 'ready') resolveReady(message);
      else if (message.type === 'frame') {
        framesDone = message.done;
        if (total !== undefined) scope.progress(message.done, total);
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
  return { owned, ready, finished };
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

/** What flows out of the chain so far: frame size, rate and count, and the size the user asked for. */
interface Stream {
  readonly width: number;
  readonly height: number;
  readonly rate: Rate;
  readonly frames: number;
  readonly outWidth: number;
  readonly outHeight: number;
}

/**
 * decode ffmpeg → upscale and/or interpolation hosts → encode ffmpeg, joined by pipes handed from
 * one child to the next: frames never enter this process.
 */
export const processWork = defineWork<ProcessWork, ProcessResult>('process', async (work, scope) => {
  scope.started();
  const { plan, options } = work;
  const { media } = plan;
  const input = resolve(work.input);
  await scope.lease(options.device === 'cpu' ? 'cpu' : 'gpu');

  let stream: Stream = { width: media.width, height: media.height, rate: media.frameRate, frames: media.frameCount, outWidth: media.width, outHeight: media.height };
  const hosts: Host[] = [];
  for (const [n, step] of plan.steps.entries()) {
    const last = n === plan.steps.length - 1;
    const total = last ? (plan.interpolation && step === 'interpolate' ? plan.interpolation.outputFrames : stream.frames) : undefined;
    const stdin = hosts.length === 0 ? 'pipe' : hosts[hosts.length - 1].owned.child.stdout!;
    let host: Host;
    if (step === 'upscale') {
      const model = plan.model!;
      const config: UpscaleHostConfig = {
        modelPath: model.path, device: options.device, tileSize: options.tile ?? model.tile.defaultSize, overlap: model.tile.overlap,
        scale: model.scale, width: stream.width, height: stream.height, frameCount: stream.frames,
      };
      host = startHost(scope, 'upscale', config, stdin, total);
    } else {
      const interpolation = plan.interpolation!;
      const config: InterpolateHostConfig = {
        modelPath: interpolation.model.path, device: options.device, width: stream.width, height: stream.height,
        inRate: stream.rate, outRate: interpolation.outRate, frameCount: stream.frames, sceneThreshold: options.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD,
        cuts: work.scenes?.slice(1).map((scene) => scene.start),
      };
      host = startHost(scope, 'interpolate', config, stdin, total ?? interpolation.outputFrames);
    }
    // Our copy of the previous host's read end goes at once, before any frame exists.
    if (hosts.length > 0) hosts[hosts.length - 1].owned.child.stdout!.destroy();
    hosts.push(host);
    const loaded = await host.ready;
    if (loaded.fallbackReason) scope.notice(`CUDA is not available, running on the CPU (${loaded.fallbackReason})`);
    if (step === 'upscale') {
      const model = plan.model!;
      const factor = loaded.scale ?? 1;
      const scale = outputScale(options.scale, factor, model.name);
      scope.notice(`${model.origin === 'file' ? 'model' : model.name} ×${factor} on ${loaded.provider}`);
      stream = { ...stream, width: stream.width * factor, height: stream.height * factor, outWidth: stream.outWidth * scale, outHeight: stream.outHeight * scale };
    } else {
      const interpolation = plan.interpolation!;
      scope.notice(`${interpolation.model.origin === 'file' ? 'interpolation model' : interpolation.model.name} to ${interpolation.outRate.num}/${interpolation.outRate.den} fps on ${loaded.provider}`);
      stream = { ...stream, rate: interpolation.outRate, frames: interpolation.outputFrames };
    }
  }
  scope.progress(0, stream.frames);

  const video = join(work.jobDir, 'video.mkv');
  const { ffmpeg } = ffmpegBinaries();
  const tail = hosts[hosts.length - 1].owned.child;
  const encode = scope.spawn({
    command: ffmpeg,
    args: encodeArgs(
      {
        container: containerFor(work.output),
        frameWidth: stream.width,
        frameHeight: stream.height,
        outWidth: stream.outWidth,
        outHeight: stream.outHeight,
        frameRate: stream.rate,
        crf: options.crf,
      },
      video,
    ),
    role: 'encode',
    stdio: [tail.stdout!, 'ignore', 'pipe'],
  });
  tail.stdout!.destroy();
  const head = hosts[0].owned.child;
  const decode = scope.spawn({ command: ffmpeg, args: decodeArgs(input), role: 'decode', stdio: ['ignore', head.stdin!, 'pipe'] });
  head.stdin!.destroy();

  const counts = await Promise.all(hosts.map((h) => h.finished));
  await Promise.all([ffmpegFinished(decode, 'decoding', input), ffmpegFinished(encode, 'encoding', video)]);
  return { video, frames: counts[counts.length - 1] };
});
