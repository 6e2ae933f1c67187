import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFaceDetector, type Detection } from '../../src/hosts/face-detect.js';
import { createFaceRestoration } from '../../src/hosts/face-frame.js';
import { createFaceRestorer } from '../../src/hosts/face-restorer.js';
import { PACKAGE_ROOT } from '../../src/services/paths.js';
import { scratchDir } from '../helpers/app.js';
import { halvingRestorer, positionRestorer } from '../helpers/face-models.js';
import { decodeFrames, psnr } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const FIXTURES = join(PACKAGE_ROOT, 'test/fixtures/faces');
const DETECTOR = join(PACKAGE_ROOT, 'models/blazeface-back-256.onnx');
const dir = scratchDir();

function photo(name: string): { rgb: Uint8Array; width: number; height: number } {
  const { frames, width, height } = decodeFrames(join(FIXTURES, name));
  return { rgb: new Uint8Array(frames[0]), width, height };
}

/** Box centre, width and the two eyes, as checked by eye once (drawn over the photos with ffmpeg's drawbox). */
interface Expected {
  readonly cx: number;
  readonly cy: number;
  readonly w: number;
  readonly eyes: readonly [readonly [number, number], readonly [number, number]];
}

const THREE: readonly Expected[] = [
  { cx: 229.9, cy: 162.6, w: 72, eyes: [[210.7, 145.7], [240.7, 146.3]] },
  { cx: 527, cy: 151.2, w: 72.7, eyes: [[518.4, 137.7], [547, 136.9]] },
  { cx: 395.9, cy: 127.5, w: 81.1, eyes: [[373, 107.6], [406.6, 114]] },
];
const FOUR: readonly Expected[] = [
  { cx: 117.4, cy: 215.7, w: 75.4, eyes: [[107.3, 202.3], [139.2, 198.9]] },
  { cx: 530.8, cy: 145, w: 80.2, eyes: [[510.9, 126.3], [542.7, 133]] },
  { cx: 421.4, cy: 155.6, w: 78, eyes: [[408.6, 142.7], [441.3, 143.9]] },
  { cx: 260.4, cy: 167, w: 82.5, eyes: [[236, 154.1], [264.5, 149.7]] },
];

function expectFaces(found: readonly Detection[], expected: readonly Expected[], widthTolerance = 6, eyeTolerance = 4): void {
  expect(found).toHaveLength(expected.length);
  for (const want of expected) {
    const face = found.find((d) => Math.hypot(d.cx - want.cx, d.cy - want.cy) < 6);
    expect(face, `a face near (${want.cx}, ${want.cy})`).toBeDefined();
    expect(Math.abs(face!.w - want.w)).toBeLessThan(widthTolerance);
    const [left, right, nose, mouth] = face!.keypoints;
    for (const [eye, [x, y]] of [[left, want.eyes[0]], [right, want.eyes[1]]] as const) {
      expect(Math.hypot(eye.x - x, eye.y - y)).toBeLessThan(eyeTolerance);
      // Inside the box, in its upper half, the subject's right eye on the image's left.
      expect(Math.abs(eye.x - face!.cx)).toBeLessThan(face!.w / 2);
      expect(eye.y).toBeGreaterThan(face!.cy - face!.h / 2);
      expect(eye.y).toBeLessThan(face!.cy);
    }
    expect(left.x).toBeLessThan(right.x);
    expect(nose.y).toBeGreaterThan(Math.max(left.y, right.y));
    expect(mouth.y).toBeGreaterThan(nose.y);
    expect(face!.score).toBeGreaterThan(0.8);
  }
}

