/**
 * Face restoration host: loads the detector and the restorer once, then for each segment of the job
 * (frames.ts, serveSegments) reads rgb24 frames and writes them, same size, with their faces restored
 * (face-frame.ts). It reports frames as every host does, and the faces it found as a `notice` at the
 * first face and at the end of each segment. Like the other hosts it installs no signal handler and is
 * stopped with SIGKILL, inside a model run or not.
 */
import { createFaceRestoration } from './face-frame.js';
import { report, runHost, serveSegments } from './frames.js';
import type { FaceHostConfig } from './protocol.js';

runHost(async () => {
  const config = JSON.parse(process.argv[2] ?? '{}') as FaceHostConfig;
  const restoration = await createFaceRestoration(config);
  await report({ type: 'ready', scale: 1, frames: 1, provider: restoration.provider, fallbackReason: restoration.fallbackReason });
  let firstSeen = false;
  await serveSegments(config, config.width * config.height * 3, async (segment, io) => {
    const emitStart = segment.emitStart ?? 0;
    const emitEnd = emitStart + (segment.emitCount ?? Number.POSITIVE_INFINITY);
    let received = 0;
    let faces = 0;
    let withFaces = 0;
    for await (const frame of io.frames) {
      const index = received++;
      if (index < emitStart || index >= emitEnd) continue;
      const result = await restoration.restoreFrame(frame, config.width, config.height);
      if (result.faces > 0 && !firstSeen) {
        firstSeen = true;
        void report({ type: 'notice', message: `faces: ${result.faces} found in frame ${io.written + 1} of the segment` });
      }
      faces += result.faces;
      if (result.faces > 0) withFaces += 1;
      await io.emit(result.frame);
    }
    await report({ type: 'notice', message: `faces: ${faces} restored in ${withFaces} of ${io.written} frames` });
  }, () => restoration.release());
});
