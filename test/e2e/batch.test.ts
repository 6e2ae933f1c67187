import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { jobDirs, markedProcesses, partialFiles, waitUntil } from '../helpers/invariants.js';
import { makeClip } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-batch-tmp-'), 'tmp');
const folder = join(dir, 'in');
mkdirSync(folder);
const first = makeClip(dir, 'first.mp4');
const inFolder = [makeClip(folder, 'b.mkv'), makeClip(folder, 'a.mp4')];
const fast = nearestModel(dir);
const slow = slowModel(dir);

describe('several inputs in one run', () => {
  it('a file and a folder to an output folder: a job event per item, then the summary', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const result = await cli(['run', first, folder, '-o', `${out}/`, '--model', fast, '--json', '--temp-dir', tempRoot]).result;
    expect(result.code).toBe(0);
    const jobs = jsonEvents(result.stdout).filter((e) => e.type === 'job');
    expect(jobs.map((j) => [j.input, j.status])).toEqual([
      [first, 'done'],
      [join(folder, 'a.mp4'), 'done'],
      [join(folder, 'b.mkv'), 'done'],
    ]);
    for (const name of ['first.upscaled.mp4', 'a.upscaled.mp4', 'b.upscaled.mkv']) expect(existsSync(join(out, name))).toBe(true);
    expect(jsonEvents(result.stdout).at(-1)).toMatchObject({ type: 'summary', done: 3, exitCode: 0 });
    expect(inFolder).toHaveLength(2);
  });

  it('SIGINT during the first item cancels it and never starts the others: exit 130', async () => {
    const out = join(dir, 'out-cancel');
    mkdirSync(out);
    const run = cli(['run', first, folder, '-o', `${out}/`, '--model', slow, '--json', '--temp-dir', tempRoot]);
    expect(await waitUntil(() => markedProcesses(run.marker).length > 0, 30_000)).toBe(true);
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    const jobs = jsonEvents(result.stdout).filter((e) => e.type === 'job');
    // Events come in the order things happen: the waiting items are skipped at the cancel, before the current one has stopped.
    expect(Object.fromEntries(jobs.map((j) => [j.input, j.status]))).toEqual({
      [first]: 'cancelled',
      [join(folder, 'a.mp4')]: 'skipped',
      [join(folder, 'b.mkv')]: 'skipped',
    });
    expect(jsonEvents(result.stdout).at(-1)).toMatchObject({ type: 'summary', cancelled: 1, skipped: 2, exitCode: 130 });
    expect(markedProcesses(run.marker)).toEqual([]);
    expect(jobDirs(tempRoot)).toEqual([]);
    for (const name of ['first.upscaled.mp4', 'a.upscaled.mp4', 'b.upscaled.mkv']) {
      expect(existsSync(join(out, name))).toBe(false);
      expect(partialFiles(join(out, name))).toEqual([]);
    }
  });

  it('--jobs 2: two items at once, cancel stops both and skips the rest', async () => {
    const out = join(dir, 'out-jobs');
    mkdirSync(out);
    const inputs = [first, ...inFolder, makeClip(dir, 'fourth.mp4')];
    const done = await cli(['run', ...inputs, '-o', `${out}/`, '--model', fast, '--jobs', '2', '--json', '--temp-dir', tempRoot]).result;
    expect(done.code).toBe(0);
    expect(jsonEvents(done.stdout).at(-1)).toMatchObject({ type: 'summary', done: 4 });

    const out2 = join(dir, 'out-jobs-cancel');
    mkdirSync(out2);
    const run = cli(['run', ...inputs, '-o', `${out2}/`, '--model', slow, '--jobs', '2', '--json', '--temp-dir', tempRoot]);
    // Both jobs' hosts are up: two process stages running.
    expect(await waitUntil(() => (run.stdoutSoFar().match(/"actor":"process","path":"active.running"/g) ?? []).length >= 2, 30_000)).toBe(true);
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    const statuses = jsonEvents(result.stdout).filter((e) => e.type === 'job').map((e) => e.status).sort();
    expect(statuses).toEqual(['cancelled', 'cancelled', 'skipped', 'skipped']);
    expect(markedProcesses(run.marker)).toEqual([]);
    expect(jobDirs(tempRoot)).toEqual([]);
  });

  it('a failing item does not stop the others; the run exits 1', async () => {
    const out = join(dir, 'out-fail');
    mkdirSync(out);
    const result = await cli(['run', join(dir, 'missing.mp4'), first, '-o', `${out}/`, '--model', fast, '--json', '--temp-dir', tempRoot]).result;
    const jobs = jsonEvents(result.stdout).filter((e) => e.type === 'job');
    expect(jobs.map((j) => j.status)).toEqual(['failed', 'done']);
    expect(jobs[0].error).toMatch(/input not found/);
    // An item failed and another was done: exit 1 (2 is for a run where nothing could be done).
    expect(result.code).toBe(1);
  });
});
