import { assign, sendTo, setup, type DoneActorEvent } from 'xstate';
import { batchMachine, type BatchItem, type BatchUpdateEvent } from './batch.js';
import type { BatchOutput, StartRequest } from './types.js';

interface AppContext {
  readonly runCount: number;
  readonly request?: StartRequest;
  readonly items: readonly BatchItem[];
  readonly lastResult?: BatchOutput;
  readonly cancelRequested: boolean;
  readonly forced: boolean;
  readonly quitRequested: boolean;
  readonly paused: boolean;
}

export type AppEvent =
  | { readonly type: 'app.start'; readonly request: StartRequest }
  | { readonly type: 'app.cancel' }
  | { readonly type: 'app.skip' }
  | { readonly type: 'app.pause' }
  | { readonly type: 'app.quit' }
  | BatchUpdateEvent
  | DoneActorEvent<BatchOutput>;

/**
 * idle ⇄ running. Every way a run ends (done, failed, cancelled) comes back to `idle` through
 * the batch's done event, with the result summary: the one place the UI resets.
 */
export const appMachine = setup({
  types: {
    context: {} as AppContext,
    events: {} as AppEvent,
  },
  actors: { batch: batchMachine },
  guards: {
    quitRequested: ({ context }) => context.quitRequested,
    alreadyCancelling: ({ context }) => context.cancelRequested,
    isPaused: ({ context }) => context.paused,
  },
  actions: {
    acceptRequest: assign(({ context, event }) => ({
      request: event.type === 'app.start' ? event.request : undefined,
      runCount: context.runCount + 1,
      items: [],
      cancelRequested: false,
      forced: false,
      paused: false,
    })),
    recordItems: assign({ items: ({ event }) => (event as BatchUpdateEvent).items }),
    recordResult: assign({ lastResult: ({ event }) => (event as DoneActorEvent<BatchOutput>).output, request: undefined }),
    markCancel: assign({ cancelRequested: true, paused: false }),
    markForced: assign({ forced: true }),
    markQuit: assign({ quitRequested: true }),
    togglePause: assign({ paused: ({ context }) => !context.paused }),
    cancelBatch: sendTo('batch', { type: 'batch.cancel' }),
    forceBatch: sendTo('batch', { type: 'batch.force' }),
    skipItem: sendTo('batch', { type: 'batch.skip' }),
    pauseBatch: sendTo('batch', { type: 'batch.pause' }),
    resumeBatch: sendTo('batch', { type: 'batch.resume' }),
  },
}).createMachine({
  id: 'app',
  context: { runCount: 0, items: [], cancelRequested: false, forced: false, quitRequested: false, paused: false },
  initial: 'idle',
  states: {
    idle: {
      on: {
        'app.start': { target: 'running', actions: 'acceptRequest' },
        'app.quit': 'quit',
        // A cancel with nothing running is a no-op, not an error.
        'app.cancel': {},
      },
    },
    running: {
      invoke: {
        id: 'batch',
        src: 'batch',
        input: ({ context }) => ({ runId: context.request!.runId ?? `r${context.runCount}`, items: context.request!.items, options: context.request!.options }),
        onDone: [
          { guard: 'quitRequested', target: 'quit', actions: 'recordResult' },
          { target: 'idle', actions: 'recordResult' },
        ],
      },
      on: { 'batch.update': { actions: 'recordItems' } },
      initial: 'active',
      states: {
        active: {
          on: {
            'app.cancel': 'cancelling',
            'app.quit': { target: 'cancelling', actions: 'markQuit' },
            'app.skip': { actions: 'skipItem' },
            'app.pause': [
              { guard: 'isPaused', actions: ['togglePause', 'resumeBatch'] },
              { actions: ['togglePause', 'pauseBatch'] },
            ],
          },
        },
        cancelling: {
          entry: ['markCancel', 'cancelBatch'],
          on: {
            // Second cancel = force; more are no-ops.
            'app.cancel': { actions: ['markForced', 'forceBatch'] },
            'app.quit': { actions: ['markQuit', 'markForced', 'forceBatch'] },
          },
        },
      },
    },
    quit: { type: 'final' },
  },
});
