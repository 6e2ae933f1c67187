/**
 * Face stage timings on this machine: detection per frame (at --face-min-size 32, 48, 96) at 640×360 and
 * 1920×1080, and per face the warp, the restorer run (synthetic 512 layout: elementwise, and a slow one)
 * and the paste.  node --import tsx scripts/bench-face.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFaceDetector } from '../src/hosts/face-detect.js';
import { createFaceRestoration } from '../src/hosts/face-frame.js';
import { alignFace, pasteCrop, warpCrop } from '../src/hosts/face-align.js';
import { createFaceRestorer } from '../src/hosts/face-restorer.js';
import { positionRestorer } from '../test/helpers/face-models.js';
const FF = 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg';
const frame = (w: number, h: number) => new Uint8Array(execFileSync(FF, ['-v', 'error', '-i', 'test/fixtures/faces/three-faces.jpg', '-vf', `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 28 }));
const det = await createFaceDetector('models/blazeface-back-256.onnx', 'cpu');
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [w, h] of [[640, 360], [1920, 1080]]) {
  const rgb = frame(w, h);
  for (const min of [32, 48, 96]) {
    const times: number[] = [];
    let n = 0;
    for (let i = 0; i < 5; i++) { const t = performance.now(); n = (await det.detect(rgb, w, h, min)).length; times.push(performance.now() - t); }
    console.log(`detect ${w}x${h} min ${min}: ${median(times).toFixed(0)} ms/frame (median of 5), ${n} faces`);
  }
}
const dir = mkdtempSync(join(tmpdir(), 'bench-face-'));
for (const [label, path] of [['synthetic 512 (elementwise)', positionRestorer(dir)], ['synthetic 512, slow (600 matmuls)', positionRestorer(dir, { slow: 600 })]] as const) {
  const restorer = await createFaceRestorer({ modelPath: path, device: 'cpu' });
  const rgb = frame(1920, 1080);
  const [face] = await det.detect(rgb, 1920, 1080, 48);
  const crop = new Float32Array(3 * 512 * 512);
  const m = alignFace(face.keypoints, 512);
  const t: Record<string, number[]> = { warp: [], run: [], paste: [] };
  for (let i = 0; i < (label.includes('slow') ? 2 : 5); i++) {
    let s = performance.now(); warpCrop(rgb, 1920, 1080, m, 512, crop); t.warp.push(performance.now() - s);
    s = performance.now(); const out = await restorer.restore(crop); t.run.push(performance.now() - s);
    s = performance.now(); pasteCrop(rgb, 1920, 1080, m, out, 512, 1); t.paste.push(performance.now() - s);
  }
  console.log(`restore per face, ${label}: warp ${median(t.warp).toFixed(0)} ms, model run ${median(t.run).toFixed(0)} ms, paste ${median(t.paste).toFixed(0)} ms`);
}
const whole = await createFaceRestoration({ restorerPath: positionRestorer(dir), detectorPath: 'models/blazeface-back-256.onnx', device: 'cpu' });
for (const [w, h] of [[640, 360], [1920, 1080]]) {
  const rgb = frame(w, h);
  const s = performance.now(); const r = await whole.restoreFrame(rgb, w, h); console.log(`restoreFrame ${w}x${h}: ${(performance.now() - s).toFixed(0)} ms, ${r.faces} faces`);
}
