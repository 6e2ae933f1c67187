import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** redis-server from PATH or where Debian puts it; undefined when it is not installed. */
export function findRedisServer(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  return ['/usr/bin/redis-server', '/usr/sbin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGTERM (Redis writes its append-only file) and wait for the exit. */
  stop(): Promise<void>;
  /** Stop, then start again on the same port with the same data. */
  restart(pauseMs?: number): Promise<void>;
}

interface Options {
  /** Keep the data across a restart (append-only file, fsync always). */
  readonly persist?: boolean;
  readonly password?: string;
}

function launch(bin: string, port: number, dir: string, options: Options): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--logfile', ''];
  args.push('--appendonly', options.persist ? 'yes' : 'no');
  if (options.persist) args.push('--appendfsync', 'always');
  if (options.password) args.push('--requirepass', options.password);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${log}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}): ${log}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A redis-server of the test's own, on a free loopback port, in its own process group. */
export async function startRedis(bin: string, options: Options = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'upframe-redis-'));
  let child = await launch(bin, port, dir, options);
  child.removeAllListeners('exit');
  const auth = options.password ? `:${options.password}@` : '';
  const stop = async (): Promise<void> => {
    const current = child;
    try {
      process.kill(-current.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await exited(current);
  };
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    dir,
    stop,
    restart: async (pauseMs = 0) => {
      await stop();
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      child = await launch(bin, port, dir, options);
      child.removeAllListeners('exit');
    },
  };
}
