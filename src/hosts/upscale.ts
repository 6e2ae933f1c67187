/**
 * Inference host: loads the model once, reads rgb24 frames on stdin, writes upscaled rgb24 frames on
 * stdout, and reports over IPC. It installs no signal handler: `session.run` holds the JS thread, so
 * it is stopped from outside with SIGKILL and the OS reclaims everything, GPU memory included.
 */
import { createUpscaler } from '../services/upscaler.js';
import { finish, frames, report, runHost, write } from './frames.js';
import type { UpscaleHostConfig } from './protocol.js';

runHost(async () => {
  const config = JSON.parse(process.argv[2] ?? '{}') as UpscaleHostConfig;
  const upscaler = await createUpscaler(config);
  await report({ type: 'ready', scale: upscaler.scale, provider: upscaler.provider, fallbackReason: upscaler.fallbackReason });
  let done = 0;
  for await (const frame of frames(process.stdin, config.width * config.height * 3)) {
    await write(process.stdout, await upscaler.upscale(frame, config.width, config.height));
    done += 1;
    void report({ type: 'frame', done });
  }
  await upscaler.release();
  await finish(done);
});
