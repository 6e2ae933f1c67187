import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { jobDirs } from '../helpers/invariants.js';
import { makeClip } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

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

  it('a temp dir that cannot be made', async () => {
    const file = join(scratchDir('upframe-e2e-file-'), 'plain-file');
    writeFileSync(file, 'x');
    const result = await cli(['run', clip, '-o', join(dir, 'o12.mp4'), '--temp-dir', join(file, 'sub')]).result;
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^upframe: cannot create the work folder: .*plain-file\/sub\/job-\S+ \(choose another --temp-dir\)$/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('--device cuda without CUDA says so and exits 2', async () => {
    await expectRejected([clip, '-o', join(dir, 'o11.mp4'), '--device', 'cuda', '--model', model], /CUDA is not available.*--device cpu/);
  });
});
