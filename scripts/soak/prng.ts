/** mulberry32: a tiny seeded PRNG, enough to make every soak run replayable from one 32-bit seed. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A fresh 32-bit seed (for a derived stream). */
  seed(): number;
}

export function rng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    seed: () => Math.floor(next() * 4294967296) >>> 0,
  };
}

/**
 * The seeds of a soak: the first run uses the given seed itself, so `--seed S --runs 1` replays
 * exactly the run that a report lists under seed S; the others come from a stream seeded by it.
 */
export function runSeeds(seed: number, runs: number): number[] {
  const stream = rng(seed ^ 0x9e3779b9);
  const seeds = [seed >>> 0];
  while (seeds.length < runs) seeds.push(stream.seed());
  return seeds.slice(0, runs);
}
