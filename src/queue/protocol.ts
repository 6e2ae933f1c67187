import type { JobError, JobOptions, JobOutput, Progress, Scene, StageName } from '../domain.js';

/**
 * What submitters and workers agree on: the BullMQ queue, the job data and progress reports, the Redis
 * keys beside the queue and the Relay topic. Plain data only; `v` lets a worker refuse an item written by
 * an incompatible version instead of misreading it.
 */
export const PROTOCOL_VERSION = 1;

/** One BullMQ queue per Redis database: `bull:upframe:*`. */
export const QUEUE_NAME = 'upframe';
/** Our own keys, beside BullMQ's (never under its `bull:` prefix). */
export const KEY_PREFIX = 'upframe';
export const batchesKey = `${KEY_PREFIX}:batches`;
export const batchKey = (batchId: string): string => `${KEY_PREFIX}:batch:${batchId}`;
export const workerKey = (name: string): string => `${KEY_PREFIX}:worker:${name}`;
export const workersPattern = `${KEY_PREFIX}:worker:*`;
/** Relay: one topic that every worker subscribes to; messages name the batch (and the item). */
export const RELAY_NAMESPACE = 'upframe';
export const CONTROL_TOPIC = 'upframe.control';

/** Finished jobs and batch records are kept this long, so `upframe status` can show them. */
export const KEEP_MS = 7 * 24 * 3600 * 1000;
/** An item whose attempt fails with a run-time error is tried once more (on whichever worker is free). */
export const ATTEMPTS = 2;

export interface QueueTiming {
  /** A worker's lock on an item; renewed every half of it while the worker lives. */
  readonly lockMs: number;
  /** How often workers look for items whose lock expired (their worker died). */
  readonly stalledMs: number;
}

/**
 * A worker killed outright keeps its items locked until the lock expires (≤ 10 s), and the next
 * stalled check of a live worker (every 5 s) puts them back: a dead worker's item restarts within
 * about 15 s. `UPFRAME_QUEUE_LOCK_MS` shortens it (tests); the check runs at half the lock.
 */
export function queueTiming(env: NodeJS.ProcessEnv = process.env): QueueTiming {
  const lock = Number(env.UPFRAME_QUEUE_LOCK_MS);
  const lockMs = Number.isInteger(lock) && lock >= 500 ? lock : 10_000;
  return { lockMs, stalledMs: Math.max(250, Math.round(lockMs / 2)) };
}

/** The data of one BullMQ job: one item of a batch. Paths are absolute, as the submitter resolved them. */
export interface ItemJobData {
  readonly v: number;
  readonly batchId: string;
  readonly itemId: string;
  readonly input: string;
  readonly output: string;
  readonly options: JobOptions;
  /** The submitter gave --temp-dir (a shared folder): workers without their own use it. */
  readonly tempDirGiven: boolean;
}

export type ReportStatus = 'running' | 'done' | 'failed' | 'cancelled';

/** A worker's view of the item it runs, sent as the BullMQ job's progress (throttled, the last always sent). */
export interface ItemReport {
  readonly v: number;
  readonly worker: string;
  /** Which start of the job this is (BullMQ's attemptsStarted): notices restart with each. */
  readonly attempt: number;
  readonly status: ReportStatus;
  readonly phase?: string;
  readonly stage?: StageName;
  readonly progress?: Progress;
  readonly notices: readonly string[];
  readonly scenes?: readonly Scene[];
  readonly frames?: number;
  readonly error?: JobError;
}

/** What a finished job returns: the worker's JobOutput, under the batch's item id. */
export type ItemResult = JobOutput & { readonly worker: string };

/** Kept at `upframe:batch:<id>` while the batch's jobs are kept: what `status` lists and follows. */
export interface BatchRecord {
  readonly v: number;
  readonly id: string;
  readonly created: number;
  readonly host: string;
  readonly pid: number;
  readonly items: readonly { readonly id: string; readonly input: string; readonly output: string }[];
  readonly options: JobOptions;
  readonly cancelled?: boolean;
  readonly paused?: boolean;
  /** --fail-fast stopped it: its waiting items were removed. */
  readonly stopped?: boolean;
}

/** Sent on the control topic by a submitter; each worker acts on the items it runs. */
export type ControlMessage =
  | { readonly type: 'cancel'; readonly batchId: string; readonly itemId?: string; readonly reason: string }
  | { readonly type: 'pause' | 'resume'; readonly batchId: string };

/** A worker's heartbeat at `upframe:worker:<name>` (expires when it stops beating). */
export interface WorkerBeat {
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  readonly device?: string;
  readonly jobs: number;
  readonly running: readonly string[];
  readonly since: number;
}

/** The message a cancelled attempt fails with (BullMQ's failedReason): never retried. */
export const CANCELLED_REASON = 'cancelled';
export const isCancelledReason = (reason: string | undefined): boolean => reason === CANCELLED_REASON || Boolean(reason?.startsWith(`${CANCELLED_REASON}:`));
/** BullMQ's reason for a job whose workers died more often than maxStalledCount allows. */
export const STALLED_REASON = 'job stalled more than allowable limit';
