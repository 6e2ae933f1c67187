import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { JobOptions, StartRequest } from '../domain.js';
import { connectedWorkers, listBatches } from '../queue/batches.js';
import { openConnection, preflight } from '../queue/connection.js';
import { queueAppMachine, type SubmitConfig } from '../queue/submitter.js';
import { parseQueueUrl, type QueueAddress } from '../queue/url.js';
import { UserError } from '../services/errors.js';
import { formRequest, jobOptions, startRequest, type RunFlags } from './options.js';
import { pickFrontEnd, runHeadless, type FrontEnd } from './run.js';

export type QueueFlags = RunFlags & { readonly queue: string; readonly start?: boolean };

/** A model given as a file is read by the workers: its path is made absolute here, as the inputs' are. */
function modelPath(model: string | undefined): string | undefined {
  if (model === undefined) return undefined;
  return model.includes('/') || model.toLowerCase().endsWith('.onnx') ? resolve(model) : model;
}

function forQueue(options: JobOptions): JobOptions {
  return { ...options, model: modelPath(options.model), interpolationModel: modelPath(options.interpolationModel) };
}

/** A batch id no other submitter picks: the local run id and 24 random bits. */
function withBatchId(request: StartRequest): StartRequest {
  return { ...request, runId: `${request.runId ?? 'b'}${randomBytes(3).toString('hex')}`, options: forQueue(request.options) };
}

function refuseJobs(flags: RunFlags): void {
  if (flags.jobs !== undefined) {
    throw new UserError('--jobs belongs to the workers when a batch goes to a queue', { kind: 'usage', tryMessage: 'drop --jobs here; start each worker with its own: upframe worker --queue … --jobs N' });
  }
}

/** Human lines: in the TUI through the console, which Ink prints above its view; else on stderr. */
function sayFor(front: FrontEnd): (line: string) => void {
  return front === 'tui' ? (line) => console.error(line) : (line) => process.stderr.write(`${line}\n`);
}

function announceFor(front: FrontEnd, say: (line: string) => void): SubmitConfig['announce'] {
  return (batch) => {
    if (front === 'json') process.stdout.write(`${JSON.stringify({ type: 'batch', id: batch.id, queue: batch.queue, items: batch.items, attached: batch.attached })}\n`);
    else say(`batch ${batch.id}: ${batch.items} item${batch.items === 1 ? '' : 's'} ${batch.attached ? 'followed again' : 'submitted'} on ${batch.queue} (follow it again with: upframe status --queue ${batch.queue} ${batch.id})`);
  };
}

/** Items wait for a worker: say so when none is connected, rather than show a batch that never moves. */
async function warnWithoutWorkers(address: QueueAddress, say: (line: string) => void): Promise<void> {
  const connection = openConnection(address, { say: () => undefined });
  try {
    if ((await connectedWorkers(connection)).length === 0) say(`upframe: no worker is connected to ${address.display} yet: the items wait until one is (upframe worker --queue ${address.display})`);
  } finally {
    connection.disconnect();
  }
}

export function submitConfig(address: QueueAddress, front: FrontEnd, flags: { tempDir?: string }, attach: ReadonlySet<string> = new Set()): SubmitConfig {
  const say = sayFor(front);
  return { address, say, attach, tempDirGiven: flags.tempDir !== undefined, announce: announceFor(front, say) };
}

/** `upframe run INPUTS… -o OUT --queue URL`: the batch goes to the queue and is followed here, with the same front ends and exit codes. */
export async function queueRunCommand(inputs: string[], flags: QueueFlags): Promise<number> {
  const address = parseQueueUrl(flags.queue);
  refuseJobs(flags);
  const request = withBatchId(startRequest(inputs, flags));
  await preflight(address);
  const front = pickFrontEnd(flags);
  await warnWithoutWorkers(address, sayFor(front));
  const machine = queueAppMachine(submitConfig(address, front, flags));
  if (front === 'tui') {
    const { runTui } = await import('./tui.js');
    return runTui({ request, trace: flags.trace, inspect: flags.inspect, start: true, exitOnIdle: true, machine });
  }
  return runHeadless(request, front, flags.trace, flags.inspect, machine);
}

/**
 * `upframe [tui] --queue URL [inputs…]`: the TUI whose Start submits to the queue. With no inputs it
 * follows the newest unfinished batch again (a submitter that died leaves its batch running), if any.
 */
export async function queueTuiCommand(inputs: string[], flags: QueueFlags): Promise<number> {
  const address = parseQueueUrl(flags.queue);
  refuseJobs(flags);
  const given = inputs.length > 0 && flags.output ? withBatchId(startRequest(inputs, flags)) : undefined;
  await preflight(address);
  let attach: StartRequest | undefined;
  if (inputs.length === 0) {
    const connection = openConnection(address, { say: () => undefined });
    try {
      const open = (await listBatches(connection)).find((batch) => !batch.finished);
      if (open) attach = { runId: open.record.id, items: open.record.items.map(({ input, output }) => ({ input, output })), options: open.record.options };
    } finally {
      connection.disconnect();
    }
  }
  const machine = queueAppMachine(submitConfig(address, 'tui', flags, new Set(attach ? [attach.runId!] : [])));
  let pending = attach;
  const makeRequest = (form: Parameters<typeof formRequest>[0], base: JobOptions): StartRequest => {
    // The first Start follows the batch found; any later one submits what the form says.
    if (pending) {
      const request = pending;
      pending = undefined;
      return request;
    }
    return withBatchId(formRequest(form, base, given));
  };
  const { runTui } = await import('./tui.js');
  return runTui({
    request: attach ?? given,
    options: jobOptions(flags),
    trace: flags.trace,
    inspect: flags.inspect,
    start: attach !== undefined || (flags.start ?? false),
    exitOnIdle: false,
    form: { input: inputs[0], output: flags.output },
    machine,
    makeRequest,
  });
}
