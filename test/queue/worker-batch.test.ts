import { describe, expect, it } from 'vitest';
import { assign, createActor, fromCallback, setup } from 'xstate';
import type { JobOptions, JobOutput, JobStatus } from '../../src/domain.js';
import { appMachine } from '../../src/machines/app.js';
import type { batchMachine } from '../../src/machines/batch.js';
import type { JobInput } from '../../src/machines/job.js';
import { workerBatchMachine, type WorkerControl, type WorkerIoEvent } from '../../src/queue/worker-batch.js';

const options: JobOptions = { device: 'cpu', overwrite: false, tempRoot: '/tmp/w' };

/** A job that runs until told: `finish` ends it done, `job.cancel` cancelled. */
const stubJob = setup({
  types: { input: {} as JobInput, context: {} as { input: JobInput; status?: JobStatus }, events: {} as { type: 'job.cancel' | 'job.pause' | 'job.resume' | 'finish' }, output: {} as JobOutput },
}).createMachine({
  context: ({ input }) => ({ input }),
  initial: 'running',
  states: {
    running: { on: { finish: 'done', 'job.cancel': 'cancelled' } },
    done: { type: 'final', entry: assign({ status: 'done' as const }) },
    cancelled: { type: 'final', entry: assign({ status: 'cancelled' as const }) },
  },
  output: ({ context }) => ({ id: context.input.id, input: context.input.input, output: context.input.output, status: context.status! }),
});

function harness() {
  const controls: WorkerControl[] = [];
  let send: (event: WorkerIoEvent) => void = () => undefined;
  const queue = fromCallback<WorkerControl, Record<string, never>>(({ sendBack, receive }) => {
    send = sendBack as (event: WorkerIoEvent) => void;
    receive((event) => controls.push(event));
  });
  const batch = workerBatchMachine.provide({ actors: { job: stubJob as never, queue } });
  const actor = createActor(appMachine.provide({ actors: { batch: batch as unknown as typeof batchMachine } }));
  actor.start();
  actor.send({ type: 'app.start', request: { runId: 'w', items: [], options } });
  const take = (key: string, attempt = 1): void => send({ type: 'queue.take', key, attempt, input: `/in/${key}.mp4`, output: `/out/${key}.mp4`, options });
  const job = (id: string) => (actor.getSnapshot().children.batch as unknown as { getSnapshot(): { children: Record<string, { send(e: { type: 'finish' }): void }> } }).getSnapshot().children[`job-${id}`];
  return { actor, controls, take, job, queue: (event: WorkerIoEvent) => send(event) };
}

const ended = (controls: WorkerControl[]) => controls.filter((c): c is Extract<WorkerControl, { type: 'item.ended' }> => c.type === 'item.ended').map((c) => [c.key, c.output.status, c.reason]);

describe('a worker\'s batch', () => {
  it('runs what the queue hands it and says how each ended', () => {
    const { actor, controls, take, job, queue } = harness();
    take('b-1');
    take('b-2', 2);
    expect(actor.getSnapshot().context.items.map((i) => [i.id, i.status])).toEqual([
      ['b-1', 'running'],
      ['b-2.2', 'running'],
    ]);
    job('b-1').send({ type: 'finish' });
    queue({ type: 'queue.cancel', key: 'b-2', reason: 'cancel' });
    expect(ended(controls)).toEqual([
      ['b-1', 'done', undefined],
      ['b-2', 'cancelled', 'cancel'],
    ]);
    expect(actor.getSnapshot().matches('running')).toBe(true);
  });

  it('stopping hands running items back, takes nothing more, and ends only once the queue side has closed', () => {
    const { actor, controls, take, queue } = harness();
    take('b-1');
    actor.send({ type: 'app.cancel' });
    expect(controls.some((c) => c.type === 'queue.stop')).toBe(true);
    expect(ended(controls)).toEqual([['b-1', 'cancelled', 'stop']]);
    take('b-3');
    expect(ended(controls)).toEqual([
      ['b-1', 'cancelled', 'stop'],
      ['b-3', 'cancelled', 'stop'],
    ]);
    expect(actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    queue({ type: 'queue.closed' });
    expect(actor.getSnapshot().matches('idle')).toBe(true);
    // A worker that stopped when asked is not a cancelled run: what it did not do is skipped.
    expect(actor.getSnapshot().context.lastResult).toEqual({ cancelled: false, items: [{ id: 'b-1', input: '/in/b-1.mp4', output: '/out/b-1.mp4', status: 'skipped', frames: undefined, error: undefined }] });
  });

  it('its own pause holds the queue and pauses its items; its skip cancels the oldest for its batch', () => {
    const { actor, controls, take } = harness();
    take('b-1');
    take('b-2');
    actor.send({ type: 'app.pause' });
    actor.send({ type: 'app.pause' });
    expect(controls.filter((c) => c.type === 'queue.hold')).toEqual([{ type: 'queue.hold', on: true }, { type: 'queue.hold', on: false }]);
    actor.send({ type: 'app.skip' });
    expect(ended(controls)).toEqual([['b-1', 'cancelled', 'cancel']]);
  });
});
