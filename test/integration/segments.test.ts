import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/domain.js';
import { cancelAndExpectClean, invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { decodeFrames, ffmpeg, frameMd5s, makeClip, makeJoinedClip, probeStreams, psnr, videoPsnr, videoStream } from '../helpers/media.js';
import { blendModel, nearestModel, temporalMeanModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const nearest = nearestModel(dir, 2);
const temporal = temporalMeanModel(dir);
const blend = blendModel(dir);
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 2, rate: '24', audio: true });
const joined = makeJoinedClip(dir, 'joined.mp4', '64x48');
let n = 0;

/** Lossless (FFV1) unless told: segments cut elsewhere then decode to the same pictures, bit for bit. */
async function run(input: string, extra: Partial<JobOptions>, ext = 'mkv') {
  const output = join(dir, `out-${++n}.${ext}`);
  const current = startRun([{ input, output }], options(tempRoot, { model: nearest, lossless: true, ...extra }));
  const result = await current.ended;
  expect(result.items[0].status).toBe('done');
  expect(invariantViolations(current.actor, tempRoot, [output])).toEqual([]);
  current.actor.stop();
  return output;
}

describe('segments join seamlessly', () => {
  it('a per-frame model gives bit-identical frames whole, chunked, in context windows and per scene', async () => {
    const whole = frameMd5s(await run(clip, {}));
    expect(whole).toHaveLength(48);
    expect(frameMd5s(await run(clip, { chunk: 10 }))).toEqual(whole);
    expect(frameMd5s(await run(clip, { mode: 'context', window: 14, overlap: 3 }))).toEqual(whole);
    const joinedWhole = frameMd5s(await run(joined, {}));
    expect(frameMd5s(await run(joined, { scenes: true }))).toEqual(joinedWhole);
    expect(frameMd5s(await run(joined, { scenes: true, chunk: 7 }))).toEqual(joinedWhole);
  });

  it('lossy (x264): whole, chunked, in context windows and per scene decode within 40 dB of each other', async () => {
    // At 128×96 a fractal scene is hard on x264: --crf 16 keeps each encode well above 40 dB.
    const lossy = { lossless: undefined, crf: 16 };
    const whole = await run(clip, lossy, 'mp4');
    expect(videoStream(whole).codec_name).toBe('h264');
    for (const other of [await run(clip, { ...lossy, chunk: 10 }, 'mp4'), await run(clip, { ...lossy, mode: 'context', window: 14, overlap: 3 }, 'mp4')]) {
      const score = videoPsnr(whole, other);
      expect(score.frames).toBe(48);
      expect(score.min).toBeGreaterThanOrEqual(40);
      // Cut elsewhere, the encodes differ: the comparison is not between equal files.
      expect(frameMd5s(other)).not.toEqual(frameMd5s(whole));
    }
    const scenes = videoPsnr(await run(joined, lossy, 'mp4'), await run(joined, { ...lossy, scenes: true, chunk: 7 }, 'mp4'));
    expect(scenes.frames).toBe(72);
    expect(scenes.min).toBeGreaterThanOrEqual(40);
  });

  it('keeps the frame count, the rate, monotonic timestamps and the audio (lossy mp4, B-frames across the joins)', async () => {
    const output = await run(clip, { chunk: 5, lossless: undefined }, 'mp4');
    const video = videoStream(output);
    expect(video.codec_name).toBe('h264');
    expect(Number(video.nb_read_frames)).toBe(48);
    expect(video.r_frame_rate).toBe('24/1');
    expect(probeStreams(output).some((s) => s.codec_type === 'audio')).toBe(true);
    const probe = execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'json', output], { encoding: 'utf8' });
    const times = (JSON.parse(probe) as { frames: { best_effort_timestamp_time: string }[] }).frames.map((f) => Number(f.best_effort_timestamp_time));
    expect(times).toHaveLength(48);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeCloseTo(1 / 24, 2);
  });

  it('interpolation across chunk boundaries blends as if unchunked (the right frame is context)', async () => {
    const whole = frameMd5s(await run(clip, { scale: 1, interpolate: 2, interpolationModel: blend }));
    expect(whole).toHaveLength(96);
    expect(frameMd5s(await run(clip, { scale: 1, interpolate: 2, interpolationModel: blend, chunk: 9 }))).toEqual(whole);
  });
});

