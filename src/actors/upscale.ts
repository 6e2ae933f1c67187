import { join, resolve } from 'node:path';
import type { UpscaleResult, UpscaleWork } from '../machines/job.js';
import type { HostMessage, UpscaleHostConfig } from '../hosts/protocol.js';
import { UserError } from '../services/errors.js';
import { containerFor, decodeArgs, encodeArgs } from '../services/ffmpeg/args.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { hostEntry, tsNodeArgs } from '../services/paths.js';
import { collectText, lastLine } from '../services/streams.js';
import type { ExitInfo, OwnedProcess } from '../services/supervisor.js';
import { defineWork, type WorkScope } from './work.js';

type Ready = Extract<HostMessage, { type: 'ready' }>;

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

function hostFailure(message: Extract<HostMessage, { type: 'error' }> | undefined, stderr: string, exit: ExitInfo): UserError {
  if (message) return new UserError(message.message, { kind: message.kind });
  return new UserError(`the upscale host stopped (${describeExit(exit)})`, { kind: 'runtime', tryMessage: lastLine(stderr) || undefined });
}

function startHost(scope: WorkScope, config: UpscaleHostConfig) {
  const host = scope.spawn({
    command: process.execPath,
    args: [...tsNodeArgs(hostEntry('upscale')), JSON.stringify(config)],
    role: 'upscale-host',
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
  });
  const stderr = collectText(host.child.stderr);
  let failure: Extract<HostMessage, { type: 'error' }> | undefined;
  let framesDone = 0;
  const ready = new Promise<Ready>((resolveReady, reject) => {
    host.child.on('message', (message: HostMessage) => {
      if (message.type === 'ready') resolveReady(message);
      else if (message.type === 'frame') {
        framesDone = message.done;
        scope.progress(message.done, config.frameCount);
      } else if (message.type === 'error') failure = message;
    });
    void host.exited.then(async (exit) => reject(hostFailure(failure, await stderr, exit)));
  });
  const finished = host.exited.then(async (exit) => {
    if (exit.code !== 0) throw hostFailure(failure, await stderr, exit);
    return framesDone;
  });
  // Awaited later, or never when loading fails first: either way its rejection is accounted for.
  finished.catch(() => undefined);
  return { host, ready, finished };
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

/**
 * decode ffmpeg → upscale host → encode ffmpeg, joined by pipes handed from one child to the
 * next: frames never enter this process.
 */
export const upscaleWork = defineWork<UpscaleWork, UpscaleResult>('upscale', async (work, scope) => {
  scope.started();
  const { media, model, options } = work;
  const input = resolve(work.input);
  await scope.lease(options.device === 'cpu' ? 'cpu' : 'gpu');
  const { host, ready, finished } = startHost(scope, {
    modelPath: model.path,
    device: options.device,
    tileSize: options.tile ?? model.tile.defaultSize,
    overlap: model.tile.overlap,
    scale: model.scale,
    width: media.width,
    height: media.height,
    frameCount: media.frameCount,
  });
  const loaded = await ready;
  if (loaded.fallbackReason) scope.notice(`CUDA is not available, running on the CPU (${loaded.fallbackReason})`);
  scope.notice(`${model.name === model.path ? 'model' : model.name} ×${loaded.scale} on ${loaded.provider}`);
  const scale = outputScale(options.scale, loaded.scale, model.name);
  scope.progress(0, media.frameCount);

  const video = join(work.jobDir, 'video.mkv');
  const { ffmpeg } = ffmpegBinaries();
  const encode = scope.spawn({
    command: ffmpeg,
    args: encodeArgs(
      {
        container: containerFor(work.output),
        frameWidth: media.width * loaded.scale,
        frameHeight: media.height * loaded.scale,
        outWidth: media.width * scale,
        outHeight: media.height * scale,
        frameRate: media.frameRate,
        crf: options.crf,
      },
      video,
    ),
    role: 'encode',
    stdio: [host.child.stdout!, 'ignore', 'pipe'],
  });
  // Our copy of the read end goes at once, before any frame exists, so only the encoder reads it.
  host.child.stdout!.destroy();
  const decode = scope.spawn({ command: ffmpeg, args: decodeArgs(input), role: 'decode', stdio: ['ignore', host.child.stdin!, 'pipe'] });
  host.child.stdin!.destroy();

  const [frames] = await Promise.all([finished, ffmpegFinished(decode, 'decoding', input), ffmpegFinished(encode, 'encoding', video)]);
  return { video, frames };
});
