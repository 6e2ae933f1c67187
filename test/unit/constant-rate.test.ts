import { describe, expect, it } from 'vitest';
import { gridFrames, gridRate, mayVaryInRate } from '../../src/services/ffmpeg/constant-rate.js';

const r = (num: number, den = 1) => ({ num, den });

describe('putting a variable-rate source on a constant grid', () => {
  it('reads frame times only where the nominal and average rates differ by more than rounding', () => {
    const full = { frameCount: 300, durationSec: 10 };
    expect(mayVaryInRate({ frameRate: r(30), averageRate: r(30), ...full })).toBe(false);
    expect(mayVaryInRate({ frameRate: r(30000, 1001), averageRate: r(2997, 100), frameCount: 300, durationSec: 10.01 })).toBe(false);
    expect(mayVaryInRate({ frameRate: r(30), averageRate: r(1798, 60), ...full })).toBe(true);
    expect(mayVaryInRate({ frameRate: r(30), averageRate: r(25), ...full })).toBe(true);
    expect(mayVaryInRate({ frameRate: r(30), ...full })).toBe(false);
  });

  it('and where the duration holds more than a second of slots beyond the frames: frames lost, the rates unchanged', () => {
    // 10 s at 24 fps with 73 frames lost in a damaged stretch: both rates still read 24.
    expect(mayVaryInRate({ frameRate: r(24), averageRate: r(24), frameCount: 167, durationSec: 10 })).toBe(true);
    expect(mayVaryInRate({ frameRate: r(24), frameCount: 167, durationSec: 10 })).toBe(true);
    // Sound half a second longer than the picture: no reading.
    expect(mayVaryInRate({ frameRate: r(24), averageRate: r(24), frameCount: 240, durationSec: 10.5 })).toBe(false);
  });

  it('takes the nominal rate, unless it is a container\'s tick rate far above the average', () => {
    expect(gridRate(r(30), r(25))).toEqual(r(30));
    expect(gridRate(r(1000), r(2997, 100))).toEqual(r(2997, 100));
    expect(gridRate(r(24), undefined)).toEqual(r(24));
  });

  it('counts slots from the first frame\'s to the last\'s; frames already one to a slot need nothing', () => {
    const at = (...frames: number[]) => frames.map((n) => n / 30);
    expect(gridFrames(at(0, 1, 2, 3), r(30))).toBeUndefined();
    // A gap of two slots: the frame before it is repeated twice.
    expect(gridFrames(at(0, 1, 4, 5), r(30))).toBe(6);
    // Two frames in one slot (0.4 and 0.6 of a frame round to 0 and 1; 1.1 to 1): one is dropped.
    expect(gridFrames([0, 0.4 / 30, 0.6 / 30, 1.1 / 30, 2 / 30], r(30))).toBe(3);
    // A file that starts late counts from its first frame.
    expect(gridFrames(at(10, 11, 13), r(30))).toBe(4);
    expect(gridFrames([], r(30))).toBeUndefined();
  });
});
