import type { MediaInfo, Rate } from '../../domain.js';
import { formatRate } from '../rational.js';

/** More than rounding apart: 0.1 %. */
function ratesDiffer(a: Rate, b: Rate): boolean {
  return Math.abs((a.num * b.den) / (a.den * b.num) - 1) > 0.001;
}

/**
 * Whether the source may not be on one constant grid, so its frame times are worth reading: its
 * nominal and average rates differ by more than 0.1 % (constant-rate files agree to within their
 * rounding; a phone's 30 fps recording with a few dropped frames reads 30 against 29.9), or its
 * duration holds more than a second's slots beyond its frames: frames lost from a constant-rate
 * stream (a broadcast capture's dropout, a damaged file) leave both rates as they were, and every
 * frame after the loss would play early, away from its sound. A sound track longer than the picture
 * only costs the reading.
 */
export function mayVaryInRate(media: Pick<MediaInfo, 'frameRate' | 'averageRate' | 'frameCount' | 'durationSec'>): boolean {
  const { frameRate: nominal, averageRate: average } = media;
  if (average && ratesDiffer(nominal, average)) return true;
  const slots = (media.durationSec * nominal.num) / nominal.den;
  return slots - media.frameCount > nominal.num / nominal.den;
}

/**
 * The grid a variable-rate source is put on: its nominal rate (ffprobe `r_frame_rate`, the rate of
 * its regular stretches), unless that is more than twice the average: a container's tick rate, as
 * some Matroska files give, is no frame rate; the average is then. With no average, the nominal.
 */
export function gridRate(nominal: Rate, average: Rate | undefined): Rate {
  return average && nominal.num * average.den > 2 * average.num * nominal.den ? average : nominal;
}

/**
 * The frames ffmpeg's `fps` filter gives for frames at `times` (seconds, ascending) on `rate`'s grid,
 * or undefined when they already sit one to a slot (a constant-rate file, nothing to do). Each frame
 * takes the slot its time rounds to (the filter's `near`); slots between two frames repeat the
 * earlier one, a frame whose slot the next one also takes is dropped. Counted from the first frame's
 * slot to the last's, the last once: what every ffmpeg gives before its end-of-stream handling, which
 * has varied between versions and may repeat the last frame (`trim` cuts that off).
 */
export function gridFrames(times: readonly number[], rate: Rate): number | undefined {
  if (times.length === 0) return undefined;
  const slots = times.map((time) => Math.round((time * rate.num) / rate.den));
  if (slots.every((slot, n) => slot === slots[0] + n)) return undefined;
  return slots[slots.length - 1] - slots[0] + 1;
}

/** The grid a source's decoders put it on: its rate where it varies, none for a constant-rate source. */
export function gridOf(media: Pick<MediaInfo, 'variableRate' | 'frameRate'>): Rate | undefined {
  return media.variableRate ? media.frameRate : undefined;
}

/** The source put on its grid: the rate, the grid's frame count, and the source's own count kept. */
export function onGrid(media: MediaInfo, rate: Rate, frames: number): MediaInfo {
  return { ...media, frameRate: rate, frameCount: frames, variableRate: { sourceFrames: media.frameCount } };
}

export function gridNotice(media: MediaInfo): string {
  const source = media.variableRate?.sourceFrames ?? media.frameCount;
  if (source < media.frameCount && (!media.averageRate || !ratesDiffer(media.averageRate, media.frameRate))) {
    return `${media.frameCount - source} frames missing from a constant ${formatRate(media.frameRate)} fps stream (a dropout or damage): the frame before each gap is repeated over it, ${media.frameCount} frames, so the picture keeps the source's timing and its sync with the audio`;
  }
  const average = media.averageRate ? `${formatRate(media.averageRate)} fps on average` : 'a variable rate';
  return `variable frame rate (${source} frames, ${average}): put on a constant ${formatRate(media.frameRate)} fps, ${media.frameCount} frames (repeated over gaps, dropped where two share a slot), so the picture keeps the source's timing and its sync with the audio`;
}
