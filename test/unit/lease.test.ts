import { describe, expect, it } from 'vitest';
import { acquireLease, leaseHolders, tryAcquireLease } from '../../src/services/gpu.js';

describe('device leases', () => {
  it('the GPU has one holder; the CPU as many as its capacity; a waiter gets it on release; an abort leaves nothing held', async () => {
    const gpu = tryAcquireLease('gpu-test', 'a')!;
    expect(tryAcquireLease('gpu-test', 'b')).toBeUndefined();
    const waiting = acquireLease('gpu-test', 'b');
    gpu.release();
    const next = await waiting;
    expect(leaseHolders().get('gpu-test')).toEqual(['b']);

    const abort = new AbortController();
    const abandoned = acquireLease('gpu-test', 'c', abort.signal);
    abort.abort(new Error('cancelled'));
    await expect(abandoned).rejects.toThrow('cancelled');
    next.release();
    expect(leaseHolders().has('gpu-test')).toBe(false);

    const one = tryAcquireLease('cpu-test', 'x', 2)!;
    const two = tryAcquireLease('cpu-test', 'y', 2)!;
    expect(tryAcquireLease('cpu-test', 'z', 2)).toBeUndefined();
    one.release();
    two.release();
    one.release();
    expect(leaseHolders().size).toBe(0);
  });
});
