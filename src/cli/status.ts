import { createActor } from 'xstate';
import type { StartRequest } from '../domain.js';
import { describeBatch, listBatches, type BatchSummary } from '../queue/batches.js';
import { openConnection, preflight } from '../queue/connection.js';
import { queueAppMachine } from '../queue/submitter.js';
import { parseQueueUrl } from '../queue/url.js';
import { UserError } from '../services/errors.js';
import { EXIT_CANCELLED, exitCodeOf } from './outcome.js';
import { jsonReporter, plainReporter } from './reporters.js';
import { submitConfig } from './queue-run.js';

export interface StatusFlags {
  readonly queue: string;
  readonly json?: boolean;
  /** Cancel the batch followed (as its submitter's Ctrl-C would). */
  readonly cancel?: boolean;
  /** Only list; follow nothing. */
  readonly list?: boolean;
}

/**
 * `upframe status --queue URL [BATCH]`: the batches on the queue, newest first; then follows one (the
 * one named, else the newest unfinished) with the same plain or --json reporters and exit code as its
 * submitter. Following only watches: Ctrl-C stops watching and leaves the batch running (exit 130);
 * `--cancel` cancels it.
 */
export async function statusCommand(batchId: string | undefined, flags: StatusFlags): Promise<number> {
  const address = parseQueueUrl(flags.queue);
  await preflight(address);
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const connection = openConnection(address, { say });
  let batches: BatchSummary[];
  try {
    batches = await listBatches(connection, batchId ? 1000 : 20);
  } finally {
    connection.disconnect();
  }
  const shown = batchId ? batches.filter((b) => b.record.id === batchId) : batches;
  for (const batch of shown) {
    if (flags.json) {
      const { record, counts, finished } = batch;
      process.stdout.write(`${JSON.stringify({ type: 'batch', id: record.id, created: record.created, host: record.host, pid: record.pid, items: record.items.length, ...counts, finished, cancelled: record.cancelled ?? false })}\n`);
    } else process.stdout.write(`${describeBatch(batch)}\n`);
  }
  if (batchId && shown.length === 0) throw new UserError(`no batch ${batchId} on ${address.display}`, { kind: 'usage', tryMessage: `list them: upframe status --queue ${address.display}` });
  if (!batchId && batches.length === 0 && !flags.json) process.stdout.write(`no batches on ${address.display}\n`);
  const follow = batchId ? shown[0] : batches.find((b) => !b.finished);
  if (!follow || flags.list) return 0;
  if (!batchId && !flags.json) say(`following ${follow.record.id} (Ctrl-C stops watching; the batch goes on)`);
  const request: StartRequest = { runId: follow.record.id, items: follow.record.items.map(({ input, output }) => ({ input, output })), options: follow.record.options };
  const front = flags.json ? 'json' : 'plain';
  const config = submitConfig(address, front, {}, new Set([follow.record.id]));
  const actor = createActor(queueAppMachine({ ...config, announce: undefined }));
  const reporter = front === 'json' ? jsonReporter(actor) : plainReporter(actor);
  let detached = false;
  const ended = new Promise<void>((resolve) => {
    actor.subscribe({ next: (s) => s.matches('idle') && s.context.runCount > 0 && resolve(), error: () => resolve() });
    const detach = (): void => {
      if (detached) return;
      detached = true;
      say(`stopped following ${follow.record.id}; it goes on (cancel it with: upframe status --queue ${address.display} ${follow.record.id} --cancel)`);
      resolve();
    };
    process.once('SIGINT', detach);
    process.once('SIGTERM', detach);
  });
  actor.start();
  actor.send({ type: 'app.start', request });
  if (flags.cancel) actor.send({ type: 'app.cancel' });
  await ended;
  reporter.finish();
  const result = actor.getSnapshot().context.lastResult;
  actor.stop();
  return detached ? EXIT_CANCELLED : exitCodeOf(result);
}
