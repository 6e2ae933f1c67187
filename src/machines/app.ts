import { assign, sendTo, setup, type DoneActorEvent } from 'xstate';
import type { BatchOutput, StartRequest } from '../domain.js';
import { batchMachine, type BatchItem, type BatchUpdateEvent } from './batch.js';

interface AppContext {
  readonly runCount: number;
  readonly request?: StartRequest;
  readonly items: readonly BatchItem[];
  readonly lastResult?: BatchOutput;
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
    isPaused: ({ context }) => context.paused,
  },
  actions: {
    acceptRequest: assign(({ context, event }) => ({
      request: event.type === 'app.start' ? event.request : undefined,
      runCount: context.runCount + 1,
      items: [],
      paused: false,
    })),
    recordItems: assign({ items: ({ event }) => (event as BatchUpdateEvent).items }),
    recordResult: assign({ lastResult: ({ event }) => (event as DoneActorEvent<BatchOutput>).output, request: undefined }),
    clearPause: assign({ paused: false }),
    markQuit: assign({ quitRequested: true }),
    togglePause: assign({ paused: ({ context }) => !context.paused }),
    cancelBatch: sendTo('batch', { type: 'batch.cancel' }),
    skipItem: sendTo('batch', { type: 'batch.skip' }),
    pauseBatch: sendTo('batch', { type: 'batch.pause' }),
    resumeBatch: sendTo('batch', { type: 'batch.resume' }),
  },
}).createMachine({
  id: 'app',
  description: 'The application: a ready form (idle) or one run of a batch.',
  context: { runCount: 0, items: [], quitRequested: false, paused: false },
  initial: 'idle',
  states: {
    idle: {
      description: 'Ready: Start is enabled, Cancel hidden, the last run\'s summary shown.',
      on: {
        'app.start': { target: 'running', actions: 'acceptRequest' },
        'app.quit': 'quit',
        // A cancel with nothing running is a no-op, not an error.
        'app.cancel': {},
      },
    },
    running: {
      description: 'A batch runs; whatever way it ends, the app goes back to idle with its summary.',
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
          description: 'Working: cancel, skip, pause and quit are accepted.',
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
          description: 'Cancel sent down to every running job: their processes are killed; waiting for the batch to end. Another cancel changes nothing.',
          entry: ['clearPause', 'cancelBatch'],
          on: {
            'app.cancel': {},
            'app.quit': { actions: 'markQuit' },
          },
        },
      },
    },
    quit: { type: 'final', description: 'The app has ended; nothing it started is live.' },
  },
});
