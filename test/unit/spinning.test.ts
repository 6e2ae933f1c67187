import type { EventLoopUtilization } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { BusyMeter, MEASURED_MS, MEASURED_RUNS, SPIN_SHARE, spinningPays, WARMUP_RUNS } from '../../src/hosts/spinning.js';

/**
 * A meter on a clock and an event loop the test moves: `run(busy, idle)` is one run, then `busy` ms
 * of the thread held (the run and the JavaScript around it), then `idle` ms of waiting.
 */
function meter() {
  let now = 0;
  let active = 0;
  let idle = 0;
  const loop = (since?: EventLoopUtilization): EventLoopUtilization => {
    const a = active - (since?.active ?? 0);
    const i = idle - (since?.idle ?? 0);
    return { active: a, idle: i, utilization: a + i === 0 ? 0 : a / (a + i) };
  };
  const m = new BusyMeter(() => now, loop);
  const run = (busyMs: number, idleMs: number) => {
    m.begin();
    now += busyMs + idleMs;
    active += busyMs;
    idle += idleMs;
  };
  return { m, run };
}

describe('BusyMeter and spinningPays', () => {
  it('says nothing before its warm-up runs, its measured runs and its measured time are behind it', () => {
    const { m, run } = meter();
    for (let i = 0; i < WARMUP_RUNS; i++) run(1000, 0);
    expect(m.share()).toBeUndefined();
    for (let i = 0; i < MEASURED_RUNS - 1; i++) run(100, 0);
    expect(m.share()).toBeUndefined();
    run(100, 0);
    expect(m.share()).toBeCloseTo(1);
    const short = meter();
    for (let i = 0; i < WARMUP_RUNS + MEASURED_RUNS; i++) short.run(1, 1);
    expect(MEASURED_RUNS * 2 < MEASURED_MS).toBe(true);
    expect(short.m.share()).toBeUndefined();
  });

  it('measures from the first run after the warm-up, however long the warm-up took', () => {
    const { m, run } = meter();
    run(5000, 0);
    run(5000, 0);
    for (let i = 0; i < 20; i++) run(10, 40);
    expect(m.share()).toBeCloseTo(10 / 50, 2);
    expect(spinningPays(m)).toBe(false);
  });

  it('keeps spinning for a host that is mostly busy, and stops it for one that mostly waits', () => {
    const busy = meter();
    for (let i = 0; i < 30; i++) busy.run(90, 10);
    expect(spinningPays(busy.m)).toBe(true);
    const waiting = meter();
    for (let i = 0; i < 30; i++) waiting.run(30, 70);
    expect(spinningPays(waiting.m)).toBe(false);
    const edge = meter();
    for (let i = 0; i < 30; i++) edge.run(SPIN_SHARE * 100, (1 - SPIN_SHARE) * 100);
    expect(spinningPays(edge.m)).toBe(true);
  });
});
