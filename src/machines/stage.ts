import { assign, fromCallback, sendParent, sendTo, setup } from 'xstate';
import type { JobError } from '../services/errors.js';
import type { Progress, StageName, StageStatus, WorkCommand, WorkEvent } from './types.js';

export interface StageInput {
  readonly name: StageName;
  readonly graceMs: number;
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
  readonly graceMs: number;
  readonly work: unknown;
  readonly progress?: Progress;
  readonly status?: StageStatus;
  readonly result?: unknown;
  readonly error?: JobError;
}

export type StageEvent =
  | WorkEvent
  | { readonly type: 'stage.cancel' }
  | { readonly type: 'stage.force' }
  | { readonly type: 'stage.pause' }
  | { readonly type: 'stage.resume' };

export type StageProgressEvent = { readonly type: 'stage.progress'; readonly stage: StageName; readonly progress: Progress };
export type StageNoticeEvent = { readonly type: 'stage.notice'; readonly stage: StageName; readonly message: string };

/**
 * One pipeline stage. The work actor is invoked at the root so it outlives `running`: in
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
  delays: {
    grace: ({ context }) => context.graceMs,
  },
  actions: {
    stopWork: sendTo('work', { type: 'work.stop' } satisfies WorkCommand),
    killWork: sendTo('work', { type: 'work.kill' } satisfies WorkCommand),
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
    recordResult: assign({ status: 'done' as const, result: ({ event }) => (event.type === 'work.done' ? event.result : undefined) }),
    recordFailure: assign({ status: 'failed' as const, error: ({ event }) => (event.type === 'work.failed' ? event.error : undefined) }),
    recordCancelled: assign({ status: 'cancelled' as const }),
  },
}).createMachine({
  id: 'stage',
  context: ({ input }) => ({ name: input.name, graceMs: input.graceMs, work: input.work }),
  invoke: { id: 'work', src: 'work', input: ({ context }: { context: StageContext }) => context.work },
  initial: 'active',
  on: {
    'work.progress': { actions: ['recordProgress', 'reportProgress'] },
    'work.notice': { actions: 'reportNotice' },
  },
  states: {
    active: {
      initial: 'starting',
      on: {
        'stage.cancel': 'cancelling',
        'stage.force': 'cancelling',
        'work.done': 'done',
        'work.failed': 'failed',
      },
      states: {
        starting: { on: { 'work.started': 'running', 'stage.pause': 'paused' } },
        running: { on: { 'stage.pause': 'paused' } },
        paused: {
          entry: 'pauseWork',
          exit: 'resumeWork',
          on: { 'stage.resume': 'running', 'work.started': {} },
        },
      },
    },
    cancelling: {
      entry: 'stopWork',
      after: { grace: { actions: 'killWork' } },
      on: {
        'stage.force': { actions: 'killWork' },
        'work.stopped': 'cancelled',
        'work.failed': 'cancelled',
        // The work passed its commit point (the output is in place) before the cancel reached it.
        'work.done': 'done',
      },
    },
    done: { type: 'final', entry: 'recordResult' },
    failed: { type: 'final', entry: 'recordFailure' },
    cancelled: { type: 'final', entry: 'recordCancelled' },
  },
  output: ({ context }) => ({
    name: context.name,
    status: context.status ?? 'cancelled',
    result: context.result,
    error: context.error,
  }),
});
