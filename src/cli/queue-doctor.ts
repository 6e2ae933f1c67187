import { markOf, type Check } from './doctor.js';
import { connectedWorkers, listBatches, workerBeats } from '../queue/batches.js';
import { openConnection, preflight } from '../queue/connection.js';
import { parseQueueUrl } from '../queue/url.js';
import { UserError, formatUserError } from '../services/errors.js';

/**
 * `upframe doctor --queue URL`: the connection (server version, round trip), the workers connected now
 * (from Redis's client list, with what their heartbeats say), and the batches not finished.
 */
export async function queueDoctorCommand(flags: { queue: string; json?: boolean }): Promise<number> {
  const address = parseQueueUrl(flags.queue);
  const checks: Check[] = [];
  try {
    const info = await preflight(address);
    checks.push({ name: 'queue', ok: true, required: true, detail: `${address.display}: Redis ${info.version}, ping ${info.latencyMs.toFixed(1)} ms`, data: { version: info.version, pingMs: info.latencyMs } });
  } catch (error) {
    checks.push({ name: 'queue', ok: false, required: true, detail: error instanceof UserError ? formatUserError(error) : String(error) });
  }
  if (checks[0].ok) {
    const connection = openConnection(address, { say: () => undefined });
    try {
      const [names, beats, batches] = await Promise.all([connectedWorkers(connection), workerBeats(connection), listBatches(connection)]);
      const described = names.map((name) => {
        const beat = beats.find((b) => b.name === name);
        return beat ? `${name} (${beat.host}, pid ${beat.pid}, --jobs ${beat.jobs}${beat.device ? `, --device ${beat.device}` : ''}, running ${beat.running.length})` : name;
      });
      checks.push({
        name: 'workers',
        ok: names.length > 0,
        required: false,
        detail: names.length > 0 ? `${names.length} connected: ${described.join(', ')}` : 'none connected (start one: upframe worker --queue …)',
        data: { workers: names.map((name) => ({ name, ...beats.find((b) => b.name === name) })) },
      });
      const open = batches.filter((b) => !b.finished);
      checks.push({
        name: 'batches',
        ok: true,
        required: false,
        detail: open.length > 0 ? `${open.length} unfinished: ${open.map((b) => b.record.id).join(', ')} (upframe status --queue ${address.display})` : `${batches.length} kept, none unfinished`,
        data: { unfinished: open.map((b) => b.record.id), kept: batches.length },
      });
    } finally {
      connection.disconnect();
    }
  }
  const ok = checks.every((c) => c.ok || !c.required);
  if (flags.json) process.stdout.write(`${JSON.stringify({ type: 'doctor', ok, checks })}\n`);
  else for (const c of checks) process.stdout.write(`${markOf(c)} ${c.name}: ${c.detail}\n`);
  return ok ? 0 : 1;
}
