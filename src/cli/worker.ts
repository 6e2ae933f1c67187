import { hostname } from 'node:os';
import type { Device, StartRequest } from '../domain.js';
import { connectedWorkers, workerBeat } from '../queue/batches.js';
import { openConnection, preflight } from '../queue/connection.js';
import { queueTiming } from '../queue/protocol.js';
import { parseQueueUrl } from '../queue/url.js';
import { workerAppMachine } from '../queue/worker.js';
import { jobOptions, newRunId, usage } from './options.js';
import { EXIT_HANGUP, EXIT_OUTPUT_CLOSED } from './outcome.js';
import { pickFrontEnd, runHeadless } from './run.js';

export interface WorkerFlags {
  readonly queue: string;
  readonly name?: string;
  readonly device?: string;
  readonly jobs?: string;
  readonly tempDir?: string;
  readonly json?: boolean;
  readonly trace?: string;
  readonly inspect?: boolean;
}

function jobsOf(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw usage(`--jobs expects an integer from 1 to 64, got "${value}"`, 'e.g. --jobs 2');
  return n;
}

/** Redis client names (which BullMQ builds from it) take no spaces. */
function nameOf(value: string | undefined): string {
  const name = value ?? `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9._:@-]{1,64}$/.test(name)) throw usage(`--name "${value}" is not a worker name`, 'letters, digits and . _ : @ - (up to 64), e.g. --name gpu-box-2');
  return name;
}

function deviceOf(value: string | undefined): Device | undefined {
  if (value === undefined) return undefined;
  if (value !== 'auto' && value !== 'cpu' && value !== 'webgpu' && value !== 'cuda') throw usage(`--device expects auto, cpu, webgpu or cuda, got "${value}"`, 'e.g. --device cuda');
  return value;
}

/**
 * `upframe worker --queue URL`: takes items from the queue and runs each through the same job machine
 * and hosts as a local run, showing them in the TUI (plain lines or --json when piped). Ctrl-C, SIGTERM,
 * `c` or `q` stop it: its running items are killed here, as a cancel does, and handed back to the queue.
 */
export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const address = parseQueueUrl(flags.queue);
  const jobs = jobsOf(flags.jobs);
  const name = nameOf(flags.name);
  const device = deviceOf(flags.device);
  const options = jobOptions({ device: device ?? 'auto', tempDir: flags.tempDir, jobs: String(jobs) });
  await preflight(address);
  // A live worker of that name is connected (a killed one's connection is closed by the kernel at once).
  const connection = openConnection(address, { say: () => undefined });
  try {
    if ((await connectedWorkers(connection)).includes(name)) {
      const beat = await workerBeat(connection, name);
      throw usage(`a worker named ${name} is already on ${address.display}${beat ? ` (${beat.host}, pid ${beat.pid})` : ''}`, 'give this one another --name');
    }
  } finally {
    connection.disconnect();
  }
  const front = pickFrontEnd(flags);
  const say = front === 'tui' ? (line: string) => console.error(line) : (line: string) => process.stderr.write(`${line}\n`);
  let failure: string | undefined;
  const machine = workerAppMachine({
    address,
    name,
    jobs,
    device,
    tempDir: flags.tempDir,
    say,
    onFailure: (message) => {
      failure ??= message;
      say(`upframe: ${message}`);
    },
  });
  const request: StartRequest = { runId: newRunId(), items: [], options };
  const lockSec = queueTiming().lockMs / 1000;
  const intro = `worker ${name} on ${address.display}: up to ${jobs} item${jobs === 1 ? '' : 's'} at once${device ? `, --device ${device}` : ''}; Ctrl-C stops it and hands its items back (a worker killed outright: its items go to another within ${lockSec * 1.5} s)`;
  if (front === 'json') process.stdout.write(`${JSON.stringify({ type: 'worker', name, queue: address.display, jobs, device: device ?? null })}\n`);
  say(intro);
  let code: number;
  if (front === 'tui') {
    const { runTui } = await import('./tui.js');
    code = await runTui({ request, trace: flags.trace, inspect: flags.inspect, start: true, exitOnIdle: true, machine, makeRequest: () => request });
  } else {
    code = await runHeadless(request, front, flags.trace, flags.inspect, machine);
  }
  // Stopped when asked with every item it ran done: 0 (its summary says so too); an item failed here: 1.
  if (code === EXIT_HANGUP || code === EXIT_OUTPUT_CLOSED) return code;
  return failure ? 1 : code;
}
