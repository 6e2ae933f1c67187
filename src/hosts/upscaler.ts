import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { UserError } from '../services/errors.js';
import { cudaInstallCommand } from '../services/gpu.js';
import { extractTile, pasteTile, planTiles, type Tile } from './tiles.js';


export interface UpscalerOptions {
  readonly modelPath: string;
  readonly device: Device;
  readonly tileSize: number;
  readonly overlap: number;
  /** Known for manifest models; measured with a small probe run otherwise. */
  readonly scale?: number;
  readonly threads?: number;
}

export interface Upscaler {
  readonly scale: number;
  /** Frames the model takes at once (T): 1 for per-frame models, the input's channels / 3 otherwise. */
  readonly frames: number;
  readonly provider: 'cpu' | 'cuda';
  /** Set when `auto` wanted CUDA and fell back to the CPU. */
  readonly fallbackReason?: string;
  /** One output frame from `frames` consecutive input frames (the middle one's neighbourhood). */
  upscale(rgb: Uint8Array | readonly Uint8Array[], width: number, height: number): Promise<Uint8Array>;
  release(): Promise<void>;
}

async function createSession(modelPath: string, provider: 'cpu' | 'cuda', threads?: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, { executionProviders: [provider], graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
}

/** The session on the device asked for: `auto` tries CUDA and falls back to the CPU, saying why. */
export async function openSession(
  modelPath: string,
  device: Device,
  threads?: number,
): Promise<{ session: ort.InferenceSession; provider: 'cpu' | 'cuda'; fallbackReason?: string }> {
  if (device !== 'cpu') {
    try {
      return { session: await createSession(modelPath, 'cuda', threads), provider: 'cuda' };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      if (device === 'cuda') {
        throw new UserError('CUDA is not available to onnxruntime', {
          kind: 'usage',
          tryMessage: `use --device cpu or auto, or install CUDA's provider: ${cudaInstallCommand()} (${reason})`,
        });
      }
      return { session: await loadOnCpu(modelPath, threads), provider: 'cpu', fallbackReason: reason };
    }
  }
  return { session: await loadOnCpu(modelPath, threads), provider: 'cpu' };
}

async function loadOnCpu(modelPath: string, threads?: number): Promise<ort.InferenceSession> {
  try {
    return await createSession(modelPath, 'cpu', threads);
  } catch (cause) {
    throw new UserError('not a valid ONNX model', { kind: 'input', file: modelPath, tryMessage: 'pass a .onnx file exported for inference', cause });
  }
}

export async function createUpscaler(options: UpscalerOptions): Promise<Upscaler> {
  const { session, provider, fallbackReason } = await openSession(options.modelPath, options.device, options.threads);
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

  return {
    scale: factor,
    frames,
    provider,
    fallbackReason,
    async upscale(input, width, height) {
      const output = new Uint8Array(width * factor * height * factor * 3);
      const tiles: Tile[] = planTiles(width, height, options.tileSize, options.overlap);
      for (const tile of tiles) {
        const result = await runTile(tileInput(input, width, tile), tile.padWidth, tile.padHeight);
        pasteTile(output, width * factor, result.data as Float32Array, tile, factor);
      }
      return output;
    },
    release: () => session.release(),
  };
}
