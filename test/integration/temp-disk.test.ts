import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { folderBytes } from '../helpers/disk.js';
import { makeClip, videoStream } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const nearest = nearestModel(dir, 2);
// 96 frames of 160×90 → 320×180: eight segments of 12.
const clip = makeClip(dir, 'clip.mp4', { size: '160x90', seconds: 4, rate: '24' });


describe('peak temp disk stays near the output size (segments in the final codec, joined by copy)', () => {
  for (const resume of [false, true]) {
    it(`--chunk 12${resume ? ' --resume' : ''}: peak ≤ 1.2 × output + 256 KiB (the goal allows + 32 MB)`, async () => {
      const tempRoot = join(dir, `tmp-${resume}`);
      const output = join(dir, `out-${resume}.mp4`);
      const run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, chunk: 12, resume }));
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
