import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents, type CliRun } from '../helpers/cli.js';
import { describeProcess, jobDirs, markedProcesses, partialFiles, waitUntil } from '../helpers/invariants.js';
import { makeClip } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-sig-tmp-'), 'tmp');
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 2, audio: true });
const slow = slowModel(dir);
const fast = nearestModel(dir);
let n = 0;

function runJson(model: string, extra: string[] = []) {
  const output = join(dir, `out-${++n}.mp4`);
  const run = cli(['run', clip, '-o', output, '--model', model, '--json', '--temp-dir', tempRoot, ...extra]);
  return { run, output };
}

async function untilUpscaling(run: CliRun): Promise<void> {
  const reached = await waitUntil(() => /"actor":"process","path":"active.running"/.test(run.stdoutSoFar()), 30_000);
  expect(reached).toBe(true);
}

function expectClean(run: CliRun, output: string): void {
  expect(markedProcesses(run.marker)).toEqual([]);
  expect(jobDirs(tempRoot)).toEqual([]);
  expect(partialFiles(output)).toEqual([]);
  expect(existsSync(output)).toBe(false);
}

describe('signals in `upframe run`', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} cancels: exit 130, a cancelled job event, nothing left`, async () => {
      const { run, output } = runJson(slow);
      await untilUpscaling(run);
      expect(await waitUntil(() => markedProcesses(run.marker).length > 0, 10_000)).toBe(true);
      const sentAt = Date.now();
      run.child.kill(signal);
      const result = await run.result;
      expect(Date.now() - sentAt).toBeLessThan(3000);
      expect(result.code).toBe(130);
      const events = jsonEvents(result.stdout);
      expect(events.find((e) => e.type === 'job')).toMatchObject({ status: 'cancelled', output });
      expect(events.at(-1)).toMatchObject({ type: 'summary', cancelled: 1, exitCode: 130 });
      expectClean(run, output);
    });
  }

  it('a second SIGINT forces and still ends clean', async () => {
    const { run, output } = runJson(slow);
    await untilUpscaling(run);
    run.child.kill('SIGINT');
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    expectClean(run, output);
  });

  it('SIGKILL of the orchestrator leaves no child alive after 1 s', async () => {
    const { run, output } = runJson(slow);
    await untilUpscaling(run);
    expect(await waitUntil(() => run.stdoutSoFar().includes('"type":"progress"'), 30_000)).toBe(true);
    // the host, the decoder and the encoder (and the host's esbuild service when its cache is cold)
    expect(await waitUntil(() => markedProcesses(run.marker).length >= 3, 5000)).toBe(true);
    run.child.kill('SIGKILL');
    await run.result;
    const gone = await waitUntil(() => markedProcesses(run.marker).length === 0, 1000);
    expect(markedProcesses(run.marker).map(describeProcess)).toEqual([]);
    expect(gone).toBe(true);
    expect(existsSync(output)).toBe(false);

    // A killed orchestrator cannot clean up: the next job in the same temp root removes its folder.
    expect(jobDirs(tempRoot)).toHaveLength(1);
    const next = await cli(['run', clip, '-o', join(dir, 'after-kill.mp4'), '--model', fast, '--temp-dir', tempRoot]).result;
    expect(next.code).toBe(0);
    expect(jobDirs(tempRoot)).toEqual([]);
  });
});

describe('--json and --trace', () => {
  it('emits state, progress, job and summary events, and a transition trace', async () => {
    const output = join(dir, 'json-out.mp4');
    const trace = join(dir, 'trace.jsonl');
    const result = await cli(['run', clip, '-o', output, '--model', fast, '--json', '--trace', trace, '--temp-dir', tempRoot]).result;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const events = jsonEvents(result.stdout);
    const types = new Set(events.map((e) => e.type));
    expect([...types].sort()).toEqual(['job', 'notice', 'progress', 'state', 'summary']);
    // --device auto: the provider it ran on is said, and on the CPU why the GPU ones were passed over.
    const notices = events.filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices.some((m) => / ×2 on (cpu|webgpu|cuda)$/.test(m))).toBe(true);
    if (notices.some((m) => m.endsWith('on cpu'))) expect(notices.some((m) => /^device auto: CPU \(CUDA: .*; WebGPU: .*\)$/.test(m))).toBe(true);
    expect(events.filter((e) => e.type === 'state' && e.actor === 'app').map((e) => e.path)).toEqual(['idle', 'running.active', 'idle']);
    // Each stage's last progress reaches its total; which stage speaks last is not part of the contract.
    const progress = events.filter((e) => e.type === 'progress');
    const lastOf = (stage: string) => progress.filter((e) => e.stage === stage).at(-1)!;
    expect(lastOf('upscale')).toMatchObject({ done: 48, total: 48 });
    expect(lastOf('assemble')).toMatchObject({ done: 48, total: 48 });
    expect(Object.keys(lastOf('upscale')).sort()).toEqual(['done', 'eta', 'fps', 'job', 'stage', 'total', 'type']);
    expect(events.find((e) => e.type === 'job')).toMatchObject({ status: 'done', output, input: clip });
    expect(events.at(-1)).toMatchObject({ type: 'summary', done: 1, failed: 0, cancelled: 0, skipped: 0, exitCode: 0 });
    expect(result.stdout.split('\n').filter(Boolean).every((line) => line.startsWith('{'))).toBe(true);

    const lines = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ actor: 'app', from: null, to: 'idle' });
    expect(lines.some((l) => String(l.actor).startsWith('job-') && l.from === 'active.assembling' && l.to === 'committed') && lines.some((l) => String(l.actor).startsWith('job-') && l.from === 'committed' && l.to === 'done')).toBe(true);
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(['actor', 'event', 'from', 'seq', 'time', 'to']);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
  });
});
