import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invariantViolations, options, scratchDir, startRun, type Run } from '../helpers/app.js';
import { upframeLeftovers } from '../helpers/disk.js';
import { frameMd5s, makeClip } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';
import { verifyWritten } from '../../src/services/verify-output.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const fast = nearestModel(dir, 2);
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 1, audio: true });
let run: Run | undefined;
let folders = 0;

afterEach(() => run?.actor.stop());

function freshFolder(): string {
  const folder = join(dir, `out-${++folders}`);
  mkdirSync(folder);
  return folder;
}

/** This process's kernel start time (field 22 of /proc/self/stat): with the pid, who owns a leftover. */
function ownStartTime(): string {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** A pid that ran and ended: the owner of a leftover from a run that is gone. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('output names that fit whatever the output is called', () => {
  it('a 250-character output name works end to end; its partial file fits', async () => {
    const output = join(freshFolder(), `${'a'.repeat(246)}.mp4`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: fast }));
    const result = await run.ended;
    expect(result.items[0]).toMatchObject({ status: 'done' });
    expect(frameMd5s(output)).toHaveLength(24);
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
    expect(upframeLeftovers(join(output, '..'))).toEqual([]);
  });

  it('a name the folder cannot hold is refused before any work, in one line', async () => {
    const folder = freshFolder();
    const output = join(folder, `${'b'.repeat(256)}.mp4`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: fast }));
    const result = await run.ended;
    expect(result.items[0]).toMatchObject({ status: 'failed', error: { kind: 'usage' } });
    expect(result.items[0].error!.message).toBe(`the output file name is too long (260 bytes, at most 255): ${output} (choose a shorter name or folder)`);
    expect(run.actor.getSnapshot().context.items[0].progress).toBeUndefined();
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('leftovers of runs that are gone are swept, a live run\'s are kept', () => {
  it('the next run to a folder removes dead owners\' partial files and locks, says so, and keeps a live owner\'s', async () => {
    const folder = freshFolder();
    const output = join(folder, 'out.mp4');
    const dead = deadPid();
    const [ownPid, ownStart] = [process.pid, ownStartTime()];
    const deadPartial = `out.mp4.upframe-partial-${dead}-1234-oldjob-1`;
    const deadOther = `other.mkv.upframe-partial-${dead}-99-oldjob-2`;
    const deadLock = '.upframe-lock-0123456789abcdef';
    const livePartial = `other.mp4.upframe-partial-${ownPid}-${ownStart}-livejob-1`;
    for (const name of [deadPartial, deadOther, livePartial]) writeFileSync(join(folder, name), 'half a video');
    writeFileSync(join(folder, deadLock), `${dead} 1234\n/nowhere/job-x\n${join(folder, 'elsewhere.mp4')}\n`);

    run = startRun([{ input: clip, output }], options(tempRoot, { model: fast }));
    const result = await run.ended;
    expect(result.items[0]).toMatchObject({ status: 'done' });
    expect(readdirSync(folder).sort()).toEqual(['out.mp4', livePartial].sort());
    const notices = run.actor.getSnapshot().context.items[0].notices?.join('\n') ?? '';
    expect(notices).toContain(`removed 3 file(s) left in ${folder} by upframe runs that ended:`);
    for (const name of [deadPartial, deadOther, deadLock]) expect(notices).toContain(name);
  });
});

describe('a written output is read back before it counts', () => {
  it('a short file on a disk with room is an incomplete output, not a space problem', () => {
    const file = makeClip(freshFolder(), 'short.mkv', { size: '64x48', seconds: 1 });
    const report = { file, output: '/videos/out.mkv', plannedFrames: 72, encodedFrames: 72, stderr: '', fallbackBytes: 0 };
    expect(() => verifyWritten({ ...report, written: { opened: true, frames: 24 } })).toThrow(
      'the output was written incomplete (24 of 72 frames)',
    );
    expect(() => verifyWritten({ ...report, written: { opened: false, frames: 0 } })).toThrow('the output was written incomplete (ffprobe cannot open it)');
    expect(() => verifyWritten({ ...report, stderr: 'Error writing trailer of x: No space left on device', written: { opened: true, frames: 72 } })).toThrow(/^not enough space to write the output in$/);
    expect(() => verifyWritten({ ...report, written: { opened: true, frames: 72 } })).not.toThrow();
  });
});

describe('one output, one job', () => {
  it('two items of one batch to the same output: the second refuses at once naming this run, the first finishes', async () => {
    const output = join(freshFolder(), 'same.mp4');
    run = startRun([{ input: clip, output }, { input: clip, output }], options(tempRoot, { model: fast, jobs: 2 }));
    const result = await run.ended;
    expect(result.items.map((item) => item.status)).toEqual(['done', 'failed']);
    expect(result.items[1].error).toEqual({
      kind: 'usage',
      message: `another job of this run (pid ${process.pid}) is already writing the output: ${output} (wait for it to end, or choose another output)`,
    });
    expect(frameMd5s(output)).toHaveLength(24);
    expect(existsSync(output)).toBe(true);
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
    expect(upframeLeftovers(join(output, '..'))).toEqual([]);
  });
});
