import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CANCELLED_REASON, QUEUE_NAME, batchesKey, isCancelledReason, workerKey, workersPattern, type BatchRecord, type WorkerBeat } from './protocol.js';
import { readBatchRecord } from './submitter.js';

export type ItemState = 'waiting' | 'running' | 'done' | 'failed' | 'cancelled' | 'skipped';

export interface BatchSummary {
  readonly record: BatchRecord;
  readonly counts: Readonly<Record<ItemState, number>>;
  /** No item waits or runs any more. */
  readonly finished: boolean;
}

function stateOf(state: string, failedReason: string | undefined): ItemState {
  if (state === 'completed') return 'done';
  if (state === 'active') return 'running';
  // Removed from the queue before it ran: a cancel or --fail-fast.
  if (state === 'unknown') return 'skipped';
  if (state !== 'failed') return 'waiting';
  if (failedReason === `${CANCELLED_REASON}: not started`) return 'skipped';
  return isCancelledReason(failedReason) ? 'cancelled' : 'failed';
}

/** The batches on the queue, newest first, with how many of their items wait, run, are done or failed. */
export async function listBatches(connection: Redis, limit = 20): Promise<BatchSummary[]> {
  const ids = await connection.zrevrange(batchesKey, 0, limit - 1);
  const queue = new Queue(QUEUE_NAME, { connection });
  queue.on('error', () => undefined);
  try {
    const summaries = await Promise.all(
      ids.map(async (id): Promise<BatchSummary | undefined> => {
        const record = await readBatchRecord(connection, id);
        if (!record) return undefined;
        const counts: Record<ItemState, number> = { waiting: 0, running: 0, done: 0, failed: 0, cancelled: 0, skipped: 0 };
        const states = await Promise.all(
          record.items.map(async (item) => {
            const state = await queue.getJobState(item.id);
            return stateOf(state, state === 'failed' ? (await queue.getJob(item.id))?.failedReason : undefined);
          }),
        );
        for (const state of states) counts[state] += 1;
        return { record, counts, finished: counts.waiting === 0 && counts.running === 0 };
      }),
    );
    return summaries.filter((s): s is BatchSummary => s !== undefined);
  } finally {
    await queue.close().catch(() => undefined);
  }
}

export function describeBatch(summary: BatchSummary): string {
  const { record, counts } = summary;
  const when = new Date(record.created).toISOString().replace('T', ' ').slice(0, 19);
  const parts = (['running', 'waiting', 'done', 'failed', 'cancelled', 'skipped'] as const).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  const flags = [record.cancelled ? 'cancelled' : '', record.paused && !summary.finished ? 'paused' : '', summary.finished ? 'finished' : 'unfinished'].filter(Boolean).join(', ');
  return `${record.id}  ${when} UTC  from ${record.host}:${record.pid}  ${record.items.length} item${record.items.length === 1 ? '' : 's'}: ${parts.join(', ')}  (${flags})`;
}

/** The workers' heartbeats (each expires 15 s after its worker stops beating). */
export async function workerBeats(connection: Redis): Promise<WorkerBeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await connection.scan(cursor, 'MATCH', workersPattern, 'COUNT', 100);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  const values = keys.length > 0 ? await connection.mget(keys) : [];
  return values.flatMap((value) => (value ? [JSON.parse(value) as WorkerBeat] : []));
}

export async function workerBeat(connection: Redis, name: string): Promise<WorkerBeat | undefined> {
  const value = await connection.get(workerKey(name));
  return value ? (JSON.parse(value) as WorkerBeat) : undefined;
}

/** The names of the workers connected now: BullMQ names each worker's Redis client `bull:<queue>:w:<name>`. */
export async function connectedWorkers(connection: Redis): Promise<string[]> {
  const queue = new Queue(QUEUE_NAME, { connection });
  queue.on('error', () => undefined);
  try {
    const clients = await queue.getWorkers();
    return [...new Set(clients.map((c) => /:w:(.+)$/.exec(c.rawname ?? '')?.[1]).filter((n): n is string => n !== undefined))].sort();
  } finally {
    await queue.close().catch(() => undefined);
  }
}
