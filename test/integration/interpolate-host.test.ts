import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { HostMessage, InterpolateHostConfig } from '../../src/hosts/protocol.js';
import { hostArgs } from '../../src/services/paths.js';
import { outputFrameCount, sourcePosition } from '../../src/services/timing.js';
import { scratchDir } from '../helpers/app.js';
import { blendModel } from '../helpers/models.js';

const dir = scratchDir();
const model = blendModel(dir);
const W = 40;
const H = 24;

function flat(value: number): Buffer {
  return Buffer.alloc(W * H * 3, value);
}

/** Runs the real host process over raw frames; returns the frames it wrote and its messages. */
async function runHost(frames: Buffer[], inRate: { num: number; den: number }, outRate: { num: number; den: number }, cuts?: number[]) {
  const config: InterpolateHostConfig = { modelPath: model, device: 'cpu', width: W, height: H, inRate, outRate, frameCount: frames.length, sceneThreshold: 0.3, cuts };
  const child = spawn(process.execPath, [...hostArgs('interpolate'), JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
  const messages: HostMessage[] = [];
  child.on('message', (m: HostMessage) => messages.push(m));
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  for (const frame of frames) child.stdin!.write(frame);
  child.stdin!.end();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const out = Buffer.concat(chunks);
  const size = W * H * 3;
  return { code, messages, frames: Array.from({ length: out.length / size }, (_, i) => out.subarray(i * size, (i + 1) * size)) };
}

describe('interpolation timing', () => {
  it('maps output frames to source positions exactly', () => {
    expect(outputFrameCount(24, { num: 24, den: 1 }, { num: 48, den: 1 })).toBe(48);
    expect(outputFrameCount(240, { num: 24000, den: 1001 }, { num: 48000, den: 1001 })).toBe(480);
    expect(outputFrameCount(25, { num: 25, den: 1 }, { num: 60, den: 1 })).toBe(60);
    expect(outputFrameCount(1, { num: 24, den: 1 }, { num: 96, den: 1 })).toBe(4);
    expect(sourcePosition(5, { num: 25, den: 1 }, { num: 60, den: 1 })).toEqual({ index: 2, t: 1 / 12 * 1 });
    expect(sourcePosition(3, { num: 24, den: 1 }, { num: 96, den: 1 })).toEqual({ index: 0, t: 0.75 });
  });
});

describe('interpolation host (real process, real onnxruntime, exact blend model)', () => {
  it('doubles the rate: copies at t = 0, blends between, repeats across a cut and at the end', async () => {
    // 0 → 200 is a cut; 200 → 220 is motion.
    const { code, frames, messages } = await runHost([flat(0), flat(200), flat(220)], { num: 24, den: 1 }, { num: 48, den: 1 });
    expect(code).toBe(0);
    expect(frames.map((f) => f[0])).toEqual([0, 0, 200, 210, 220, 220]);
    expect(messages.at(-1)).toEqual({ type: 'done', frames: 6 });
    expect(messages[0]).toMatchObject({ type: 'ready', provider: 'cpu' });
  });

  it('uses the cuts scene detection found instead of its own check', async () => {
    // 200 → 220 would blend; a detected cut at frame 2 says it must not. 0 → 200 is no cut by the list.
    const { frames } = await runHost([flat(0), flat(200), flat(220)], { num: 24, den: 1 }, { num: 48, den: 1 }, [2]);
    expect(frames.map((f) => f[0])).toEqual([0, 100, 200, 200, 220, 220]);
  });

  it('25 → 60 fps gives 60 frames for 25, at the right fractions', async () => {
    const source = Array.from({ length: 25 }, (_, i) => flat(i * 4));
    const { frames } = await runHost(source, { num: 25, den: 1 }, { num: 60, den: 1 });
    expect(frames).toHaveLength(60);
    for (const [k, frame] of frames.entries()) {
      const { index, t } = sourcePosition(k, { num: 25, den: 1 }, { num: 60, den: 1 });
      const expected = index >= 24 ? 96 : Math.round(index * 4 * (1 - t) + (index + 1) * 4 * t);
      expect(Math.abs(frame[0] - expected)).toBeLessThanOrEqual(1);
    }
  });

  it('a one-frame video gives its frame, repeated for the output duration', async () => {
    const { frames } = await runHost([flat(77)], { num: 24, den: 1 }, { num: 96, den: 1 });
    expect(frames.map((f) => f[0])).toEqual([77, 77, 77, 77]);
  });
});
