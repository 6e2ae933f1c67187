import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/domain.js';
import { createUpscaler } from '../../src/hosts/upscaler.js';
import { resumeDir } from '../../src/services/checkpoints.js';
import { resolveModel } from '../../src/services/models.js';
import { invariantViolations, options, runDone, scratchDir, startRun } from '../helpers/app.js';
import { runUpscaleHost } from '../helpers/host.js';
import { decodeFrames, frameMd5s, makeClip, psnr } from '../helpers/media.js';
import { nearestModel, temporalMeanModel } from '../helpers/models.js';
import { toByte, toUnit } from '../../src/hosts/pixel.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const x4v3 = resolveModel(undefined);
const tiny = decodeFrames(makeClip(dir, 'tiny.mp4', { size: '24x16', seconds: 0.25 }));
const [W, H] = [tiny.width, tiny.height];

// ---- An independent reference: each transform written as a map of pixel positions, applied literally.

/** Where pixel (x, y) of a w×h image goes, and the new image's size. */
type Move = (x: number, y: number, w: number, h: number) => [number, number];
interface Turn {
  readonly forward: Move;
  readonly back: Move;
  readonly swaps: boolean;
}
const identity: Move = (x, y) => [x, y];
const rot90: Move = (x, y, _w, h) => [h - 1 - y, x]; // clockwise
const rot180: Move = (x, y, w, h) => [w - 1 - x, h - 1 - y];
const rot270: Move = (x, y, w) => [y, w - 1 - x];
const mirror: Move = (x, y, w) => [w - 1 - x, y];
const flip: Move = (x, y, _w, h) => [x, h - 1 - y];
const transpose: Move = (x, y) => [y, x];
const antiTranspose: Move = (x, y, w, h) => [h - 1 - y, w - 1 - x];
const TURNS: Record<string, Turn> = {
  identity: { forward: identity, back: identity, swaps: false },
  rot90: { forward: rot90, back: rot270, swaps: true },
  rot180: { forward: rot180, back: rot180, swaps: false },
  rot270: { forward: rot270, back: rot90, swaps: true },
  mirror: { forward: mirror, back: mirror, swaps: false },
  flip: { forward: flip, back: flip, swaps: false },
  transpose: { forward: transpose, back: transpose, swaps: true },
  antiTranspose: { forward: antiTranspose, back: antiTranspose, swaps: true },
};

/** Planar float image (3 planes of w×h) moved by `move`. */
function moved(planes: Float32Array, w: number, h: number, move: Move, swaps: boolean): { data: Float32Array; w: number; h: number } {
  const [nw, nh] = swaps ? [h, w] : [w, h];
  const data = new Float32Array(planes.length);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [tx, ty] = move(x, y, w, h);
        data[c * nw * nh + ty * nw + tx] = planes[c * w * h + y * w + x];
      }
    }
  }
  return { data, w: nw, h: nh };
}

function planar(rgb: Uint8Array, w: number, h: number): Float32Array {
  const out = new Float32Array(3 * w * h);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) out[c * w * h + i] = toUnit(rgb[i * 3 + c]);
  return out;
}

/** Flip (or turn), run, turn back, for each transform; average in float64, round once. */
async function reference(session: ort.InferenceSession, rgb: Uint8Array, w: number, h: number, names: readonly string[]): Promise<Uint8Array> {
  const sum = new Float64Array(3 * w * 4 * h * 4);
  for (const name of names) {
    const turn = TURNS[name];
    const input = moved(planar(rgb, w, h), w, h, turn.forward, turn.swaps);
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input.data, [1, 3, input.h, input.w]) });
    const output = result[session.outputNames[0]];
    const [oh, ow] = [output.dims[2], output.dims[3]];
    const back = moved(output.data as Float32Array, ow, oh, turn.back, turn.swaps);
    for (let i = 0; i < sum.length; i++) sum[i] += back.data[i];
  }
  const [ow, oh] = [w * 4, h * 4];
  const out = new Uint8Array(ow * oh * 3);
  for (let i = 0; i < ow * oh; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = toByte(Math.fround(sum[c * ow * oh + i] / names.length));
  }
  return out;
}

