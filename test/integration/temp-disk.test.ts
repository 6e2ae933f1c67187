import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { keep } from '../../src/actors/process.js';
import { openResumeStore, removeParts } from '../../src/services/checkpoints.js';
import { invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { cannotMountTmpfs, folderBytes, mountSmallDisk, unmount } from '../helpers/disk.js';
import { makeClip, videoStream } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const nearest = nearestModel(dir, 2);
// 96 frames of 160×90 → 320×180: eight segments of 12, or four of 24.
const clip = makeClip(dir, 'clip.mp4', { size: '160x90', seconds: 4, rate: '24' });


describe('peak temp disk stays near the output size (segments in the final codec, joined by copy)', () => {
  // 12-frame segments have an encoder each; 24-frame ones share one (a run).
  for (const [chunk, resume] of [[12, false], [12, true], [24, true]] as const) {
    it(`--chunk ${chunk}${resume ? ' --resume' : ''}: peak ≤ 1.2 × output + 256 KiB (the goal allows + 32 MB)`, async () => {
      const tempRoot = join(dir, `tmp-${chunk}-${resume}`);
      const output = join(dir, `out-${chunk}-${resume}.mp4`);
      const run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, chunk, resume }));
      let peak = 0;
      const poll = setInterval(() => (peak = Math.max(peak, folderBytes(tempRoot))), 5);
      const result = await run.ended;
      clearInterval(poll);
      expect(result.items[0].status).toBe('done');
      expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
      run.actor.stop();
      expect(Number(videoStream(output).nb_read_frames)).toBe(96);
      const outputBytes = statSync(output).size;
      // The polling saw the segments: together they are about the output's video.
      expect(peak).toBeGreaterThan(outputBytes / 2);
      expect(peak).toBeLessThanOrEqual(1.2 * outputBytes + 256 * 1024);
    });
  }
});

describe('a disk that fills just as a finished segment is recorded', () => {
  const why = cannotMountTmpfs(join(scratchDir(), 'mount-probe-keep'));
  it.skipIf(why !== undefined)(`one line naming the folder and the space, no unrecorded segment file left${why ? ` (skipped: ${why})` : ''}`, () => {
    const temp = join(scratchDir(), 'keep-full');
    expect(mountSmallDisk(temp, '64k')).toBeUndefined();
    onTestFinished(() => unmount(temp));
    const { store } = openResumeStore(join(temp, 'resume'), { size: 1, mtimeMs: 1, sample: 'x' }, { any: 'settings' });
    writeFileSync(store.partPath(0), Buffer.alloc(4096, 1));
    // The next segment's encoder took the rest of the disk: the manifest cannot be written.
    for (let n = 0, room = true; room; n++) {
      try {
        writeFileSync(join(temp, `filler-${n}`), Buffer.alloc(n === 0 ? 1 << 20 : 512));
      } catch {
        // full to the last page: as meant
        room = n === 0;
      }
    }
    let error: unknown;
    try {
      keep(store, 0, 12, () => 8192);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ message: 'not enough space to write the segments in', file: join(temp, 'resume') });
    expect((error as { tryMessage: string }).tryMessage).toMatch(/^about [\d.]+ KB needed, [\d.]+ [KMG]?B free; free some space there or choose another --temp-dir$/);
    expect(existsSync(store.path(0))).toBe(false);
    removeParts(store);
    expect(readdirSync(join(temp, 'resume'))).toEqual(['manifest.json']);
    expect(JSON.parse(readFileSync(join(temp, 'resume', 'manifest.json'), 'utf8')).segments).toEqual({});
  });
});
