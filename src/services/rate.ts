import type { Progress } from '../domain.js';

/**
 * Frames per second over a sliding window of recent samples, and the ETA it implies. When a frame
 * takes several model runs (`runs.steps` > 1), the rate is measured in runs (a frame of 8 runs moves
 * 8 times) and converted back to frames, so the ETA moves between frames too.
 */
export class RateMeter {
  private readonly samples: { at: number; units: number }[] = [];

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  sample(done: number, total: number, runs?: { readonly step: number; readonly steps: number }): Progress {
    const at = this.now();
    const per = runs && runs.steps > 1 ? runs.steps : 1;
    const position = per > 1 ? { step: runs!.step, steps: per } : {};
    const units = done * per + (per > 1 ? runs!.step : 0);
    this.samples.push({ at, units });
    while (this.samples.length > 2 && at - this.samples[0].at > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const elapsed = (at - first.at) / 1000;
    if (elapsed <= 0 || units <= first.units) return { done, total, ...position };
    const rate = (units - first.units) / elapsed;
    return { done, total, fps: rate / per, etaSec: total * per > units ? (total * per - units) / rate : 0, ...position };
  }
}