const ALL = ['identity', 'rot90', 'rot180', 'rot270', 'mirror', 'flip', 'transpose', 'antiTranspose'];

function turnedRgb(rgb: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [tx, ty] = rot90(x, y, w, h);
    for (let c = 0; c < 3; c++) out[(ty * h + tx) * 3 + c] = rgb[(y * w + x) * 3 + c];
  }
  return out;
}

describe('self-ensemble against an independent reference', () => {
  it('x4v3 ×8 in the real host: ≥ 60 dB from flip–run–flip back–average done here, one step message per transform, in order', async () => {
    const frames = tiny.frames.slice(0, 2);
    const run = await runUpscaleHost({ modelPath: x4v3.path, device: 'cpu', tileSize: 256, overlap: 8, scale: 4, width: W, height: H, frameCount: 2, ensemble: 8 }, frames);
    expect(run.code, run.stderr).toBe(0);
    expect(run.messages[0]).toMatchObject({ type: 'ready', scale: 4, steps: 8, stepsLabel: 'self-ensemble ×8' });
    const progress = run.messages.filter((m) => m.type === 'step' || m.type === 'frame');
    const expected = [0, 1].flatMap((frame) => [...Array.from({ length: 8 }, (_, k) => ({ type: 'step', frame, step: k + 1, steps: 8 })), { type: 'frame', done: frame + 1 }]);
    expect(progress).toEqual(expected);

    const session = await ort.InferenceSession.create(x4v3.path, { executionProviders: ['cpu'] });
    const size = W * 4 * H * 4 * 3;
    expect(run.output.length).toBe(2 * size);
    for (const [n, frame] of frames.entries()) {
      const ours = run.output.subarray(n * size, (n + 1) * size);
      const ensemble = await reference(session, frame, W, H, ALL);
      expect(psnr(ours, ensemble)).toBeGreaterThanOrEqual(60);
      // And it is not a single run: the ensemble moves the picture measurably.
      expect(psnr(ours, await reference(session, frame, W, H, ['identity']))).toBeLessThan(50);
    }
    await session.release();
  });

  it('×2 is rotations by 0° and 180°, ×4 the four rotations (each ≥ 60 dB from its reference)', async () => {
    const session = await ort.InferenceSession.create(x4v3.path, { executionProviders: ['cpu'] });
    const frame = tiny.frames[0];
    for (const [size, names] of [[2, ['identity', 'rot180']], [4, ['identity', 'rot90', 'rot180', 'rot270']]] as const) {
      const upscaler = await createUpscaler({ modelPath: x4v3.path, device: 'cpu', tileSize: 256, overlap: 8, scale: 4, ensemble: size });
      const steps: number[] = [];
      const ours = await upscaler.upscale(frame, W, H, (step) => void steps.push(step));
      expect(steps).toEqual(Array.from({ length: size }, (_, k) => k + 1));
      expect(psnr(ours, await reference(session, frame, W, H, names))).toBeGreaterThanOrEqual(60);
      await upscaler.release();
    }
    await session.release();
  });

  it('an ensemble over the rotations turns with its input: ×4 of the frame turned 90° is ×4 of the frame, turned', async () => {
    const upscaler = await createUpscaler({ modelPath: x4v3.path, device: 'cpu', tileSize: 256, overlap: 8, scale: 4, ensemble: 4 });
    const frame = tiny.frames[0];
    const direct = await upscaler.upscale(frame, W, H);
    const ofTurned = await upscaler.upscale(turnedRgb(frame, W, H), H, W);
    expect(psnr(ofTurned, turnedRgb(direct, W * 4, H * 4))).toBeGreaterThanOrEqual(60);
    await upscaler.release();
  });

  it('tiles that are not square, turned and transposed, land where they belong (an exactly symmetric model gives its plain result)', async () => {
    const model = nearestModel(dir, 2);
    const [w, h] = [13, 7];
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 53 + 7) % 256);
    const plain = await createUpscaler({ modelPath: model, device: 'cpu', tileSize: 5, overlap: 2 });
    const expected = await plain.upscale(rgb, w, h);
    for (const size of [2, 4, 8]) {
      const ensemble = await createUpscaler({ modelPath: model, device: 'cpu', tileSize: 5, overlap: 2, ensemble: size });
      // Twice: the buffers kept between frames are reset.
      expect(Buffer.from(await ensemble.upscale(rgb, w, h)).equals(Buffer.from(expected))).toBe(true);
      expect(Buffer.from(await ensemble.upscale(rgb, w, h)).equals(Buffer.from(expected))).toBe(true);
    }
  });
});

