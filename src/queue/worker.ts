import { hostname } from 'node:os';
import { DelayedError, Relay, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { fromCallback } from 'xstate';
import { liveJobMachine } from '../app.js';
import type { Device, JobOptions, JobOutput } from '../domain.js';
import { appMachine } from '../machines/app.js';
import type { BatchItem } from '../machines/batch.js';
import type { batchMachine } from '../machines/batch.js';
import { resolveTempRoot } from '../services/workdir.js';
import { errorSink, openConnection } from './connection.js';
import {
  CANCELLED_REASON,
  CONTROL_TOPIC,
  PROTOCOL_VERSION,
  QUEUE_NAME,
  RELAY_NAMESPACE,
  batchKey,
  queueTiming,
  workerKey,
  type BatchRecord,
  type ControlMessage,
  type ItemJobData,
  type ItemReport,
  type ItemResult,
  type ReportStatus,
  type WorkerBeat,
} from './protocol.js';
import type { QueueAddress } from './url.js';
import { workerBatchMachine, type EndReason, type WorkerControl, type WorkerIoEvent } from './worker-batch.js';

export interface WorkerConfig {
  readonly address: QueueAddress;
  /** Shown to submitters ("on box1") and by `doctor --queue`. */
  readonly name: string;
  /** Items run at once (BullMQ concurrency); also the CPU slots, as `--jobs` locally. */
  readonly jobs: number;
  /** The worker's --device: overrides the submitter's. */
  readonly device?: Device;
  /** The worker's --temp-dir: overrides the submitter's. */
  readonly tempDir?: string;
  readonly say: (line: string) => void;
  /** Called when the queue side cannot go on (the worker then stops, exit 1). */
  readonly onFailure?: (message: string) => void;
}

/** Reports per item per second at most (the last one is always sent). */
const REPORT_INTERVAL_MS = 200;
const BEAT_MS = 5000;
/** Handing items back and closing waits this long for Redis; then the worker leaves, and its items come back by the stalled check. */
const CLOSE_TIMEOUT_MS = 5000;

interface Active {
  readonly job: Job<ItemJobData, ItemResult>;
  readonly batchId: string;
  readonly attempt: number;
  started: boolean;
  /** A pause or resume for its batch came before it started: sent once it has. */
  pauseWanted?: 'queue.pause' | 'queue.resume';
  ended?: (result: { output: JobOutput; reason?: EndReason }) => void;
  lastSent: number;
  signature?: string;
  pending?: ItemReport;
  timer?: NodeJS.Timeout;
  sent?: Promise<void>;
}

function reportOf(name: string, attempt: number, item: BatchItem): ItemReport {
  const status: ReportStatus = item.status === 'done' || item.status === 'failed' || item.status === 'cancelled' ? item.status : 'running';
  return {
    v: PROTOCOL_VERSION,
    worker: name,
    attempt,
    status,
    phase: item.phase,
    stage: item.stage,
    progress: item.progress,
    notices: item.notices ?? [],
    scenes: item.scenes,
    frames: item.frames,
    error: item.error,
  };
}

async function readRecord(connection: Redis, batchId: string): Promise<BatchRecord | undefined> {
  const text = await connection.get(batchKey(batchId));
  return text ? (JSON.parse(text) as BatchRecord) : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

/** The queue side of a worker: BullMQ's Worker and the Relay, talking to the worker batch machine. */
class WorkerIo {
  private readonly active = new Map<string, Active>();
  private connection?: Redis;
  private worker?: Worker<ItemJobData, ItemResult>;
  private relay?: Relay;
  private beat?: NodeJS.Timeout;
  private stopping = false;
  private readonly since = Date.now();

  constructor(
    private readonly config: WorkerConfig,
    private readonly sendBack: (event: WorkerIoEvent) => void,
  ) {}

  async start(): Promise<void> {
    const { config } = this;
    const timing = queueTiming();
    const connection = openConnection(config.address, { say: config.say });
    this.connection = connection;
    const worker = new Worker<ItemJobData, ItemResult>(QUEUE_NAME, (job, token, signal) => this.process(job, token, signal), {
      connection,
      name: config.name,
      concurrency: config.jobs,
      lockDuration: timing.lockMs,
      stalledInterval: timing.stalledMs,
      maxStalledCount: 1,
      autorun: false,
    });
    this.worker = worker;
    worker.on('error', errorSink(config.say, 'queue worker'));
    // The lock is gone (Redis lost it, or it expired while Redis was away): the item is no longer ours.
    worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) if (this.active.get(id)?.started) this.sendBack({ type: 'queue.cancel', key: id, reason: 'lost' });
    });
    const relay = new Relay({ connection, namespace: RELAY_NAMESPACE, name: `worker ${config.name}` });
    this.relay = relay;
    relay.on('error', errorSink(config.say, 'queue relay'));
    await relay.subscribe<ControlMessage>(CONTROL_TOPIC, (message) => this.control(message.data));
    if (this.stopping) return;
    this.heartbeat();
    this.beat = setInterval(() => this.heartbeat(), BEAT_MS);
    worker.run().catch((error: unknown) => this.fail(error));
  }

  private heartbeat(): void {
    const beat: WorkerBeat = {
      name: this.config.name,
      host: hostname(),
      pid: process.pid,
      device: this.config.device,
      jobs: this.config.jobs,
      running: [...this.active.keys()],
      since: this.since,
    };
    this.connection?.set(workerKey(this.config.name), JSON.stringify(beat), 'PX', BEAT_MS * 3).catch(() => undefined);
  }

  private optionsFor(data: ItemJobData): JobOptions {
    const tempRoot = this.config.tempDir !== undefined ? resolveTempRoot(this.config.tempDir) : data.tempDirGiven ? data.options.tempRoot : resolveTempRoot();
    return { ...data.options, device: this.config.device ?? data.options.device, jobs: this.config.jobs, tempRoot, failFast: false };
  }

  /** BullMQ's processor: one item, run by the worker batch machine; resolves or throws as BullMQ expects. */
  private async process(job: Job<ItemJobData, ItemResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<ItemResult> {
    const data = job.data;
    if (data?.v !== PROTOCOL_VERSION) {
      throw new UnrecoverableError(`this item was written by another upframe version (protocol ${String(data?.v)}; this worker speaks ${PROTOCOL_VERSION})`);
    }
    const key = job.id!;
    const active: Active = { job, batchId: data.batchId, attempt: job.attemptsStarted, started: false, lastSent: 0 };
    // Known before anything is awaited, so a cancel that arrives meanwhile finds it (BullMQ aborts its signal).
    this.active.set(key, active);
    try {
      const record = await readRecord(this.connection!, data.batchId);
      if (record?.cancelled || record?.stopped || signal?.aborted) throw new UnrecoverableError(`${CANCELLED_REASON}: not started`);
      if (this.stopping) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (record?.paused) {
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      const ended = new Promise<{ output: JobOutput; reason?: EndReason }>((resolve) => (active.ended = resolve));
      const onAbort = (): void => this.sendBack({ type: 'queue.cancel', key, reason: 'cancel' });
      signal?.addEventListener('abort', onAbort, { once: true });
      active.started = true;
      this.sendBack({ type: 'queue.take', key, attempt: job.attemptsStarted, input: data.input, output: data.output, options: this.optionsFor(data) });
      if (active.pauseWanted === 'queue.pause') this.sendBack({ type: 'queue.pause', key });
      const { output, reason } = await ended.finally(() => signal?.removeEventListener('abort', onAbort));
      clearTimeout(active.timer);
      return await this.finish(job, token, active, output, reason, signal);
    } finally {
      clearTimeout(active.timer);
      this.active.delete(key);
    }
  }

  private async finish(job: Job<ItemJobData, ItemResult>, token: string | undefined, active: Active, output: JobOutput, reason: EndReason | undefined, signal: AbortSignal | undefined): Promise<ItemResult> {
    const name = this.config.name;
    const last: ItemReport = active.pending ?? { v: PROTOCOL_VERSION, worker: name, attempt: active.attempt, status: 'running', notices: [] };
    if (output.status === 'cancelled' && reason === 'stop') {
      // This worker is stopping: the item goes back to the queue for another worker (no attempt used).
      await this.send(active, { ...last, notices: [...last.notices, `worker ${name} stopped: the item goes back to the queue`] }, true);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (output.status === 'cancelled' && reason === 'lost') throw new Error(`worker ${name} lost the item's lock`);
    const status: ReportStatus = output.status === 'skipped' ? 'cancelled' : output.status;
    await this.send(active, { ...last, status, frames: output.frames, error: output.error }, true);
    if (output.status === 'done') return { ...output, id: job.data.itemId, worker: name };
    if (status === 'cancelled') {
      const why = typeof signal?.reason === 'string' ? signal.reason : `cancelled on worker ${name}`;
      throw new UnrecoverableError(`${CANCELLED_REASON}: ${why}`);
    }
    const message = output.error?.message ?? 'failed';
    // Bad input or usage fails the same way on every worker: not retried. A run-time failure is tried once more.
    if (output.error && output.error.kind !== 'runtime') throw new UnrecoverableError(message);
    throw new Error(message);
  }

  /** Sends a report now, or at the next slot: at most one per REPORT_INTERVAL_MS, but at once when the phase, status or notices change. */
  private update(key: string, item: BatchItem): void {
    const active = this.active.get(key);
    if (!active?.started) return;
    const report = reportOf(this.config.name, active.attempt, item);
    active.pending = report;
    const signature = `${report.status}|${report.phase}|${report.stage}|${report.notices.length}|${report.scenes?.length ?? 0}`;
    const now = Date.now();
    if (signature !== active.signature || now - active.lastSent >= REPORT_INTERVAL_MS) {
      active.signature = signature;
      void this.send(active, report, false);
      return;
    }
    active.timer ??= setTimeout(() => {
      active.timer = undefined;
      if (active.pending && this.active.get(key) === active) void this.send(active, active.pending, false);
    }, REPORT_INTERVAL_MS - (now - active.lastSent));
  }

  private send(active: Active, report: ItemReport, wait: boolean): Promise<void> {
    clearTimeout(active.timer);
    active.timer = undefined;
    active.lastSent = Date.now();
    active.pending = report;
    const sent = active.job.updateProgress(report).catch(() => undefined);
    active.sent = sent;
    // The last report must be in Redis before the job's end is: a Redis outage is waited out, up to the close timeout.
    return wait ? withTimeout(sent, CLOSE_TIMEOUT_MS).then(() => undefined) : Promise.resolve();
  }

  /** A submitter's cancel, skip or pause: BullMQ's job cancellation (its AbortSignal) for the items running here. */
  private control(message: ControlMessage): void {
    for (const [key, active] of this.active) {
      if (active.batchId !== message.batchId) continue;
      if (message.type === 'cancel') {
        if (message.itemId !== undefined && message.itemId !== key) continue;
        this.worker?.cancelJob(key, message.reason);
      } else {
        const type = message.type === 'pause' ? 'queue.pause' : 'queue.resume';
        if (active.started) this.sendBack({ type, key });
        else active.pauseWanted = type;
      }
    }
  }

  handle(event: WorkerControl): void {
    switch (event.type) {
      case 'item.update':
        return this.update(event.key, event.item);
      case 'item.ended':
        return this.active.get(event.key)?.ended?.({ output: event.output, reason: event.reason });
      case 'queue.hold':
        if (event.on) void this.worker?.pause(true).catch(() => undefined);
        else this.worker?.resume();
        return;
      case 'queue.stop':
        void this.stop();
        return;
    }
  }

  /** Takes nothing more, waits for the items to be handed back (≤ CLOSE_TIMEOUT_MS when Redis is away), closes. */
  private async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.beat);
    if (this.connection?.status !== 'ready') {
      // Redis is away: nothing can be handed back now; the items' locks expire and they come back to the queue.
      if (this.active.size > 0) this.config.say('upframe: the queue is away: the items running here go back to it when their lock expires');
      void this.worker?.close(true).catch(() => undefined);
      void this.relay?.close().catch(() => undefined);
      this.connection?.disconnect();
      this.sendBack({ type: 'queue.closed' });
      return;
    }
    try {
      if (this.worker && (await withTimeout(this.worker.close(), CLOSE_TIMEOUT_MS)) === 'timeout') {
        this.config.say('upframe: the queue did not answer while closing: items not handed back return to it when their lock expires');
        await withTimeout(this.worker.close(true), 1000);
      }
      await withTimeout(this.relay?.close() ?? Promise.resolve(), 1000);
      await withTimeout(this.connection?.del(workerKey(this.config.name)) ?? Promise.resolve(0), 500);
    } catch {
      // closing anyway
    } finally {
      this.connection?.disconnect();
      this.sendBack({ type: 'queue.closed' });
    }
  }

  private fail(error: unknown): void {
    const message = `the queue worker stopped: ${error instanceof Error ? error.message : String(error)}`;
    this.config.onFailure?.(message);
    this.sendBack({ type: 'queue.failed', message });
  }

  /** The machine stopped without a stop (an internal error): leave at once, the queue recovers the items. */
  dispose(): void {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.beat);
    void this.worker?.close(true).catch(() => undefined);
    void this.relay?.close().catch(() => undefined);
    this.connection?.disconnect();
  }
}

export function workerIo(config: WorkerConfig) {
  return fromCallback<WorkerControl, Record<string, never>>(({ sendBack, receive }) => {
    const io = new WorkerIo(config, sendBack);
    receive((event) => io.handle(event));
    io.start().catch((error: unknown) => {
      const message = `cannot start the queue worker: ${error instanceof Error ? error.message : String(error)}`;
      config.onFailure?.(message);
      sendBack({ type: 'queue.failed', message });
    });
    return () => io.dispose();
  });
}

/**
 * The app machine of `upframe worker`: its one long run is the worker batch, whose jobs are the same
 * live job machine as a local run's.
 */
export function workerAppMachine(config: WorkerConfig) {
  const batch = workerBatchMachine.provide({ actors: { job: liveJobMachine, queue: workerIo(config) } });
  // The app machine invokes `batch` with a BatchInput, takes `batch.update` events and a BatchOutput:
  // the worker batch keeps that contract (its context differs, which the type cannot express).
  return appMachine.provide({ actors: { batch: batch as unknown as typeof batchMachine } });
}
