import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/domain.js';
import type { HostMessage } from '../../src/hosts/protocol.js';
import { resumeDir } from '../../src/services/checkpoints.js';
import { readStepsManifest } from '../../src/services/models.js';
import { cancelAndExpectClean, invariantViolations, options, runDone, scratchDir, startRun } from '../helpers/app.js';
import { runUpscaleHost } from '../helpers/host.js';
import { frameMd5s, makeClip } from '../helpers/media.js';
import { stepsModel, stepsReference } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');

function frame(width: number, height: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 53 + seed * 101 + 7) % 256);
}

/** The host's `step` and `frame` messages, as the sequence a frame of `steps` runs must give. */
function expectedProgress(frames: number, steps: number): Partial<HostMessage>[] {
  return Array.from({ length: frames }, (_, f) => [
    ...Array.from({ length: steps }, (_, k) => ({ type: 'step' as const, frame: f, step: k + 1, steps })),
    { type: 'frame' as const, done: f + 1 },
  ]).flat();
}

const progressOf = (messages: HostMessage[]) => messages.filter((m) => m.type === 'step' || m.type === 'frame');

describe('a steps model in the real host: N runs per frame, each feeding the next, exact', () => {
  const [w, h] = [13, 7];
  const frames = [frame(w, h, 1), frame(w, h, 2)];

  it('float step [] from a listed schedule, in tiles; --steps takes the list evenly (first and last kept)', async () => {
    const schedule = [0.5, 0.3, 0.25, 0.125, 0.7];
    const model = stepsModel(dir, { manifest: { kind: 'steps', steps: 5, schedule, inputs: { image: 'x', step: 't' } } });
    const stepsSpec = readStepsManifest(model);
    const base = { modelPath: model, device: 'cpu' as const, tileSize: 4, overlap: 1, width: w, height: h, frameCount: 2, stepsSpec };
    const full = await runUpscaleHost(base, frames);
    expect(full.code, full.stderr).toBe(0);
    expect(full.messages[0]).toMatchObject({ type: 'ready', scale: 1, steps: 5, stepsLabel: '5 steps' });
    expect(progressOf(full.messages)).toEqual(expectedProgress(2, 5));
    const size = w * h * 3;
    frames.forEach((rgb, n) => expect(full.output.subarray(n * size, (n + 1) * size).equals(stepsReference(rgb, w, h, schedule))).toBe(true));

    const three = await runUpscaleHost({ ...base, steps: 3 }, frames);
    expect(progressOf(three.messages)).toEqual(expectedProgress(2, 3));
    frames.forEach((rgb, n) => expect(three.output.subarray(n * size, (n + 1) * size).equals(stepsReference(rgb, w, h, [0.5, 0.25, 0.7]))).toBe(true));
  });

  it('int64 step [1] recognised from the inputs alone (no manifest): step k gets k, --steps is the count', async () => {
    const model = stepsModel(dir, { stepType: 'int64', stepShape: [1] });
    const run = await runUpscaleHost({ modelPath: model, device: 'cpu', tileSize: 0, overlap: 8, width: w, height: h, frameCount: 2, steps: 4 }, frames);
    expect(run.code, run.stderr).toBe(0);
    expect(progressOf(run.messages)).toEqual(expectedProgress(2, 4));
    // The model's α is (t + 1) / 8.
    const size = w * h * 3;
    frames.forEach((rgb, n) => expect(run.output.subarray(n * size, (n + 1) * size).equals(stepsReference(rgb, w, h, [0, 1, 2, 3].map((t) => (t + 1) / 8)))).toBe(true));
  });

  it('scale 2 with the source frame as an input and a from–to schedule: the first image is the frame enlarged, tiles overlap', async () => {
    const model = stepsModel(dir, {
      source: true,
      manifest: { kind: 'steps', scale: 2, steps: 3, maxSteps: 10, schedule: { from: 0.5, to: 0.1 }, inputs: { image: 'x', step: 't', source: 'source' }, output: 'y' },
    });
    const run = await runUpscaleHost({ modelPath: model, device: 'cpu', tileSize: 5, overlap: 2, width: w, height: h, frameCount: 2, stepsSpec: readStepsManifest(model) }, frames);
    expect(run.code, run.stderr).toBe(0);
    expect(run.messages[0]).toMatchObject({ type: 'ready', scale: 2, steps: 3 });
    const size = w * 2 * h * 2 * 3;
    frames.forEach((rgb, n) => expect(run.output.subarray(n * size, (n + 1) * size).equals(stepsReference(rgb, w, h, [0.5, 0.3, 0.1], true))).toBe(true));
  });
});

