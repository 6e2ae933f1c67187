import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { jobDirs, markedProcesses, waitUntil } from '../helpers/invariants.js';
import { makeClip } from '../helpers/media.js';
import { blendModel, nearestModel, stepsModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-e2e-tmp-'), 'tmp');
const clip = makeClip(dir, 'clip.mp4', { size: '32x24', seconds: 0.25 });
const manifest = (extra: Record<string, unknown> = {}) => ({ kind: 'steps', steps: 4, maxSteps: 6, schedule: { from: 0.5, to: 0.2 }, inputs: { image: 'x', step: 't' }, ...extra });
const steps4 = stepsModel(dir, { name: 'steps-4', manifest: manifest() });
let n = 0;

type Event = Record<string, unknown>;
const progressOf = (events: Event[]) => events.filter((e) => e.type === 'progress' && e.stage === 'upscale');

describe('per-step progress', () => {
  it('--json: one progress event per step, in order, with the right counts; done frames carry step 0', async () => {
    const result = await cli(['run', clip, '-o', join(dir, `o${++n}.mkv`), '--model', steps4, '--json', '--temp-dir', tempRoot]).result;
    expect(result.code, result.stderr).toBe(0);
    const events = jsonEvents(result.stdout);
    expect(events.filter((e) => e.type === 'notice').map((e) => e.message)).toContain('model ×1, 4 steps on cpu');
    const progress = progressOf(events);
    expect(progress.every((e) => e.steps === 4 && e.total === 6)).toBe(true);
    const stepped = progress.filter((e) => (e.step as number) > 0).map((e) => [e.done, e.step]);
    expect(stepped).toEqual(Array.from({ length: 6 }, (_, frame) => [1, 2, 3, 4].map((step) => [frame, step])).flat());
    expect(progress.at(-1)).toMatchObject({ done: 6, step: 0, steps: 4 });
    // Other stages, and models of one run a frame, carry neither field.
    expect(events.filter((e) => e.type === 'progress' && e.stage !== 'upscale').every((e) => !('step' in e) && !('steps' in e))).toBe(true);
  });

  it('--steps overrides the manifest; plain lines show the frame and its step', async () => {
    const json = await cli(['run', clip, '-o', join(dir, `o${++n}.mkv`), '--model', steps4, '--steps', '2', '--json', '--temp-dir', tempRoot]).result;
    expect(json.code, json.stderr).toBe(0);
    const stepped = progressOf(jsonEvents(json.stdout)).filter((e) => (e.step as number) > 0).map((e) => [e.done, e.step, e.steps]);
    expect(stepped).toEqual(Array.from({ length: 6 }, (_, frame) => [1, 2].map((step) => [frame, step, 2])).flat());

    const plain = await cli(['run', clip, '-o', join(dir, `o${++n}.mkv`), '--model', steps4, '--temp-dir', tempRoot]).result;
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/: upscale frame 1\/6 · step 0\/4 ETA --:--\n/);
    expect(plain.stderr).toMatch(/: upscale 6\/6 [\d.]+ fps ETA 00:00\n/);
  });

  it('--tta: 8 steps a frame, in --json and in plain lines', async () => {
    const result = await cli(['run', clip, '-o', join(dir, `o${++n}.mkv`), '--model', nearestModel(dir, 2), '--tta', '--json', '--temp-dir', tempRoot]).result;
    expect(result.code, result.stderr).toBe(0);
    const events = jsonEvents(result.stdout);
    expect(events.filter((e) => e.type === 'notice').map((e) => e.message)).toContain('model ×2, self-ensemble ×8 on cpu');
    const stepped = progressOf(events).filter((e) => (e.step as number) > 0).map((e) => [e.done, e.step, e.steps]);
    expect(stepped).toEqual(Array.from({ length: 6 }, (_, frame) => Array.from({ length: 8 }, (_, k) => [frame, k + 1, 8])).flat());
  });
});

describe('batches', () => {
  it('--tta with --jobs 2: each item counts its own steps, in order', async () => {
    const other = makeClip(dir, 'other.mp4', { size: '32x24', seconds: 0.25 });
    const out = scratchDir('upframe-e2e-out-');
    const result = await cli(['run', clip, other, '-o', `${out}/`, '--model', nearestModel(dir, 2), '--ensemble', '4', '--jobs', '2', '--json', '--temp-dir', tempRoot]).result;
    expect(result.code, result.stderr).toBe(0);
    const events = jsonEvents(result.stdout);
    const jobs = events.filter((e) => e.type === 'job');
    expect(jobs.map((e) => e.status)).toEqual(['done', 'done']);
    for (const job of jobs) {
      const stepped = progressOf(events).filter((e) => e.job === job.id && (e.step as number) > 0).map((e) => [e.done, e.step, e.steps]);
      expect(stepped).toEqual(Array.from({ length: 6 }, (_, frame) => [1, 2, 3, 4].map((step) => [frame, step, 4])).flat());
    }
  });
});

