import { execFileSync } from 'node:child_process';

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cancelAndExpectClean, invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { ffmpeg, makeJoinedClip, videoStream } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

function rawFrames(path: string, indices: number[]): Buffer[] {
  const select = indices.map((i) => `eq(n\\,${i})`).join('+');
  const raw = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', path, '-vf', `select='${select}'`, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 26 });
  const size = raw.length / indices.length;
  return indices.map((_, n) => raw.subarray(n * size, (n + 1) * size));
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.abs(a[i] - b[i]);
  return total / a.length;
}

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const joined = makeJoinedClip(dir, 'joined.mp4');
const nearest = nearestModel(dir, 2);

describe('scene detection', () => {
  it('finds the joins of three sources as cuts (±1 frame), as scene events, as its own stage', async () => {
    const output = join(dir, 'scenes.mp4');
    const result = await cli(['run', joined, '-o', output, '--model', nearest, '--scenes', '--json', '--temp-dir', tempRoot]).result;
    expect(result.code).toBe(0);
    const events = jsonEvents(result.stdout);
    const scenes = events.filter((e) => e.type === 'scene');
    expect(scenes).toHaveLength(3);
    const cuts = scenes.slice(1).map((s) => Number(s.start));
    expect(Math.abs(cuts[0] - 24)).toBeLessThanOrEqual(1);
    expect(Math.abs(cuts[1] - 48)).toBeLessThanOrEqual(1);
    expect(scenes.at(-1)).toMatchObject({ end: 72 });
    expect(events.some((e) => e.type === 'state' && e.actor === 'scenes' && e.path === 'active.running')).toBe(true);
    expect(events.some((e) => e.type === 'progress' && e.stage === 'scenes')).toBe(true);
    expect(Number(videoStream(output).nb_read_frames)).toBe(72);
  });

  it('looks for cuts in the film, where a still picture is stored as a track ahead of it', async () => {
    const ahead = join(dir, 'joined-still-ahead.mkv');
    execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=32x32:d=0.04', '-i', joined, '-map', '0:v', '-map', '1:v', '-c:v:0', 'mjpeg', '-c:v:1', 'copy', '-y', ahead]);
    const output = join(dir, 'scenes-still-ahead.mp4');
    const result = await cli(['run', ahead, '-o', output, '--model', nearest, '--scenes', '--json', '--temp-dir', tempRoot]).result;
    expect(result.code).toBe(0);
    expect(jsonEvents(result.stdout).filter((e) => e.type === 'scene').map((e) => Number(e.end))).toEqual([expect.any(Number), expect.any(Number), 72]);
    expect(Number(videoStream(output).nb_read_frames)).toBe(72);
  });

  it('cancel during scene detection returns to idle with every invariant', async () => {
    const output = join(dir, 'scenes-cancel.mp4');
    const run = startRun([{ input: joined, output }], options(tempRoot, { model: nearest, scenes: true }));
    await run.when((item) => item.phase === 'detecting scenes');
    await cancelAndExpectClean(run, tempRoot, output);
    run.actor.stop();
  });
});

describe('RIFE v4.6 in the pipeline', () => {
  it('--scale 1 --interpolate 2 with the bundled model doubles frames and rate, never across the cuts', async () => {
    const output = join(dir, 'rife.mp4');
    const run = startRun([{ input: joined, output }], options(tempRoot, { scale: 1, interpolate: 2, scenes: true }));
    const result = await run.ended;
    expect(result.items[0]).toMatchObject({ status: 'done', frames: 144 });
    const video = videoStream(output);
    expect(video.r_frame_rate).toBe('48/1');
    expect(Number(video.nb_read_frames)).toBe(144);
    expect(run.actor.getSnapshot().context.items[0].notices?.some((n) => n.startsWith('rife-v4.6 to 48/1 fps on'))).toBe(true);
    // Source frame 23 → output 46; output 47 would blend 23 and 24 (a cut): it repeats 46 instead.
    const cut = rawFrames(output, [46, 47, 48]);
    expect(meanAbsDiff(cut[0], cut[1])).toBeLessThan(2);
    expect(meanAbsDiff(cut[1], cut[2])).toBeGreaterThan(20);
    // Inside a scene, the model does run: output 21 lies between sources 10 and 11, unlike either.
    const inside = rawFrames(output, [20, 21, 22]);
    expect(meanAbsDiff(inside[0], inside[1])).toBeGreaterThan(0.5);
    expect(meanAbsDiff(inside[1], inside[2])).toBeGreaterThan(0.5);
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
    run.actor.stop();
  });
});
