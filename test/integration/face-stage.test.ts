import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/domain.js';
import { cancelAndExpectClean, invariantViolations, options, runDone, scratchDir, startRun, type Run } from '../helpers/app.js';
import { faceClip, positionRestorer } from '../helpers/face-models.js';
import { decodeFrames, frameMd5s } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const fast = nearestModel(dir, 2);
const restorer = positionRestorer(dir, { size: 256 });
// Seconds per face: a 512 crop through 600 products of 1024² matrices.
const slowRestorer = positionRestorer(dir, { slow: 600 });
// 320×226 with faces of ~36 px: ×2 upscaled, faces of ~72 px reach the face stage.
const clip = faceClip(dir, 'faces.mp4', { width: 320, frames: 4 });
let run: Run | undefined;
let counter = 0;

afterEach(() => run?.actor.stop());

function begin(faceRestore: string) {
  const output = join(dir, `out-${++counter}.mp4`);
  run = startRun([{ input: clip, output }], options(tempRoot, { model: fast, faceRestore }));
  return { run, output };
}

describe('the face stage: cancel reaches idle with every invariant', () => {
  it('while the face host loads', async () => {
    const { run, output } = begin(slowRestorer);
    await run.when((item) => item.stage === 'upscale+face');
    await cancelAndExpectClean(run, tempRoot, output);
  });

  it('mid-restoration of a face that takes seconds: cancel does not wait for it', async () => {
    const { run, output } = begin(slowRestorer);
    await run.when((item) => item.progress !== undefined && item.stage === 'upscale+face', 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    // The face host is the chain's last: no frame out yet, so it is inside a restorer run (detection takes ~0.2 s).
    expect(run.actor.getSnapshot().context.items[0].progress?.done).toBe(0);
    const latency = await cancelAndExpectClean(run, tempRoot, output);
    expect(latency).toBeLessThan(400);
  });

  it('while frames stream through decode → upscale → face → encode', async () => {
    const { run, output } = begin(restorer);
    await run.when((item) => (item.progress?.done ?? 0) >= 1, 60_000);
    await cancelAndExpectClean(run, tempRoot, output);
  });
});

describe('the face stage in a job', () => {
  it('restores every frame after upscaling, says how many faces it found, and keeps the frame count', async () => {
    const output = join(dir, 'done.mkv');
    const notices = await runDone(clip, output, tempRoot, options(tempRoot, { model: fast, faceRestore: restorer, faceMinSize: 40 }));
    expect(notices.some((n) => /^faces: .* at 640×452 on cpu$/.test(n))).toBe(true);
    expect(notices).toContain('faces: 12 restored in 4 of 4 frames');
    expect(decodeFrames(output).frames).toHaveLength(4);
  });

  it('alone (--scale 1), in context mode: it drops the context frames as upscaling does', async () => {
    const long = faceClip(dir, 'faces-8.mp4', { width: 320, frames: 8 });
    const output = join(dir, 'context.mkv');
    const notices = await runDone(long, output, tempRoot, options(tempRoot, { scale: 1, faceRestore: restorer, faceMinSize: 30, mode: 'context', window: 4, overlap: 1 }));
    const counts = notices.filter((n) => /restored in/.test(n));
    // Each window's notice counts only the frames it writes: 8 in all, every one with its 3 faces.
    const total = counts.map((n) => Number(/ of (\d+) frames/.exec(n)![1])).reduce((a, b) => a + b, 0);
    expect(total).toBe(8);
    expect(counts.every((n) => /^faces: (\d+) restored in (\d+) of \2 frames$/.test(n) && Number(/^faces: (\d+)/.exec(n)![1]) === 3 * Number(/ of (\d+)/.exec(n)![1]))).toBe(true);
    expect(decodeFrames(output).frames).toHaveLength(8);
    expect(existsSync(output)).toBe(true);
  });
});

describe('the face stage with --resume', () => {
  const long = faceClip(dir, 'faces-resume.mp4', { width: 320, frames: 8 });
  const resumeOptions = (extra: Partial<JobOptions> = {}) => options(tempRoot, { scale: 1, faceRestore: restorer, faceMinSize: 30, chunk: 2, resume: true, overwrite: true, lossless: true, ...extra });

  async function cancelAfterSegments(output: string, jobOptions: JobOptions, segments: number): Promise<void> {
    const current = startRun([{ input: long, output }], jobOptions);
    await current.when((item) => (item.progress?.segment ?? 0) >= segments && item.phase === 'processing', 60_000);
    current.cancel();
    expect((await current.ended).items[0].status).toBe('cancelled');
    expect(invariantViolations(current.actor, tempRoot, [output])).toEqual([]);
    current.actor.stop();
  }

  it('reuses the restored segments of a cancelled run, and starts over when a face option changed', async () => {
    const reference = join(dir, 'face-reference.mkv');
    await runDone(long, reference, tempRoot, resumeOptions({ resume: false }));
    const output = join(dir, 'face-resumed.mkv');
    await cancelAfterSegments(output, resumeOptions(), 2);
    // Another --face-strength makes other frames: the checkpoints are not used.
    const changed = startRun([{ input: long, output }], resumeOptions({ faceStrength: 0.5 }));
    await changed.when((item) => (item.notices ?? []).some((n) => n.includes('starting over')), 60_000);
    changed.cancel();
    await changed.ended;
    changed.actor.stop();
    await cancelAfterSegments(output, resumeOptions(), 2);
    const notices = await runDone(long, output, tempRoot, resumeOptions());
    expect(notices.some((n) => /^resuming: [1-3] of 4 segments reused$/.test(n))).toBe(true);
    expect(frameMd5s(output)).toEqual(frameMd5s(reference));
  });
});
