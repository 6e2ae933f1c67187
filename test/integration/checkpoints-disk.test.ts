import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { inputIdentity, openResumeStore } from '../../src/services/checkpoints.js';
import { scratchDir } from '../helpers/app.js';
import { cannotMountTmpfs, mountSmallDisk, unmount } from '../helpers/disk.js';

const dir = scratchDir();
const why = cannotMountTmpfs(join(dir, 'mount-probe'));

/** Writes zeros into `path` until the disk refuses: what an encoder does to a disk that fills. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

describe('a --resume folder keeps room to record a finished segment', () => {
  it.skipIf(why !== undefined)(`the disk filled by the next segment's file: the finished one is still recorded${why ? ` (skipped: ${why})` : ''}`, () => {
    const disk = join(dir, 'disk');
    expect(mountSmallDisk(disk, '400k')).toBeUndefined();
    onTestFinished(() => unmount(disk));
    const input = join(dir, 'input.mp4');
    writeFileSync(input, 'not really a video, but it has an identity');
    const { store } = openResumeStore(join(disk, 'resume'), inputIdentity(input), { chunk: 12 });
    writeFileSync(store.path(0), Buffer.alloc(100_000, 1));
    fillDisk(store.partPath(1));
    expect(() => store.record(0, 12)).not.toThrow();
    // Recorded for the next run: reopened with the same settings, segment 0 counts.
    const reopened = openResumeStore(join(disk, 'resume'), inputIdentity(input), { chunk: 12 });
    expect(reopened.store.has(0)).toBe(true);
    expect(reopened.notice).toBeUndefined();
  });
});
