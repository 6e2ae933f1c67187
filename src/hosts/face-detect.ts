/**
 * Face detection on a whole frame with BlazeFace (or a model of its layout): the frame is seen as a
 * pyramid of square views, each resampled to the model's input, so that faces far smaller than the
 * 256-pixel input allows are still found; the detections of every view are merged by weighted NMS.
 */
import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { UserError } from '../services/errors.js';
import { BLAZEFACE_ANCHORS, decodeBlazeFace, mapDetection, weightedNms, type Detection } from './face-detect-blazeface.js';
import { openSession } from './session.js';

export type { Detection, Point } from './face-detect-blazeface.js';

/**
 * The smallest face, in the model's input pixels, that BlazeFace finds reliably. Measured on the
 * fixtures: faces of 18–30 px mostly score 0.8–0.95, but a turned one 0.6–0.7 and one of 29 px was
 * missed in a whole 640×450 photo; from about 32 px every face there scores above 0.85.
 */
const SMALLEST_FACE_IN_INPUT = 32;
/** Views overlap by a quarter of their side, so a face up to that size is whole in one of them. */
const VIEW_STRIDE = 0.75;
/**
 * Keijiro's default, above the 0.61 and 0.67 of the false faces seen on the fixtures (a glass, a wall
 * socket, through the tiles); real faces of 32 px or more in a view score 0.8–0.95.
 */
export const DEFAULT_DETECT_THRESHOLD = 0.75;

/** A square part of the frame (it may reach past the frame's edges: that part is black). */
export interface View {
  readonly x: number;
  readonly y: number;
  readonly side: number;
}

/**
 * The views that find every face of `minFace` pixels or more: the whole frame, then ever finer grids
 * (each view half the side of the last level's, overlapping by a quarter) down to the side at which a
 * face of `minFace` fills {@link SMALLEST_FACE_IN_INPUT} input pixels. A face lies whole in some view
 * of a level whose side is 4× its size or more, and is big enough there for the model: levels halve,
 * so each face size has a level that does both.
 */
export function planViews(width: number, height: number, inputSize: number, minFace: number): View[] {
  const finest = Math.max(inputSize, Math.floor((minFace * inputSize) / SMALLEST_FACE_IN_INPUT));
  const whole = Math.max(width, height);
  const views: View[] = [{ x: 0, y: 0, side: whole }];
  for (let side = whole / 2; side * 2 > finest; side /= 2) {
    const level = Math.max(Math.round(side), finest);
    // Clamped to nearly the last level's side, it would see what that one saw.
    if (level > side * 2 * 0.9) break;
    const starts = (extent: number): number[] => {
      if (extent <= level) return [0];
      const stride = Math.floor(level * VIEW_STRIDE);
      const out: number[] = [];
      for (let at = 0; at + level < extent; at += stride) out.push(at);
      out.push(extent - level);
      return out;
    };
    for (const y of starts(height)) for (const x of starts(width)) views.push({ x, y, side: level });
    if (level === finest) break;
  }
  return views;
}

/** An rgb24 image: the frame, or one of its halvings. */
export interface Image {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** The frame and its 2×2-box halvings, `levels` in all (level k is 2^k times smaller). */
export function halvings(frame: Image, levels: number): Image[] {
  const out = [frame];
  for (let k = 1; k < levels; k++) {
    const { data, width, height } = out[k - 1];
    const w = width >> 1, h = height >> 1;
    if (w < 2 || h < 2) break;
    const half = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (2 * y * width + 2 * x) * 3, q = p + width * 3, o = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) half[o + c] = (data[p + c] + data[p + 3 + c] + data[q + c] + data[q + 3 + c] + 2) >> 2;
      }
    }
    out.push({ data: half, width: w, height: h });
  }
  return out;
}

/**
 * The view resampled to `size`² as NHWC RGB in [-1,1]: a view shrunk by s is read bilinearly, one
 * sample a pixel, from the halving that leaves less than 2× to shrink (box-filtered, so fine texture
 * does not alias into face-like patterns; within 2× bilinear alone is what detectors are fed, as
 * cv2.resize's INTER_LINEAR); past the last halving, several samples are averaged.
 */
export function sampleView(levels: readonly Image[], view: View, size: number, out: Float32Array): void {
  const step = view.side / size;
  const k = Math.max(0, Math.min(levels.length - 1, Math.floor(Math.log2(step))));
  const { data, width, height } = levels[k];
  const unit = 2 ** k;
  const local = step / unit;
  const taps = local < 2 ? 1 : Math.min(4, Math.ceil(local));
  // Frame pixel-centre coordinates → this level's: x_k = (x + 0.5) / 2^k − 0.5.
  const x0v = (view.x + 0.5) / unit - 0.5, y0v = (view.y + 0.5) / unit - 0.5;
  const fw = (levels[0].width) / unit, fh = (levels[0].height) / unit;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let r = 0, g = 0, b = 0;
      for (let ty = 0; ty < taps; ty++) {
        const sy = y0v + (j + (ty + 0.5) / taps) * local - 0.5;
        for (let tx = 0; tx < taps; tx++) {
          const sx = x0v + (i + (tx + 0.5) / taps) * local - 0.5;
          // Outside the frame counts as black (0 → −1).
          if (sx < -0.5 || sy < -0.5 || sx > fw - 0.5 || sy > fh - 0.5) continue;
          const x0 = Math.max(0, Math.min(width - 1, Math.floor(sx)));
          const y0 = Math.max(0, Math.min(height - 1, Math.floor(sy)));
          const x1 = Math.min(width - 1, x0 + 1);
          const y1 = Math.min(height - 1, y0 + 1);
          const fx = Math.max(0, Math.min(1, sx - x0));
          const fy = Math.max(0, Math.min(1, sy - y0));
          const p00 = (y0 * width + x0) * 3, p01 = (y0 * width + x1) * 3, p10 = (y1 * width + x0) * 3, p11 = (y1 * width + x1) * 3;
          const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
          r += data[p00] * w00 + data[p01] * w01 + data[p10] * w10 + data[p11] * w11;
          g += data[p00 + 1] * w00 + data[p01 + 1] * w01 + data[p10 + 1] * w10 + data[p11 + 1] * w11;
          b += data[p00 + 2] * w00 + data[p01 + 2] * w01 + data[p10 + 2] * w10 + data[p11 + 2] * w11;
        }
      }
      const n = taps * taps;
      const o = (j * size + i) * 3;
      out[o] = r / n / 127.5 - 1;
      out[o + 1] = g / n / 127.5 - 1;
      out[o + 2] = b / n / 127.5 - 1;
    }
  }
}

