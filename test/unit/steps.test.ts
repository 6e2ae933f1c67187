import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countText } from '../../src/cli/reporters.js';
import { ensembleTransforms, transformPlanes } from '../../src/hosts/ensemble.js';
import { scheduleValues } from '../../src/hosts/steps.js';
import { readStepsManifest } from '../../src/services/models.js';
import { RateMeter } from '../../src/services/rate.js';
import { scratchDir } from '../helpers/app.js';

describe('the ETA counts steps', () => {
  it('a frame of 8 runs moves the rate 8 times; fps and ETA are in frames', () => {
    let now = 0;
    const meter = new RateMeter(60_000, () => now);
    expect(meter.sample(0, 10, { step: 0, steps: 8 })).toEqual({ done: 0, total: 10, step: 0, steps: 8 });
    now = 1000;
    // 2 of 8 runs in 1 s: 0.25 frames/s, 78 runs left = 39 s.
    expect(meter.sample(0, 10, { step: 2, steps: 8 })).toEqual({ done: 0, total: 10, fps: 0.25, etaSec: 39, step: 2, steps: 8 });
    now = 4000;
    expect(meter.sample(1, 10, { step: 0, steps: 8 })).toMatchObject({ done: 1, fps: 0.25, etaSec: 36 });
  });

  it('one run a frame: as before, no step fields', () => {
    let now = 0;
    const meter = new RateMeter(60_000, () => now);
    meter.sample(0, 4);
    now = 2000;
    expect(meter.sample(1, 4, { step: 0, steps: 1 })).toEqual({ done: 1, total: 4, fps: 0.5, etaSec: 6 });
  });
});

describe('progress text', () => {
  it('names the frame being computed and its step; the end and one-run frames as before', () => {
    expect(countText({ done: 11, total: 72, step: 5, steps: 8 })).toBe('frame 12/72 · step 5/8');
    expect(countText({ done: 72, total: 72, step: 0, steps: 8 })).toBe('72/72');
    expect(countText({ done: 3, total: 72 })).toBe('3/72');
  });
});

describe('self-ensemble transforms', () => {
  it('2, 4 and 8 are the identity and rotation by 180°; the four rotations; all eight symmetries', () => {
    expect(ensembleTransforms(2).map((t) => t.name)).toEqual(['identity', 'rotate 180°']);
    expect(ensembleTransforms(4).map((t) => t.name)).toEqual(['identity', 'rotate 180°', 'rotate 90°', 'rotate 270°']);
    const all = ensembleTransforms(8);
    expect(new Set(all.map((t) => `${t.flipX}${t.flipY}${t.transpose}`)).size).toBe(8);
    expect(() => ensembleTransforms(3)).toThrow();
  });

  it('rotate 90° turns a 3×2 image clockwise into 2×3', () => {
    // a b c        d a
    // d e f   →    e b
    //              f c
    const src = Float32Array.of(1, 2, 3, 4, 5, 6);
    const dst = new Float32Array(6);
    transformPlanes(src, dst, 1, 3, 2, ensembleTransforms(4)[2]);
    expect([...dst]).toEqual([4, 1, 5, 2, 6, 3]);
  });
});

describe('steps manifests and schedules', () => {
  const dir = scratchDir('upframe-steps-');
  const write = (name: string, manifest: unknown) => {
    const model = join(dir, `${name}.onnx`);
    writeFileSync(model, 'x');
    writeFileSync(`${model}.json`, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    return model;
  };
  const inputs = { image: 'x', step: 't' };

  it('reads a manifest, with its defaults: scale 1, maxSteps = steps, or the listed schedule\'s length', () => {
    expect(readStepsManifest(join(dir, 'none.onnx'))).toBeUndefined();
    expect(readStepsManifest(write('a', { kind: 'steps', steps: 20, inputs }))).toEqual({ steps: 20, maxSteps: 20, inputs, scale: 1 });
    expect(readStepsManifest(write('b', { kind: 'steps', steps: 4, schedule: [9, 7, 5, 3, 1], inputs: { ...inputs, source: 'lr' }, scale: 4, output: 'y' }))).toEqual({
      steps: 4, maxSteps: 5, schedule: [9, 7, 5, 3, 1], inputs: { ...inputs, source: 'lr' }, scale: 4, output: 'y',
    });
    expect(readStepsManifest(write('c', { kind: 'steps', schedule: [3, 2, 1], inputs }))).toMatchObject({ steps: 3, maxSteps: 3 });
  });

  it('refuses what it cannot run, naming the file', () => {
    const bad: [unknown, RegExp][] = [
      ['{', /not JSON/],
      [{ kind: 'upscale', steps: 2, inputs }, /"kind" is "upscale", expected "steps"/],
      [{ kind: 'steps', steps: 2, inputs: { image: 'x' } }, /"inputs" needs "image" and "step"/],
      [{ kind: 'steps', inputs }, /"steps" must be an integer of at least 1/],
      [{ kind: 'steps', steps: 5, maxSteps: 3, inputs }, /"maxSteps" must be an integer of at least "steps" \(5\)/],
      [{ kind: 'steps', steps: 2, maxSteps: 9, schedule: [1, 2, 3], inputs }, /"maxSteps" is 9 but the schedule lists 3 values/],
      [{ kind: 'steps', steps: 2, schedule: { from: 1 }, inputs }, /"schedule" must be a list of numbers or/],
      [{ kind: 'steps', steps: 2, scale: 3.5, inputs }, /"scale" must be an integer from 1 to 8/],
    ];
    bad.forEach(([manifest, pattern], k) => {
      const model = write(`bad-${k}`, manifest);
      expect(() => readStepsManifest(model)).toThrow(pattern);
      try {
        readStepsManifest(model);
      } catch (error) {
        expect((error as { file?: string }).file).toBe(`${model}.json`);
      }
    });
  });

  it('schedule values: the index; a list taken evenly, first and last kept; a range', () => {
    expect(scheduleValues(undefined, 4)).toEqual([0, 1, 2, 3]);
    expect(scheduleValues([999, 750, 500, 250, 0], 5)).toEqual([999, 750, 500, 250, 0]);
    expect(scheduleValues([999, 750, 500, 250, 0], 3)).toEqual([999, 500, 0]);
    expect(scheduleValues([999, 750, 500, 250, 0], 1)).toEqual([999]);
    expect(scheduleValues({ from: 1, to: 0 }, 5)).toEqual([1, 0.75, 0.5, 0.25, 0]);
    expect(scheduleValues({ from: 1, to: 0 }, 1)).toEqual([1]);
  });
});
