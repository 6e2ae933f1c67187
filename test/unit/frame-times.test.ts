import { describe, expect, it } from 'vitest';
import { parseFrameTimes, seekBefore } from '../../src/services/ffmpeg/probe.js';

const csv = (times: readonly string[], start = '0.000000') => [...times.map((t) => `packet,${t}`), `format,${start}`, ''].join('\n');

describe('frame times for a segment decoder’s seek', () => {
  it('sorts packets into presentation order and seeks halfway before a frame, from the file’s start time', () => {
    // Decode order with B-frames: presentation times out of order.
    const times = parseFrameTimes(csv(['0.000000', '0.125000', '0.041667', '0.083333', '0.166667'], '0.000000'), 5)!;
    expect(times.times).toEqual([0, 0.041667, 0.083333, 0.125, 0.166667]);
    expect(seekBefore(times, 2)).toBeCloseTo(0.0625, 6);
    expect(seekBefore(times, 0)).toBeUndefined();
    const shifted = parseFrameTimes(csv(['1.000000', '1.040000', '1.080000'], '1.000000'), 3)!;
    expect(seekBefore(shifted, 1)).toBeCloseTo(0.02, 6);
  });

  it('gives nothing to seek by when a packet has no time, two share one, or the count is not the plan’s', () => {
    expect(parseFrameTimes(csv(['0.000000', 'N/A', '0.080000']), 3)).toBeUndefined();
    expect(parseFrameTimes(csv(['0.000000', '0.040000', '0.040000']), 3)).toBeUndefined();
    expect(parseFrameTimes(csv(['0.000000', '0.040000']), 3)).toBeUndefined();
    // A seek point at or before the file's start would give frame 0: none then.
    expect(seekBefore(parseFrameTimes(csv(['-0.080000', '-0.040000', '0.000000'], '0.000000'), 3)!, 1)).toBeUndefined();
  });
});
