import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { jobDirs } from '../helpers/invariants.js';
import { ffmpeg, makeClip } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';
import { KNOWN_ENCODERS, usableEncoders, VAAPI_DEVICE } from '../../src/services/ffmpeg/encoders.js';
import { halvingRestorer, positionRestorer } from '../helpers/face-models.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-e2e-tmp-'), 'tmp');
const clip = makeClip(dir, 'ok.mp4');
const model = nearestModel(dir);

function snapshotDir(): Record<string, number> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, statSync(join(dir, name)).mtimeMs]));
}

async function expectRejected(args: string[], pattern: RegExp, code = 2) {
  const before = snapshotDir();
  const result = await cli(['run', ...args, '--temp-dir', tempRoot]).result;
  const lines = result.stderr.trim().split('\n');
  const error = lines.filter((l) => l.startsWith('upframe:'));
  expect(result.code).toBe(code);
  expect(error).toHaveLength(1);
  expect(error[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(snapshotDir()).toEqual(before);
  expect(jobDirs(tempRoot)).toEqual([]);
  return error[0];
}

describe('bad input: one line, exit 2, nothing created or changed', () => {
  it('missing input file', async () => {
    await expectRejected([join(dir, 'nope.mp4'), '-o', join(dir, 'o1.mp4')], /input not found: .*nope\.mp4 \(check the path\)/);
  });

  it('a file that is not a video', async () => {
    const text = join(dir, 'notes.mp4');
    writeFileSync(text, 'this is not a video\n'.repeat(20));
    await expectRejected([text, '-o', join(dir, 'o2.mp4')], /not a readable video: .*notes\.mp4/);
  });

  it('a zero-length file', async () => {
    const empty = join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    await expectRejected([empty, '-o', join(dir, 'o3.mp4')], /empty.*empty\.mp4/);
  });

  it('a truncated video', async () => {
    const truncated = join(dir, 'truncated.mp4');
    const bytes = readFileSync(makeClip(dir, 'whole.mp4', { seconds: 2 }));
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 3)));
    await expectRejected([truncated, '-o', join(dir, 'o4.mp4')], /truncated\.mp4/);
  });

  it('an unknown model name', async () => {
    await expectRejected([clip, '-o', join(dir, 'o5.mp4'), '--model', 'no-such-model'], /unknown model "no-such-model".*models list/);
  });

  it('a model file that is not ONNX', async () => {
    const bogus = join(dir, 'bogus.onnx');
    writeFileSync(bogus, 'not a model');
    await expectRejected([clip, '-o', join(dir, 'o6.mp4'), '--model', bogus], /not a valid ONNX model: .*bogus\.onnx/);
  });

  it('an output folder that is not writable', async () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    // root writes anywhere: the check falls back to a folder that does not exist
    const target = process.getuid?.() === 0 ? join(dir, 'missing-folder', 'o7.mp4') : join(locked, 'o7.mp4');
    await expectRejected([clip, '-o', target], /output folder (is not writable|does not exist)/);
  });

  it('an output that exists, without --overwrite', async () => {
    const existing = join(dir, 'existing.mp4');
    copyFileSync(clip, existing);
    await expectRejected([clip, '-o', existing], /already exists: .*existing\.mp4 \(pass --overwrite/);
  });

  it('the output is the input', async () => {
    await expectRejected([clip, '-o', clip, '--overwrite'], /the output is the input/);
  });

  it('bad flags and unknown extensions', async () => {
    await expectRejected([clip, '-o', join(dir, 'o8.avi')], /unsupported output extension.*\.mp4, \.mkv/);
    await expectRejected([clip, '-o', join(dir, 'o9.mp4'), '--scale', '3'], /--scale/);
    await expectRejected([clip, '-o', join(dir, 'o10.mp4'), '--tile', 'abc'], /--tile expects an integer/);
    await expectRejected([clip], /no output given/);
  });

  it('encoder flags: an encoder this ffmpeg lacks, --crf or --preset outside the encoder\'s, a codec the container cannot hold', async () => {
    const has = usableEncoders();
    const listed = new RegExp(`not one this ffmpeg has \\(this ffmpeg has: ${has.join(', ')}\\)$`);
    await expectRejected([clip, '-o', join(dir, 'e1.mp4'), '--encoder', 'no-such-encoder'], listed);
    const lacking = KNOWN_ENCODERS.find((name) => !has.includes(name));
    if (lacking) await expectRejected([clip, '-o', join(dir, 'e2.mkv'), '--encoder', lacking], listed);
    await expectRejected([clip, '-o', join(dir, 'e3.mp4'), '--crf', '60'], /--crf 60 is outside libx264's range 0–51 \(give --crf 0 to 51/);
    await expectRejected([clip, '-o', join(dir, 'e4.mp4'), '--preset', 'turbo'], /--preset turbo is not a libx264 preset \(give one of: ultrafast, .*placebo\)$/);
    await expectRejected([clip, '-o', join(dir, 'e5.webm'), '--preset', 'medium'], /--preset medium is not a libvpx-vp9 preset \(give one of: 0, 1, /);
    await expectRejected([clip, '-o', join(dir, 'e6.mp4'), '--codec', 'ffv1'], /^upframe: ffv1 cannot go into mp4: .*e6\.mp4 \(write \.mov, \.mkv/);
    await expectRejected([clip, '-o', join(dir, 'e7.webm'), '--codec', 'h264'], /h264 cannot go into webm: .*e7\.webm/);
    await expectRejected([clip, '-o', join(dir, 'e8.mkv'), '--codec', 'mpeg2'], /--codec expects h264 or h265 or vp9 or av1 or ffv1, got "mpeg2"/);
    await expectRejected([clip, '-o', join(dir, 'e9.mkv'), '--codec', 'vp9', '--encoder', 'libx264'], /--encoder libx264 makes h264, not --codec vp9/);
    await expectRejected([clip, '-o', join(dir, 'e10.mkv'), '--codec', 'ffv1', '--crf', '10'], /--crf does not apply to ffv1: it is lossless/);
    // This ffmpeg lists VAAPI encoders; without a render node they cannot run.
    if (has.includes('h264_vaapi') && !existsSync(VAAPI_DEVICE)) {
      await expectRejected([clip, '-o', join(dir, 'e11.mp4'), '--encoder', 'h264_vaapi'], /^upframe: --encoder h264_vaapi needs a VAAPI render node \(\/dev\/dri\/renderD128\), and this machine has none \(use a GPU whose driver exposes it, or another encoder; this ffmpeg has: /);
    }
  });

  it('--lossless where no lossless codec fits, or with a lossy setting', async () => {
    await expectRejected([clip, '-o', join(dir, 'l1.webm'), '--lossless'], /--lossless: webm holds no lossless codec upframe writes: .*l1\.webm \(write \.mkv \(FFV1\), \.mp4 or \.mov/);
    await expectRejected([clip, '-o', join(dir, 'l2.mkv'), '--lossless', '--crf', '18'], /--crf 18 sets a lossy quality and --lossless keeps every pixel/);
    await expectRejected([clip, '-o', join(dir, 'l3.mkv'), '--lossless', '--codec', 'vp9'], /--lossless writes h264 \(x264 -qp 0, RGB\) or ffv1, not vp9/);
    await expectRejected([clip, '-o', join(dir, 'l4.mkv'), '--lossless', '--codec', 'ffv1', '--preset', 'fast'], /ffv1 has no presets/);
  });

  it('a temp dir that cannot be made', async () => {
    const file = join(scratchDir('upframe-e2e-file-'), 'plain-file');
    writeFileSync(file, 'x');
    const result = await cli(['run', clip, '-o', join(dir, 'o12.mp4'), '--temp-dir', join(file, 'sub')]).result;
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^upframe: cannot create the work folder: .*plain-file\/sub\/job-\S+ \(choose another --temp-dir\)$/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('--device cuda without CUDA says so and exits 2', async () => {
    await expectRejected([clip, '-o', join(dir, 'o11.mp4'), '--device', 'cuda', '--model', model], /--device cuda cannot start: .*CUDA provider library is not installed.*or use --device auto/);
  });

  it('face restoration: a strength out of range, a restorer not imported, one of the wrong shape, a detector that is not one', async () => {
    const restorer = positionRestorer(dir, { size: 256 });
    const wrongShape = halvingRestorer(dir);
    await expectRejected([clip, '-o', join(dir, 'f1.mp4'), '--face-restore', restorer, '--face-strength', '2'], /--face-strength expects a number from 0 to 1, got "2"/);
    await expectRejected([clip, '-o', join(dir, 'f2.mp4'), '--face-strength', '0.5'], /--face-strength tunes face restoration, which is not asked for/);
    await expectRejected([clip, '-o', join(dir, 'f3.mp4'), '--face-restore', 'no-such-restorer'], /no face-restore model named "no-such-restorer" is imported \(import it first: upframe models import FILE\.onnx --kind face-restore/);
    await expectRejected([clip, '-o', join(dir, 'f4.mp4'), '--model', model, '--face-restore', wrongShape], /not a face restorer \(a 512×512 crop came back as float32 \[1,3,256,256\]\): .*halving-restorer\.onnx/);
    await expectRejected([clip, '-o', join(dir, 'f5.mp4'), '--model', model, '--face-restore', restorer, '--face-detector', model], /not a face detector of BlazeFace's layout \(input \[1,3,height,width\], expected \[1,S,S,3\]\): .*nearest-x2\.onnx/);
  });
});

describe('an MPEG-TS source', () => {
  it('is processed with whichever ffmpeg upframe finds (the npm-shipped ffprobe crashed on it before)', async () => {
    const ts = join(dir, 'broadcast.ts');
    execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25:duration=0.4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', ts]);
    const output = join(dir, 'broadcast.mp4');
    const result = await cli(['run', ts, '-o', output, '--model', model, '--temp-dir', tempRoot]).result;
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(output)).toBe(true);
  });
});
