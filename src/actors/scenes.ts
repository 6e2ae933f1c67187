import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { DEFAULT_SCENE_THRESHOLD, type ScenesResult, type ScenesWork } from '../domain.js';
import { gridOf } from '../services/ffmpeg/constant-rate.js';
import { onProgressFrames } from '../services/ffmpeg/progress.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { DEFAULT_MIN_SCENE, parseCuts, sceneDetectArgs, scenesFrom } from '../services/scenes.js';
import { collectText } from '../services/streams.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import { defineWork } from './work.js';

/** Scene detection: one ffmpeg pass with its scene score over every frame. */
export const scenesWork = defineWork<ScenesWork, ScenesResult>('scenes', async (work, scope) => {
  scope.started();
  const input = resolve(work.input);
  const total = work.media.frameCount;
  const ffmpeg = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: sceneDetectArgs(input, work.options.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD, gridOf(work.media), work.media.videoStream),
    role: 'scenes',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  onProgressFrames(ffmpeg.child.stdio[3] as Readable, (frame) => scope.progress(Math.min(frame, total), total));
  const [printout, ending] = await Promise.all([collectText(ffmpeg.child.stdout), endingOf(ffmpeg)]);
  if (ending.exit.code !== 0) throw toolFailure('scene detection failed for', 'ffmpeg', ending, { kind: 'input', file: input });
  scope.progress(total, total);
  return { scenes: scenesFrom(parseCuts(printout), total, work.options.minScene ?? DEFAULT_MIN_SCENE) };
});
