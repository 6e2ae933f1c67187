/**
 * `--threads N` reaches the model host's onnxruntime: its pool has N − 1 worker threads besides the
 * host's own (read from /proc while the host works), and a cancel still leaves nothing behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobOptions } from '../../src/cli/options.js';
import { runMarker } from '../../src/services/supervisor.js';
import { cancelAndExpectClean, options, scratchDir, startRun } from '../helpers/app.js';
import { markedProcesses } from '../helpers/invariants.js';
import { makeClip } from '../helpers/media.js';
import { slowModel } from '../helpers/models.js';

const dir = scratchDir('upframe-threads-');
const tempRoot = join(dir, 'tmp');
const clip = makeClip(dir, 'clip.mp4', { size: '32x18', seconds: 1 });
const slow = slowModel(dir, 40);

function hostThreads(): number | undefined {
  for (const pid of markedProcesses(runMarker())) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('hosts/upscale.')) continue;
      return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

async function threadsWith(threads: number): Promise<number> {
  const output = join(dir, `out-${threads}.mp4`);
  const run = startRun([{ input: clip, output }], options(tempRoot, { model: slow, threads }));
  // The first segment is being fed: the host is ready, so its session and pool exist. (Not its first
  // frame: 6 spinning threads on 2 busy cores can take that long.)
  await run.when((item) => item.phase === 'processing' && item.progress?.done !== undefined);
  const count = hostThreads();
  await cancelAndExpectClean(run, tempRoot, output);
  expect(count).toBeDefined();
  return count!;
}

describe('--threads', () => {
  it('sets the host pool: 6 threads make 5 more than 1 thread does', { timeout: 60_000 }, async () => {
    const one = await threadsWith(1);
    const six = await threadsWith(6);
    expect(six - one).toBe(5);
  });

  it('is an integer from 1 up, said in one line otherwise', () => {
    expect(jobOptions({ threads: '3' }).threads).toBe(3);
    expect(jobOptions({}).threads).toBeUndefined();
    expect(() => jobOptions({ threads: '0' })).toThrow(/--threads expects an integer from 1 to 1024, got "0"/);
    expect(() => jobOptions({ threads: 'many' })).toThrow(/--threads expects an integer/);
  });
});
