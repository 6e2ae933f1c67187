/**
 * The geometry of face restoration: the similarity transform that puts a detected face on the
 * restorer's template, the crop warped through it, and the restored crop pasted back through its
 * inverse under a feathered mask. All in the host, on rgb24 frames and float crops.
 */
import type { Point } from './face-detect-blazeface.js';

/**
 * FFHQ's five-point template at 512×512 as FaceFusion's face enhancer uses it (`ffhq_512`, in units of
 * the crop's side): the eyes (image left, image right), the nose tip, the mouth corners (image left,
 * image right). GFPGAN, CodeFormer, GPEN and RestoreFormer exports are all trained on crops aligned so.
 */
export const FFHQ_TEMPLATE: readonly Point[] = [
  { x: 0.37691676, y: 0.46864664 },
  { x: 0.62285697, y: 0.46912813 },
  { x: 0.50123859, y: 0.61331904 },
  { x: 0.39308822, y: 0.725411 },
  { x: 0.61150205, y: 0.72490465 },
];

/**
 * x' = a·x − b·y + tx, y' = b·x + a·y + ty: a rotation, a uniform scale and a shift (no shear, so a
 * face keeps its proportions).
 */
export interface Similarity {
  readonly a: number;
  readonly b: number;
  readonly tx: number;
  readonly ty: number;
}

export function apply(m: Similarity, p: Point): Point {
  return { x: m.a * p.x - m.b * p.y + m.tx, y: m.b * p.x + m.a * p.y + m.ty };
}

export function invert(m: Similarity): Similarity {
  const d = m.a * m.a + m.b * m.b;
  const a = m.a / d, b = -m.b / d;
  return { a, b, tx: -(a * m.tx - b * m.ty), ty: -(b * m.tx + a * m.ty) };
}

/**
 * The least-squares similarity taking `from` onto `to` (Umeyama 1991, in 2-D where it has a closed
 * form): centre both sets, then a = Σ(x·x' + y·y') / Σ|p|², b = Σ(x·y' − y·x') / Σ|p|².
 */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  const n = from.length;
  const mean = (ps: readonly Point[]) => ({ x: ps.reduce((s, p) => s + p.x, 0) / n, y: ps.reduce((s, p) => s + p.y, 0) / n });
  const mf = mean(from), mt = mean(to);
  let sxx = 0, sxy = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const fx = from[i].x - mf.x, fy = from[i].y - mf.y, tx = to[i].x - mt.x, ty = to[i].y - mt.y;
    sxx += fx * tx + fy * ty;
    sxy += fx * ty - fy * tx;
    norm += fx * fx + fy * fy;
  }
  const a = sxx / norm, b = sxy / norm;
  return { a, b, tx: mt.x - (a * mf.x - b * mf.y), ty: mt.y - (b * mf.x + a * mf.y) };
}

/**
 * The frame → crop transform of a face from BlazeFace's keypoints. BlazeFace gives the eyes, the nose
 * tip and the mouth's centre, not its corners: we fit the template's eyes, nose and the midpoint of
 * its mouth corners to those four points (the ears are left out: in a turned head one is hidden and
 * its point a guess). Four points fix a similarity with room to spare, and the mouth centre carries
 * what the corners would about the face's height and tilt; the corners' spread (the mouth's width)
 * only matters to a shear, which a similarity has not.
 */
export function alignFace(keypoints: readonly Point[], cropSize: number): Similarity {
  const t = FFHQ_TEMPLATE.map((p) => ({ x: p.x * cropSize, y: p.y * cropSize }));
  const mouth = { x: (t[3].x + t[4].x) / 2, y: (t[3].y + t[4].y) / 2 };
  return fitSimilarity([keypoints[0], keypoints[1], keypoints[2], keypoints[3]], [t[0], t[1], t[2], mouth]);
}

/**
 * The crop: for each crop pixel, the frame sampled bilinearly at the inverse transform, the edge
 * pixels repeated outside the frame (as cv2.warpAffine's BORDER_REPLICATE in FaceFusion), as planar
 * RGB in [-1,1] (NCHW without N).
 */
export function warpCrop(rgb: Uint8Array, width: number, height: number, toCrop: Similarity, size: number, out: Float32Array): void {
  const back = invert(toCrop);
  const plane = size * size;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const x = back.a * u - back.b * v + back.tx;
      const y = back.b * u + back.a * v + back.ty;
      const cx = Math.max(0, Math.min(width - 1, x));
      const cy = Math.max(0, Math.min(height - 1, y));
      const x0 = Math.min(width - 2, Math.floor(cx)), y0 = Math.min(height - 2, Math.floor(cy));
      const fx = cx - x0, fy = cy - y0;
      const p00 = (y0 * width + x0) * 3, p01 = p00 + 3, p10 = p00 + width * 3, p11 = p10 + 3;
      const o = v * size + u;
      for (let c = 0; c < 3; c++) {
        const value = (rgb[p00 + c] * (1 - fx) + rgb[p01 + c] * fx) * (1 - fy) + (rgb[p10 + c] * (1 - fx) + rgb[p11 + c] * fx) * fy;
        out[c * plane + o] = value / 127.5 - 1;
      }
    }
  }
}

/** The feather's width and the untouched border, as fractions of the crop's side. */
const FEATHER = 0.1;
const BORDER = 0.02;

/**
 * The paste mask at a crop position: 0 within {@link BORDER} of the crop's edge (where the warp
 * repeated edge pixels), rising smoothly over {@link FEATHER} to 1 inside, so the restored face fades
 * into the frame with no seam. A box like FaceFusion's default face mask, its edges blurred.
 */
export function maskAt(u: number, v: number, size: number): number {
  const edge = Math.min(u, v, size - 1 - u, size - 1 - v) / size;
  const t = (edge - BORDER) / FEATHER;
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  return t * t * (3 - 2 * t);
}

/**
 * Pastes the restored crop (planar RGB in [-1,1]) into the frame in place: each frame pixel inside
 * the face's region takes the crop sampled bilinearly at its transformed position, blended by the
 * mask times `strength`. Pixels where that weight is 0 are not written, so they keep their exact bytes.
 */
export function pasteCrop(rgb: Uint8Array, width: number, height: number, toCrop: Similarity, crop: Float32Array, size: number, strength: number): void {
  const back = invert(toCrop);
  const corners = [apply(back, { x: 0, y: 0 }), apply(back, { x: size, y: 0 }), apply(back, { x: 0, y: size }), apply(back, { x: size, y: size })];
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p.x))));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(...corners.map((p) => p.x))));
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p.y))));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...corners.map((p) => p.y))));
  const plane = size * size;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const u = toCrop.a * x - toCrop.b * y + toCrop.tx;
      const v = toCrop.b * x + toCrop.a * y + toCrop.ty;
      if (u < 0 || v < 0 || u > size - 1 || v > size - 1) continue;
      const weight = maskAt(u, v, size) * strength;
      if (weight <= 0) continue;
      const u0 = Math.min(size - 2, Math.floor(u)), v0 = Math.min(size - 2, Math.floor(v));
      const fu = u - u0, fv = v - v0;
      const q = v0 * size + u0;
      const p = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const base = c * plane + q;
        const restored = (crop[base] * (1 - fu) + crop[base + 1] * fu) * (1 - fv) + (crop[base + size] * (1 - fu) + crop[base + size + 1] * fu) * fv;
        const value = (Math.max(-1, Math.min(1, restored)) + 1) * 127.5;
        rgb[p + c] = Math.round(rgb[p + c] + (value - rgb[p + c]) * weight);
      }
    }
  }
}