describe('BlazeFace on photographs (test/fixtures/faces)', () => {
  it('finds each face with its eyes, nose and mouth where they are, and none where there is none', async () => {
    const detector = await createFaceDetector(DETECTOR, 'cpu', 1);
    const three = photo('three-faces.jpg');
    expectFaces(await detector.detect(three.rgb, three.width, three.height, 24), THREE);
    const four = photo('four-faces.jpg');
    expectFaces(await detector.detect(four.rgb, four.width, four.height, 24), FOUR);
    const none = photo('no-face.jpg');
    expect(await detector.detect(none.rgb, none.width, none.height, 16)).toEqual([]);
    // --face-min-size leaves smaller faces out.
    expect(await detector.detect(three.rgb, three.width, three.height, 78)).toHaveLength(1);
    await detector.release();
  });

  it('finds faces far smaller than its input allows by looking at tiles (a 1920×1350 frame, faces of ~75 px)', async () => {
    const detector = await createFaceDetector(DETECTOR, 'cpu', 1);
    // The 640×450 photo in the middle of a black frame three times its size: alone, the whole-frame view shrinks each face to ~10 px.
    const three = photo('three-faces.jpg');
    const width = 1920, height = 1350, ox = 640, oy = 450;
    const big = new Uint8Array(width * height * 3);
    for (let y = 0; y < three.height; y++) big.set(three.rgb.subarray(y * three.width * 3, (y + 1) * three.width * 3), ((y + oy) * width + ox) * 3);
    const found = await detector.detect(big, width, height, 32);
    expectFaces(found.map((d) => ({ ...d, cx: d.cx - ox, cy: d.cy - oy, keypoints: d.keypoints.map((p) => ({ x: p.x - ox, y: p.y - oy })) as unknown as Detection['keypoints'] })), THREE, 13, 7);
    await detector.release();
  });
});

/** FaceFusion's ffhq_512 five points, and the mouth's centre BlazeFace gives instead of its corners. */
const TEMPLATE = [[0.37691676, 0.46864664], [0.62285697, 0.46912813], [0.50123859, 0.61331904], [(0.39308822 + 0.61150205) / 2, (0.725411 + 0.72490465) / 2]];

/**
 * The reference: the least-squares similarity solved as a linear system in (a, b, tx, ty) by its
 * normal equations (Gaussian elimination), not as the host does it (centred closed form).
 */
function referenceTransform(points: readonly { x: number; y: number }[], size: number): number[] {
  const rows: number[][] = [];
  const rhs: number[] = [];
  points.forEach((p, i) => {
    rows.push([p.x, -p.y, 1, 0], [p.y, p.x, 0, 1]);
    rhs.push(TEMPLATE[i][0] * size, TEMPLATE[i][1] * size);
  });
  const m = [0, 1, 2, 3].map((r) => [...[0, 1, 2, 3].map((c) => rows.reduce((s, row) => s + row[r] * row[c], 0)), rows.reduce((s, row, k) => s + row[r] * rhs[k], 0)]);
  for (let c = 0; c < 4; c++) {
    const pivot = m.slice(c).reduce((best, row, k) => (Math.abs(row[c]) > Math.abs(m[best][c]) ? k + c : best), c);
    [m[c], m[pivot]] = [m[pivot], m[c]];
    for (let r = 0; r < 4; r++) if (r !== c) m[r] = m[r].map((v, k) => v - (m[r][c] / m[c][c]) * m[c][k]);
  }
  return m.map((row, r) => row[4] / row[r]);
}

/** The paste weight as the README states it: 0 within 2% of the crop's edge, a smoothstep over the next 10%, then 1. */
function weightAt(u: number, v: number, size: number): number {
  if (u < 0 || v < 0 || u > size - 1 || v > size - 1) return 0;
  const t = (Math.min(u, v, size - 1 - u, size - 1 - v) / size - 0.02) / 0.1;
  return t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t);
}

