/**
 * Interpolation host: for each segment of the job (frames.ts, serveSegments) reads source frames and
 * writes the output frame sequence at the target rate: output k shows source time k · inRate / outRate, a copy at t = 0, a model run in
 * between, and a repeat of the earlier frame across a scene cut. Like the upscale host it installs no
 * signal handler and is stopped with SIGKILL.
 */
import { createInterpolator } from './interpolator.js';
import { meanLumaDifference, sceneScore } from './scene-cut.js';
import { sourcePosition } from '../services/timing.js';
import { report, runHost, serveSegments } from './frames.js';
import type { InterpolateHostConfig } from './protocol.js';

runHost(async () => {
  const config = JSON.parse(process.argv[2] ?? '{}') as InterpolateHostConfig;
  const { width, height, inRate, outRate } = config;
  const interpolator = await createInterpolator(config);
  await report({ type: 'ready', provider: interpolator.provider, fallbackReason: interpolator.fallbackReason });
  // Scene detection's cuts when it ran (first frames of scenes), else the per-pair score.
  const knownCuts = config.cuts ? new Set(config.cuts) : undefined;
  await serveSegments(config, width * height * 3, async (segment, io) => {
    // Everything below starts afresh each segment, as it did when each segment had its own host.
    const outputTo = segment.outputTo ?? Number.POSITIVE_INFINITY;
    let k = segment.outputFrom ?? 0;
    let index = (segment.firstSource ?? 0) - 1;
    let previous: Buffer | undefined;
    let previousMafd = 0;
    const isCut = (a: Uint8Array, b: Uint8Array, at: number): boolean => {
      if (knownCuts) return knownCuts.has(at);
      const mafd = meanLumaDifference(a, b, width, height);
      const cut = sceneScore(mafd, previousMafd) > config.sceneThreshold;
      previousMafd = mafd;
      return cut;
    };
    const emit = async (frame: Uint8Array): Promise<void> => {
      await io.emit(frame);
      k += 1;
    };
    for await (const frame of io.frames) {
      index += 1;
      if (previous) {
        const cut = isCut(previous, frame, index);
        for (let at = sourcePosition(k, inRate, outRate); at.index === index - 1 && k < outputTo; at = sourcePosition(k, inRate, outRate)) {
          await emit(at.t === 0 || cut ? previous : await interpolator.interpolate(previous, frame, at.t, width, height));
        }
      }
      previous = frame;
    }
    // After the last source frame there is no next one: its remaining output slots repeat it.
    if (previous) while (sourcePosition(k, inRate, outRate).index === index && k < outputTo) await emit(previous);
  }, () => interpolator.release());
});