/** A detection that touches a view's edge inside the frame is a cut face: another view holds it whole. */
function cutByView(d: Detection, view: View, width: number, height: number): boolean {
  const margin = view.side * 0.02;
  const left = d.cx - d.w / 2, right = d.cx + d.w / 2, top = d.cy - d.h / 2, bottom = d.cy + d.h / 2;
  return (left < view.x + margin && view.x > 0) || (top < view.y + margin && view.y > 0)
    || (right > view.x + view.side - margin && view.x + view.side < width) || (bottom > view.y + view.side - margin && view.y + view.side < height);
}

export interface FaceDetector {
  readonly inputSize: number;
  readonly provider: 'cpu' | 'webgpu' | 'cuda';
  readonly fallbackReason?: string;
  /** Faces of `minFace` pixels (box width) or more, in frame pixels, best first. */
  detect(rgb: Uint8Array, width: number, height: number, minFace: number): Promise<Detection[]>;
  release(): Promise<void>;
}

const dimsOf = (meta: ort.InferenceSession.ValueMetadata | undefined): readonly (number | string)[] => (meta?.isTensor ? meta.shape : []);

/** Checks the BlazeFace layout (one NHWC square input, the four outputs) and returns the input side. */
export function blazeFaceLayout(session: ort.InferenceSession, path: string): { inputSize: number; scores: [string, string]; boxes: [string, string] } {
  const notOne = (why: string) => new UserError(`not a face detector of BlazeFace's layout (${why})`, {
    kind: 'usage', file: path, tryMessage: 'leave out --face-detector for the bundled BlazeFace, or see README, "Face restoration"',
  });
  if (session.inputNames.length !== 1) throw notOne(`${session.inputNames.length} inputs, expected 1`);
  const input = dimsOf(session.inputMetadata[0]);
  if (input.length !== 4 || input[3] !== 3 || typeof input[1] !== 'number' || input[1] !== input[2] || input[1] < 64) {
    throw notOne(`input [${input.join(',')}], expected [1,S,S,3]`);
  }
  const outputs = session.outputNames.map((name, n) => ({ name, dims: dimsOf(session.outputMetadata[n]) }));
  const find = (anchors: number, last: number) => outputs.find((o) => o.dims.length === 3 && o.dims[1] === anchors && o.dims[2] === last)?.name;
  const [a, b] = BLAZEFACE_ANCHORS;
  const names = [find(a, 1), find(b, 1), find(a, 16), find(b, 16)];
  if (outputs.length !== 4 || names.some((n) => n === undefined)) {
    throw notOne(`outputs ${outputs.map((o) => `[${o.dims.join(',')}]`).join(' ')}, expected [1,${a},1] [1,${b},1] [1,${a},16] [1,${b},16]`);
  }
  return { inputSize: input[1], scores: [names[0]!, names[1]!], boxes: [names[2]!, names[3]!] };
}

export async function createFaceDetector(modelPath: string, device: Device, threads?: number, threshold = DEFAULT_DETECT_THRESHOLD): Promise<FaceDetector> {
  const { session, provider, fallbackReason } = await openSession(modelPath, device, threads);
  const layout = blazeFaceLayout(session, modelPath);
  const size = layout.inputSize;
  const input = new Float32Array(size * size * 3);
  const inputName = session.inputNames[0];
  return {
    inputSize: size,
    provider,
    fallbackReason,
    async detect(rgb, width, height, minFace) {
      const found: Detection[] = [];
      const views = planViews(width, height, size, minFace);
      const levels = halvings({ data: rgb, width, height }, Math.max(1, Math.floor(Math.log2(Math.max(...views.map((v) => v.side)) / size)) + 1));
      for (const view of views) {
        sampleView(levels, view, size, input);
        const out = await session.run({ [inputName]: new ort.Tensor('float32', input, [1, size, size, 3]) });
        const data = (name: string) => out[name].data as Float32Array;
        const local = decodeBlazeFace(layout.scores.map(data), layout.boxes.map(data), size, threshold);
        for (const d of local) {
          const mapped = mapDetection(d, view.side, view.x, view.y);
          if (!cutByView(mapped, view, width, height)) found.push(mapped);
        }
      }
      return weightedNms(found).filter((d) => d.w >= minFace);
    },
    release: () => session.release(),
  };
}
