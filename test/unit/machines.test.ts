import fc from 'fast-check';
import { createActor, waitFor } from 'xstate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobOptions, StartRequest } from '../../src/domain.js';
import { jobMachine } from '../../src/machines/job.js';
import { chartOf } from '../../src/services/statechart.js';
import { createStubWorld, type StubWorld } from '../helpers/stub-world.js';

const OPTIONS: JobOptions = { device: 'cpu', overwrite: false, tempRoot: '/nonexistent/upframe-unit' };

function request(n = 1): StartRequest {
  return { runId: 'u', items: Array.from({ length: n }, (_, i) => ({ input: `in${i}.mp4`, output: `out${i}.mp4` })), options: OPTIONS };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

function start(world: StubWorld, n = 1) {
  const actor = createActor(world.machine).start();
  actor.send({ type: 'app.start', request: request(n) });
  return actor;
}

afterEach(() => vi.useRealTimers());

describe('app machine', () => {
  it('cancel in idle is a no-op, not an error', () => {
    const actor = createActor(createStubWorld().machine).start();
    actor.send({ type: 'app.cancel' });
    expect(actor.getSnapshot().matches('idle')).toBe(true);
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('runs a job through every phase to done and comes back to idle', async () => {
    const world = createStubWorld();
    const actor = start(world);
    for (const stage of ['probe', 'upscale', 'assemble']) {
      await tick();
      expect(world.current()?.stage).toBe(stage);
      world.complete();
    }
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items[0].status).toBe('done');
    expect(world.live).toEqual([]);
    expect(world.workdirs.size).toBe(0);
  });

  it('waits in cancelling until the stage says its processes are reaped', async () => {
    vi.useFakeTimers();
    const world = createStubWorld({ stopDelayMs: 300 });
    const actor = start(world);
    await vi.advanceTimersByTimeAsync(1);
    world.complete();
    await vi.advanceTimersByTimeAsync(1);
    actor.send({ type: 'app.cancel' });
    await vi.advanceTimersByTimeAsync(299);
    expect(actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    expect(world.live).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().matches('idle')).toBe(true);
    expect(actor.getSnapshot().context.lastResult?.items[0].status).toBe('cancelled');
    expect(world.workdirs.size).toBe(0);
  });

  it('a second cancel is accepted and changes nothing: one stop, then idle when the work is reaped', async () => {
    vi.useFakeTimers();
    const world = createStubWorld({ stopDelayMs: 50 });
    const actor = start(world);
    await vi.advanceTimersByTimeAsync(1);
    actor.send({ type: 'app.cancel' });
    actor.send({ type: 'app.cancel' });
    expect(actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    await vi.advanceTimersByTimeAsync(49);
    expect(world.log).toEqual(['probe:work.stop']);
    expect(actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().matches('idle')).toBe(true);
    expect(actor.getSnapshot().context.lastResult?.items[0].status).toBe('cancelled');
  });

  it('a cancel that arrives after the output was committed leaves the job done', async () => {
    const world = createStubWorld();
    const actor = start(world);
    await tick();
    world.complete();
    await tick();
    world.complete();
    await tick();
    expect(world.commit()).toBe(true);
    const jobRef = Object.values(actor.getSnapshot().children.batch!.getSnapshot().children)[0]!;
    expect(jobRef.getSnapshot().value).toBe('committed');
    actor.send({ type: 'app.cancel' });
    // The job ignores the cancel: its assemble stage is never told to stop.
    expect(world.log.filter((l) => l.startsWith('assemble'))).toEqual([]);
    world.settleCommitted();
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items[0].status).toBe('done');
    expect(world.workdirs.size).toBe(0);
  });

  it('pause holds across stages: a stage started while paused starts paused', async () => {
    const world = createStubWorld();
    const actor = start(world);
    await tick();
    actor.send({ type: 'app.pause' });
    expect(world.log).toEqual(['probe:work.pause']);
    world.complete();
    await tick();
    expect(world.log.filter((l) => l.startsWith('upscale'))).toEqual(['upscale:work.pause']);
    actor.send({ type: 'app.pause' });
    expect(world.log.at(-1)).toBe('upscale:work.resume');
    actor.send({ type: 'app.cancel' });
    await waitFor(actor, (s) => s.matches('idle'));
  });

  it('a work folder that cannot be made fails the job after tearing its stage down', async () => {
    const world = createStubWorld({ failWorkdir: true });
    const actor = start(world);
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items[0]).toMatchObject({ status: 'failed', error: { message: 'cannot create the work folder' } });
    expect(world.live).toEqual([]);
  });
});

describe('batch machine', () => {
  it('cancel stops the current item and never starts the next', async () => {
    const world = createStubWorld();
    const actor = start(world, 3);
    await tick();
    world.complete();
    actor.send({ type: 'app.cancel' });
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items.map((i) => i.status)).toEqual(['cancelled', 'skipped', 'skipped']);
    expect(idle.context.lastResult?.cancelled).toBe(true);
  });

  it('skip cancels only the current item; a failure does not stop the batch', async () => {
    const world = createStubWorld();
    const actor = start(world, 3);
    await tick();
    actor.send({ type: 'app.skip' });
    await tick();
    await tick();
    expect(world.current()?.stage).toBe('probe');
    world.fail();
    await tick();
    for (let i = 0; i < 3; i++) {
      world.complete();
      await tick();
    }
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items.map((i) => i.status)).toEqual(['cancelled', 'failed', 'done']);
    expect(idle.context.lastResult?.cancelled).toBe(false);
  });
});

