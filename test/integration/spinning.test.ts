/**
 * A host's CPU sessions start with spinning threads and give them up when the host mostly waits
 * (src/hosts/spinning.ts): real onnxruntime sessions, a real clock.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { adaptSpinning, BusyMeter, NO_SPINNING, SPINNING_WITHIN_RUNS } from '../../src/hosts/spinning.js';
import { openSession } from '../../src/hosts/session.js';
import { WRAPPED_INPUT, wrapImageModel } from '../../src/hosts/model-io.js';
import { scratchDir } from '../helpers/app.js';
import { nearestModel, slowModel } from '../helpers/models.js';

const dir = scratchDir('upframe-spinning-');
const open = (path: string, spinning: boolean) =>
  ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: 2, ...(spinning ? SPINNING_WITHIN_RUNS : NO_SPINNING) });

function frame(width: number, height: number, seed: number): ort.Tensor {
  const data = Float32Array.from({ length: 3 * width * height }, (_, i) => ((i * 7 + seed * 13) % 256) / 255);
  return new ort.Tensor('float32', data, [1, 3, height, width]);
}

const sessions: ort.InferenceSession[] = [];
afterAll(async () => {
  for (const session of sessions) await session.release().catch(() => undefined);
});

describe('spinning that adapts to how busy the host is', () => {
  it('a host that mostly waits reopens its session without spinning, and its outputs do not change', async () => {
    const path = nearestModel(dir);
    const first = await open(path, true);
    let reopened = 0;
    const adaptive = adaptSpinning(first, async () => (reopened++, open(path, false)), new BusyMeter());
    const input = frame(64, 36, 1);
    const expected = ((await first.run({ input })).output.data as Float32Array).slice();
    // Runs of about a millisecond, 60 ms apart: well under a quarter of the time inside them.
    for (let i = 0; i < 30 && adaptive.spinning(); i++) {
      expect((await adaptive.session.run({ input })).output.data).toEqual(expected);
      await sleep(60);
    }
    expect(adaptive.spinning()).toBe(false);
    expect(reopened).toBe(1);
    // The runs after the swap go to the new session, with the same result; the first one is released.
    expect((await adaptive.session.run({ input })).output.data).toEqual(expected);
    expect(adaptive.session.inputNames).toEqual(['input']);
    await expect(first.run({ input })).rejects.toThrow();
    await adaptive.session.release();
    await expect(adaptive.session.run({ input })).rejects.toThrow();
  });

  it('a host that is always inside its runs keeps spinning', { timeout: 60_000 }, async () => {
    const path = slowModel(dir, 12);
    const first = await open(path, true);
    sessions.push(first);
    let reopened = 0;
    const adaptive = adaptSpinning(first, async () => (reopened++, open(path, false)), new BusyMeter());
    const input = frame(32, 18, 2);
    const started = performance.now();
    let runs = 0;
    while (runs < 12 || performance.now() - started < 1000) {
      await adaptive.session.run({ input });
      runs++;
    }
    expect(adaptive.spinning()).toBe(true);
    expect(reopened).toBe(0);
  });

  it('runs already in flight finish on the first session while the quiet one loads', async () => {
    const path = nearestModel(dir, 4);
    const first = await open(path, true);
    const meter = new BusyMeter();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const adaptive = adaptSpinning(first, async () => (await gate, open(path, false)), meter);
    const input = frame(32, 18, 3);
    for (let i = 0; i < 12; i++) {
      await adaptive.session.run({ input });
      await sleep(50);
    }
    // The decision is taken at this run: the reopening waits on the gate, the runs go on meanwhile.
    const during = await Promise.all([adaptive.session.run({ input }), adaptive.session.run({ input })]);
    expect(during.map((r) => r.output.dims)).toEqual([[1, 3, 72, 128], [1, 3, 72, 128]]);
    expect(adaptive.spinning()).toBe(true);
    release();
    await sleep(200);
    expect(adaptive.spinning()).toBe(false);
    await expect(first.run({ input })).rejects.toThrow();
    await adaptive.session.release();
  });

  it("a host's spinning session burns nothing between its runs: its threads stop when a run returns", async () => {
    // What an upscale host opens: the model wrapped to take the pipe's bytes.
    const path = nearestModel(dir, 4);
    const { session } = await openSession({ path, bytes: wrapImageModel(readFileSync(path))!.bytes }, 'cpu', 2);
    sessions.push(session);
    const input = new ort.Tensor('uint8', new Uint8Array(128 * 72 * 3), [1, 72, 128, 3]);
    let idleMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      await session.run({ [WRAPPED_INPUT]: input });
      const before = process.cpuUsage();
      await sleep(200);
      const used = process.cpuUsage(before);
      idleMs = Math.min(idleMs, (used.user + used.system) / 1000);
    }
    // Spinning on after a run, the pool's worker burned about 30 ms of the 200 (onnxruntime 1.30).
    expect(idleMs).toBeLessThan(8);
  });
});