describe('temporal models get their neighbourhoods', () => {
  it('a 3-frame model matches a reference computed here, with edges replicated at the ends and at cuts, in both modes', async () => {
    const source = decodeFrames(joined);
    const cuts = new Set([24, 48]);
    const sceneOf = (i: number) => (i < 24 ? [0, 24] : i < 48 ? [24, 48] : [48, 72]);
    const reference = source.frames.map((frame, i) => {
      const [lo, hi] = sceneOf(i);
      const prev = source.frames[Math.max(lo, i - 1)];
      const next = source.frames[Math.min(hi - 1, i + 1)];
      return Uint8Array.from(frame, (v, k) => Math.round(0.25 * prev[k] + 0.5 * v + 0.25 * next[k]));
    });
    expect(cuts.size).toBe(2);
    const chunked = await run(joined, { model: temporal, scenes: true, chunk: 10 });
    const context = await run(joined, { model: temporal, scenes: true, mode: 'context', window: 12, overlap: 2 });
    expect(frameMd5s(context)).toEqual(frameMd5s(chunked));
    const out = decodeFrames(chunked);
    expect(out.frames).toHaveLength(72);
    const scores = out.frames.map((frame, i) => psnr(frame, reference[i]));
    expect(Math.min(...scores)).toBeGreaterThan(30);
    // Not the plain frames: a per-frame pass would be further from the reference at the moving parts
    // (squared errors summed: a still scene's frames equal both, an infinite PSNR).
    const error = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, k) => sum + (v - b[k]) ** 2, 0);
    const total = (other: Uint8Array[]) => out.frames.reduce((sum, frame, i) => sum + error(frame, other[i]), 0);
    expect(total(reference)).toBeLessThan(total(source.frames) / 4);
  });

  it('refuses a context overlap smaller than the model reaches', async () => {
    const output = join(dir, 'narrow.mkv');
    const current = startRun([{ input: clip, output }], options(tempRoot, { model: temporal, mode: 'context', window: 12, overlap: 0 }));
    const result = await current.ended;
    expect(result.items[0]).toMatchObject({ status: 'failed', error: { kind: 'usage' } });
    expect(result.items[0].error?.message).toMatch(/looks 1 frame\(s\) each way; --overlap 0 is less/);
    expect(invariantViolations(current.actor, tempRoot, [output])).toEqual([]);
    current.actor.stop();
  });
});

describe('cancel between and inside segments, and while joining', () => {
  for (const moment of ['between segments', 'inside a segment', 'inside a context window', 'while joining'] as const) {
    it(moment, async () => {
      const output = join(dir, `cancel-${moment.replace(/ /g, '-')}.mkv`);
      const mode: Partial<JobOptions> = moment === 'inside a context window' ? { mode: 'context', window: 16, overlap: 2 } : { chunk: 12 };
      const current = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, ...mode }));
      if (moment === 'between segments') await current.when((item) => item.progress?.segment === 1 && item.progress.done === 12);
      if (moment === 'inside a segment') await current.when((item) => item.progress?.segment === 2 && item.progress.done > 26);
      if (moment === 'inside a context window') await current.when((item) => item.progress?.segment === 1 && item.progress.done > 14);
      if (moment === 'while joining') await current.when((item) => item.phase === 'assembling');
      await cancelAndExpectClean(current, tempRoot, output);
      // Without --resume nothing is kept.
      expect(readdirSync(tempRoot).filter((name) => name.startsWith('resume-'))).toEqual([]);
      current.actor.stop();
    });
  }
});
