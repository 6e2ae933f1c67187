import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resumeDir } from '../../src/services/checkpoints.js';
import { scratchDir } from '../helpers/app.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { cannotMountTmpfs, mountSmallDisk, unmount, upframeLeftovers } from '../helpers/disk.js';
import { jobDirs, markedProcesses, waitUntil } from '../helpers/invariants.js';
import { frameMd5s, makeClip } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-faults-output-tmp-'), 'tmp');
const fast = nearestModel(dir);
// ×2 gives 640×480: an mp4 of about 400 KB, an mkv a little more.
const wide = makeClip(dir, 'wide.mkv', { size: '320x240', seconds: 3, audio: true });
// 12 frames through a slow model: a run still working seconds after its host starts.
const small = makeClip(dir, 'small.mkv', { size: '64x48', seconds: 0.5 });

function hostRuns(marker: string): boolean {
  return markedProcesses(marker).some((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('hosts/upscale');
    } catch {
      return false;
    }
  });
}

/** The lines upframe printed as errors: a failure is exactly one, with no stack trace. */
function errorLines(result: CliResult): string[] {
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result.stderr.split('\n').filter((line) => line.startsWith('upframe:'));
}

describe('a full output disk is a failure, never a broken file', () => {
  const why = cannotMountTmpfs(join(dir, 'mount-probe'));
  for (const { size, name } of [
    { size: '300k', name: 'out.mp4' },
    { size: '200k', name: 'out.mkv' },
  ]) {
    it.skipIf(why !== undefined)(`${name} on a ${size} tmpfs: exit 1, one line naming the folder and the space, nothing left${why ? ` (skipped: cannot mount a tmpfs: ${why})` : ''}`, async () => {
      const folder = join(dir, `disk-${size}`);
      expect(mountSmallDisk(folder, size)).toBeUndefined();
      onTestFinished(() => unmount(folder));
      const output = join(folder, name);
      const run = cli(['run', wide, '-o', output, '--model', fast, '--temp-dir', tempRoot]);
      const result = await run.result;
      expect(result.code).toBe(1);
      const lines = errorLines(result);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^upframe: not enough space to write the output in: ${folder} \\(about [\\d.]+ [KMG]B needed, [\\d.]+ [KMG]B free; free some space there or choose another folder\\)$`));
      expect(readdirSync(folder)).toEqual([]);
      expect(jobDirs(tempRoot)).toEqual([]);
      expect(markedProcesses(run.marker)).toEqual([]);
    });
  }
});

describe('a full temp disk is a failure too', () => {
  const why = cannotMountTmpfs(join(dir, 'mount-probe-tmp'));
  // Lossless segments (x264 -qp 0, RGB): a few MB, so the disk fills inside the first segment.
  it.skipIf(why !== undefined)(`segments on a 300k tmpfs: exit 1, one line naming the temp folder and the space needed, nothing left${why ? ` (skipped: cannot mount a tmpfs: ${why})` : ''}`, async () => {
    const temp = join(dir, 'small-temp');
    expect(mountSmallDisk(temp, '300k')).toBeUndefined();
    onTestFinished(() => unmount(temp));
    const output = join(dir, 'temp-full.mp4');
    const run = cli(['run', wide, '-o', output, '--model', fast, '--lossless', '--temp-dir', temp]);
    const result = await run.result;
    expect(result.code).toBe(1);
    const lines = errorLines(result);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^upframe: not enough space to write the segments in: ${temp}/job-\\S+ \\(about [\\d.]+ [KMG]B needed, [\\d.]+ [KMG]B free; free some space there or choose another --temp-dir\\)$`));
    expect(readdirSync(temp)).toEqual([]);
    expect(existsSync(output)).toBe(false);
    expect(upframeLeftovers(dir)).toEqual([]);
    expect(markedProcesses(run.marker)).toEqual([]);
  });
});

