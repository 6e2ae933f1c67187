import { assign, enqueueActions, sendParent, setup, type ActorRefFrom, type DoneActorEvent } from 'xstate';
import { jobDirPath, type BatchOutput, type ItemStatus, type JobError, type JobOptions, type JobOutput, type Progress, type Scene, type StageName } from '../domain.js';
import { jobMachine, type JobNoticeEvent, type JobPhaseEvent, type JobProgressEvent, type JobScenesEvent } from './job.js';

export interface BatchItem {
  readonly id: string;
  readonly input: string;
  readonly output: string;
  readonly status: ItemStatus;
  readonly phase?: string;
  readonly stage?: StageName;
  readonly progress?: Progress;
  readonly frames?: number;
  readonly error?: JobError;
  readonly notices?: readonly string[];
  readonly scenes?: readonly Scene[];
}

export interface BatchInput {
  readonly runId: string;
  readonly items: readonly { readonly input: string; readonly output: string }[];
  readonly options: JobOptions;
}

interface BatchContext extends BatchInput {
  readonly entries: readonly BatchItem[];
  /** The next item to start. */
  readonly index: number;
  readonly cancelRequested: boolean;
  /** No new item starts (cancel, or --fail-fast after a failure); the running ones finish. */
  readonly stopStarting: boolean;
  /** Running jobs by item id, oldest first: `--jobs N` keeps up to N of them. */
  readonly running: Readonly<Record<string, ActorRefFrom<typeof jobMachine>>>;
}

/** What the app sends any batch, local or on a queue. */
export type BatchCommand =
  | { readonly type: 'batch.cancel' }
  | { readonly type: 'batch.skip' }
  | { readonly type: 'batch.pause' }
  | { readonly type: 'batch.resume' };

export type BatchEvent =
  | BatchCommand
  | JobProgressEvent
  | JobPhaseEvent
  | JobNoticeEvent
  | JobScenesEvent
  | DoneActorEvent<JobOutput>;

export type BatchUpdateEvent = { readonly type: 'batch.update'; readonly items: readonly BatchItem[] };

/** A batch's items before any has run: each named `<runId>-<n>`, pending. */
export function pendingItems(input: Pick<BatchInput, 'runId' | 'items'>): BatchItem[] {
  return input.items.map((item, n) => ({ id: `${input.runId}-${n + 1}`, input: item.input, output: item.output, status: 'pending' as const }));
}

export function patchItem(entries: readonly BatchItem[], id: string, patch: Partial<BatchItem>): BatchItem[] {
  return entries.map((item) => (item.id === id ? { ...item, ...patch } : item));
}

/** What a job reports about itself while it runs, as the batch keeps it per item. */
export type JobReport = JobPhaseEvent | JobProgressEvent | JobNoticeEvent | JobScenesEvent;

export function recordReport(entries: readonly BatchItem[], report: JobReport): BatchItem[] {
  switch (report.type) {
    case 'job.phase':
      // A new phase starts its own count: the last stage's numbers would mislead.
      return patchItem(entries, report.jobId, { phase: report.phase, stage: report.stage, progress: undefined });
    case 'job.progress':
      return patchItem(entries, report.jobId, { stage: report.stage, progress: report.progress });
    case 'job.notice':
      return patchItem(entries, report.jobId, { notices: [...(entries.find((i) => i.id === report.jobId)?.notices ?? []), report.message] });
    case 'job.scenes':
      return patchItem(entries, report.jobId, { scenes: report.scenes });
  }
}

/** The summary of a batch: an item that never ended counts as skipped. */
export function batchOutputOf(entries: readonly BatchItem[], cancelled: boolean): BatchOutput {
  return {
    cancelled,
    items: entries.map((item) => ({
      id: item.id,
      input: item.input,
      output: item.output,
      status: item.status === 'pending' || item.status === 'running' ? 'skipped' : item.status,
      frames: item.frames,
      error: item.error,
    })),
  };
}

