import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Device, StepsSpec } from '../domain.js';
import { UserError } from '../services/errors.js';
import { accumulateTile, averageInto, ensembleTransforms, transformPlanes } from './ensemble.js';
import { stepsLayout, stepsRunner } from './steps.js';
import { openSession } from './session.js';
import { WRAPPED_INPUT, WRAPPED_OUTPUT, wrapImageModel } from './model-io.js';
import { extractTile, isWholeFrame, pasteTile, pasteTileBytes, planTiles, tileBytes, type Tile } from './tiles.js';

export interface UpscalerOptions {
  readonly modelPath: string;
  readonly device: Device;
  readonly tileSize: number;
  readonly overlap: number;
  /** Known for manifest models; measured with a small probe run otherwise. */
  readonly scale?: number;
  readonly threads?: number;
  /** Self-ensemble size: 1 (none), 2, 4 or 8 transforms per frame. */
  readonly ensemble?: number;
  /** A steps model's manifest; `steps` overrides its count. */
  readonly stepsSpec?: StepsSpec;
  readonly steps?: number;
}

export interface Upscaler {
  readonly scale: number;
  /** Frames the model takes at once (T): 1 for per-frame models, the input's channels / 3 otherwise. */
  readonly frames: number;
  readonly provider: 'cpu' | 'webgpu' | 'cuda';
  /** Set when `auto` wanted CUDA and fell back to the CPU. */
  readonly fallbackReason?: string;
  /** Model runs per frame: the self-ensemble's transforms, a steps model's steps, else 1. */
  readonly steps: number;
  /** For the notice: `self-ensemble ×8`, `20 steps`. */
  readonly stepsLabel?: string;
  /**
   * One output frame from `frames` consecutive input frames (the middle one's neighbourhood);
   * `onStep` is awaited after each model run of a frame that takes several (1..steps).
   */
  upscale(rgb: Uint8Array | readonly Uint8Array[], width: number, height: number, onStep?: (step: number) => Promise<void> | void): Promise<Uint8Array>;
  release(): Promise<void>;
}

export async function createUpscaler(options: UpscalerOptions): Promise<Upscaler> {
  // One image in, one out, once per frame: bytes in and out (model-io.ts). Self-ensemble and steps
  // models turn and feed float planes between runs: they keep the float path.
  if ((options.ensemble ?? 1) === 1 && !options.stepsSpec && options.steps === undefined) {
    const wrapped = readModel(options.modelPath);
    if (wrapped) return createByteUpscaler(options, wrapped.bytes, wrapped.frames);
  }
  return createFloatUpscaler(options);
}

function readModel(path: string): ReturnType<typeof wrapImageModel> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    // openSession says what is wrong with it.
    return undefined;
  }
  return wrapImageModel(bytes);
}

function checkScale(dims: readonly number[], side: number, modelPath: string): number {
  const scale = dims[2] / side;
  if (dims.length !== 4 || dims[3] !== 3 || !Number.isInteger(scale) || scale < 1 || dims[1] !== dims[2]) {
    throw new UserError(`the model's output shape is not an RGB upscale of its input`, {
      file: modelPath,
      tryMessage: 'an upscale model maps [1,3,H,W] to [1,3,sH,sW]',
    });
  }
  return scale;
}

/** The wrapped model: the frames' bytes go in as they are (row copies for tiles), bytes come out. */
async function createByteUpscaler(options: UpscalerOptions, bytes: Uint8Array, frames: number): Promise<Upscaler> {
  const { session, provider, fallbackReason } = await openSession({ path: options.modelPath, bytes }, options.device, options.threads);
  const run = async (data: Uint8Array, width: number, height: number): Promise<ort.Tensor> =>
    (await session.run({ [WRAPPED_INPUT]: new ort.Tensor('uint8', data, [frames, height, width, 3]) }))[WRAPPED_OUTPUT];
  const factor = options.scale ?? checkScale((await run(new Uint8Array(frames * 16 * 16 * 3), 16, 16)).dims, 16, options.modelPath);
  // A tile's input bytes, kept from frame to frame by size (a frame's tiles come in a few sizes).
  const buffers = new Map<number, Uint8Array>();
  const buffer = (length: number): Uint8Array => {
    let found = buffers.get(length);
    if (!found) buffers.set(length, (found = new Uint8Array(length)));
    return found;
  };
  return {
    scale: factor,
    frames,
    steps: 1,
    provider,
    fallbackReason,
    async upscale(input, width, height) {
      const sources = input instanceof Uint8Array ? [input] : input;
      const tiles = planTiles(width, height, options.tileSize, options.overlap);
      if (tiles.length === 1 && frames === 1 && isWholeFrame(tiles[0], width, height)) return (await run(sources[0], width, height)).data as Uint8Array;
      const output = new Uint8Array(width * factor * height * factor * 3);
      for (const tile of tiles) {
        const data = tileBytes(sources, width, height, tile, buffer(frames * tile.padWidth * tile.padHeight * 3));
        const result = await run(data, tile.padWidth, tile.padHeight);
        pasteTileBytes(output, width * factor, result.data as Uint8Array, tile, factor);
      }
      return output;
    },
    release: () => session.release(),
  };
}

