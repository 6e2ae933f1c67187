import type { Progress } from '../domain.js';

/** Frames per second over a sliding window of recent samples, and the ETA it implies. */
export class RateMeter {
  private readonly samples: { at: number; done: number }[] = [];

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  sample(done: number, total: number): Progress {
    const at = this.now();
    this.samples.push({ at, done });
    while (this.samples.length > 2 && at - this.samples[0].at > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const elapsed = (at - first.at) / 1000;
    if (elapsed <= 0 || done <= first.done) return { done, total };
    const fps = (done - first.done) / elapsed;
    return { done, total, fps, etaSec: total > done ? (total - done) / fps : 0 };
  }
}
