import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/domain.js';
import { resumeDir } from '../../src/services/checkpoints.js';
import { invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { markedProcesses, waitUntil } from '../helpers/invariants.js';
import { frameMd5s, makeClip, videoStream } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const nearest = nearestModel(dir, 2);
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 2, rate: '24', audio: true });
// Lossless (FFV1): a resumed run's frames compare bit for bit with an uninterrupted one's.
const resumeOptions = (extra: Partial<JobOptions> = {}) => options(tempRoot, { model: nearest, chunk: 8, resume: true, overwrite: true, lossless: true, ...extra });

function segmentsIn(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith('.nut')) : [];
}

async function runToEnd(input: string, output: string, jobOptions: JobOptions) {
  const run = startRun([{ input, output }], jobOptions);
  const result = await run.ended;
  const item = run.actor.getSnapshot().context.items[0];
  expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  run.actor.stop();
  return { item: result.items[0], notices: item.notices ?? [] };
}

async function cancelAfterSegments(input: string, output: string, jobOptions: JobOptions, segments: number) {
  const run = startRun([{ input, output }], jobOptions);
  await run.when((item) => (item.progress?.segment ?? 0) >= segments && item.phase === 'processing');
  run.cancel();
  const result = await run.ended;
  expect(result.items[0].status).toBe('cancelled');
  expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  run.actor.stop();
}

describe('--resume', () => {
  it('after a cancel at half, redoes only what is missing and gives the frames of an uninterrupted run', async () => {
    const reference = join(dir, 'reference.mkv');
    expect((await runToEnd(clip, reference, resumeOptions({ resume: false }))).item.status).toBe('done');

    const output = join(dir, 'resumed.mkv');
    const store = resumeDir(tempRoot, clip, output);
    await cancelAfterSegments(clip, output, resumeOptions(), 3);
    const kept = segmentsIn(store);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(6);
    expect(readdirSync(store).filter((name) => name.endsWith('.part'))).toEqual([]);

    const { item, notices } = await runToEnd(clip, output, resumeOptions());
    expect(item.status).toBe('done');
    expect(notices).toContain(`resuming: ${kept.length} of 6 segments reused`);
    expect(frameMd5s(output)).toEqual(frameMd5s(reference));
    expect(existsSync(store)).toBe(false);
  });

  it('changed options or a changed input drop the checkpoints, saying why', async () => {
    const output = join(dir, 'changed.mkv');
    const store = resumeDir(tempRoot, clip, output);
    await cancelAfterSegments(clip, output, resumeOptions(), 2);
    expect(segmentsIn(store).length).toBeGreaterThanOrEqual(2);
    await cancelAfterSegments(clip, output, resumeOptions({ crf: 30, tile: 16, lossless: undefined }), 1);
    const run = startRun([{ input: clip, output }], resumeOptions({ tile: 32 }));
    await run.when((item) => (item.notices ?? []).some((n) => n.includes('starting over')));
    expect(run.actor.getSnapshot().context.items[0].notices).toContain(`checkpoints in ${store} were made for other options or models: starting over`);
    run.cancel();
    await run.ended;
    run.actor.stop();

    const copy = join(dir, 'copy.mp4');
    copyFileSync(clip, copy);
    const copyOut = join(dir, 'copy-out.mkv');
    await cancelAfterSegments(copy, copyOut, resumeOptions(), 2);
    utimesSync(copy, new Date(), new Date(Date.now() + 5000));
    const { notices } = await runToEnd(copy, copyOut, resumeOptions());
    expect(notices.some((n) => n.endsWith('were made for a different version of the input: starting over'))).toBe(true);
  });

  it('another encoder, preset or quality drops the kept segments: they are in the output\'s codec', async () => {
    const output = join(dir, 'encoder.mkv');
    const store = resumeDir(tempRoot, clip, output);
    const lossy = { lossless: undefined };
    await cancelAfterSegments(clip, output, resumeOptions(lossy), 2);
    expect(segmentsIn(store).length).toBeGreaterThanOrEqual(2);
    for (const changed of [{ preset: 'veryfast' }, { preset: 'veryfast', crf: 24 }, { codec: 'h265' as const }]) {
      const run = startRun([{ input: clip, output }], resumeOptions({ ...lossy, ...changed }));
      await run.when((item) => (item.progress?.segment ?? 0) >= 2 && item.phase === 'processing');
      expect(run.actor.getSnapshot().context.items[0].notices).toContain(`checkpoints in ${store} were made for other options or models: starting over`);
      run.cancel();
      await run.ended;
      run.actor.stop();
    }
    const { item, notices } = await runToEnd(clip, output, resumeOptions({ ...lossy, codec: 'h265' }));
    expect(item.status).toBe('done');
    expect(notices.some((n) => /^resuming: \d of 6 segments reused$/.test(n))).toBe(true);
    expect(videoStream(output).codec_name).toBe('hevc');
  });

  it('a kept segment truncated or altered in place (same size) is redone with a notice, never joined', async () => {
    const reference = join(dir, 'reference-damaged.mkv');
    expect((await runToEnd(clip, reference, resumeOptions({ resume: false }))).item.status).toBe('done');
    const output = join(dir, 'damaged.mkv');
    const store = resumeDir(tempRoot, clip, output);
    await cancelAfterSegments(clip, output, resumeOptions(), 3);
    expect(segmentsIn(store).length).toBeGreaterThanOrEqual(2);
    const [first, second] = segmentsIn(store).sort().map((name) => join(store, name));
    truncateSync(first, Math.floor(statSync(first).size / 2));
    // Bytes flipped in the middle: the size is the same, the frames are not.
    const bytes = readFileSync(second);
    for (let i = bytes.length >> 2; i < (bytes.length >> 2) + 64; i++) bytes[i] ^= 0xff;
    writeFileSync(second, bytes);

    const { item, notices } = await runToEnd(clip, output, resumeOptions());
    expect(item.status).toBe('done');
    expect(notices).toContain(`kept segment(s) 1, 2 in ${store} changed on disk since they were finished: redoing them`);
    expect(frameMd5s(output)).toEqual(frameMd5s(reference));
  });

  it('after SIGKILL of the orchestrator, the same command with --resume picks up', async () => {
    const output = join(dir, 'killed.mkv');
    // About 0.1 s a frame: slow enough to kill it between its third segment and its last.
    const args = ['run', clip, '-o', output, '--model', slowModel(dir, 25), '--chunk', '8', '--resume', '--json', '--temp-dir', tempRoot];
    const first = cli(args);
    expect(await waitUntil(() => /"segment":[2-9]/.test(first.stdoutSoFar()), 30_000)).toBe(true);
    first.child.kill('SIGKILL');
    await first.result;
    expect(await waitUntil(() => markedProcesses(first.marker).length === 0, 1000)).toBe(true);
    const store = resumeDir(tempRoot, clip, output);
    expect(segmentsIn(store).length).toBeGreaterThanOrEqual(2);

    const second = await cli(args).result;
    expect(second.code).toBe(0);
    const notices = jsonEvents(second.stdout).filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices.some((n) => /^resuming: \d of 6 segments reused$/.test(n))).toBe(true);
    expect(existsSync(store)).toBe(false);
  });
});
