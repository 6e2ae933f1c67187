import type { HostStep, InterpolationPlan, JobOptions, MediaInfo, ProbeResult } from '../domain.js';
import { UserError } from './errors.js';
import { resolveModel } from './models.js';
import { compare, formatRate, multiply } from './rational.js';
import { outputFrameCount } from './timing.js';

export const DEFAULT_INTERPOLATION_MODEL = 'rife-v4.6';

function interpolationPlan(media: MediaInfo, options: JobOptions): InterpolationPlan | undefined {
  if (!options.interpolate && !options.fps) return undefined;
  const outRate = options.fps ?? multiply(media.frameRate, options.interpolate!);
  const order = compare(outRate, media.frameRate);
  if (order < 0) {
    throw new UserError(`--fps ${formatRate(outRate)} is below the source's ${formatRate(media.frameRate)} fps`, {
      kind: 'usage',
      tryMessage: 'interpolation only adds frames: give a higher rate',
    });
  }
  if (order === 0) return undefined;
  return {
    model: resolveModel(options.interpolationModel ?? DEFAULT_INTERPOLATION_MODEL, undefined, 'interpolate'),
    outRate,
    outputFrames: outputFrameCount(media.frameCount, media.frameRate, outRate),
  };
}

/** The chain of hosts a job runs, in order, with their models: decided once the input is known. */
export function planJob(media: MediaInfo, options: JobOptions): ProbeResult {
  const interpolation = interpolationPlan(media, options);
  const upscale = options.scale !== 1;
  if (!upscale && !interpolation) {
    throw new UserError('nothing to do: --scale 1 and the output rate equals the source rate', { kind: 'usage', tryMessage: 'give a higher --fps, or drop --scale 1' });
  }
  const steps: HostStep[] = [];
  if (upscale) steps.push('upscale');
  if (interpolation) {
    if (options.order === 'interpolate-first') steps.unshift('interpolate');
    else steps.push('interpolate');
  }
  return { media, steps, model: upscale ? resolveModel(options.model, undefined, 'upscale') : undefined, interpolation };
}
