import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobOptions, PreviewOptions, ProcessWork } from '../../src/domain.js';
import { decodeArgs, segmentArgs } from '../../src/services/ffmpeg/args.js';
import { latestPanePair, outputSideImages, paneInfo, sourceSideImages, writePaneInfo } from '../../src/services/previews.js';
import { cancelAndExpectClean, invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { jobDirs } from '../helpers/invariants.js';
import { decodeFrames, ffmpeg, frameMd5s, makeClip, psnr } from '../helpers/media.js';
import { blendModel, nearestModel, slowModel, temporalMeanModel } from '../helpers/models.js';
import { toByte, toUnit } from '../../src/hosts/pixel.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 1 });
const source = decodeFrames(clip);
const nearest = nearestModel(dir, 2);
const blend = blendModel(dir);
const temporal = temporalMeanModel(dir);
let n = 0;

async function run(output: string, extra: Partial<JobOptions>) {
  const current = startRun([{ input: clip, output }], options(tempRoot, extra));
  const result = await current.ended;
  expect(invariantViolations(current.actor, tempRoot, [output])).toEqual([]);
  current.actor.stop();
  return result.items[0];
}

/** A full run's output, lossless: x264 at --crf 0 keeps its 4:2:0 frames exactly. */
async function fullRun(extra: Partial<JobOptions>): Promise<string> {
  const output = join(dir, `full-${++n}.mkv`);
  expect((await run(output, { crf: 0, ...extra })).status).toBe('done');
  return output;
}

async function preview(extra: Partial<JobOptions>, picked: Partial<PreviewOptions> = {}): Promise<string> {
  const output = join(dir, `preview-${++n}.png`);
  const item = await run(output, { ...extra, preview: { compare: false, ...picked } });
  expect(item.status, item.error?.message).toBe('done');
  expect(item.frames).toBe(1);
  return output;
}

function picture(png: string) {
  const decoded = decodeFrames(png);
  expect(decoded.frames).toHaveLength(1);
  return { width: decoded.width, height: decoded.height, data: decoded.frames[0] };
}

/** A picture through the final encode's colour conversion (from planar RGB, as the segments are): its 4:2:0 planes. */
function yuvOfPicture(png: string): Buffer {
  return execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', png, '-vf', 'format=gbrp,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1']);
}

/** Frame k of a video, its 4:2:0 planes as decoded. */
function yuvOfFrame(video: string, k: number): Buffer {
  return execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', video, '-vf', `select=eq(n\\,${k})`, '-vsync', 'passthrough', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1']);
}

/** The preview against the full run's frame k: the same pixels (exact where `exact`), ≥ 50 dB in any case. */
function expectSameAsFullRun(png: string, full: string, k: number, exact: boolean): void {
  const a = yuvOfPicture(png);
  const b = yuvOfFrame(full, k);
  expect(a.length).toBe(b.length);
  expect(psnr(a, b)).toBeGreaterThanOrEqual(50);
  if (exact) expect(a.equals(b)).toBe(true);
}

function nearestReference(frame: Uint8Array, width: number, height: number, scale: number): Buffer {
  const out = Buffer.alloc(width * scale * height * scale * 3);
  for (let y = 0; y < height * scale; y++) {
    for (let x = 0; x < width * scale; x++) {
      const from = (Math.floor(y / scale) * width + Math.floor(x / scale)) * 3;
      out.set(frame.subarray(from, from + 3), (y * width * scale + x) * 3);
    }
  }
  return out;
}

const f = Math.fround;

/** blendModel at t, each float32 operation as onnxruntime does it. */
function blendReference(a: Uint8Array, b: Uint8Array, t: number): Buffer {
  return Buffer.from(a.map((_, i) => toByte(f(f(toUnit(a[i]) * f(1 - t)) + f(toUnit(b[i]) * f(t))))));
}

/** temporalMeanModel: 0.25·prev + 0.5·this + 0.25·next, edges replicated. */
function temporalReference(frames: readonly Uint8Array[], i: number): Buffer {
  const prev = frames[Math.max(0, i - 1)];
  const next = frames[Math.min(frames.length - 1, i + 1)];
  const cur = frames[i];
  return Buffer.from(cur.map((_, p) => toByte(f(f(f(toUnit(prev[p]) * 0.25) + f(toUnit(cur[p]) * 0.5)) + f(toUnit(next[p]) * 0.25)))));
}

