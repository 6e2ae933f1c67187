/**
 * Inference host: loads the model once, then for each segment of the job reads rgb24 frames from its
 * input FIFO and writes upscaled rgb24 frames to its output FIFO (frames.ts, serveSegments), and
 * reports over IPC. A temporal model (T frames in) gets each frame's neighbourhood, the
 * edge frames of what it receives replicated. It installs no signal handler: `session.run` holds the
 * JS thread, so it is stopped from outside with SIGKILL and the OS reclaims everything, GPU memory
 * included.
 */
import { createUpscaler } from './upscaler.js';
import { report, runHost, serveSegments } from './frames.js';
import type { UpscaleHostConfig } from './protocol.js';

runHost(async () => {
  const config = JSON.parse(process.argv[2] ?? '{}') as UpscaleHostConfig;
  const upscaler = await createUpscaler(config);
  await report({
    type: 'ready', scale: upscaler.scale, frames: upscaler.frames, provider: upscaler.provider, fallbackReason: upscaler.fallbackReason,
    ...(upscaler.steps > 1 ? { steps: upscaler.steps, stepsLabel: upscaler.stepsLabel } : {}),
  });
  const radius = (upscaler.frames - 1) / 2;
  const steps = upscaler.steps;
  await serveSegments(config, config.width * config.height * 3, async (segment, io) => {
    const emitStart = segment.emitStart ?? 0;
    const emitEnd = emitStart + (segment.emitCount ?? Number.POSITIVE_INFINITY);
    // The last 2·radius + 1 frames received, `base` being the index of window[0].
    const window: Buffer[] = [];
    let base = 0;
    let next = 0;
    const neighbourhood = (j: number, last: number): Buffer[] => {
      const pick = (i: number) => window[Math.min(last, Math.max(0, i)) - base] ?? window[0];
      return Array.from({ length: upscaler.frames }, (_, n) => pick(j - radius + n));
    };
    // Between a frame's model runs (never during one: session.run holds this thread), say where we are,
    // and let the event loop hand the message to the OS before the next run.
    const onStep = steps > 1 ? (step: number) => (void report({ type: 'step', frame: io.written, step, steps }), new Promise<void>((resolve) => setImmediate(resolve))) : undefined;
    const emit = async (j: number, last: number): Promise<void> => {
      const input = upscaler.frames === 1 ? window[j - base] : neighbourhood(j, last);
      await io.emit(await upscaler.upscale(input, config.width, config.height, onStep));
    };
    let received = 0;
    for await (const frame of io.frames) {
      window.push(frame);
      received += 1;
      for (; next + radius <= received - 1 && next < emitEnd; next++) if (next >= emitStart) await emit(next, received - 1);
      while (window.length > 2 * radius + 1) {
        window.shift();
        base += 1;
      }
    }
    for (; next < Math.min(emitEnd, received); next++) if (next >= emitStart) await emit(next, received - 1);
  }, () => upscaler.release());
});
