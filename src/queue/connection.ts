import { Redis, type RedisOptions } from 'ioredis';
import { UserError } from '../services/errors.js';
import type { QueueAddress } from './url.js';

/** How long the preflight waits for Redis before it says so (exit 2, nothing submitted). */
export const PREFLIGHT_TIMEOUT_MS = 3000;
/** BullMQ needs Redis 6.2 or newer. */
const MIN_REDIS = [6, 2];

function baseOptions(address: QueueAddress): RedisOptions {
  return { host: address.host, port: address.port, db: address.db, username: address.username, password: address.password };
}

export interface ServerInfo {
  readonly version: string;
  readonly latencyMs: number;
}

function queueError(address: QueueAddress, cause: unknown): UserError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const where = `the queue at ${address.display}`;
  const make = (message: string, tryMessage: string): UserError => new UserError(message, { kind: 'usage', tryMessage, cause });
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text)) return make(`cannot reach ${where}: connection refused`, 'is redis-server running there? check --queue');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(text)) return make(`cannot reach ${where}: unknown host`, 'check the host in --queue');
  if (/NOAUTH/.test(text)) return make(`${where} asks for a password`, 'give it in the URL: redis://:PASSWORD@host:port');
  if (/WRONGPASS|invalid password|invalid username-password/i.test(text)) return make(`${where} refused the password`, 'check the password in --queue');
  if (/DB index is out of range/.test(text)) return make(`${where} has no database ${address.db}`, 'see "databases" in the server\'s redis.conf');
  if (/timed? ?out|ETIMEDOUT/i.test(text)) return make(`cannot reach ${where}: no answer within ${PREFLIGHT_TIMEOUT_MS / 1000} s`, 'check the host, the port and the network');
  return make(`cannot use ${where}: ${text.split('\n')[0]}`, 'check --queue');
}

/**
 * Connects once, with a short timeout and no retries, and checks the server can hold the queue: a
 * refused connection, a password asked for or refused, a missing database become one-line usage errors
 * (exit 2) before anything is submitted or any worker starts.
 */
export async function preflight(address: QueueAddress, timeoutMs = PREFLIGHT_TIMEOUT_MS): Promise<ServerInfo> {
  let lastError: unknown;
  const client = new Redis({
    ...baseOptions(address),
    db: 0,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', (error) => (lastError ??= error));
  try {
    await client.connect().catch((error: unknown) => {
      throw lastError ?? error;
    });
    if (address.db !== 0) await client.select(address.db);
    const started = performance.now();
    await client.ping();
    const latencyMs = performance.now() - started;
    const info = await client.info('server');
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < MIN_REDIS[0] || (major === MIN_REDIS[0] && minor < MIN_REDIS[1])) {
      throw new UserError(`the queue at ${address.display} runs Redis ${version}; BullMQ needs ${MIN_REDIS.join('.')} or newer`, { kind: 'usage', tryMessage: 'upgrade Redis' });
    }
    return { version, latencyMs };
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw queueError(address, lastError ?? error);
  } finally {
    client.disconnect();
  }
}

export interface ConnectionWatch {
  /** Called with a human line when the connection goes and when it comes back. */
  readonly say: (line: string) => void;
}

/**
 * The connection a submitter or worker keeps: it never gives up (a Redis restart is waited out,
 * reconnecting every ≤ 2 s), and says so in one line when it goes and one when it is back. BullMQ
 * duplicates it for its blocking reads, with the same options.
 */
export function openConnection(address: QueueAddress, watch: ConnectionWatch): Redis {
  const client = new Redis({
    ...baseOptions(address),
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: PREFLIGHT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  let wasReady = false;
  let lost = false;
  let lastError = 'connection closed';
  client.on('ready', () => {
    if (lost) watch.say(`upframe: the queue at ${address.display} is back`);
    wasReady = true;
    lost = false;
  });
  client.on('error', (error: Error) => (lastError = error.message.split('\n')[0]));
  // Only a connection that will be tried again is "lost": closing it on purpose is not.
  client.on('reconnecting', () => {
    if (!wasReady || lost) return;
    lost = true;
    watch.say(`upframe: lost the queue at ${address.display} (${lastError}); running items go on, reconnecting`);
    lastError = 'connection closed';
  });
  return client;
}

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|connection closed|Stream isn't writeable|LOADING|READONLY|ENOTFOUND|EAI_AGAIN/i;

/** Connection errors are said once by the connection itself; anything else is worth a line. */
export function isConnectionError(error: unknown): boolean {
  return CONNECTION_ERROR.test(error instanceof Error ? error.message : String(error));
}

/** For BullMQ objects' `error` events: say other errors once each, never crash on one. */
export function errorSink(say: (line: string) => void, what: string): (error: unknown) => void {
  const said = new Set<string>();
  return (error) => {
    if (isConnectionError(error)) return;
    const text = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    if (said.has(text)) return;
    said.add(text);
    say(`upframe: ${what}: ${text}`);
  };
}
