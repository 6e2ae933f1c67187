import { assign, enqueueActions, fromCallback, sendParent, setup, type ActorRefFrom, type DoneActorEvent } from 'xstate';
import { jobDirPath, type BatchOutput, type JobOptions, type JobOutput } from '../domain.js';
import { patchItem, recordReport, type BatchCommand, type BatchInput, type BatchItem, type BatchUpdateEvent, type JobReport } from '../machines/batch.js';
import { jobMachine, type JobNoticeEvent, type JobPhaseEvent, type JobProgressEvent, type JobScenesEvent } from '../machines/job.js';

/**
 * Why a worker's item stopped before its end: `cancel` (the submitter cancelled or skipped it, or the
 * worker's own `s`), `stop` (this worker is stopping: the item goes back to the queue), `lost` (the
 * worker lost the item's lock: it is no longer this worker's).
 */
export type EndReason = 'cancel' | 'stop' | 'lost';

/** Sent up by the queue side. */
export type WorkerIoEvent =
  /** `attempt`: BullMQ's count of the job's starts, anywhere: a retry gets its own local id and folder. */
  | { readonly type: 'queue.take'; readonly key: string; readonly attempt: number; readonly input: string; readonly output: string; readonly options: JobOptions }
  | { readonly type: 'queue.cancel'; readonly key: string; readonly reason: 'cancel' | 'lost' }
  | { readonly type: 'queue.pause' | 'queue.resume'; readonly key: string }
  /** The BullMQ worker has closed: every item it held has been handed back or ended. */
  | { readonly type: 'queue.closed' }
  /** The queue side cannot go on: the worker stops. */
  | { readonly type: 'queue.failed'; readonly message: string };

/** Sent down to the queue side. */
export type WorkerControl =
  | { readonly type: 'item.update'; readonly key: string; readonly item: BatchItem }
  | { readonly type: 'item.ended'; readonly key: string; readonly output: JobOutput; readonly reason?: EndReason }
  | { readonly type: 'queue.stop' }
  /** The worker's own pause: take no new item while on. */
  | { readonly type: 'queue.hold'; readonly on: boolean };

export type WorkerBatchEvent =
  | BatchCommand
  | WorkerIoEvent
  | JobProgressEvent
  | JobPhaseEvent
  | JobNoticeEvent
  | JobScenesEvent
  | DoneActorEvent<JobOutput>;

interface WorkerContext extends BatchInput {
  readonly entries: readonly BatchItem[];
  readonly index: number;
  /** Running jobs by local item id, oldest first (the statechart panel shows the oldest). */
  readonly running: Readonly<Record<string, ActorRefFrom<typeof jobMachine>>>;
  /** The queue's job id of each local item. */
  readonly keys: Readonly<Record<string, string>>;
  /** How many times each queue job has started here. */
  readonly starts: Readonly<Record<string, number>>;
  readonly reasons: Readonly<Record<string, EndReason>>;
  readonly stopping: boolean;
  readonly closed: boolean;
  readonly paused: boolean;
  readonly cancelRequested: boolean;
}

/** Finished items kept in view (the running ones always are): a worker runs for days. */
export const KEEP_FINISHED = 20;

function pruned(entries: readonly BatchItem[]): BatchItem[] {
  const finished = entries.filter((item) => item.status !== 'running' && item.status !== 'pending');
  const drop = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)).map((item) => item.id));
  return entries.filter((item) => !drop.has(item.id));
}

function localIdOf(context: WorkerContext, event: WorkerBatchEvent): string | undefined {
  return 'key' in event ? Object.keys(context.running).find((id) => context.keys[id] === event.key) : undefined;
}

/**
 * A worker's run: items arrive from the queue one by one (`queue.take`), each runs as a local job
 * (the same job machine, stages and hosts as `upframe run`), up to the worker's --jobs at once; their
 * reports and endings go back to the queue side. It is one long batch for the app machine, so the
 * worker has the same TUI, reporters and cancel as a local run: a cancel (Ctrl-C, `c`) stops the
 * worker, handing its running items back to the queue, and ends once the queue side has closed.
 */
