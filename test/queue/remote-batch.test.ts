import { describe, expect, it } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import { exitCodeOf } from '../../src/cli/outcome.js';
import type { JobOptions } from '../../src/domain.js';
import { appMachine } from '../../src/machines/app.js';
import type { batchMachine } from '../../src/machines/batch.js';
import { completed, failed, fromReport, newTrack, requeued } from '../../src/queue/derive.js';
import { PROTOCOL_VERSION, STALLED_REASON, type ItemReport } from '../../src/queue/protocol.js';
import { remoteBatchMachine, type ItemPatch, type RemoteControl, type RemoteIoInput, type RemoteReport } from '../../src/queue/remote-batch.js';

const options: JobOptions = { device: 'cpu', overwrite: false, tempRoot: '/tmp/x' };

/** The app machine over a remote batch whose queue side is the test: it sees the controls and sends the reports. */
function harness(jobOptions: JobOptions = options) {
  const controls: RemoteControl[] = [];
  let report: (event: RemoteReport) => void = () => undefined;
  const queue = fromCallback<RemoteControl, RemoteIoInput>(({ sendBack, receive }) => {
    report = sendBack as (event: RemoteReport) => void;
    receive((event) => controls.push(event));
  });
  const batch = remoteBatchMachine.provide({ actors: { queue } });
  const actor = createActor(appMachine.provide({ actors: { batch: batch as unknown as typeof batchMachine } }));
  actor.start();
  actor.send({ type: 'app.start', request: { runId: 'b1', items: [1, 2, 3].map((n) => ({ input: `/in/${n}.mp4`, output: `/out/${n}.mp4` })), options: jobOptions } });
  const patch = (...patches: ItemPatch[]): void => report({ type: 'remote.items', patches });
  return { actor, controls, patch, report: (event: RemoteReport) => report(event) };
}

