import * as ort from 'onnxruntime-node';
import type { Device, StepsSpec } from '../domain.js';
import { UserError } from '../services/errors.js';
import { accumulateTile, averageInto, ensembleTransforms, transformPlanes } from './ensemble.js';
import { stepsLayout, stepsRunner } from './steps.js';
import { openSession } from './session.js';
import { extractTile, pasteTile, planTiles, type Tile } from './tiles.js';

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
  readonly provider: 'cpu' | 'cuda';
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
