import { assign, fromCallback, sendParent, sendTo, setup } from 'xstate';
import type { JobError, Progress, StageName, StageStatus } from '../domain.js';
import type { WorkCommand, WorkEvent } from './types.js';

export interface StageInput {
  readonly name: StageName;
  readonly work: unknown;
}

export interface StageOutput {
  readonly name: StageName;
  readonly status: StageStatus;
  readonly result?: unknown;
  readonly error?: JobError;
}

interface StageContext {
  readonly name: StageName;
  readonly work: unknown;
  readonly progress?: Progress;
  readonly status?: StageStatus;
  readonly result?: unknown;
  readonly error?: JobError;
}

export type StageEvent =
  | WorkEvent
  | { readonly type: 'stage.cancel' }
  | { readonly type: 'stage.pause' }
  | { readonly type: 'stage.resume' };

export type StageProgressEvent = { readonly type: 'stage.progress'; readonly stage: StageName; readonly progress: Progress };
export type StageNoticeEvent = { readonly type: 'stage.notice'; readonly stage: StageName; readonly message: string };
export type StageCommittedEvent = { readonly type: 'stage.committed'; readonly stage: StageName };

/**
 * One pipeline stage. The work actor is invoked at the root so it outlives `active`: in
 * `cancelling` it is still there to kill its processes, and the stage ends only when it says
 * nothing it owns is live.
 */
export const stageMachine = setup({
  types: {
    input: {} as StageInput,
    context: {} as StageContext,
    events: {} as StageEvent,
    output: {} as StageOutput,
  },
  actors: {
    work: fromCallback<WorkCommand, unknown>(() => undefined),
  },
  actions: {
    stopWork: sendTo('work', { type: 'work.stop' } satisfies WorkCommand),
    pauseWork: sendTo('work', { type: 'work.pause' } satisfies WorkCommand),
    resumeWork: sendTo('work', { type: 'work.resume' } satisfies WorkCommand),
    recordProgress: assign({
      progress: ({ event }) => (event.type === 'work.progress' ? event.progress : undefined),
    }),
    reportProgress: sendParent(({ context, event }: { context: StageContext; event: StageEvent }): StageProgressEvent => ({
      type: 'stage.progress',
      stage: context.name,
      progress: event.type === 'work.progress' ? event.progress : (context.progress ?? { done: 0, total: 0 }),
    })),
    reportNotice: sendParent(({ context, event }: { context: StageContext; event: StageEvent }): StageNoticeEvent => ({
      type: 'stage.notice',
      stage: context.name,
      message: event.type === 'work.notice' ? event.message : '',
    })),
    reportCommitted: sendParent(({ context }: { context: StageContext }): StageCommittedEvent => ({ type: 'stage.committed', stage: context.name })),
    recordResult: assign({ status: 'done' as const, result: ({ event }) => (event.type === 'work.done' ? event.result : undefined) }),
    recordFailure: assign({ status: 'failed' as const, error: ({ event }) => (event.type === 'work.failed' ? event.error : undefined) }),
    recordCancelled: assign({ status: 'cancelled' as const }),
  },
}).createMachine({
  id: 'stage',
  description: 'One pipeline stage: a work actor that owns the stage\'s processes, lease and files.',
  context: ({ input }) => ({ name: input.name, work: input.work }),
  invoke: { id: 'work', src: 'work', input: ({ context }: { context: StageContext }) => context.work },
  initial: 'active',
  on: {
    'work.progress': { actions: ['recordProgress', 'reportProgress'] },
    'work.notice': { actions: 'reportNotice' },
  },
  states: {
    active: {
      description: 'The work runs. A cancel, its result or its failure ends this state.',
      initial: 'starting',
      on: {
        'stage.cancel': '#stage.cancelling',
        'work.committed': { target: '#stage.committed', actions: 'reportCommitted' },
        'work.done': '#stage.done',
        'work.failed': '#stage.failed',
      },
      states: {
        starting: {
          description: 'Taking the device lease and starting processes.',
          on: { 'work.started': 'running', 'stage.pause': 'paused' },
        },
        running: {
          description: 'Processes run; progress goes up to the job.',
          on: { 'stage.pause': 'paused' },
        },
        paused: {
          description: 'Every process group of the stage is stopped (SIGSTOP) until resumed (SIGCONT).',
          entry: 'pauseWork',
          exit: 'resumeWork',
          on: { 'stage.resume': 'running', 'work.started': {} },
        },
      },
    },
    committed: {
      description: 'The commit point has passed: the output is in place, so a cancel is ignored while the work finishes its last steps.',
      on: { 'work.done': 'done', 'work.failed': 'failed' },
    },
    cancelling: {
      description: 'Every process the work owns was SIGKILLed; waiting until all are reaped and every release has run. Another cancel changes nothing.',
      entry: 'stopWork',
      on: {
        'work.stopped': 'cancelled',
        'work.failed': 'cancelled',
      },
    },
    done: { type: 'final', description: 'The work finished; its result goes to the job.', entry: 'recordResult' },
    failed: { type: 'final', description: 'The work failed; nothing it owned is live.', entry: 'recordFailure' },
    cancelled: { type: 'final', description: 'Cancelled; nothing the work owned is live.', entry: 'recordCancelled' },
  },
  output: ({ context }) => ({
    name: context.name,
    status: context.status ?? 'cancelled',
    result: context.result,
    error: context.error,
  }),
});
