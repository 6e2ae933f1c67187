import type { Rate } from '../domain.js';

/** Where output frame k falls in the source: between frames `index` and `index + 1`, at `t` ∈ [0, 1). */
export interface SourcePosition {
  readonly index: number;
  readonly t: number;
}

/**
 * Output frame k is shown at k / outRate; in source frames that is k · inRate / outRate. Integer
 * arithmetic keeps 24 → 48 or 25 → 60 exact over any length.
 */
export function sourcePosition(k: number, inRate: Rate, outRate: Rate): SourcePosition {
  const num = k * inRate.num * outRate.den;
  const den = inRate.den * outRate.num;
  const index = Math.floor(num / den);
  return { index, t: (num - index * den) / den };
}

/** Output frames for `frames` source frames: every k whose time falls before the end of the source. */
export function outputFrameCount(frames: number, inRate: Rate, outRate: Rate): number {
  return Math.ceil((frames * outRate.num * inRate.den) / (outRate.den * inRate.num));
}
