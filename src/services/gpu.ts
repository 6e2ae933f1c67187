import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * Device leases: the GPU has one holder at a time; the CPU as many as `--jobs` (each host then gets
 * its share of the cores). A lease is owned by the actor whose inference host runs on the device,
 * and released only after that host is reaped (the driver frees memory on process exit).
 */
export interface Lease {
  readonly device: string;
  readonly owner: string;
  release(): void;
}

const holders = new Map<string, Set<string>>();
const waiters = new Map<string, (() => void)[]>();

/** Owners per device, for checks: empty when every lease is free. */
export function leaseHolders(): ReadonlyMap<string, readonly string[]> {
  return new Map([...holders].filter(([, owners]) => owners.size > 0).map(([device, owners]) => [device, [...owners]]));
}

export function tryAcquireLease(device: string, owner: string, capacity = 1): Lease | undefined {
  const owners = holders.get(device) ?? new Set<string>();
  if (owners.size >= capacity) return undefined;
  owners.add(owner);
  holders.set(device, owners);
  let released = false;
  return {
    device,
    owner,
    release: () => {
      if (released) return;
      released = true;
      owners.delete(owner);
      waiters.get(device)?.shift()?.();
    },
  };
}

/** Waits for the device; `signal` abandons the wait without ever holding the lease. */
export function acquireLease(device: string, owner: string, signal?: AbortSignal, capacity = 1): Promise<Lease> {
  const lease = tryAcquireLease(device, owner, capacity);
  if (lease) return Promise.resolve(lease);
  return new Promise((resolvePromise, reject) => {
    const queue = waiters.get(device) ?? [];
    waiters.set(device, queue);
    const wake = (): void => {
      const next = tryAcquireLease(device, owner, capacity);
      if (next) {
        signal?.removeEventListener('abort', abandon);
        resolvePromise(next);
      } else queue.push(wake);
    };
    const abandon = (): void => {
      const index = queue.indexOf(wake);
      if (index >= 0) queue.splice(index, 1);
      reject(signal?.reason ?? new Error('lease wait aborted'));
    };
    signal?.addEventListener('abort', abandon, { once: true });
    queue.push(wake);
  });
}

/**
 * Whether `--device auto` can end up on CUDA: onnxruntime's CUDA provider is installed and an NVIDIA
 * device node exists. Read from files, without loading onnxruntime here; when it says no, `auto`
 * jobs take the CPU lease and `--jobs N` really runs N of them at once.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const dir = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    const walk = (d: string): boolean =>
      readdirSync(d, { withFileTypes: true }).some((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.includes('providers_cuda')));
    return existsSync(dir) && walk(dir);
  } catch {
    return false;
  }
}

/**
 * The command that fetches onnxruntime's CUDA provider libraries: onnxruntime-node's own install
 * script, which npm installs of this project never run (`ignore-scripts` in .npmrc).
 */
export function cudaInstallCommand(): string {
  let script = 'node_modules/onnxruntime-node/script/install.js';
  try {
    script = join(dirname(require.resolve('onnxruntime-node/package.json')), 'script', 'install.js');
  } catch {
    // not installed: the relative path still says what to run from the project folder
  }
  return `ONNXRUNTIME_NODE_INSTALL=cuda12 node ${script}`;
}

let cudaLikely: boolean | undefined;
export function cudaMayBeUsed(): boolean {
  cudaLikely ??= existsSync('/dev/nvidiactl') && cudaProviderInstalled();
  return cudaLikely;
}