describe('upframe preview: one frame through the run\'s own chain', () => {
  it('upscaling: the model\'s frame at that position, the same as in a full run (the middle frame by default)', async () => {
    const full = await fullRun({ model: nearest });
    const middle = await preview({ model: nearest });
    const shot = picture(middle);
    expect([shot.width, shot.height]).toEqual([128, 96]);
    expect(shot.data.equals(nearestReference(source.frames[12], 64, 48, 2))).toBe(true);
    expectSameAsFullRun(middle, full, 12, true);
    const seventh = await preview({ model: nearest }, { frame: 7 });
    expect(picture(seventh).data.equals(nearestReference(source.frames[7], 64, 48, 2))).toBe(true);
    expectSameAsFullRun(seventh, full, 7, true);
  });

  it('interpolation: a frame between two source frames (--at), as the full run makes it', async () => {
    const settings = { scale: 1 as const, interpolate: 2 as const, interpolationModel: blend };
    const full = await fullRun(settings);
    // 0.4 s at 48 fps is output frame 19: halfway between source frames 9 and 10.
    const between = await preview(settings, { atSec: 0.4 });
    const shot = picture(between);
    expect(psnr(shot.data, blendReference(source.frames[9], source.frames[10], 0.5))).toBe(Number.POSITIVE_INFINITY);
    expectSameAsFullRun(between, full, 19, true);
    // A copy slot (t = 0) is the source frame itself.
    expect(picture(await preview(settings, { frame: 20 })).data.equals(source.frames[10])).toBe(true);
  });

  it('upscale then interpolate, in chunks: the frame after a chunk boundary matches the chunked run', async () => {
    const settings = { model: nearest, interpolate: 2 as const, interpolationModel: blend, chunk: 8 };
    const full = await fullRun(settings);
    for (const k of [17, 15]) {
      const shot = await preview(settings, { frame: k });
      expectSameAsFullRun(shot, full, k, true);
    }
  });

  it('a temporal model: its neighbours are decoded, edges replicated as in the run', async () => {
    const full = await fullRun({ model: temporal });
    for (const k of [0, 10, 23]) {
      const shot = await preview({ model: temporal }, { frame: k });
      expect(picture(shot).data.equals(temporalReference(source.frames, k))).toBe(true);
      expectSameAsFullRun(shot, full, k, true);
    }
  });

  it('--compare: before | after at the output\'s size, the before enlarged by nearest neighbour', async () => {
    const plain = picture(await preview({ model: nearest }, { frame: 5 }));
    const compared = picture(await preview({ model: nearest }, { frame: 5, compare: true }));
    expect([compared.width, compared.height]).toEqual([2 * plain.width, plain.height]);
    const half = (x0: number) => {
      const rows = Array.from({ length: plain.height }, (_, y) => compared.data.subarray((y * compared.width + x0) * 3, (y * compared.width + x0 + plain.width) * 3));
      return Buffer.concat(rows);
    };
    expect(half(0).equals(nearestReference(source.frames[5], 64, 48, 2))).toBe(true);
    expect(half(plain.width).equals(plain.data)).toBe(true);
  });

  it('the command: -o writes the PNG and exits 0; without -o off a terminal the path is printed and the file kept', async () => {
    const output = join(dir, 'cli.png');
    const result = await cli(['preview', clip, '--model', nearest, '--frame', '3', '-o', output, '--temp-dir', tempRoot]).result;
    expect(result.code).toBe(0);
    expect(picture(output).data.equals(nearestReference(source.frames[3], 64, 48, 2))).toBe(true);
    const shown = await cli(['preview', clip, '--model', nearest, '--temp-dir', tempRoot]).result;
    expect(shown.code).toBe(0);
    const printed = /(\S+\.png) \(128×96 PNG\)/.exec(shown.stdout);
    expect(printed, shown.stdout).not.toBeNull();
    expect(existsSync(printed![1])).toBe(true);
    expect(jobDirs(tempRoot)).toEqual([]);
  });

  for (const [name, args, pattern] of [
    ['a frame past the end', ['--frame', '24'], /--frame 24 does not exist: the output has frames 0–23 \(1 s at 24 fps\)/],
    ['a time past the end', ['--at', '1.5'], /--at 1.5 is past the end: the output has frames 0–23/],
    ['an output that is not PNG', ['-o', 'x.mp4'], /a preview is written as PNG/],
  ] as const) {
    it(`bad input, ${name}: exit 2, one line, nothing created`, async () => {
      const before = readdirSync(dir).sort();
      const output = (args as readonly string[]).includes('-o') ? [] : ['-o', join(dir, `bad-${++n}.png`)];
      const result = await cli(['preview', clip, '--model', nearest, ...args, ...output, '--temp-dir', tempRoot]).result;
      expect(result.code).toBe(2);
      const errors = result.stderr.split('\n').filter((line) => line.startsWith('upframe:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(pattern);
      expect(readdirSync(dir).sort()).toEqual(before);
      expect(jobDirs(tempRoot)).toEqual([]);
    });
  }

  it('cancel during a preview: as for any job (idle at once, no process, no file, no partial)', async () => {
    const output = join(dir, 'cancelled.png');
    const ownRoot = join(dir, 'cancel-tmp');
    const current = startRun([{ input: clip, output }], options(ownRoot, { model: slowModel(dir), preview: { compare: true } }));
    await current.when((item) => item.phase === 'processing');
    await new Promise((r) => setTimeout(r, 500));
    await cancelAndExpectClean(current, ownRoot, output);
    expect(readdirSync(ownRoot)).toEqual([]);
    current.actor.stop();
  });
});

describe('the preview pane\'s pictures (written by the decoder and the encoder)', () => {
  it('leave the run\'s output unchanged', async () => {
    const plain = await fullRun({ model: nearest });
    const withPictures = await fullRun({ model: nearest, previews: { width: 32, height: 24 } });
    expect(frameMd5s(withPictures)).toEqual(frameMd5s(plain));
  });

  /**
   * decode → (a stand-in for the hosts) → encode, with the pictures on: each output picture j shows
   * exactly its source picture j. The stand-in passes frames on (upscaling) or shows each twice (2×
   * interpolation that copies the left frame), so a pair of the right frames holds the same picture.
   */
  for (const interpolate of [undefined, 2] as const) {
    it(`pair each output frame with its own source frame${interpolate ? ' (2× interpolation)' : ''}`, async () => {
      // 4 fps: a picture every 2 output frames (4 with 2×), so a segment of 8 frames holds 4 of them.
      const input = makeClip(dir, `pane-${interpolate ?? 1}.mp4`, { size: '64x48', seconds: 6, rate: '4' });
      const jobDir = join(dir, `pane-job-${interpolate ?? 1}`);
      mkdirSync(jobDir);
      const rate = { num: 4, den: 1 };
      const outRate = { num: 4 * (interpolate ?? 1), den: 1 };
      const work = {
        id: 'pane', input, output: join(dir, 'unused.mp4'), jobDir,
        options: { device: 'cpu', overwrite: false, tempRoot, previews: { width: 32, height: 24 } },
        plan: {
          media: { width: 64, height: 48, rotation: 0, frameRate: rate, frameCount: 24, durationSec: 6, pixFmt: 'yuv420p', audioCodecs: [], subtitleCodecs: [], formatName: 'mp4' },
          steps: interpolate ? ['interpolate'] : ['upscale'],
          interpolation: interpolate ? { model: { name: 'x', path: 'x', tile: { multiple: 1, minSize: 1, defaultSize: 0, overlap: 0 }, origin: 'file' }, outRate, outputFrames: 48 } : undefined,
        },
      } as unknown as ProcessWork;
      writePaneInfo(jobDir, paneInfo(work));
      // The second of three segments: frames 8–15, with context 6–17 decoded.
      const segment = { index: 1, start: 8, end: 16, decodeStart: 6, decodeEnd: 18, rightFrame: false };
      const range = interpolate ? { from: 16, to: 32 } : { from: 8, to: 16 };
      const decode = spawn(ffmpeg.ffmpeg, decodeArgs(input, { range: { start: 6, end: 18 }, side: sourceSideImages(work, segment, range) }), { stdio: ['ignore', 'pipe', 'inherit'] });
      // The stand-in drops the context frames (2 each side) and, for 2×, writes each frame twice.
      const frame = 64 * 48 * 3;
      const kept = (await new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        decode.stdout.on('data', (c: Buffer) => chunks.push(c));
        decode.on('close', () => resolve(Buffer.concat(chunks)));
      })).subarray(2 * frame, 10 * frame);
      const frames = Array.from({ length: 8 }, (_, i) => kept.subarray(i * frame, (i + 1) * frame)).flatMap((one) => (interpolate ? [one, one] : [one]));
      execFileSync(ffmpeg.ffmpeg, segmentArgs({ width: 64, height: 48, rate: outRate }, join(jobDir, 'segment.nut'), outputSideImages(work, range, { width: 64, height: 48 })), { input: Buffer.concat(frames) });
      const names = readdirSync(jobDir);
      const numbers = (kind: string) => names.filter((name) => name.startsWith(`${kind}-`)).map((name) => Number(/\d+/.exec(name)![0])).sort((a, b) => a - b);
      const info = paneInfo(work);
      // Every picture of an output frame in the segment, numbered by j (k = j·every + offset); one source picture each.
      const expected = Array.from({ length: range.to - range.from }, (_, i) => range.from + i).filter((k) => k >= info.offset && (k - info.offset) % info.every === 0).map((k) => (k - info.offset) / info.every);
      expect(expected.length).toBeGreaterThanOrEqual(2);
      expect(numbers('out')).toEqual(expected);
      expect(numbers('src')).toEqual(expected);
      for (const j of expected) {
        const read = (kind: string) => execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', join(jobDir, `${kind}-${j}.ppm`), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
        expect(read('out').equals(read('src')), `picture ${j}`).toBe(true);
      }
      const pair = await latestPanePair(jobDir);
      const last = expected.at(-1)!;
      expect(pair?.frame).toBe(last * info.every + info.offset);
      expect(pair?.sourceFrame).toBe(Math.floor((pair!.frame * rate.num) / outRate.num));
      expect(pair?.output.width).toBeLessThanOrEqual(32);
      expect(readdirSync(jobDir).filter((name) => name.endsWith('.ppm')).sort()).toEqual([`out-${last}.ppm`, `src-${last}.ppm`]);
    });
  }
});
