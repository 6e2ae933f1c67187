import { describe, expect, it } from 'vitest';
import { alignFace, apply, fitSimilarity, FFHQ_TEMPLATE, invert, maskAt } from '../../src/hosts/face-align.js';
import { decodeBlazeFace, weightedNms, type Detection, type Keypoints } from '../../src/hosts/face-detect-blazeface.js';
import { planViews } from '../../src/hosts/face-detect.js';

const near = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) < eps;

describe('similarity fit', () => {
  it('recovers a rotation, scale and shift exactly, and its inverse undoes it', () => {
    const truth = { a: 1.7 * Math.cos(0.3), b: 1.7 * Math.sin(0.3), tx: 12, ty: -40 };
    const from = [{ x: 10, y: 20 }, { x: 50, y: 22 }, { x: 31, y: 45 }, { x: 30, y: 60 }];
    const fit = fitSimilarity(from, from.map((p) => apply(truth, p)));
    for (const key of ['a', 'b', 'tx', 'ty'] as const) expect(near(fit[key], truth[key])).toBe(true);
    const back = apply(invert(fit), apply(fit, { x: 7, y: -3 }));
    expect(near(back.x, 7) && near(back.y, -3)).toBe(true);
  });

  it('puts a face whose points are the template\'s on the template, at any crop size', () => {
    for (const size of [256, 512]) {
      const mouth = { x: (FFHQ_TEMPLATE[3].x + FFHQ_TEMPLATE[4].x) / 2, y: (FFHQ_TEMPLATE[3].y + FFHQ_TEMPLATE[4].y) / 2 };
      // The same face at 100 px in a frame, shifted: the fit maps it onto the crop's template points.
      const points = [FFHQ_TEMPLATE[0], FFHQ_TEMPLATE[1], FFHQ_TEMPLATE[2], mouth].map((p) => ({ x: p.x * 100 + 300, y: p.y * 100 + 80 }));
      const m = alignFace(points, size);
      const eye = apply(m, points[0]);
      expect(near(eye.x, FFHQ_TEMPLATE[0].x * size, 1e-6) && near(eye.y, FFHQ_TEMPLATE[0].y * size, 1e-6)).toBe(true);
      expect(near(m.a, size / 100) && near(m.b, 0)).toBe(true);
    }
  });

  it('feathers from 0 at the crop\'s edge to 1 inside, smoothly and symmetrically', () => {
    expect(maskAt(0, 256, 512)).toBe(0);
    expect(maskAt(256, 256, 512)).toBe(1);
    const ramp = [12, 20, 30, 40, 50, 60].map((u) => maskAt(u, 256, 512));
    for (let i = 1; i < ramp.length; i++) expect(ramp[i]).toBeGreaterThanOrEqual(ramp[i - 1]);
    expect(maskAt(40, 256, 512)).toBeCloseTo(maskAt(511 - 40, 256, 512), 10);
  });
});

describe('BlazeFace decoding and weighted NMS', () => {
  const face = (cx: number, cy: number, w: number, score: number): Detection => ({
    cx, cy, w, h: w, score, keypoints: Array.from({ length: 6 }, () => ({ x: cx, y: cy })) as unknown as Keypoints,
  });

  it('merges overlapping detections into their score-weighted mean and keeps apart ones', () => {
    const merged = weightedNms([face(100, 100, 50, 0.9), face(104, 100, 50, 0.6), face(300, 100, 50, 0.8)]);
    expect(merged).toHaveLength(2);
    expect(merged[0].score).toBe(0.9);
    expect(merged[0].cx).toBeCloseTo((100 * 0.9 + 104 * 0.6) / 1.5, 10);
    expect(merged[1].cx).toBe(300);
  });

  it('decodes an anchor\'s offsets from its cell centre in input pixels, and drops low scores', () => {
    const scores = [new Float32Array(512).fill(-10), new Float32Array(384).fill(-10)];
    const boxes = [new Float32Array(512 * 16), new Float32Array(384 * 16)];
    // Grid 0 (16×16, 2 anchors a cell): cell (x 3, y 5), anchor 1.
    const i = (5 * 16 + 3) * 2 + 1;
    scores[0][i] = 4;
    boxes[0].set([8, -16, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], i * 16);
    const [d, ...rest] = decodeBlazeFace(scores, boxes, 256, 0.65);
    expect(rest).toEqual([]);
    expect(d.cx).toBeCloseTo(3.5 / 16 + 8 / 256, 10);
    expect(d.cy).toBeCloseTo(5.5 / 16 - 16 / 256, 10);
    expect(d.w).toBeCloseTo(0.25, 10);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-4)), 10);
  });
});

describe('detector views', () => {
  it('a small frame is one view; a big one adds levels down to the size that shows the smallest face big enough', () => {
    expect(planViews(640, 360, 256, 80)).toEqual([{ x: 0, y: 0, side: 640 }]);
    // 48 px faces are 19 px of the input in the whole frame: two 384 px views (faces of 32 px there) add to it.
    expect(planViews(640, 360, 256, 48)).toEqual([{ x: 0, y: 0, side: 640 }, { x: 0, y: 0, side: 384 }, { x: 256, y: 0, side: 384 }]);
    const views = planViews(1920, 1080, 256, 48);
    const sides = [...new Set(views.map((v) => v.side))];
    expect(sides[0]).toBe(1920);
    expect(Math.min(...sides)).toBe(Math.floor((48 * 256) / 32));
    // Every view stays inside the frame (but the whole-frame one, which is square).
    for (const v of views.slice(1)) expect(v.x >= 0 && v.y >= 0 && v.x + v.side <= 1920 && v.y + v.side <= 1080).toBe(true);
  });
});
