/**
 * Peak temp disk of a run against issue #8's goal (≤ 1.2 × the output's size + 32 MB): a 20 s
 * 320×180 testsrc2 clip through a trivial ×2 model (nearest neighbour) with `--chunk 48`, with and
 * without `--resume`, the --temp-dir polled every 10 ms while it runs.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { options, scratchDir, startRun } from '../../test/helpers/app.js';
import { folderBytes } from '../../test/helpers/disk.js';
import { makeClip } from '../../test/helpers/media.js';
import { nearestModel } from '../../test/helpers/models.js';

const MB = 2 ** 20;
const round = (n: number) => Math.round(n * 1000) / 1000;


async function measure(input: string, dir: string, resume: boolean, chunk: number) {
  const tempRoot = join(dir, `temp-${resume ? 'resume' : 'plain'}`);
  const output = join(dir, `temp-disk-${resume ? 'resume' : 'plain'}.mp4`);
  const started = performance.now();
  const run = startRun([{ input, output }], options(tempRoot, { model: nearestModel(dir, 2), chunk, resume, overwrite: true }));
  let peak = 0;
  const poll = setInterval(() => (peak = Math.max(peak, folderBytes(tempRoot))), 10);
  const result = await run.ended;
  clearInterval(poll);
  run.actor.stop();
  if (result.items[0].status !== 'done') throw new Error(`temp-disk bench job ${result.items[0].status}: ${result.items[0].error?.message}`);
  const outputBytes = statSync(output).size;
  const goalBytes = 1.2 * outputBytes + 32 * MB;
  return {
    resume,
    seconds: round((performance.now() - started) / 1000),
    peakTempMb: round(peak / MB),
    outputMb: round(outputBytes / MB),
    goalMb: round(goalBytes / MB),
    /** ≤ 1 meets the goal. */
    peakOverGoal: round(peak / goalBytes),
    peakOverOutput: round(peak / outputBytes),
  };
}

export async function tempDisk(settings: { seconds?: number; size?: string; chunk?: number } = {}): Promise<Record<string, unknown>> {
  const { seconds = 20, size = '320x180', chunk = 48 } = settings;
  const dir = scratchDir('upframe-bench-temp-');
  const input = makeClip(dir, 'temp-disk.mp4', { size, seconds, rate: '24' });
  return {
    input: `${size} testsrc2, ${seconds} s at 24 fps`,
    model: 'nearest ×2 (trivial)',
    output: 'mp4, h264 (libx264 crf 18, medium)',
    chunk,
    goal: 'peak temp ≤ 1.2 × output + 32 MB',
    runs: [await measure(input, dir, false, chunk), await measure(input, dir, true, chunk)],
  };
}
