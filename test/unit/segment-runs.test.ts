import { describe, expect, it } from 'vitest';
import { planDecodeRuns, planRuns } from '../../src/actors/segment-run.js';
import { planSegments } from '../../src/services/segments.js';

const chunks = (frames: number, chunk: number, radius = 0, interpolation = false) =>
  planSegments({ frames, scenes: [], mode: 'chunked', chunk, radius, interpolation });

describe('runs of segments', () => {
  it('one encoder for consecutive segments of 17 frames or more, where the encoder can cut at forced keyframes', () => {
    const sizes = [48, 48, 48, 48, 10, 48, 48];
    const frames = (index: number) => sizes[index];
    expect(planRuns([0, 1, 2, 3, 4, 5, 6], frames, true)).toEqual([[0, 1, 2, 3], [4], [5, 6]]);
    // Resumed with segments 1 and 5 kept: a gap ends a run.
    expect(planRuns([0, 2, 3, 4, 6], frames, true)).toEqual([[0], [2, 3], [4], [6]]);
    expect(planRuns([0, 1, 2], frames, false)).toEqual([[0], [1], [2]]);
    expect(planRuns([0, 1], () => 16, true)).toEqual([[0], [1]]);
    expect(planRuns([0, 1], () => 17, true)).toEqual([[0, 1]]);
    // The cut and keyframe lists are command-line arguments: at most 1000 segments an encoder.
    const many = Array.from({ length: 2500 }, (_, n) => n);
    expect(planRuns(many, () => 24, true).map((run) => run.length)).toEqual([1000, 1000, 500]);
  });

  it('one decoder for consecutive segments whose frames follow on: chunks without context or a pair\'s right frame', () => {
    const plain = chunks(100, 24);
    expect(planDecodeRuns([0, 1, 2, 3, 4], plain)).toEqual([[0, 1, 2, 3, 4]]);
    expect(planDecodeRuns([0, 2, 3], plain)).toEqual([[0], [2, 3]]);
    // A temporal model's context, an interpolation pair's right frame: each segment decodes its own.
    expect(planDecodeRuns([0, 1, 2], chunks(72, 24, 1))).toEqual([[0], [1], [2]]);
    expect(planDecodeRuns([0, 1, 2], chunks(72, 24, 0, true))).toEqual([[0], [1], [2]]);
    // Scenes without context follow on too: the cut changes nothing of the frames decoded.
    const scenes = planSegments({ frames: 60, scenes: [{ start: 0, end: 25 }, { start: 25, end: 60 }], mode: 'chunked', chunk: 20, radius: 0, interpolation: false });
    expect(planDecodeRuns(scenes.map((s) => s.index), scenes)).toEqual([scenes.map((s) => s.index)]);
  });
});
