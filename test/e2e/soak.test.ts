import { afterAll, describe, expect, it } from 'vitest';
import { killLeftovers, runSoak } from '../../scripts/soak/soak.js';

/**
 * The short soak in `npm test`: the same harness as `npm run soak`, with a fixed seed so that a CI
 * failure replays (`node --import tsx scripts/soak.ts --seed <the violation's seed> --runs 1`).
 * Every check of the long soak applies; nothing is relaxed for the short one.
 */
const SEED = 1;
const RUNS = 20;
const stop = new AbortController();

afterAll(() => {
  // Should the test time out, the soak stops before its next run and nothing of the current one stays.
  stop.abort();
  killLeftovers();
});

describe('soak: random options, random faults at random moments', () => {
  it(`${RUNS} runs (seed ${SEED}) keep the exit-code and cleanup contract`, async () => {
    const report = await runSoak({ runs: RUNS, seed: SEED, signal: stop.signal });
    expect(Object.values(report.byFault).reduce((n, f) => n + f.runs, 0)).toBe(RUNS);
    expect(report.violations).toEqual([]);
  }, 240_000);
});
