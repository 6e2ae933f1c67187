import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { ScenesResult, ScenesWork } from '../machines/job.js';
import { UserError } from '../services/errors.js';
import { onProgressFrames } from '../services/ffmpeg/progress.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { DEFAULT_SCENE_THRESHOLD } from '../services/scene-cut.js';
import { DEFAULT_MIN_SCENE, parseCuts, sceneDetectArgs, scenesFrom } from '../services/scenes.js';
import { collectText, lastLine } from '../services/streams.js';
import { defineWork } from './work.js';

/** Scene detection: one ffmpeg pass with its scene score over every frame. */
export const scenesWork = defineWork<ScenesWork, ScenesResult>('scenes', async (work, scope) => {
  scope.started();
  const input = resolve(work.input);
  const total = work.media.frameCount;
  const ffmpeg = scope.spawn({
    command: ffmpegBinaries().ffmpeg,
    args: sceneDetectArgs(input, work.options.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD),
    role: 'scenes',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  onProgressFrames(ffmpeg.child.stdio[3] as Readable, (frame) => scope.progress(Math.min(frame, total), total));
  const [printout, stderr, exit] = await Promise.all([collectText(ffmpeg.child.stdout), collectText(ffmpeg.child.stderr), ffmpeg.exited]);
  if (exit.code !== 0) {
    throw new UserError('scene detection failed for', { kind: 'input', file: input, tryMessage: `ffmpeg says: ${lastLine(stderr) || `exit ${exit.code ?? exit.signal}`}` });
  }
  scope.progress(total, total);
  return { scenes: scenesFrom(parseCuts(printout), total, work.options.minScene ?? DEFAULT_MIN_SCENE) };
});
