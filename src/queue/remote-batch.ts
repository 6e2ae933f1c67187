import { assign, enqueueActions, fromCallback, sendParent, setup } from 'xstate';
import type { BatchOutput, ItemStatus, JobError, JobOptions } from '../domain.js';
import { batchOutputOf, pendingItems, type BatchCommand, type BatchInput, type BatchItem, type BatchUpdateEvent } from '../machines/batch.js';

/** What the queue side (a fromCallback child) is given: the batch with its item ids. */
export interface RemoteIoInput {
  readonly runId: string;
  readonly items: readonly { readonly id: string; readonly input: string; readonly output: string }[];
  readonly options: JobOptions;
}

/** Sent down to the queue side. */
export type RemoteControl =
  | { readonly type: 'remote.cancel' }
  | { readonly type: 'remote.skip'; readonly id: string }
  | { readonly type: 'remote.pause' }
  | { readonly type: 'remote.resume' }
  | { readonly type: 'remote.stopStarting' };

export interface ItemPatch {
  readonly id: string;
  readonly patch: Partial<Omit<BatchItem, 'id' | 'input' | 'output'>>;
}

/** Sent up by the queue side. */
export type RemoteReport =
  /** What the workers reported and BullMQ says, per item. A terminal status is final. */
  | { readonly type: 'remote.items'; readonly patches: readonly ItemPatch[] }
  /** Someone else (another follower) cancelled the batch: it ends as cancelled. */
  | { readonly type: 'remote.cancelled' }
  /** Nothing more can be known (the submission failed): every item not ended fails with this. */
  | { readonly type: 'remote.failed'; readonly error: JobError };

export type RemoteBatchEvent = BatchCommand | RemoteReport;

interface RemoteContext extends BatchInput {
  readonly entries: readonly BatchItem[];
  /** Items that have started (for the statechart panel's "item i of n"). */
  readonly index: number;
  /** No local jobs: the panel reads this as "none running here". */
  readonly running: Readonly<Record<string, never>>;
  /** Item ids in the order they started running: `s` skips the oldest. */
  readonly order: readonly string[];
  readonly cancelRequested: boolean;
  readonly stopStarting: boolean;
}

const TERMINAL: ReadonlySet<ItemStatus> = new Set(['done', 'failed', 'cancelled', 'skipped']);
export const isTerminal = (status: ItemStatus): boolean => TERMINAL.has(status);

function applyPatches(entries: readonly BatchItem[], patches: readonly ItemPatch[]): BatchItem[] {
  const byId = new Map(patches.map((p) => [p.id, p.patch]));
  return entries.map((item) => {
    const patch = byId.get(item.id);
    // An item that has ended stays ended: a late or repeated report changes nothing.
    return patch && !isTerminal(item.status) ? { ...item, ...patch } : item;
  });
}

/**
 * A batch that runs on a queue: the same input, `batch.update` reports and BatchOutput as the local
 * batch machine, so the app machine, the TUI, the reporters and the exit codes are the same. The work
 * is elsewhere: the invoked `queue` child submits (or follows) the items and reports what BullMQ and
 * the workers say; cancel, skip and pause go down to it. The batch ends when every item has ended
 * (a cancel included: only when every worker has reported its item cancelled).
 */
export const remoteBatchMachine = setup({
  types: {
    input: {} as BatchInput,
    context: {} as RemoteContext,
    events: {} as RemoteBatchEvent,
    output: {} as BatchOutput,
  },
  actors: { queue: fromCallback<RemoteControl, RemoteIoInput>(() => undefined) },
  guards: {
    allEnded: ({ context }) => context.entries.every((item) => isTerminal(item.status)),
    notCancelling: ({ context }) => !context.cancelRequested,
  },
  actions: {
    recordPatches: assign(({ context, event }) => {
      const { patches } = event as Extract<RemoteBatchEvent, { type: 'remote.items' }>;
      const entries = applyPatches(context.entries, patches);
      const started = entries.filter((item) => item.status === 'running' && !context.order.includes(item.id)).map((item) => item.id);
      return { entries, order: [...context.order, ...started], index: entries.filter((item) => item.status !== 'pending').length };
    }),
    /** --fail-fast: at the first failed item, no waiting item starts any more (running ones finish). */
    checkFailFast: enqueueActions(({ context, enqueue }) => {
      if (!context.options.failFast || context.stopStarting) return;
      if (!context.entries.some((item) => item.status === 'failed')) return;
      enqueue.assign({ stopStarting: true });
      enqueue.sendTo('queue', { type: 'remote.stopStarting' } satisfies RemoteControl);
    }),
    markCancelled: assign({ cancelRequested: true, stopStarting: true }),
    failRemaining: assign({
      entries: ({ context, event }) => {
        const { error } = event as Extract<RemoteBatchEvent, { type: 'remote.failed' }>;
        return context.entries.map((item) => (isTerminal(item.status) ? item : { ...item, status: 'failed' as const, error }));
      },
    }),
    requestCancel: assign({ cancelRequested: true, stopStarting: true }),
    forwardCancel: enqueueActions(({ enqueue }) => enqueue.sendTo('queue', { type: 'remote.cancel' } satisfies RemoteControl)),
    /** `s`: the oldest running item, wherever it runs. */
    forwardSkip: enqueueActions(({ context, enqueue }) => {
      const oldest = context.order.find((id) => context.entries.find((item) => item.id === id)?.status === 'running');
      if (oldest) enqueue.sendTo('queue', { type: 'remote.skip', id: oldest } satisfies RemoteControl);
    }),
    forwardPause: enqueueActions(({ enqueue }) => enqueue.sendTo('queue', { type: 'remote.pause' } satisfies RemoteControl)),
    forwardResume: enqueueActions(({ enqueue }) => enqueue.sendTo('queue', { type: 'remote.resume' } satisfies RemoteControl)),
    reportItems: sendParent(({ context }): BatchUpdateEvent => ({ type: 'batch.update', items: context.entries })),
  },
}).createMachine({
  id: 'batch',
  description: 'A batch on a queue: its items run on workers; this follows them and forwards cancel, skip and pause.',
  context: ({ input }) => ({
    ...input,
    entries: pendingItems(input),
    index: 0,
    running: {},
    order: [],
    cancelRequested: false,
    stopStarting: false,
  }),
  invoke: {
    id: 'queue',
    src: 'queue',
    input: ({ context }) => ({ runId: context.runId, items: context.entries.map(({ id, input, output }) => ({ id, input, output })), options: context.options }),
  },
  initial: 'running',
  states: {
    running: {
      description: 'Items wait in the queue or run on workers; each report updates them. Ends when every item has ended.',
      entry: 'reportItems',
      always: { guard: 'allEnded', target: 'finished' },
      on: {
        'remote.items': { actions: ['recordPatches', 'checkFailFast', 'reportItems'] },
        'remote.cancelled': { actions: 'markCancelled' },
        'remote.failed': { actions: ['failRemaining', 'reportItems'] },
        'batch.cancel': { guard: 'notCancelling', actions: ['requestCancel', 'forwardCancel'] },
        'batch.skip': { actions: 'forwardSkip' },
        'batch.pause': { actions: 'forwardPause' },
        'batch.resume': { actions: 'forwardResume' },
      },
    },
    finished: { type: 'final', description: 'Every item has ended and been reported: the summary goes to the app.' },
  },
  output: ({ context }) => batchOutputOf(context.entries, context.cancelRequested),
});