describe('cancel in every state of the job graph', () => {
  const chart = chartOf(jobMachine);
  // The working phases: every state under `active`, the one parent that takes the cancel.
  const resting = chart.states.find((s) => s.key === 'active')!.states;

  it('covers the phases the graph has', () => {
    expect(resting.map((s) => s.key)).toEqual(['probing', 'detecting', 'processing', 'assembling']);
  });

  for (const [index, state] of resting.entries()) {
    for (const paused of [false, true]) {
      it(`${state.key}${paused ? ' (paused)' : ''}: cancel → cancelled, nothing live`, async () => {
        const world = createStubWorld({ stopDelayMs: 2 });
        // With scene detection on, every resting state lies on the path: probing → detecting → processing → assembling.
        const actor = createActor(world.machine).start();
        actor.send({ type: 'app.start', request: { ...request(), options: { ...OPTIONS, scenes: true } } });
        for (let i = 0; i < index; i++) {
          await tick();
          world.complete();
        }
        await tick();
        const job = actor.getSnapshot().children.batch!.getSnapshot().children;
        const jobRef = Object.values(job)[0]!;
        expect(jobRef.getSnapshot().value).toEqual({ active: state.key });
        if (paused) actor.send({ type: 'app.pause' });
        actor.send({ type: 'app.cancel' });
        const idle = await waitFor(actor, (s) => s.matches('idle'));
        expect(idle.context.lastResult?.items[0].status).toBe('cancelled');
        expect(world.live).toEqual([]);
        expect(world.workdirs.size).toBe(0);
        if (paused && state.key === 'processing') expect(world.log).toContain('upscale:work.resume');
      });
    }
  }
});

describe('cancel as one batch item ends', () => {
  it('the next item, just started, is cancelled and the rest never start', async () => {
    const world = createStubWorld();
    const actor = start(world, 3);
    let cancelled = false;
    actor.subscribe((s) => {
      if (!cancelled && s.context.items[0]?.status === 'done') {
        cancelled = true;
        actor.send({ type: 'app.cancel' });
      }
    });
    for (let i = 0; i < 3; i++) {
      await tick();
      world.complete();
    }
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items.map((i) => i.status)).toEqual(['done', 'cancelled', 'skipped']);
    expect(world.live).toEqual([]);
  });
});

