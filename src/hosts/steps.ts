/**
 * Steps (iterative) models: the shape of a diffusion upscaler exported one step at a time. Per frame
 * the model runs N times; each run takes the current image and the step's schedule value (and, when
 * the manifest names one, the source frame) and gives the next image, of the same shape. The first
 * image is the frame enlarged by nearest neighbour to the model's scale; the last is the output.
 * Runs go step by step over all tiles, so a step is the whole frame's, and `onStep` is told after
 * each. README, "Steps models", documents the layout.
 */
import * as ort from 'onnxruntime-node';
import type { StepsSpec } from '../domain.js';
import { UserError } from '../services/errors.js';
import { extractTile, pasteTile, planTiles } from './tiles.js';

/** A steps model as the host runs it: its inputs checked against the session, the step count chosen. */
export interface StepsLayout {
  readonly image: string;
  readonly step: string;
  readonly source?: string;
  readonly output: string;
  readonly scale: number;
  /** Runs per frame. */
  readonly count: number;
  /** The step input's value for each run. */
  readonly values: readonly number[];
  /** How the step input is fed: its element type and shape ([] or [1]). */
  readonly stepType: 'float32' | 'float64' | 'int32' | 'int64';
  readonly stepDims: readonly number[];
  /** Without a sidecar: recognised from the model's inputs. */
  readonly detected: boolean;
}

type Meta = ort.InferenceSession['inputMetadata'][number];

function describeInputs(session: ort.InferenceSession): string {
  return session.inputNames.join(', ') || 'none';
}

function rankOf(meta: Meta | undefined): number | undefined {
  return meta?.isTensor ? meta.shape.length : undefined;
}

/** A scalar-like input: rank 0, or rank 1 of one element (or of an unnamed size). */
function isScalar(meta: Meta | undefined): boolean {
  if (!meta?.isTensor) return false;
  return meta.shape.length === 0 || (meta.shape.length === 1 && (meta.shape[0] === 1 || typeof meta.shape[0] === 'string' || meta.shape[0] === -1));
}

/** The step input's values for a run of `count` steps (see {@link StepsSpec.schedule}). */
export function scheduleValues(schedule: StepsSpec['schedule'], count: number): number[] {
  return Array.from({ length: count }, (_, k) => {
    if (schedule === undefined) return k;
    if (Array.isArray(schedule)) return schedule[count === 1 ? 0 : Math.round((k * (schedule.length - 1)) / (count - 1))];
    const { from, to } = schedule as { from: number; to: number };
    return count === 1 ? from : from + ((to - from) * k) / (count - 1);
  });
}

const STEP_TYPES = ['float32', 'float64', 'int32', 'int64'] as const;

/**
 * Whether the session is a steps model, and how to run it. With a manifest, the inputs it declares
 * must be the model's; without one, a model with two inputs, an image (rank 4) and a scalar, is a
 * steps model of scale 1 that needs `--steps`. A model with any other inputs is not an upscaler.
 */
export function stepsLayout(session: ort.InferenceSession, modelPath: string, spec: StepsSpec | undefined, requested: number | undefined): StepsLayout | undefined {
  const names = session.inputNames;
  const meta = (name: string): Meta | undefined => session.inputMetadata[names.indexOf(name)];
  const detected = !spec;
  if (!spec) {
    if (names.length === 1) return undefined;
    const image = names.find((name) => rankOf(meta(name)) === 4);
    const step = names.find((name) => name !== image && isScalar(meta(name)));
    if (names.length !== 2 || !image || !step) {
      throw new UserError(`not an upscale model: its inputs are ${describeInputs(session)}`, {
        kind: 'usage',
        file: modelPath,
        tryMessage: 'an upscale model takes one image [1,3,H,W]; a steps model an image and a step (and a model.onnx.json manifest), see README "Steps models"',
      });
    }
    if (requested === undefined) {
      throw new UserError(`the model takes an image (${image}) and a step (${step}) but has no manifest saying how many steps`, {
        kind: 'usage',
        file: modelPath,
        tryMessage: `give --steps N, or write ${modelPath}.json (README, "Steps models")`,
      });
    }
    spec = { steps: requested, maxSteps: Number.MAX_SAFE_INTEGER, inputs: { image, step }, scale: 1 };
  }
  const declared = [spec.inputs.image, spec.inputs.step, ...(spec.inputs.source ? [spec.inputs.source] : [])];
  const missing = declared.filter((name) => !names.includes(name));
  if (missing.length > 0) {
    throw new UserError(`the steps model lacks the input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')} its manifest declares (its inputs: ${describeInputs(session)})`, {
      kind: 'input',
      file: modelPath,
      tryMessage: `fix "inputs" in ${modelPath}.json`,
    });
  }
  const extra = names.filter((name) => !declared.includes(name));
  if (extra.length > 0) {
    throw new UserError(`the steps model has input${extra.length > 1 ? 's' : ''} ${extra.map((n) => `"${n}"`).join(', ')} that its manifest does not declare`, {
      kind: 'input',
      file: modelPath,
      tryMessage: `name it in "inputs" of ${modelPath}.json (image, step, source)`,
    });
  }
  const output = spec.output ?? session.outputNames[0];
  if (!session.outputNames.includes(output)) {
    throw new UserError(`the steps model has no output "${output}" (its outputs: ${session.outputNames.join(', ')})`, { kind: 'input', file: modelPath });
  }
  const stepMeta = meta(spec.inputs.step);
  const stepType = stepMeta?.isTensor ? stepMeta.type : undefined;
  if (!isScalar(stepMeta) || !(STEP_TYPES as readonly string[]).includes(String(stepType))) {
    throw new UserError(`the steps model's step input "${spec.inputs.step}" is not a scalar of float or int type`, {
      kind: 'input',
      file: modelPath,
      tryMessage: 'export it as float32 or int64 of shape [] or [1]',
    });
  }
  if (rankOf(meta(spec.inputs.image)) !== 4) {
    throw new UserError(`the steps model's image input "${spec.inputs.image}" is not an image [1,3,H,W]`, { kind: 'input', file: modelPath });
  }
  const count = requested ?? spec.steps;
  if (count < 1 || count > spec.maxSteps) {
    throw new UserError(`--steps ${count}: the model allows 1 to ${spec.maxSteps} steps`, { kind: 'usage', file: modelPath, tryMessage: `give --steps from 1 to ${spec.maxSteps}` });
  }
  return {
    image: spec.inputs.image,
    step: spec.inputs.step,
    source: spec.inputs.source,
    output,
    scale: spec.scale,
    count,
    values: scheduleValues(spec.schedule, count),
    stepType: stepType as StepsLayout['stepType'],
    stepDims: (stepMeta as Extract<Meta, { isTensor: true }>).shape.length === 0 ? [] : [1],
    detected,
  };
}

