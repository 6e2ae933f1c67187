/**
 * The accelerator lease: one holder per device at a time, owned by the actor whose inference host
 * runs on it, and released only after that host is reaped (the driver frees memory on process exit).
 */
export interface Lease {
  readonly device: string;
  readonly owner: string;
  release(): void;
}

const holders = new Map<string, string>();
const waiters = new Map<string, (() => void)[]>();

export function leaseHolders(): ReadonlyMap<string, string> {
  return holders;
}

export function tryAcquireLease(device: string, owner: string): Lease | undefined {
  if (holders.has(device)) return undefined;
  holders.set(device, owner);
  let released = false;
  return {
    device,
    owner,
    release: () => {
      if (released) return;
      released = true;
      holders.delete(device);
      waiters.get(device)?.shift()?.();
    },
  };
}

/** Waits for the device; `signal` abandons the wait without ever holding the lease. */
export function acquireLease(device: string, owner: string, signal?: AbortSignal): Promise<Lease> {
  const lease = tryAcquireLease(device, owner);
  if (lease) return Promise.resolve(lease);
  return new Promise((resolvePromise, reject) => {
    const queue = waiters.get(device) ?? [];
    waiters.set(device, queue);
    const wake = (): void => {
      signal?.removeEventListener('abort', abandon);
      const next = tryAcquireLease(device, owner);
      if (next) resolvePromise(next);
      else queue.push(wake);
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