describe('modes and resume with a steps model: the frames of one whole run', () => {
  const model = stepsModel(dir, { name: 'modes', manifest: { kind: 'steps', steps: 3, schedule: [0.5, 0.25, 0.125], inputs: { image: 'x', step: 't' } } });
  const clip = makeClip(dir, 'modes.mp4', { size: '32x24', seconds: 0.5 });
  let n = 0;
  async function runToEnd(extra: Partial<JobOptions>, output = join(dir, `modes-${++n}.mkv`)) {
    const notices = await runDone(clip, output, tempRoot, options(tempRoot, { model, overwrite: true, lossless: true, ...extra }));
    return { output, notices };
  }

  it('whole, chunked, context windows, resumed after a cancel; another --steps starts over', { timeout: 180_000 }, async () => {
    const whole = frameMd5s((await runToEnd({})).output);
    expect(whole).toHaveLength(12);
    expect(frameMd5s((await runToEnd({ chunk: 5 })).output)).toEqual(whole);
    expect(frameMd5s((await runToEnd({ mode: 'context', window: 6, overlap: 1 })).output)).toEqual(whole);
    expect(frameMd5s((await runToEnd({ steps: 2 })).output)).not.toEqual(whole);

    const cancelAfterSegment = async (output: string) => {
      const first = startRun([{ input: clip, output }], options(tempRoot, { model, chunk: 4, resume: true, lossless: true }));
      await first.when((item) => (item.progress?.segment ?? 0) >= 1 && (item.progress?.step ?? 0) >= 2);
      first.cancel();
      expect((await first.ended).items[0].status).toBe('cancelled');
      first.actor.stop();
      return readdirSync(resumeDir(tempRoot, clip, output)).filter((name) => name.endsWith('.nut')).length;
    };
    const output = join(dir, 'modes-resumed.mkv');
    const store = resumeDir(tempRoot, clip, output);
    const kept = await cancelAfterSegment(output);
    expect(kept).toBeGreaterThanOrEqual(1);
    const { notices } = await runToEnd({ chunk: 4, resume: true }, output);
    expect(notices).toContain(`resuming: ${kept} of 3 segments reused`);
    expect(frameMd5s(output)).toEqual(whole);
    expect(existsSync(store)).toBe(false);

    const other = join(dir, 'modes-other.mkv');
    await cancelAfterSegment(other);
    const changed = await runToEnd({ chunk: 4, resume: true, steps: 2 }, other);
    expect(changed.notices).toContain(`checkpoints in ${resumeDir(tempRoot, clip, other)} were made for other options or models: starting over`);
  });
});

describe('cancel during a slow steps model (≥ 2 s a step) never waits for the step', () => {
  // 600 matrix products of 1024² per run: seconds a step, like slowModel.
  const slow = stepsModel(dir, { slow: 600, name: 'slow-steps', manifest: { kind: 'steps', steps: 3, schedule: [0.5, 0.5, 0.5], inputs: { image: 'x', step: 't' } } });
  const clip = makeClip(dir, 'clip.mp4', { size: '32x24', seconds: 0.5 });

  it('at a random step, at its start or inside it: idle in ≤ 100 ms median, ≤ 200 ms max, nothing left', { timeout: 600_000 }, async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const output = join(dir, `cancel-${i}.mkv`);
      const run = startRun([{ input: clip, output }], options(tempRoot, { model: slow }));
      // The step to cancel in (1-based) and how far into it: at its very start, or up to 1.5 s in.
      const step = 1 + Math.floor(Math.random() * 2);
      const into = i === 0 ? 0 : Math.random() * 1500;
      const at = await run.when((item) => item.stage === 'upscale' && item.progress?.steps === 3 && (item.progress.step ?? 0) >= step - 1, 300_000);
      await new Promise((resolve) => setTimeout(resolve, into));
      const now = run.actor.getSnapshot().context.items[0].progress;
      // Still inside that step: no step ended meanwhile.
      expect(now).toMatchObject({ done: 0, step: at.progress!.step, steps: 3 });
      latencies.push(await cancelAndExpectClean(run, tempRoot, output));
      run.actor.stop();
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    expect(sorted[2]).toBeLessThanOrEqual(100);
    expect(sorted[4]).toBeLessThanOrEqual(200);
  });
});