function stepTensor(layout: StepsLayout, value: number): ort.Tensor {
  const dims = [...layout.stepDims];
  switch (layout.stepType) {
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.round(value))), dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.of(Math.round(value)), dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.of(value), dims);
    default:
      return new ort.Tensor('float32', Float32Array.of(value), dims);
  }
}

/** Planar float tile enlarged `scale`× by nearest neighbour (the same array when scale is 1). */
function enlarge(planes: Float32Array, width: number, height: number, scale: number): Float32Array {
  if (scale === 1) return planes;
  const outWidth = width * scale;
  const out = new Float32Array(planes.length * scale * scale);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height * scale; y++) {
      const src = c * width * height + Math.floor(y / scale) * width;
      const dst = c * out.length / 3 + y * outWidth;
      for (let x = 0; x < outWidth; x++) out[dst + x] = planes[src + Math.floor(x / scale)];
    }
  }
  return out;
}

export type StepFrame = (rgb: Uint8Array, width: number, height: number, onStep?: (step: number) => Promise<void> | void) => Promise<Uint8Array>;

/** One frame through the step loop: per tile its own image, every tile advanced one step at a time. */
export function stepsRunner(session: ort.InferenceSession, layout: StepsLayout, modelPath: string, tileSize: number, overlap: number): StepFrame {
  const steps = layout.values.map((value) => stepTensor(layout, value));
  // Per tile: the current image, and the source tile when the model takes it (kept between frames).
  const images: Float32Array[] = [];
  const sources: Float32Array[] = [];
  const scale = layout.scale;
  return async (rgb, width, height, onStep) => {
    const tiles = planTiles(width, height, tileSize, overlap);
    tiles.forEach((tile, i) => {
      sources[i] = extractTile(rgb, width, tile);
      images[i] = enlarge(sources[i], tile.padWidth, tile.padHeight, scale);
    });
    for (let k = 0; k < layout.count; k++) {
      for (const [i, tile] of tiles.entries()) {
        const dims = [1, 3, tile.padHeight * scale, tile.padWidth * scale];
        const feeds: Record<string, ort.Tensor> = { [layout.image]: new ort.Tensor('float32', images[i], dims), [layout.step]: steps[k] };
        if (layout.source) feeds[layout.source] = new ort.Tensor('float32', sources[i], [1, 3, tile.padHeight, tile.padWidth]);
        const result = (await session.run(feeds))[layout.output];
        if (result.type !== 'float32' || result.dims.length !== 4 || result.dims.some((d, n) => d !== dims[n])) {
          throw new UserError(`the steps model's output [${result.dims.join(',')}] is not the shape of its image input [${dims.join(',')}]`, {
            file: modelPath,
            tryMessage: 'a step maps the image [1,3,H,W] to the next image [1,3,H,W] (float32)',
          });
        }
        images[i] = result.data as Float32Array;
      }
      await onStep?.(k + 1);
    }
    const output = new Uint8Array(width * scale * height * scale * 3);
    tiles.forEach((tile, i) => pasteTile(output, width * scale, images[i], tile, scale));
    return output;
  };
}
