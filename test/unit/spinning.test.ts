import { describe, expect, it } from 'vitest';
import { BusyMeter, MEASURED_MS, MEASURED_RUNS, SPIN_SHARE, spinningPays, startsSpinning, WARMUP_RUNS } from '../../src/hosts/spinning.js';

/** A meter on a clock the test moves: `run(busy, idle)` is one run of `busy` ms, then `idle` ms of waiting. */
function meter() {
  let now = 0;
  const m = new BusyMeter(() => now);
  const run = (busyMs: number, idleMs: number) => {
    m.begin();
    now += busyMs;
    m.end();
    now += idleMs;
  };
  return { m, run, wait: (ms: number) => (now += ms) };
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
    expect((MEASURED_RUNS * 2) < MEASURED_MS).toBe(true);
    expect(short.m.share()).toBeUndefined();
  });

  it('ignores the warm-up runs, however long they took', () => {
    const { m, run } = meter();
    run(5000, 0);
    run(5000, 0);
    for (let i = 0; i < 20; i++) run(10, 40);
    expect(m.share()).toBeCloseTo(10 / 50, 2);
    expect(spinningPays(m)).toBe(false);
  });

  it('counts overlapping runs once, and a run still in flight up to now', () => {
    const { m, run, wait } = meter();
    run(0, 0);
    run(0, 0);
    for (let i = 0; i < MEASURED_RUNS; i++) {
      m.begin();
      m.begin();
      wait(90);
      m.end();
      m.end();
      wait(10);
    }
    expect(m.share()).toBeCloseTo(720 / 800, 2);
    m.begin();
    wait(200);
    expect(m.share()).toBeCloseTo((720 + 200) / 1000, 2);
  });

  it('keeps spinning for a host that is mostly inside its runs, and stops it for one that mostly waits', () => {
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

  it('starts spinning with onnxruntime\'s own thread count or up to one thread a core, not with one thread or more threads than cores', () => {
    expect(startsSpinning(undefined, 2)).toBe(true);
    expect(startsSpinning(2, 2)).toBe(true);
    expect(startsSpinning(8, 16)).toBe(true);
    expect(startsSpinning(1, 16)).toBe(false);
    expect(startsSpinning(3, 2)).toBe(false);
    expect(startsSpinning(6, 2)).toBe(false);
  });
});