describe('a temp disk that fills with --resume keeps the finished segments', () => {
  const why = cannotMountTmpfs(join(dir, 'mount-probe-resume'));
  // Lossless segments of 12 frames at 640×480 are about 230 KB: two fit in 600k, the third does not.
  // Of 18 frames (a run through one encoder) about 345 KB: two fit in 900k.
  for (const { chunk, size, segments } of [{ chunk: 12, size: '600k', segments: 6 }, { chunk: 18, size: '900k', segments: 4 }]) {
  it.skipIf(why !== undefined)(`--chunk ${chunk}: exit 1, one line naming the resume folder; the kept segments are whole and recorded${why ? ` (skipped: cannot mount a tmpfs: ${why})` : ''}`, async () => {
    const temp = join(dir, `small-resume-temp-${chunk}`);
    expect(mountSmallDisk(temp, size)).toBeUndefined();
    onTestFinished(() => unmount(temp));
    const output = join(dir, `resume-full-${chunk}.mp4`);
    const run = cli(['run', wide, '-o', output, '--model', fast, '--lossless', '--chunk', String(chunk), '--resume', '--temp-dir', temp]);
    const result = await run.result;
    expect(result.code).toBe(1);
    const store = resumeDir(temp, wide, output);
    const lines = errorLines(result);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^upframe: not enough space to write the segments in: ${store} \\(about [\\d.]+ [KMG]B needed, [\\d.]+ [KMG]B free; free some space there or choose another --temp-dir\\)$`));
    expect(existsSync(output)).toBe(false);
    expect(upframeLeftovers(dir)).toEqual([]);
    expect(markedProcesses(run.marker)).toEqual([]);
    expect(jobDirs(temp)).toEqual([]);
    const names = readdirSync(store).sort();
    expect(names.filter((name) => name.endsWith('.part'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(store, 'manifest.json'), 'utf8')) as { segments: Record<string, { frames: number; size: number }> };
    const kept = Object.keys(manifest.segments);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(segments);
    for (const index of kept) {
      const file = join(store, `segment-${index.padStart(5, '0')}.nut`);
      expect(statSync(file).size).toBe(manifest.segments[index].size);
      expect(frameMd5s(file)).toHaveLength(chunk);
    }
    expect(names.filter((name) => name.endsWith('.nut'))).toHaveLength(kept.length);
  });
  }
});

describe('one output, one run at a time', () => {
  it('a second run on an output being written refuses at once naming the first; the first finishes whole (with and without --resume)', { timeout: 120_000 }, async () => {
    const output = join(dir, 'shared.mp4');
    const slow = slowModel(dir, 60);
    const first = cli(['run', small, '-o', output, '--model', slow, '--chunk', '6', '--resume', '--temp-dir', tempRoot]);
    // The first is working: its upscale host runs.
    expect(await waitUntil(() => hostRuns(first.marker), 30_000)).toBe(true);
    for (const extra of [[], ['--resume']]) {
      const startedAt = Date.now();
      const second = await cli(['run', small, '-o', output, '--model', slow, '--chunk', '6', ...extra, '--temp-dir', tempRoot]).result;
      expect(second.code).toBe(2);
      expect(errorLines(second)).toEqual([
        `upframe: another upframe run (pid ${first.child.pid}) is already writing the output: ${output} (wait for it to end, or choose another output)`,
      ]);
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(first.child.exitCode).toBeNull();
    }
    const result = await first.result;
    expect(result.code).toBe(0);
    expect(frameMd5s(output)).toHaveLength(12);
    expect(upframeLeftovers(dir)).toEqual([]);
    expect(readdirSync(tempRoot).filter((name) => name.startsWith('resume-') || name.startsWith('job-'))).toEqual([]);
  });
});

describe('leftovers of a killed orchestrator', () => {
  it('SIGKILL while assembling leaves a partial file; the next run to that folder removes it, says so, and writes the output', async () => {
    const folder = join(dir, 'killed');
    const output = join(folder, 'out.mp4');
    mkdirSync(folder);
    const killed = cli(['run', wide, '-o', output, '--model', fast, '--temp-dir', tempRoot]);
    expect(await waitUntil(() => readdirSync(folder).some((name) => name.includes('.upframe-partial-')), 60_000, 5)).toBe(true);
    killed.child.kill('SIGKILL');
    await killed.result;
    const [left] = readdirSync(folder).filter((name) => name.includes('.upframe-partial-'));
    expect(left).toBeDefined();
    expect(existsSync(output)).toBe(false);

    const next = await cli(['run', wide, '-o', output, '--model', fast, '--temp-dir', tempRoot]).result;
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`removed `);
    expect(next.stderr).toContain(left);
    expect(upframeLeftovers(folder)).toEqual([]);
    expect(frameMd5s(output)).toHaveLength(72);
  });
});
