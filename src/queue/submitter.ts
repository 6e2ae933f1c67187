import { hostname } from 'node:os';
import { Queue, QueueEvents, Relay } from 'bullmq';
import type { Redis } from 'ioredis';
import { fromCallback } from 'xstate';
import { appMachine } from '../machines/app.js';
import type { batchMachine } from '../machines/batch.js';
import { errorSink, openConnection } from './connection.js';
import { abandoned, completed, failed, fromReport, lost, newTrack, removed, requeued, started, type Derived, type ItemTrack } from './derive.js';
import {
  ATTEMPTS,
  CONTROL_TOPIC,
  KEEP_MS,
  PROTOCOL_VERSION,
  QUEUE_NAME,
  RELAY_NAMESPACE,
  batchKey,
  batchesKey,
  type BatchRecord,
  type ControlMessage,
  type ItemJobData,
  type ItemResult,
} from './protocol.js';
import { remoteBatchMachine, type ItemPatch, type RemoteControl, type RemoteIoInput, type RemoteReport } from './remote-batch.js';
import type { QueueAddress } from './url.js';

export interface SubmitConfig {
  readonly address: QueueAddress;
  readonly say: (line: string) => void;
  /** Batch ids this session follows rather than submits (status, the TUI opened with --queue and no inputs). */
  readonly attach: ReadonlySet<string>;
  /** The submitter gave --temp-dir: workers without their own use it (a shared folder). */
  readonly tempDirGiven: boolean;
  /** Told once the batch is on the queue (or found there). */
  readonly announce?: (batch: { readonly id: string; readonly items: number; readonly queue: string; readonly attached: boolean }) => void;
}

/** A safety net under the events: how often a follower looks at the jobs themselves. */
const POLL_MS = 2000;
const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'paused']);

export async function readBatchRecord(connection: Redis, id: string): Promise<BatchRecord | undefined> {
  const text = await connection.get(batchKey(id));
  return text ? (JSON.parse(text) as BatchRecord) : undefined;
}

/** Read-modify-write of a batch's flags (cancelled, paused, stopped); the record keeps its expiry. */
export async function markBatch(connection: Redis, id: string, flags: Partial<Pick<BatchRecord, 'cancelled' | 'paused' | 'stopped'>>): Promise<void> {
  const record = await readBatchRecord(connection, id);
  if (!record) return;
  await connection.set(batchKey(id), JSON.stringify({ ...record, ...flags }), 'KEEPTTL');
}

