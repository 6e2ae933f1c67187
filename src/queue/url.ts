import { UserError } from '../services/errors.js';

/** Where the queue lives: a Redis server and database, from `--queue redis://[[user]:password@]host[:port][/db]`. */
export interface QueueAddress {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  /** The URL as printed: the password masked. */
  readonly display: string;
}

const EXAMPLE = 'e.g. --queue redis://127.0.0.1:6379 or redis://:PASSWORD@render-box:6379/2';

function bad(message: string): UserError {
  return new UserError(message, { kind: 'usage', tryMessage: EXAMPLE });
}

/** Parses a `--queue` value; a malformed one is a usage error (exit 2) that says what is wrong. */
export function parseQueueUrl(text: string | undefined): QueueAddress {
  if (text === undefined || text.trim() === '') throw bad('--queue needs a Redis URL');
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw bad(`--queue expects a redis:// URL, got "${text}"`);
  }
  if (url.protocol === 'rediss:') throw bad('--queue: TLS (rediss://) is not supported; reach Redis over a private network or a tunnel');
  if (url.protocol !== 'redis:') throw bad(`--queue expects a redis:// URL, got "${text}"`);
  if (!url.hostname) throw bad(`--queue: no host in "${text}"`);
  if (url.search || url.hash) throw bad(`--queue: options after the path are not supported in "${text}"`);
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`--queue: bad port in "${text}"`);
  const path = url.pathname.replace(/^\/+/, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) throw bad(`--queue: the path must be a database number (/0, /1 …), got "/${path}"`);
  const db = path === '' ? 0 : Number(path);
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const auth = password !== undefined ? `${username ?? ''}:***@` : username ? `${username}@` : '';
  return { host, port, db, username, password, display: `redis://${auth}${url.hostname}:${port}/${db}` };
}
