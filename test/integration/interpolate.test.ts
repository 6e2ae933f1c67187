import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/domain.js';
import { cancelAndExpectClean, invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { makeClip, probeStreams, videoStream } from '../helpers/media.js';
import { blendModel, nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const blend = blendModel(dir);
const slowBlend = blendModel(dir, 600);
const nearest = nearestModel(dir, 2);
let n = 0;

async function run(input: string, extra: Partial<JobOptions>) {
  const output = join(dir, `out-${++n}.mp4`);
  const current = startRun([{ input, output }], options(tempRoot, { interpolationModel: blend, ...extra }));
  const result = await current.ended;
  expect(invariantViolations(current.actor, tempRoot, [output])).toEqual([]);
  current.actor.stop();
  return { item: result.items[0], output };
}

function seconds(value: string | undefined): number {
  return Number(value ?? NaN);
}

describe('interpolation in the pipeline (real ffmpeg, real onnxruntime)', () => {
  it('24 → 48 with --scale 1: twice the frames, exact rate, same duration, audio kept', async () => {
    const input = makeClip(dir, 'a24.mp4', { size: '64x48', seconds: 1, rate: '24', audio: true });
    const { item, output } = await run(input, { scale: 1, interpolate: 2 });
    expect(item.status).toBe('done');
    const video = videoStream(output);
    expect(video.r_frame_rate).toBe('48/1');
    expect(Number(video.nb_read_frames)).toBe(48);
    expect([video.width, video.height]).toEqual([64, 48]);
    expect(Math.abs(seconds(video.duration) - 1)).toBeLessThanOrEqual(1 / 24);
    expect(probeStreams(output).some((s) => s.codec_type === 'audio')).toBe(true);
  });

  it('23.976 → 47.952 and 25 → 60 (--fps)', async () => {
    const ntsc = makeClip(dir, 'ntsc.mp4', { seconds: 1, rate: '24000/1001' });
    const doubled = await run(ntsc, { scale: 1, interpolate: 2 });
    expect(videoStream(doubled.output).r_frame_rate).toBe('48000/1001');
    expect(Number(videoStream(doubled.output).nb_read_frames)).toBe(2 * Number(videoStream(ntsc).nb_read_frames));

    const pal = makeClip(dir, 'pal.mp4', { seconds: 1, rate: '25' });
    const sixty = await run(pal, { scale: 1, fps: { num: 60, den: 1 } });
    expect(videoStream(sixty.output).r_frame_rate).toBe('60/1');
    expect(Number(videoStream(sixty.output).nb_read_frames)).toBe(60);
  });

  for (const order of ['upscale-first', 'interpolate-first'] as const) {
    it(`upscale ×2 and interpolate ×2, ${order}`, async () => {
      const input = makeClip(dir, `both-${order}.mp4`, { size: '64x48', seconds: 0.5, rate: '24' });
      const { item, output } = await run(input, { model: nearest, interpolate: 2, order });
      expect(item.status).toBe('done');
      const video = videoStream(output);
      expect([video.width, video.height]).toEqual([128, 96]);
      expect(Number(video.nb_read_frames)).toBe(24);
    });
  }

  it('cancel mid-interpolation (a slow model) reaches idle within the bound, clean', async () => {
    const input = makeClip(dir, 'slow.mp4', { size: '64x48', seconds: 1, rate: '24' });
    const output = join(dir, 'slow-out.mp4');
    const current = startRun([{ input, output }], options(tempRoot, { scale: 1, interpolate: 2, interpolationModel: slowBlend }));
    await current.when((item) => item.stage === 'interpolate' && item.progress !== undefined);
    await new Promise((r) => setTimeout(r, 300));
    await cancelAndExpectClean(current, tempRoot, output);
    current.actor.stop();
  });

  it('cancel during an upscale + interpolate run, at the start and mid-stream', async () => {
    const input = makeClip(dir, 'both-cancel.mp4', { size: '64x48', seconds: 2, rate: '24' });
    for (const wait of ['start', 'stream'] as const) {
      const output = join(dir, `both-cancel-${wait}.mp4`);
      const current = startRun([{ input, output }], options(tempRoot, { model: nearest, interpolate: 2, interpolationModel: slowBlend }));
      if (wait === 'stream') await current.when((item) => item.stage === 'upscale+interpolate' && item.progress !== undefined);
      current.cancel();
      const result = await current.ended;
      expect(result.items[0].status).toBe('cancelled');
      expect(invariantViolations(current.actor, tempRoot, [output])).toEqual([]);
      current.actor.stop();
    }
  });
});

describe('interpolation bad input', () => {
  const clip = join(dir, 'bad-src.mp4');
  it('--interpolate 3, --fps 0, --fps below the source, both at once: one line, exit 2', async () => {
    makeClip(dir, 'bad-src.mp4', { rate: '24' });
    const cases: [string[], RegExp][] = [
      [['--interpolate', '3'], /--interpolate.*3/],
      [['--fps', '0'], /--fps expects a frame rate above 0/],
      [['--fps', '12'], /--fps 12 is below the source's 24 fps/],
      [['--fps', '60', '--interpolate', '2'], /both set the output rate/],
      [['--scale', '1'], /nothing to do/],
    ];
    for (const [flags, pattern] of cases) {
      const result = await cli(['run', clip, '-o', join(dir, 'bad-out.mp4'), '--interpolation-model', blend, '--temp-dir', tempRoot, ...flags]).result;
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('upframe:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(existsSync(join(dir, 'bad-out.mp4'))).toBe(false);
    }
  });
});
