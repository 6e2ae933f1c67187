import { UserError } from './errors.js';

export type Mode = 'chunked' | 'context';

/**
 * A piece of the source processed on its own: frames [start, end) are its output; frames
 * [decodeStart, decodeEnd) are decoded for it, the extra ones being context that never crosses a
 * scene cut (so edge frames are replicated there, as at the ends of the video).
 */
export interface Segment {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly decodeStart: number;
  readonly decodeEnd: number;
  /** The frame after `end` is decoded too, as the interpolation pair's right frame. */
  readonly rightFrame: boolean;
  /** The output frames to write, when not all of those in [start, end): a preview's one frame. */
  readonly output?: { readonly from: number; readonly to: number };
}

export interface SegmentOptions {
  readonly frames: number;
  readonly scenes: readonly { readonly start: number; readonly end: number }[];
  readonly mode: Mode;
  /** chunked: frames per segment (undefined: one segment per scene). */
  readonly chunk?: number;
  /** context: window size including `overlap` context frames on each side. */
  readonly window?: number;
  readonly overlap?: number;
  /** A temporal model's reach on each side: (T − 1) / 2. */
  readonly radius: number;
  readonly interpolation: boolean;
}

function regions(scene: { start: number; end: number }, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = scene.start; start < scene.end; start += size) out.push([start, Math.min(scene.end, start + size)]);
  return out;
}

export function planSegments(options: SegmentOptions): Segment[] {
  const { mode, radius } = options;
  let size: number;
  let context: number;
  if (mode === 'context') {
    const window = options.window ?? 0;
    const overlap = options.overlap ?? 0;
    if (!(window > 2 * overlap)) {
      throw new UserError(`--window ${window} must be larger than twice --overlap ${overlap}`, { kind: 'usage', tryMessage: 'e.g. --window 32 --overlap 4' });
    }
    if (overlap < radius) {
      throw new UserError(`the model looks ${radius} frame(s) each way; --overlap ${overlap} is less`, { kind: 'usage', tryMessage: `use --overlap ${radius} or more` });
    }
    size = window - 2 * overlap;
    context = overlap;
  } else {
    size = options.chunk ?? Number.POSITIVE_INFINITY;
    context = radius;
  }
  const scenes = options.scenes.length > 0 ? options.scenes : [{ start: 0, end: options.frames }];
  const segments: Segment[] = [];
  for (const scene of scenes) {
    for (const [start, end] of regions(scene, size)) {
      const rightFrame = options.interpolation && end < scene.end;
      segments.push({
        index: segments.length,
        start,
        end,
        decodeStart: Math.max(scene.start, start - context),
        decodeEnd: Math.min(scene.end, end + Math.max(context, rightFrame ? 1 : 0)),
        rightFrame,
      });
    }
  }
  return segments;
}

/**
 * A preview's one segment: output frame `frame` made exactly as the run's segment `within` (the one
 * holding its source frame `source`) makes it, decoding only what that frame depends on: a temporal
 * model's reach, the interpolation pair's right frame, and the pair before (the per-pair scene score
 * compares each pair with the one before it, as it does inside the run's segment). `upscaleFirst`:
 * the upscale host comes before interpolation, so the interpolation host sees frames from `start`.
 */
export function previewSegment(within: Segment, source: number, frame: number, radius: number, interpolation: boolean, upscaleFirst: boolean): Segment {
  if (!interpolation) {
    return {
      index: 0, start: source, end: source + 1, rightFrame: false, output: { from: frame, to: frame + 1 },
      decodeStart: Math.max(within.decodeStart, source - radius),
      decodeEnd: Math.min(within.decodeEnd, source + 1 + radius),
    };
  }
  const rightFrame = source + 1 < within.end || within.rightFrame;
  const start = upscaleFirst ? Math.max(within.start, source - 1) : source;
  return {
    index: 0, start, end: source + 1, rightFrame, output: { from: frame, to: frame + 1 },
    decodeStart: upscaleFirst ? start : Math.max(within.decodeStart, source - 1),
    decodeEnd: source + 1 + (rightFrame ? 1 : 0),
  };
}
