import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { readFileSync } from 'node:fs';
import { PAIR_INPUTS, WRAPPED_OUTPUT, wrapPairModel, type PairModel } from './model-io.js';
import { openSession } from './session.js';

export interface InterpolatorOptions {
  readonly modelPath: string;
  readonly device: Device;
  readonly threads?: number;
}

export interface Interpolator {
  readonly provider: 'cpu' | 'webgpu' | 'cuda';
  readonly fallbackReason?: string;
  /** The frame at time t between `a` (t = 0) and `b` (t = 1), rgb24 in and out. */
  interpolate(a: Uint8Array, b: Uint8Array, t: number, width: number, height: number): Promise<Uint8Array>;
  release(): Promise<void>;
}

const MULTIPLE = 32;

function padded(length: number): number {
  return Math.ceil(length / MULTIPLE) * MULTIPLE;
}

/** rgb24 → planar float32 in 0..1, zero-padded right and bottom to the model's multiple of 32. */
function toPaddedPlanes(rgb: Uint8Array, width: number, height: number, paddedWidth: number, paddedHeight: number): Float32Array {
  const plane = paddedWidth * paddedHeight;
  const out = new Float32Array(3 * plane);
  for (let y = 0; y < height; y++) {
    let src = y * width * 3;
    let dst = y * paddedWidth;
    for (let x = 0; x < width; x++, src += 3, dst++) {
      out[dst] = rgb[src] / 255;
      out[plane + dst] = rgb[src + 1] / 255;
      out[2 * plane + dst] = rgb[src + 2] / 255;
    }
  }
  return out;
}

function fromPaddedPlanes(planes: Float32Array, width: number, height: number, paddedWidth: number, paddedHeight: number): Uint8Array {
  const plane = paddedWidth * paddedHeight;
  const out = new Uint8Array(width * height * 3);
  const byte = (v: number): number => {
    const r = Math.round(v * 255);
    return r < 0 ? 0 : r > 255 ? 255 : r;
  };
  for (let y = 0; y < height; y++) {
    let src = y * paddedWidth;
    let dst = y * width * 3;
    for (let x = 0; x < width; x++, src++, dst += 3) {
      out[dst] = byte(planes[src]);
      out[dst + 1] = byte(planes[plane + src]);
      out[dst + 2] = byte(planes[2 * plane + src]);
    }
  }
  return out;
}

/**
 * A two-frame model (`img0`, `img1`, `timestep` plane → `output`), padded to multiples of 32. Wrapped
 * at load (hosts/model-io.ts) so that the frames' bytes go in and come out as they are, converted,
 * padded and cropped inside the graph; a model that cannot be wrapped keeps the float path below.
 */
export async function createInterpolator(options: InterpolatorOptions): Promise<Interpolator> {
  let wrapped: PairModel | undefined;
  try {
    wrapped = wrapPairModel(readFileSync(options.modelPath));
  } catch {
    // unreadable here: openSession names the file
  }
  if (wrapped) return bytePath(options, wrapped);
  const { session, provider, fallbackReason } = await openSession(options.modelPath, options.device, options.threads);
  const [img0, img1, timestep] = ['img0', 'img1', 'timestep'].map((name, n) => (session.inputNames.includes(name) ? name : session.inputNames[n]));
  const outputName = session.outputNames[0];
  return {
    provider,
    fallbackReason,
    async interpolate(a, b, t, width, height) {
      const pw = padded(width);
      const ph = padded(height);
      const dims = [1, 3, ph, pw];
      const feeds = {
        [img0]: new ort.Tensor('float32', toPaddedPlanes(a, width, height, pw, ph), dims),
        [img1]: new ort.Tensor('float32', toPaddedPlanes(b, width, height, pw, ph), dims),
        [timestep]: new ort.Tensor('float32', new Float32Array(pw * ph).fill(t), [1, 1, ph, pw]),
      };
      const result = await session.run(feeds);
      return fromPaddedPlanes(result[outputName].data as Float32Array, width, height, pw, ph);
    },
    release: () => session.release(),
  };
}

async function bytePath(options: InterpolatorOptions, model: PairModel): Promise<Interpolator> {
  const { session, provider, fallbackReason } = await openSession({ path: options.modelPath, bytes: model.bytes }, options.device, options.threads);
  return {
    provider,
    fallbackReason,
    async interpolate(a, b, t, width, height) {
      const pw = padded(width);
      const ph = padded(height);
      const frame = [1, height, width, 3];
      const feeds = {
        [PAIR_INPUTS.a]: new ort.Tensor('uint8', a, frame),
        [PAIR_INPUTS.b]: new ort.Tensor('uint8', b, frame),
        [PAIR_INPUTS.pads]: new ort.Tensor('int64', BigInt64Array.of(0n, 0n, 0n, 0n, 0n, 0n, BigInt(ph - height), BigInt(pw - width)), [8]),
        [PAIR_INPUTS.size]: new ort.Tensor('int64', BigInt64Array.of(BigInt(height), BigInt(width)), [2]),
        [model.timestep]: new ort.Tensor('float32', new Float32Array(pw * ph).fill(t), [1, 1, ph, pw]),
      };
      const result = await session.run(feeds);
      return result[WRAPPED_OUTPUT].data as Uint8Array;
    },
    release: () => session.release(),
  };
}