describe('face restoration geometry, with a synthetic restorer of the real layout', () => {
  it('changes only the feathered face regions, as the alignment maps the restorer\'s output (PSNR ≥ 35 dB)', async () => {
    const size = 512;
    const restoration = await createFaceRestoration({ restorerPath: positionRestorer(dir, { size }), detectorPath: DETECTOR, device: 'cpu', threads: 1, minSize: 24 });
    const detector = await createFaceDetector(DETECTOR, 'cpu', 1);
    const { rgb, width, height } = photo('four-faces.jpg');
    const faces = await detector.detect(rgb, width, height, 24);
    const result = await restoration.restoreFrame(rgb, width, height);
    expect(result.faces).toBe(4);
    // The reference frame: each pixel blended towards (255 − R, u, v) by the weight at its crop position.
    const reference = Uint8Array.from(rgb);
    const touched = new Uint8Array(width * height);
    for (const face of faces) {
      const [a, b, tx, ty] = referenceTransform(face.keypoints.slice(0, 4), size);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const u = a * x - b * y + tx, v = b * x + a * y + ty;
          if (u < -2 || v < -2 || u > size + 1 || v > size + 1) continue;
          touched[y * width + x] = 1;
          const w = weightAt(u, v, size);
          const p = (y * width + x) * 3;
          const target = [255 - rgb[p], (u / (size - 1)) * 255, (v / (size - 1)) * 255];
          for (let c = 0; c < 3; c++) reference[p + c] = Math.round(reference[p + c] + (Math.max(0, Math.min(255, target[c])) - reference[p + c]) * w);
        }
      }
    }
    let changedOutside = 0, changedInside = 0;
    const inside: number[] = [];
    for (let i = 0; i < width * height; i++) {
      const same = result.frame[i * 3] === rgb[i * 3] && result.frame[i * 3 + 1] === rgb[i * 3 + 1] && result.frame[i * 3 + 2] === rgb[i * 3 + 2];
      if (!touched[i]) changedOutside += same ? 0 : 1;
      else {
        changedInside += same ? 0 : 1;
        inside.push(i);
      }
    }
    expect(changedOutside).toBe(0);
    // Four faces of ~78 px: most of each crop's square is restored.
    expect(changedInside).toBeGreaterThan(4 * 60 * 60 * 0.5);
    const pick = (frame: Uint8Array) => Uint8Array.from(inside.flatMap((i) => [frame[i * 3], frame[i * 3 + 1], frame[i * 3 + 2]]));
    expect(psnr(pick(result.frame), pick(reference))).toBeGreaterThanOrEqual(35);
    // A misplaced paste is far from the reference: the same check catches a crop mirrored left-right.
    const mirrored = Uint8Array.from(reference);
    for (const i of inside) mirrored[i * 3 + 1] = 255 - mirrored[i * 3 + 1];
    expect(psnr(pick(result.frame), pick(mirrored))).toBeLessThan(20);
    await restoration.release();
    await detector.release();
  });

  it('passes a frame without faces through bit-identical, and blends by --face-strength', async () => {
    const restorer = positionRestorer(dir, { size: 256 });
    const full = await createFaceRestoration({ restorerPath: restorer, detectorPath: DETECTOR, device: 'cpu', threads: 1 });
    const none = photo('no-face.jpg');
    const passed = await full.restoreFrame(none.rgb, none.width, none.height);
    expect(passed.faces).toBe(0);
    expect(Buffer.compare(Buffer.from(passed.frame), Buffer.from(none.rgb))).toBe(0);
    const three = photo('three-faces.jpg');
    const restored = await full.restoreFrame(three.rgb, three.width, three.height);
    const half = await createFaceRestoration({ restorerPath: restorer, detectorPath: DETECTOR, device: 'cpu', threads: 1, strength: 0.5 });
    const halfway = await half.restoreFrame(three.rgb, three.width, three.height);
    expect(restored.faces).toBe(3);
    // Where the full paste moved a pixel by d, half strength moves it by d/2 (±1 for rounding).
    let checked = 0;
    for (let i = 0; i < three.rgb.length; i++) {
      const d = restored.frame[i] - three.rgb[i];
      if (Math.abs(d) < 40) continue;
      checked += 1;
      expect(Math.abs(halfway.frame[i] - three.rgb[i] - d / 2)).toBeLessThanOrEqual(1.5);
    }
    expect(checked).toBeGreaterThan(1000);
    await full.release();
    await half.release();
  });

  it('reads a CodeFormer-like fidelity input, and refuses a model of another shape with one line', async () => {
    const codeformer = await createFaceRestorer({ modelPath: positionRestorer(dir, { fidelity: true }), device: 'cpu', threads: 1, fidelity: 0.7 });
    expect(codeformer.layout).toMatchObject({ size: 512, fidelity: { name: 'weight', type: 'float64' } });
    expect((await codeformer.restore(new Float32Array(3 * 512 * 512))).length).toBe(3 * 512 * 512);
    await codeformer.release();
    await expect(createFaceRestorer({ modelPath: halvingRestorer(dir), device: 'cpu' })).rejects.toThrow(/not a face restorer \(a 512×512 crop came back as float32 \[1,3,256,256\]\)/);
    await expect(createFaceRestorer({ modelPath: nearestModel(dir, 2), device: 'cpu' })).rejects.toThrow(/not a face restorer/);
    await expect(createFaceDetector(nearestModel(dir, 2), 'cpu')).rejects.toThrow(/not a face detector of BlazeFace's layout/);
  });
});