/** Every run is a batch of 1..N items, run one after another. */
export const batchMachine = setup({
  types: {
    input: {} as BatchInput,
    context: {} as BatchContext,
    events: {} as BatchEvent,
    output: {} as BatchOutput,
  },
  actors: { job: jobMachine },
  guards: {
    allDone: ({ context }) => Object.keys(context.running).length === 0 && (context.stopStarting || context.index >= context.entries.length),
    failFast: ({ context, event }) => Boolean(context.options.failFast) && (event as DoneActorEvent<JobOutput>).output?.status === 'failed',
  },
  actions: {
    /** Starts items until `--jobs` of them run (1 by default). */
    fill: assign(({ context, spawn }) => {
      const slots = Math.max(1, context.options.jobs ?? 1);
      let { index, entries } = context;
      const running = { ...context.running };
      while (!context.stopStarting && index < entries.length && Object.keys(running).length < slots) {
        const item = entries[index];
        running[item.id] = spawn('job', {
          id: `job-${item.id}`,
          input: { id: item.id, input: item.input, output: item.output, options: context.options, jobDir: jobDirPath(context.options.tempRoot, item.id) },
        });
        entries = patchItem(entries, item.id, { status: 'running' });
        index += 1;
      }
      return { index, entries, running };
    }),
    finishJob: assign(({ context, event }) => {
      const output = (event as DoneActorEvent<JobOutput>).output;
      const { [output.id]: _finished, ...running } = context.running;
      return {
        running,
        entries: patchItem(context.entries, output.id, { status: output.status, frames: output.frames, error: output.error }),
      };
    }),
    requestCancel: assign({ cancelRequested: true, stopStarting: true }),
    stopStarting: assign({ stopStarting: true }),
    skipRemaining: assign({
      entries: ({ context }) => context.entries.map((item) => (item.status === 'pending' ? { ...item, status: 'skipped' as const } : item)),
    }),
    cancelJobs: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.running)) enqueue.sendTo(ref, { type: 'job.cancel' });
    }),
    /** SKIP: the oldest running item. */
    skipJob: enqueueActions(({ context, enqueue }) => {
      const oldest = Object.values(context.running)[0];
      if (oldest) enqueue.sendTo(oldest, { type: 'job.cancel' });
    }),
    pauseJobs: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.running)) enqueue.sendTo(ref, { type: 'job.pause' });
    }),
    resumeJobs: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.running)) enqueue.sendTo(ref, { type: 'job.resume' });
    }),
    recordReport: assign({ entries: ({ context, event }) => recordReport(context.entries, event as JobReport) }),
    reportItems: sendParent(({ context }): BatchUpdateEvent => ({ type: 'batch.update', items: context.entries })),
  },
}).createMachine({
  id: 'batch',
  description: 'Every run is a batch of 1..N items; up to --jobs of them run at once, each as a job.',
  context: ({ input }) => ({
    ...input,
    entries: pendingItems(input),
    index: 0,
    cancelRequested: false,
    stopStarting: false,
    running: {},
  }),
  initial: 'running',
  on: {
    'job.phase': { actions: ['recordReport', 'reportItems'] },
    'job.progress': { actions: ['recordReport', 'reportItems'] },
    'job.notice': { actions: ['recordReport', 'reportItems'] },
    'job.scenes': { actions: ['recordReport', 'reportItems'] },
  },
  states: {
    running: {
      description: 'Jobs run, up to --jobs at once; each ending starts the next item unless a cancel or --fail-fast stopped starting.',
      entry: ['fill', 'reportItems'],
      always: { guard: 'allDone', target: 'finished' },
      on: {
        'batch.cancel': { actions: ['requestCancel', 'skipRemaining', 'cancelJobs', 'reportItems'] },
        'batch.skip': { actions: 'skipJob' },
        'batch.pause': { actions: 'pauseJobs' },
        'batch.resume': { actions: 'resumeJobs' },
        'xstate.done.actor.*': [
          { guard: 'failFast', actions: ['finishJob', 'stopStarting', 'skipRemaining', 'reportItems'] },
          { actions: ['finishJob', 'fill', 'reportItems'] },
        ],
      },
    },
    finished: { type: 'final', description: 'No job is running and none will start: the summary goes to the app.' },
  },
  output: ({ context }) => batchOutputOf(context.entries, context.cancelRequested),
});