/** The queue side of a submitter or follower: submits the items (or finds them), follows them, forwards controls. */
class BatchFollower {
  private readonly tracks = new Map<string, ItemTrack>();
  private connection?: Redis;
  private queue?: Queue<ItemJobData, ItemResult>;
  private events?: QueueEvents;
  private relay?: Relay;
  private poll?: NodeJS.Timeout;
  private cancelling = false;
  private stopStarting = false;
  private closed = false;
  private polling = false;
  /** Controls wait for the batch to be on the queue (a cancel sent at once, as `status --cancel` does). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: SubmitConfig,
    private readonly input: RemoteIoInput,
    private readonly sendBack: (event: RemoteReport) => void,
  ) {
    for (const item of input.items) this.tracks.set(item.id, newTrack());
  }

  private get id(): string {
    return this.input.runId;
  }

  private apply(id: string, derive: (track: ItemTrack) => Derived): void {
    const track = this.tracks.get(id);
    if (!track || this.closed) return;
    const { track: next, patch } = derive(track);
    this.tracks.set(id, next);
    if (patch) this.sendBack({ type: 'remote.items', patches: [{ id, patch } satisfies ItemPatch] });
  }

  async start(): Promise<void> {
    const { config } = this;
    const attached = config.attach.has(this.id);
    const connection = openConnection(config.address, { say: config.say });
    this.connection = connection;
    const queue = new Queue<ItemJobData, ItemResult>(QUEUE_NAME, { connection });
    this.queue = queue;
    queue.on('error', errorSink(config.say, 'queue'));
    // Events from the moment before the jobs are added: none of ours is missed.
    const [last] = await connection.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
    const events = new QueueEvents(QUEUE_NAME, { connection, lastEventId: last?.[0] ?? '0-0' });
    this.events = events;
    events.on('error', errorSink(config.say, 'queue events'));
    const ours = (jobId: string): boolean => this.tracks.has(jobId);
    // No 'active' here: a worker may take an item only to put it back (a paused batch); the item is
    // running from its worker's first report on.
    events.on('progress', ({ jobId, data }) => ours(jobId) && this.apply(jobId, (t) => fromReport(t, data)));
    events.on('completed', ({ jobId, returnvalue }) => ours(jobId) && this.apply(jobId, (t) => completed(t, returnvalue)));
    events.on('failed', ({ jobId, failedReason }) => ours(jobId) && this.apply(jobId, (t) => failed(t, failedReason)));
    events.on('waiting', ({ jobId }) => ours(jobId) && this.apply(jobId, (t) => requeued(t)));
    events.on('removed', ({ jobId }) => ours(jobId) && this.apply(jobId, removed));
    events.on('stalled', ({ jobId }) => {
      if (!ours(jobId)) return;
      const worker = this.tracks.get(jobId)?.lastReport?.worker;
      this.apply(jobId, (t) => requeued(t, `worker ${worker ?? '?'} stopped answering: the item goes back to the queue`));
    });
    const relay = new Relay({ connection, namespace: RELAY_NAMESPACE, name: `submitter ${hostname()}:${process.pid}` });
    this.relay = relay;
    relay.on('error', errorSink(config.say, 'queue relay'));
    await events.waitUntilReady();
    if (attached) await this.look(true);
    else await this.submit();
    config.announce?.({ id: this.id, items: this.input.items.length, queue: config.address.display, attached });
    this.poll = setInterval(() => void this.look(false), POLL_MS);
    // Back after an outage: what happened meanwhile is read from the jobs themselves.
    connection.on('ready', () => void this.look(true));
  }

  private async submit(): Promise<void> {
    const { connection, queue } = this;
    const record: BatchRecord = {
      v: PROTOCOL_VERSION,
      id: this.id,
      created: Date.now(),
      host: hostname(),
      pid: process.pid,
      items: this.input.items,
      options: this.input.options,
    };
    const set = await connection!.set(batchKey(this.id), JSON.stringify(record), 'PX', KEEP_MS, 'NX');
    if (set !== 'OK') throw new Error(`a batch ${this.id} is already on the queue`);
    await connection!.zadd(batchesKey, record.created, this.id);
    await connection!.zremrangebyscore(batchesKey, 0, record.created - KEEP_MS);
    const keep = { age: Math.round(KEEP_MS / 1000) };
    await queue!.addBulk(
      this.input.items.map((item) => ({
        name: 'item',
        data: { v: PROTOCOL_VERSION, batchId: this.id, itemId: item.id, input: item.input, output: item.output, options: this.input.options, tempDirGiven: this.config.tempDirGiven },
        opts: { jobId: item.id, attempts: ATTEMPTS, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: keep, removeOnFail: keep },
      })),
    );
  }

  /**
   * Looks at the jobs themselves: an ending the events did not bring (a restart of Redis, a follower
   * that attaches late), a cancel made by someone else, a dead worker's item while cancelling. `full`
   * also takes the running state (on attach and after an outage).
   */
  private async look(full: boolean): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const { connection, queue } = this;
      const record = await readBatchRecord(connection!, this.id);
      if (record?.cancelled && !this.cancelling) {
        this.cancelling = this.stopStarting = true;
        this.sendBack({ type: 'remote.cancelled' });
      }
      if (record?.stopped) this.stopStarting = true;
      const open = [...this.tracks].filter(([, track]) => !track.ended).map(([id]) => id);
      await Promise.all(
        open.map(async (id) => {
          // The state alone (a small script) on every look; the job itself only when there is news.
          const state = await queue!.getJobState(id);
          if (state === 'unknown') {
            this.apply(id, this.cancelling || this.stopStarting || record?.cancelled ? removed : lost);
            return;
          }
          if (state === 'completed' || state === 'failed') {
            const job = await queue!.getJob(id);
            if (!job) return;
            if (state === 'completed') return this.apply(id, (t) => completed(t, job.returnvalue));
            return this.apply(id, (t) => failed(fromReport(t, job.progress).track, job.failedReason));
          }
          if (this.cancelling && WAITING_STATES.has(state)) return this.removeWaiting(id);
          if (this.cancelling && state === 'active' && (await connection!.exists(`${queue!.toKey(id)}:lock`)) === 0) {
            // Its worker died: nobody will report it; it goes now rather than after the stalled check.
            if ((await queue!.remove(id)) === 1) this.apply(id, abandoned);
            return;
          }
          if (!full) return;
          if (state === 'active') {
            const job = await queue!.getJob(id);
            this.apply(id, started);
            if (job) this.apply(id, (t) => fromReport(t, job.progress));
          } else if (WAITING_STATES.has(state)) {
            this.apply(id, (t) => (t.ran ? requeued(t) : { track: t }));
          }
        }),
      );
    } catch {
      // Redis away: the connection says so; the next look tries again.
    } finally {
      this.polling = false;
    }
  }

  private async removeWaiting(id: string): Promise<void> {
    const state = await this.queue!.getJobState(id);
    if (!WAITING_STATES.has(state)) return;
    // 0: a worker took it meanwhile; it is cancelled there (the batch is marked) and reports so.
    if ((await this.queue!.remove(id)) === 1) this.apply(id, removed);
  }

  private publish(message: ControlMessage): Promise<unknown> {
    return this.relay!.publish(CONTROL_TOPIC, message);
  }

  /** Cancel: marked first (a worker taking an item checks), then running items cancelled on their workers, waiting ones removed. */
  private async cancel(): Promise<void> {
    if (this.cancelling) return;
    this.cancelling = this.stopStarting = true;
    await markBatch(this.connection!, this.id, { cancelled: true });
    const open = [...this.tracks].filter(([, track]) => !track.ended).map(([id]) => id);
    await Promise.all([this.publish({ type: 'cancel', batchId: this.id, reason: 'cancelled by the submitter' }), ...open.map((id) => this.removeWaiting(id))]);
  }

  private async stopStartingItems(): Promise<void> {
    if (this.stopStarting) return;
    this.stopStarting = true;
    await markBatch(this.connection!, this.id, { stopped: true });
    const open = [...this.tracks].filter(([, track]) => !track.ended).map(([id]) => id);
    await Promise.all(open.map((id) => this.removeWaiting(id)));
  }

  handle(event: RemoteControl): void {
    const run = (work: () => Promise<unknown>): void => void this.ready.then(work, () => undefined).catch((error: unknown) => this.config.say(`upframe: queue: ${error instanceof Error ? error.message : String(error)}`));
    switch (event.type) {
      case 'remote.cancel':
        return run(() => this.cancel());
      case 'remote.skip':
        return run(() => this.publish({ type: 'cancel', batchId: this.id, itemId: event.id, reason: 'skipped by the submitter' }));
      case 'remote.pause':
      case 'remote.resume': {
        const paused = event.type === 'remote.pause';
        return run(async () => {
          await markBatch(this.connection!, this.id, { paused });
          await this.publish({ type: paused ? 'pause' : 'resume', batchId: this.id });
        });
      }
      case 'remote.stopStarting':
        return run(() => this.stopStartingItems());
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    void Promise.allSettled([this.relay?.close(), this.events?.close(), this.queue?.close()]).finally(() => this.connection?.disconnect());
  }
}

export function submitterIo(config: SubmitConfig) {
  return fromCallback<RemoteControl, RemoteIoInput>(({ input, sendBack, receive }) => {
    const follower = new BatchFollower(config, input, sendBack);
    receive((event) => follower.handle(event));
    follower.ready = follower.start();
    follower.ready.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      sendBack({ type: 'remote.failed', error: { kind: 'runtime', message: `the queue at ${config.address.display}: ${message}` } });
    });
    return () => follower.close();
  });
}

/**
 * The app machine of a queued run: the same app machine, whose batch runs on the queue. Its input,
 * `batch.update` events and BatchOutput are the local batch's, so every front end works unchanged.
 */
export function queueAppMachine(config: SubmitConfig) {
  const batch = remoteBatchMachine.provide({ actors: { queue: submitterIo(config) } });
  // The contract the app machine relies on is kept (see remoteBatchMachine); the context type differs.
  return appMachine.provide({ actors: { batch: batch as unknown as typeof batchMachine } });
}