describe('self-ensemble of a temporal model', () => {
  it('turns every frame of the neighbourhood alike (an exactly symmetric model gives its plain result)', async () => {
    const model = temporalMeanModel(dir);
    const [w, h] = [11, 6];
    const frames = [1, 2, 3].map((seed) => Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 31 + seed * 97) % 256));
    const plain = await createUpscaler({ modelPath: model, device: 'cpu', tileSize: 4, overlap: 1 });
    const ensemble = await createUpscaler({ modelPath: model, device: 'cpu', tileSize: 4, overlap: 1, ensemble: 8 });
    expect(ensemble.frames).toBe(3);
    expect(Buffer.from(await ensemble.upscale(frames, w, h)).equals(Buffer.from(await plain.upscale(frames, w, h)))).toBe(true);
  });
});

describe('--tta through the pipeline: modes and resume as with one run a frame', () => {
  const clip = makeClip(dir, 'clip.mp4', { size: '24x16', seconds: 0.5, rate: '24' });
  let n = 0;
  async function runToEnd(extra: Partial<JobOptions>, output = join(dir, `out-${++n}.mkv`)) {
    const notices = await runDone(clip, output, tempRoot, options(tempRoot, { ensemble: 8, overwrite: true, lossless: true, ...extra }));
    return { output, notices };
  }

  it('whole, chunked, in context windows and resumed after a cancel: the same frames', { timeout: 180_000 }, async () => {
    const whole = frameMd5s((await runToEnd({})).output);
    expect(whole).toHaveLength(12);
    expect(frameMd5s((await runToEnd({ ensemble: undefined })).output)).not.toEqual(whole);
    expect(frameMd5s((await runToEnd({ chunk: 5 })).output)).toEqual(whole);
    expect(frameMd5s((await runToEnd({ mode: 'context', window: 6, overlap: 1 })).output)).toEqual(whole);

    const output = join(dir, 'resumed.mkv');
    const store = resumeDir(tempRoot, clip, output);
    const resumable = { chunk: 4, resume: true };
    const first = startRun([{ input: clip, output }], options(tempRoot, { ensemble: 8, lossless: true, ...resumable }));
    await first.when((item) => (item.progress?.segment ?? 0) >= 1 && (item.progress?.step ?? 0) >= 3);
    first.cancel();
    expect((await first.ended).items[0].status).toBe('cancelled');
    first.actor.stop();
    const kept = readdirSync(store).filter((name) => name.endsWith('.nut'));
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(3);
    const { notices } = await runToEnd(resumable, output);
    expect(notices).toContain(`resuming: ${kept.length} of 3 segments reused`);
    expect(frameMd5s(output)).toEqual(whole);
    expect(existsSync(store)).toBe(false);
  });

  it('another ensemble size starts a resumed run over, saying why', { timeout: 120_000 }, async () => {
    const output = join(dir, 'changed.mkv');
    const first = startRun([{ input: clip, output }], options(tempRoot, { ensemble: 8, chunk: 4, resume: true, lossless: true }));
    await first.when((item) => (item.progress?.segment ?? 0) >= 1);
    first.cancel();
    await first.ended;
    first.actor.stop();
    const { notices } = await runToEnd({ ensemble: 4, chunk: 4, resume: true }, output);
    expect(notices).toContain(`checkpoints in ${resumeDir(tempRoot, clip, output)} were made for other options or models: starting over`);
  });
});