async function createFloatUpscaler(options: UpscalerOptions): Promise<Upscaler> {
  const { session, provider, fallbackReason } = await openSession(options.modelPath, options.device, options.threads);
  const ensemble = options.ensemble ?? 1;
  const layout = stepsLayout(session, options.modelPath, options.stepsSpec, options.steps);
  if (layout) {
    if (ensemble > 1) {
      throw new UserError('self-ensemble (--tta, --ensemble) does not combine with a steps model', {
        kind: 'usage',
        file: options.modelPath,
        tryMessage: `drop it: each of the model's ${layout.count} steps would run ${ensemble} times, and the steps already refine the picture`,
      });
    }
    return {
      scale: layout.scale,
      frames: 1,
      steps: layout.count,
      stepsLabel: `${layout.count} step${layout.count === 1 ? '' : 's'}`,
      provider,
      fallbackReason,
      upscale: stepsRunner(session, layout, options.modelPath, options.tileSize, options.overlap) as Upscaler['upscale'],
      release: () => session.release(),
    };
  }
  if (options.steps !== undefined) {
    throw new UserError(`--steps ${options.steps} applies to a steps model; this one takes one image and runs once per frame`, {
      kind: 'usage',
      file: options.modelPath,
      tryMessage: 'drop --steps (README, "Steps models", says what a steps model takes)',
    });
  }
  const transforms = ensembleTransforms(ensemble);
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const channels = session.inputMetadata[0]?.isTensor ? session.inputMetadata[0].shape[1] : 3;
  const frames = typeof channels === 'number' && channels > 3 && channels % 3 === 0 ? channels / 3 : 1;

  async function runTile(data: Float32Array, width: number, height: number): Promise<ort.Tensor> {
    const feeds = { [inputName]: new ort.Tensor('float32', data, [1, 3 * frames, height, width]) };
    const results = await session.run(feeds);
    return results[outputName];
  }

  let scale = options.scale;
  if (scale === undefined) {
    const probe = await runTile(new Float32Array(3 * frames * 16 * 16), 16, 16);
    const dims = probe.dims;
    scale = dims[3] / 16;
    if (dims.length !== 4 || dims[1] !== 3 || !Number.isInteger(scale) || scale < 1 || dims[2] / 16 !== scale) {
      throw new UserError(`the model's output shape [${dims.join(',')}] is not an RGB upscale of its input`, {
        file: options.modelPath,
        tryMessage: 'an upscale model maps [1,3,H,W] to [1,3,sH,sW]',
      });
    }
  }
  const factor = scale;

  const tileInput = (input: Uint8Array | readonly Uint8Array[], width: number, tile: Tile): Float32Array => {
    if (input instanceof Uint8Array) return extractTile(input, width, tile);
    const planes = input.map((frame) => extractTile(frame, width, tile));
    const joined = new Float32Array(planes.reduce((n, p) => n + p.length, 0));
    planes.reduce((offset, p) => (joined.set(p, offset), offset + p.length), 0);
    return joined;
  };

  // Self-ensemble: the frame's float sum, and a tile's planes as read and as turned, kept from frame
  // to frame (by size: a frame's tiles come in a few sizes).
  let sum = new Float32Array(0);
  const buffers = new Map<string, Float32Array<ArrayBuffer>>();
  const buffer = (use: 'read' | 'turned', length: number): Float32Array<ArrayBuffer> => {
    let found = buffers.get(`${use}:${length}`);
    if (!found) buffers.set(`${use}:${length}`, (found = new Float32Array(length)));
    return found;
  };
  const readTile = (input: Uint8Array | readonly Uint8Array[], width: number, tile: Tile): Float32Array =>
    input instanceof Uint8Array ? extractTile(input, width, tile, buffer('read', 3 * tile.padWidth * tile.padHeight)) : tileInput(input, width, tile);

  return {
    scale: factor,
    frames,
    steps: transforms.length,
    stepsLabel: transforms.length > 1 ? `self-ensemble ×${transforms.length}` : undefined,
    provider,
    fallbackReason,
    async upscale(input, width, height, onStep) {
      const output = new Uint8Array(width * factor * height * factor * 3);
      const tiles: Tile[] = planTiles(width, height, options.tileSize, options.overlap);
      if (transforms.length === 1) {
        for (const tile of tiles) {
          const result = await runTile(tileInput(input, width, tile), tile.padWidth, tile.padHeight);
          pasteTile(output, width * factor, result.data as Float32Array, tile, factor);
        }
        return output;
      }
      if (sum.length !== output.length) sum = new Float32Array(output.length);
      else sum.fill(0);
      // One transform over every tile is one step: the step count a user sees is per frame.
      for (const [k, transform] of transforms.entries()) {
        for (const tile of tiles) {
          const planes = readTile(input, width, tile);
          let fed = planes;
          if (transform.flipX || transform.flipY || transform.transpose) {
            fed = buffer('turned', planes.length);
            transformPlanes(planes, fed, 3 * frames, tile.padWidth, tile.padHeight, transform);
          }
          const [w, h] = transform.transpose ? [tile.padHeight, tile.padWidth] : [tile.padWidth, tile.padHeight];
          const result = await runTile(fed, w, h);
          accumulateTile(sum, width * factor, result.data as Float32Array, tile, factor, transform);
        }
        await onStep?.(k + 1);
      }
      averageInto(output, sum, transforms.length);
      return output;
    },
    release: () => session.release(),
  };
}