describe('batch --jobs', () => {
  it('runs N items at once, starts the next as one ends, and a cancel stops all of them', async () => {
    const world = createStubWorld();
    const actor = createActor(world.machine).start();
    actor.send({ type: 'app.start', request: { ...request(4), options: { ...OPTIONS, jobs: 2 } } });
    await tick();
    expect(world.live.filter((w) => w.stage === 'probe')).toHaveLength(2);
    expect(actor.getSnapshot().context.items.map((i) => i.status)).toEqual(['running', 'running', 'pending', 'pending']);
    world.fail();
    await tick();
    expect(actor.getSnapshot().context.items.map((i) => i.status)).toEqual(['failed', 'running', 'running', 'pending']);
    actor.send({ type: 'app.cancel' });
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items.map((i) => i.status)).toEqual(['failed', 'cancelled', 'cancelled', 'skipped']);
    expect(world.live).toEqual([]);
    expect(world.workdirs.size).toBe(0);
  });
});

describe('batch --fail-fast', () => {
  it('stops at the first failure and skips the rest, without counting as a cancel', async () => {
    const world = createStubWorld();
    const actor = createActor(world.machine).start();
    actor.send({ type: 'app.start', request: { ...request(3), options: { ...OPTIONS, failFast: true } } });
    await tick();
    world.fail();
    const idle = await waitFor(actor, (s) => s.matches('idle'));
    expect(idle.context.lastResult?.items.map((i) => i.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(idle.context.lastResult?.cancelled).toBe(false);
  });
});

type Step = 'complete' | 'fail' | 'progress' | 'cancel' | 'skip' | 'pause' | 'wait';

describe('model-based: any sequence of stage outcomes and user events, cancel at any state', () => {
  it('always returns to idle with nothing live, every item accounted for', async () => {
    const visited = new Set<string>();
    const step = fc.constantFrom<Step>('complete', 'complete', 'complete', 'fail', 'progress', 'cancel', 'skip', 'pause', 'wait');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(step, { maxLength: 14 }), fc.boolean(), fc.integer({ min: 1, max: 2 }), async (items, steps, slowStop, jobs) => {
        const world = createStubWorld({ stopDelayMs: slowStop ? 3 : 0 });
        const actor = createActor(world.machine).start();
        actor.send({ type: 'app.start', request: { ...request(items), options: { ...OPTIONS, jobs } } });
        let cancelled = false;
        for (const s of steps) {
          await tick();
          const snapshot = actor.getSnapshot();
          if (snapshot.matches('idle')) break;
          for (const job of Object.values(snapshot.children.batch?.getSnapshot().children ?? {})) if (job) visited.add(JSON.stringify(job.getSnapshot().value));
          if (s === 'complete') world.complete();
          else if (s === 'fail') world.fail();
          else if (s === 'progress') world.progress(3);
          else if (s === 'cancel') {
            cancelled = true;
            actor.send({ type: 'app.cancel' });
          } else if (s === 'skip') actor.send({ type: 'app.skip' });
          else if (s === 'pause') actor.send({ type: 'app.pause' });
        }
        if (!actor.getSnapshot().matches('idle')) {
          cancelled = true;
          actor.send({ type: 'app.cancel' });
        }
        const idle = await waitFor(actor, (s) => s.matches('idle'), { timeout: 1000 });
        const result = idle.context.lastResult!;
        expect(world.live).toEqual([]);
        expect(world.workdirs.size).toBe(0);
        expect(world.log.filter((l) => l.endsWith('torn-down-while-live'))).toEqual([]);
        expect(Object.keys(idle.children)).toEqual([]);
        expect(result.items).toHaveLength(items);
        // An item is done exactly when its output was put in place.
        expect(result.items.filter((item) => item.status === 'done')).toHaveLength(world.assembled());
        if (result.cancelled) expect(cancelled).toBe(true);
        const firstNotDone = result.items.findIndex((i) => i.status === 'skipped');
        if (firstNotDone >= 0) expect(result.items.slice(firstNotDone).every((i) => i.status === 'skipped')).toBe(true);
        actor.stop();
      }),
      { numRuns: 150 },
    );
    // The walk reached every working phase and the teardown (else the property says little).
    expect([...visited].sort()).toEqual(expect.arrayContaining(['"cancelling"', '{"active":"assembling"}', '{"active":"probing"}', '{"active":"processing"}']));
  });
});
