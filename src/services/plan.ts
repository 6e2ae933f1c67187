import type { HostStep, InterpolationPlan, JobOptions, MediaInfo, PreviewOptions, ProbeResult, Rate, ResolvedModel } from '../domain.js';
import { UserError } from './errors.js';
import { resolveFaceDetector, resolveFaceRestorer } from './model-store.js';
import { resolveModel, stepsManifestPath } from './models.js';
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
  const face = options.faceRestore ? { restorer: resolveFaceRestorer(options.faceRestore), detector: resolveFaceDetector(options.faceDetector) } : undefined;
  if (!upscale && !interpolation && !face) {
    throw new UserError('nothing to do: --scale 1 and the output rate equals the source rate', { kind: 'usage', tryMessage: 'give a higher --fps, or drop --scale 1' });
  }
  const steps: HostStep[] = [];
  if (upscale) steps.push('upscale');
  if (interpolation) {
    if (options.order === 'interpolate-first') steps.unshift('interpolate');
    else steps.push('interpolate');
  }
  // Last: faces are restored at the output's size and rate (every output frame, interpolated ones too).
  if (face) steps.push('face');
  const model = upscale ? resolveModel(options.model, undefined, 'upscale') : undefined;
  if (model) checkStepOptions(model, options);
  const preview = options.preview && { frame: previewFrame(media, interpolation, options.preview), compare: options.preview.compare };
  return { media, steps, model, interpolation, ...(face ? { face } : {}), ...(preview ? { preview } : {}) };
}

function seconds(frames: number, rate: Rate): string {
  return `${Number(((frames * rate.den) / rate.num).toFixed(3))} s`;
}

/**
 * The output frame a preview makes: `--frame N` (an output frame), `--at S` (the frame shown at that
 * time, floor(S × output rate)), else the middle one. Past the end is a usage error naming the range.
 */
export function previewFrame(media: MediaInfo, interpolation: InterpolationPlan | undefined, preview: PreviewOptions): number {
  const frames = interpolation?.outputFrames ?? media.frameCount;
  const rate = interpolation?.outRate ?? media.frameRate;
  const range = `the output has frames 0–${frames - 1} (${seconds(frames, rate)} at ${formatRate(rate)} fps)`;
  if (preview.frame !== undefined) {
    if (Number.isInteger(preview.frame) && preview.frame >= 0 && preview.frame < frames) return preview.frame;
    throw new UserError(`--frame ${preview.frame} does not exist: ${range}`, { kind: 'usage', tryMessage: `give --frame 0 to ${frames - 1}` });
  }
  if (preview.atSec !== undefined) {
    // A hair of tolerance: --at 0.5 at 24 fps is frame 12 even when 0.5 × 24 computes as 11.999….
    const frame = Math.floor((preview.atSec * rate.num) / rate.den + 1e-9);
    if (preview.atSec >= 0 && frame < frames) return frame;
    throw new UserError(`--at ${preview.atSec} is past the end: ${range}`, { kind: 'usage', tryMessage: `give --at 0 to ${seconds(frames - 1, rate).replace(' s', '')}` });
  }
  return Math.floor(frames / 2);
}

/**
 * --ensemble and --steps against what is known of the model before it loads: its manifest. A model
 * file without one is checked by its host (its inputs may still make it a steps model).
 */
function checkStepOptions(model: ResolvedModel, options: JobOptions): void {
  if (model.steps) {
    if (options.ensemble) {
      throw new UserError('self-ensemble (--tta, --ensemble) does not combine with a steps model', {
        kind: 'usage',
        file: model.path,
        tryMessage: `drop it: each of the model's ${options.steps ?? model.steps.steps} steps would run ${options.ensemble} times, and the steps already refine the picture`,
      });
    }
    if (options.steps !== undefined && options.steps > model.steps.maxSteps) {
      throw new UserError(`--steps ${options.steps}: the model allows 1 to ${model.steps.maxSteps} steps`, {
        kind: 'usage',
        file: stepsManifestPath(model.path),
        tryMessage: `give --steps from 1 to ${model.steps.maxSteps} ("maxSteps" in its manifest)`,
      });
    }
  } else if (model.origin === 'bundled' && options.steps !== undefined) {
    throw new UserError(`--steps applies to a steps model; ${model.name} runs once per frame`, { kind: 'usage', tryMessage: 'drop --steps' });
  }
}
