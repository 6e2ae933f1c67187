import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelAndExpectClean, invariantViolations, options, scratchDir, startRun, type Run } from '../helpers/app.js';
import { markedProcesses, waitUntil } from '../helpers/invariants.js';
import { ffmpeg, makeClip } from '../helpers/media.js';
import { runMarker } from '../../src/services/supervisor.js';
import { nearestModel, slowModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const slow = slowModel(dir);
const fast = nearestModel(dir, 2);
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 2, audio: true });
let run: Run | undefined;
let counter = 0;

afterEach(() => run?.actor.stop());

function begin(model: string, extra: Record<string, unknown> = {}) {
  const output = join(dir, `out-${++counter}.mp4`);
  run = startRun([{ input: clip, output }], options(tempRoot, { model, ...extra }));
  return { run, output };
}

function cancelAndCheck(current: Run, output: string): Promise<number> {
  return cancelAndExpectClean(current, tempRoot, output);
}

describe('cancel reaches idle with every invariant, at every moment', () => {
  it('right after start (probing, ffprobe just spawned)', async () => {
    const { run, output } = begin(fast);
    await cancelAndCheck(run, output);
  });

  it('while the probe reads a variable-rate file\'s frame times (its second ffprobe)', async () => {
    // 20 minutes of 32×32 with a third of each second's frames left out: 24000 packets to list.
    const vfr = join(dir, 'long-vfr.mp4');
    execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=32x32:rate=30:duration=1200', '-vf', "select='lt(mod(n\\,30)\\,20)'", '-vsync', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-y', vfr]);
    const output = join(dir, `out-${++counter}.mp4`);
    run = startRun([{ input: vfr, output }], options(tempRoot, { model: fast }));
    const listing = () => markedProcesses(runMarker()).some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('packet=pts_time');
      } catch {
        return false;
      }
    });
    expect(await waitUntil(listing, 10_000, 2)).toBe(true);
    await cancelAndCheck(run, output);
  });

  it('while the model loads and measures its scale (slow model, host busy)', async () => {
    const { run, output } = begin(slow);
    await run.when((item) => item.stage === 'upscale');
    await new Promise((r) => setTimeout(r, 300));
    expect(run.actor.getSnapshot().context.items[0].progress).toBeUndefined();
    await cancelAndCheck(run, output);
  });

  it('mid-inference of a frame that takes seconds: cancel does not wait for it', async () => {
    const { run, output } = begin(slow, {});
    // The scale probe run is skipped when the scale is known, so the first frame starts right after ready.
    await run.when((item) => item.progress !== undefined && item.stage === 'upscale', 60_000);
    await new Promise((r) => setTimeout(r, 400));
    expect(run.actor.getSnapshot().context.items[0].progress?.done).toBe(0);
    const latency = await cancelAndCheck(run, output);
    expect(latency).toBeLessThan(400);
  });

  it('while frames stream through decode → host → encode', async () => {
    const { run, output } = begin(fast);
    await run.when((item) => (item.progress?.done ?? 0) >= 3);
    await cancelAndCheck(run, output);
  });

  it('during muxing into the partial file', async () => {
    const { run, output } = begin(fast);
    await run.when((item) => item.phase === 'assembling');
    await cancelAndCheck(run, output);
  });

  it('a second cancel and more are accepted and change nothing, and cancel in idle does nothing', async () => {
    const { run, output } = begin(slow);
    await run.when((item) => item.stage === 'upscale');
    run.cancel();
    run.cancel();
    run.cancel();
    expect(run.actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    const result = await run.ended;
    expect(result.items[0].status).toBe('cancelled');
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
    run.cancel();
    expect(run.actor.getSnapshot().matches('idle')).toBe(true);
  });

  it('the app is ready for another run after a cancel', async () => {
    const { run, output } = begin(fast);
    await run.when((item) => (item.progress?.done ?? 0) >= 1);
    await cancelAndCheck(run, output);
    run.actor.send({ type: 'app.start', request: { items: [{ input: clip, output }], options: options(tempRoot, { model: fast }) } });
    await new Promise<void>((resolve) => {
      const sub = run.actor.subscribe((s) => {
        if (s.matches('idle') && s.context.runCount === 2) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    expect(run.actor.getSnapshot().context.lastResult?.items[0].status).toBe('done');
    expect(existsSync(output)).toBe(true);
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  });

  it('random moments: 8 cancels, each within the bound and clean', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { run: current, output } = begin(fast);
      await new Promise((r) => setTimeout(r, Math.random() * 900));
      if (current.actor.getSnapshot().matches('idle')) {
        current.actor.stop();
        continue;
      }
      latencies.push(await cancelAndCheck(current, output));
      current.actor.stop();
    }
    expect(latencies.length).toBeGreaterThan(0);
  });
});