describe('a batch on a queue, as the app machine sees it', () => {
  it('items follow the reports; the run ends when every item has ended, with the local exit codes', () => {
    const { actor, patch } = harness();
    expect(actor.getSnapshot().context.items.map((i) => i.id)).toEqual(['b1-1', 'b1-2', 'b1-3']);
    patch({ id: 'b1-1', patch: { status: 'running', phase: 'processing', notices: ['on worker wA'] } });
    expect(actor.getSnapshot().context.items[0]).toMatchObject({ status: 'running', phase: 'processing', notices: ['on worker wA'] });
    patch({ id: 'b1-1', patch: { status: 'done', frames: 24 } }, { id: 'b1-2', patch: { status: 'done' } });
    expect(actor.getSnapshot().matches('running')).toBe(true);
    patch({ id: 'b1-3', patch: { status: 'failed', error: { kind: 'input', message: 'input not found: /in/3.mp4' } } });
    expect(actor.getSnapshot().matches('idle')).toBe(true);
    const result = actor.getSnapshot().context.lastResult!;
    expect(result.items.map((i) => i.status)).toEqual(['done', 'done', 'failed']);
    expect(exitCodeOf(result)).toBe(1);
  });

  it('an ended item stays ended: a late report changes nothing', () => {
    const { actor, patch } = harness();
    patch({ id: 'b1-1', patch: { status: 'done' } });
    patch({ id: 'b1-1', patch: { status: 'running', phase: 'processing' } });
    expect(actor.getSnapshot().context.items[0]).toMatchObject({ status: 'done' });
  });

  it('cancel goes down once; the app is back to idle only when every worker has reported its item', () => {
    const { actor, controls, patch } = harness();
    patch({ id: 'b1-1', patch: { status: 'running' } }, { id: 'b1-2', patch: { status: 'running' } });
    actor.send({ type: 'app.cancel' });
    actor.send({ type: 'app.cancel' });
    expect(controls.filter((c) => c.type === 'remote.cancel')).toHaveLength(1);
    expect(actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    patch({ id: 'b1-3', patch: { status: 'skipped' } }, { id: 'b1-1', patch: { status: 'cancelled' } });
    expect(actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    patch({ id: 'b1-2', patch: { status: 'cancelled' } });
    expect(actor.getSnapshot().matches('idle')).toBe(true);
    expect(actor.getSnapshot().context.lastResult).toMatchObject({ cancelled: true });
    expect(exitCodeOf(actor.getSnapshot().context.lastResult)).toBe(130);
  });

  it('skip names the oldest running item, wherever it runs; pause and resume go down', () => {
    const { actor, controls, patch } = harness();
    patch({ id: 'b1-2', patch: { status: 'running' } });
    patch({ id: 'b1-1', patch: { status: 'running' } });
    actor.send({ type: 'app.skip' });
    actor.send({ type: 'app.pause' });
    actor.send({ type: 'app.pause' });
    expect(controls).toEqual([{ type: 'remote.skip', id: 'b1-2' }, { type: 'remote.pause' }, { type: 'remote.resume' }]);
  });

  it('--fail-fast: the first failed item stops the waiting ones from starting (once)', () => {
    const { controls, patch } = harness({ ...options, failFast: true });
    patch({ id: 'b1-1', patch: { status: 'failed', error: { kind: 'runtime', message: 'x' } } });
    patch({ id: 'b1-2', patch: { status: 'failed', error: { kind: 'runtime', message: 'y' } } });
    expect(controls).toEqual([{ type: 'remote.stopStarting' }]);
  });

  it('a queue that fails fails every item not ended, with its message', () => {
    const { actor, patch, report } = harness();
    patch({ id: 'b1-1', patch: { status: 'done' } });
    report({ type: 'remote.failed', error: { kind: 'runtime', message: 'the queue at redis://h:1/0: gone' } });
    expect(actor.getSnapshot().context.lastResult!.items.map((i) => [i.status, i.error?.message])).toEqual([
      ['done', undefined],
      ['failed', 'the queue at redis://h:1/0: gone'],
      ['failed', 'the queue at redis://h:1/0: gone'],
    ]);
  });
});

describe('what a submitter makes of reports and job endings', () => {
  const report = (worker: string, attempt: number, extra: Partial<ItemReport> = {}): ItemReport => ({ v: PROTOCOL_VERSION, worker, attempt, status: 'running', notices: [], ...extra });

  it('notices only grow: each attempt says its worker, then its own notices once', () => {
    let t = newTrack();
    t = fromReport(t, report('wA', 1, { notices: ['model ×2 on cpu'] })).track;
    t = fromReport(t, report('wA', 1, { notices: ['model ×2 on cpu'], phase: 'processing' })).track;
    t = requeued(t, 'worker wA stopped answering: the item goes back to the queue').track;
    const last = fromReport(t, report('wB', 2, { notices: ['resuming: 2 of 4 segments reused'] }));
    expect(last.patch!.notices).toEqual(['on worker wA', 'model ×2 on cpu', 'worker wA stopped answering: the item goes back to the queue', 'on worker wB (start 2)', 'resuming: 2 of 4 segments reused']);
    expect(last.patch!.status).toBe('running');
  });

  it('a failed attempt that is tried again says so; workers dying twice is a run-time failure', () => {
    const t = fromReport(newTrack(), report('wA', 1, { status: 'failed', error: { kind: 'runtime', message: 'the upscale host was killed by SIGKILL' } })).track;
    const again = requeued(t);
    expect(again.patch).toMatchObject({ status: 'pending', notices: ['on worker wA', 'failed on worker wA: the upscale host was killed by SIGKILL; trying again'] });
    expect(failed(newTrack(), STALLED_REASON).patch).toMatchObject({ status: 'failed', error: { kind: 'runtime' } });
  });

  it('a failure keeps the worker\'s error and its kind (bad input exits 2); a cancel before the start is a skip', () => {
    const t = fromReport(newTrack(), report('wA', 1, { status: 'failed', error: { kind: 'input', message: 'input not found: /x.mp4' } })).track;
    expect(failed(t, 'input not found: /x.mp4').patch).toEqual({ status: 'failed', error: { kind: 'input', message: 'input not found: /x.mp4' } });
    expect(failed(newTrack(), 'cancelled: not started').patch).toEqual({ status: 'skipped' });
    expect(failed(newTrack(), 'cancelled: skipped by the submitter').patch).toEqual({ status: 'cancelled' });
    expect(completed(failed(newTrack(), 'boom').track, { frames: 3 }).patch).toBeUndefined();
  });
});