export const workerBatchMachine = setup({
  types: {
    input: {} as BatchInput,
    context: {} as WorkerContext,
    events: {} as WorkerBatchEvent,
    output: {} as BatchOutput,
  },
  actors: { job: jobMachine, queue: fromCallback<WorkerControl, Record<string, never>>(() => undefined) },
  guards: {
    allDone: ({ context }) => context.stopping && context.closed && Object.keys(context.running).length === 0,
  },
  actions: {
    take: enqueueActions(({ context, event, enqueue }) => {
      const take = event as Extract<WorkerBatchEvent, { type: 'queue.take' }>;
      if (context.stopping) {
        const output: JobOutput = { id: take.key, input: take.input, output: take.output, status: 'cancelled' };
        enqueue.sendTo('queue', { type: 'item.ended', key: take.key, output, reason: 'stop' } satisfies WorkerControl);
        return;
      }
      // Unique among the folders of every worker sharing the temp root: a start's number is the queue's.
      const count = (context.starts[take.key] ?? 0) + 1;
      const base = take.attempt > 1 ? `${take.key}.${take.attempt}` : take.key;
      const id = count === 1 ? base : `${base}-${count}`;
      enqueue.assign(({ spawn }) => ({
        running: {
          ...context.running,
          [id]: spawn('job', { id: `job-${id}`, input: { id, input: take.input, output: take.output, options: take.options, jobDir: jobDirPath(take.options.tempRoot, id) } }),
        },
        keys: { ...context.keys, [id]: take.key },
        starts: { ...context.starts, [take.key]: count },
        entries: [...context.entries, { id, input: take.input, output: take.output, status: 'running' as const }],
        index: context.index + 1,
      }));
    }),
    pauseNewJob: enqueueActions(({ context, enqueue }) => {
      if (!context.paused) return;
      const newest = Object.values(context.running).at(-1);
      if (newest) enqueue.sendTo(newest, { type: 'job.pause' });
    }),
    cancelItem: enqueueActions(({ context, event, enqueue }) => {
      const id = localIdOf(context, event);
      if (!id) return;
      const { reason } = event as Extract<WorkerBatchEvent, { type: 'queue.cancel' }>;
      enqueue.assign({ reasons: { ...context.reasons, [id]: context.reasons[id] ?? reason } });
      enqueue.sendTo(context.running[id], { type: 'job.cancel' });
    }),
    pauseItem: enqueueActions(({ context, event, enqueue }) => {
      const id = localIdOf(context, event);
      if (id) enqueue.sendTo(context.running[id], { type: event.type === 'queue.pause' ? 'job.pause' : 'job.resume' });
    }),
    /** The worker stops: no new item; running ones are cancelled here and handed back to the queue. */
    stop: enqueueActions(({ context, enqueue }) => {
      const reasons = { ...context.reasons };
      for (const id of Object.keys(context.running)) reasons[id] ??= 'stop';
      enqueue.assign({ stopping: true, cancelRequested: true, reasons });
      enqueue.sendTo('queue', { type: 'queue.stop' } satisfies WorkerControl);
      for (const ref of Object.values(context.running)) enqueue.sendTo(ref, { type: 'job.cancel' });
    }),
    failQueue: enqueueActions(({ context, event, enqueue }) => {
      const { message } = event as Extract<WorkerBatchEvent, { type: 'queue.failed' }>;
      const reasons = { ...context.reasons };
      for (const id of Object.keys(context.running)) reasons[id] ??= 'stop';
      enqueue.assign({ stopping: true, closed: true, cancelRequested: true, reasons });
      for (const [id, ref] of Object.entries(context.running)) {
        enqueue.assign(({ context: c }) => ({ entries: patchItem(c.entries, id, { notices: [...(c.entries.find((i) => i.id === id)?.notices ?? []), message] }) }));
        enqueue.sendTo(ref, { type: 'job.cancel' });
      }
    }),
    markClosed: assign({ closed: true }),
    /** The worker's own `s`: its oldest running item is cancelled (for the batch too). */
    skipOldest: enqueueActions(({ context, enqueue }) => {
      const [id, ref] = Object.entries(context.running)[0] ?? [];
      if (!id || !ref) return;
      enqueue.assign({ reasons: { ...context.reasons, [id]: context.reasons[id] ?? 'cancel' } });
      enqueue.sendTo(ref, { type: 'job.cancel' });
    }),
    pauseAll: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ paused: true });
      enqueue.sendTo('queue', { type: 'queue.hold', on: true } satisfies WorkerControl);
      for (const ref of Object.values(context.running)) enqueue.sendTo(ref, { type: 'job.pause' });
    }),
    resumeAll: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ paused: false });
      enqueue.sendTo('queue', { type: 'queue.hold', on: false } satisfies WorkerControl);
      for (const ref of Object.values(context.running)) enqueue.sendTo(ref, { type: 'job.resume' });
    }),
    finishJob: enqueueActions(({ context, event, enqueue }) => {
      const output = (event as DoneActorEvent<JobOutput>).output;
      const key = context.keys[output.id];
      const { [output.id]: _finished, ...running } = context.running;
      const { [output.id]: reason, ...reasons } = context.reasons;
      enqueue.assign({
        running,
        reasons,
        entries: pruned(patchItem(context.entries, output.id, { status: output.status, frames: output.frames, error: output.error })),
      });
      if (key) enqueue.sendTo('queue', { type: 'item.ended', key, output, reason } satisfies WorkerControl);
    }),
    recordReport: assign({ entries: ({ context, event }) => recordReport(context.entries, event as JobReport) }),
    /** The item's new state, to the queue side (which throttles what it sends on). */
    forwardItem: enqueueActions(({ context, event, enqueue }) => {
      const id = (event as JobPhaseEvent).jobId;
      const item = context.entries.find((i) => i.id === id);
      const key = context.keys[id];
      if (item && key) enqueue.sendTo('queue', { type: 'item.update', key, item } satisfies WorkerControl);
    }),
    reportItems: sendParent(({ context }): BatchUpdateEvent => ({ type: 'batch.update', items: context.entries })),
  },
}).createMachine({
  id: 'batch',
  description: 'A worker: items come from the queue and run here as jobs, up to --jobs at once, until the worker stops.',
  context: ({ input }) => ({
    ...input,
    entries: [],
    index: 0,
    running: {},
    keys: {},
    starts: {},
    reasons: {},
    stopping: false,
    closed: false,
    paused: false,
    cancelRequested: false,
  }),
  invoke: { id: 'queue', src: 'queue', input: () => ({}) },
  on: {
    'job.phase': { actions: ['recordReport', 'forwardItem', 'reportItems'] },
    'job.progress': { actions: ['recordReport', 'forwardItem', 'reportItems'] },
    'job.notice': { actions: ['recordReport', 'forwardItem', 'reportItems'] },
    'job.scenes': { actions: ['recordReport', 'forwardItem', 'reportItems'] },
  },
  initial: 'taking',
  states: {
    taking: {
      description: 'Takes items from the queue and runs them; cancel, skip and pause reach them as in a local batch.',
      entry: 'reportItems',
      on: {
        'queue.take': { actions: ['take', 'pauseNewJob', 'reportItems'] },
        'queue.cancel': { actions: 'cancelItem' },
        'queue.pause': { actions: 'pauseItem' },
        'queue.resume': { actions: 'pauseItem' },
        'queue.failed': { target: 'stopping', actions: ['failQueue', 'reportItems'] },
        'batch.cancel': { target: 'stopping', actions: ['stop', 'reportItems'] },
        'batch.skip': { actions: 'skipOldest' },
        'batch.pause': { actions: 'pauseAll' },
        'batch.resume': { actions: 'resumeAll' },
        'xstate.done.actor.*': { actions: ['finishJob', 'reportItems'] },
      },
    },
    stopping: {
      description: 'Takes nothing more; running items are cancelled here and handed back to the queue; waits for the queue side to close.',
      always: { guard: 'allDone', target: 'stopped' },
      on: {
        'queue.take': { actions: 'take' },
        'queue.cancel': { actions: 'cancelItem' },
        'queue.closed': { actions: 'markClosed' },
        'queue.failed': { actions: 'markClosed' },
        'xstate.done.actor.*': { actions: ['finishJob', 'reportItems'] },
      },
    },
    stopped: { type: 'final', description: 'Nothing runs here and the queue side has closed.' },
  },
  // What this worker did: a worker that stops when asked is not a cancelled run, and an item
  // cancelled here (by its submitter, or handed back) is one it did not do: skipped.
  output: ({ context }) => ({
    cancelled: false,
    items: context.entries.map((item) => ({
      id: item.id,
      input: item.input,
      output: item.output,
      status: item.status === 'done' || item.status === 'failed' ? item.status : 'skipped',
      frames: item.frames,
      error: item.error,
    })),
  }),
});