describe('--json and --trace name the step that was running at a cancel', () => {
  it('a slow steps model: SIGINT in its second step', { timeout: 300_000 }, async () => {
    const slow = stepsModel(dir, { slow: 600, name: 'slow-steps', manifest: manifest({ steps: 3 }) });
    const trace = join(dir, 'trace.jsonl');
    const output = join(dir, 'cancelled.mkv');
    const run = cli(['run', clip, '-o', output, '--model', slow, '--json', '--trace', trace, '--temp-dir', tempRoot]);
    expect(await waitUntil(() => /"step":1,"steps":3/.test(run.stdoutSoFar()), 240_000, 10)).toBe(true);
    const sentAt = performance.now();
    run.child.kill('SIGINT');
    const result = await run.result;
    const elapsed = performance.now() - sentAt;
    expect(result.code).toBe(130);
    // Not the ≥ 2 s left of the step: the exit includes the CLI's own teardown, so the bound is loose.
    expect(elapsed).toBeLessThan(1500);
    expect(await waitUntil(() => markedProcesses(run.marker).length === 0, 1000)).toBe(true);
    const events = jsonEvents(result.stdout);
    const jobAt = events.findIndex((e) => e.type === 'job');
    const lastProgress = events.slice(0, jobAt).filter((e) => e.type === 'progress').at(-1);
    expect(lastProgress).toMatchObject({ stage: 'upscale', done: 0, step: 1, steps: 3 });
    expect(events[jobAt]).toMatchObject({ status: 'cancelled', progress: { stage: 'upscale', done: 0, total: 6, step: 1, steps: 3 } });
    const records = readFileSync(trace, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Event);
    expect(records.find((r) => r.actor === 'process' && r.to === 'cancelling')).toMatchObject({ progress: { done: 0, step: 1, steps: 3 } });
    expect(events.find((e) => e.type === 'state' && e.actor === 'process' && e.path === 'cancelling')).toMatchObject({ progress: { done: 0, step: 1, steps: 3 } });
    expect(jobDirs(tempRoot)).toEqual([]);
  });
});

function snapshotDir(): Record<string, number> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, statSync(join(dir, name)).mtimeMs]));
}

async function expectRejected(args: string[], pattern: RegExp) {
  const before = snapshotDir();
  const result = await cli(['run', clip, '-o', join(dir, `bad-${++n}.mp4`), ...args, '--temp-dir', tempRoot]).result;
  const errors = result.stderr.trim().split('\n').filter((line) => line.startsWith('upframe:'));
  expect(result.code, result.stderr).toBe(2);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(snapshotDir()).toEqual(before);
  expect(jobDirs(tempRoot)).toEqual([]);
}

describe('bad input: one line, exit 2, nothing created', () => {
  const nearest = nearestModel(dir, 2);
  const blend = blendModel(dir);
  const lacking = stepsModel(dir, { name: 'lacking', manifest: manifest({ inputs: { image: 'x', step: 'timestep' } }) });
  const detected = stepsModel(dir, { name: 'detected', stepType: 'int64' });
  const broken = stepsModel(dir, { name: 'broken' });
  writeFileSync(`${broken}.json`, '{ "kind": "steps", "steps": 0, "inputs": { "image": "x", "step": "t" } }');

  it('--tta with no upscale model (--scale 1), or with one that is not an upscaler', async () => {
    await expectRejected(['--tta', '--scale', '1', '--interpolate', '2'], /--tta\/--ensemble 8 runs the upscale model 8 ways, and --scale 1 runs no upscale model/);
    await expectRejected(['--tta', '--model', 'rife-v4.6'], /"rife-v4.6" is an interpolate model, not an upscale one/);
    await expectRejected(['--tta', '--model', blend], /not an upscale model: its inputs are img0, img1, timestep: .*blend-0\.onnx/);
  });

  it('--ensemble other than 2, 4, 8, or with --tta; --tta with a steps model', async () => {
    await expectRejected(['--ensemble', '3'], /--ensemble expects 2 or 4 or 8, got "3"/);
    await expectRejected(['--tta', '--ensemble', '4'], /--tta and --ensemble both set the self-ensemble/);
    await expectRejected(['--tta', '--model', steps4], /self-ensemble \(--tta, --ensemble\) does not combine with a steps model/);
    await expectRejected(['--ensemble', '2', '--model', detected, '--steps', '3'], /self-ensemble \(--tta, --ensemble\) does not combine with a steps model/);
  });

  it('--steps 0, more than the model allows, or for a model that has no steps', async () => {
    await expectRejected(['--model', steps4, '--steps', '0'], /--steps expects an integer from 1 to 10000, got "0"/);
    await expectRejected(['--model', steps4, '--steps', '7'], /--steps 7: the model allows 1 to 6 steps: .*steps-4\.onnx\.json/);
    await expectRejected(['--model', nearest, '--steps', '3'], /--steps 3 applies to a steps model; this one takes one image/);
    await expectRejected(['--steps', '3'], /--steps applies to a steps model; realesr-general-x4v3 runs once per frame/);
  });

  it('a steps manifest whose model lacks the declared inputs, a broken manifest, a steps model with no count', async () => {
    await expectRejected(['--model', lacking], /the steps model lacks the input "timestep" its manifest declares \(its inputs: x, t\)/);
    await expectRejected(['--model', broken], /invalid steps manifest: "steps" must be an integer of at least 1: .*broken\.onnx\.json/);
    await expectRejected(['--model', detected], /the model takes an image \(x\) and a step \(t\) but has no manifest saying how many steps.*give --steps N/);
  });
});
