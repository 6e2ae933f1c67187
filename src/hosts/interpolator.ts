import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { readFileSync } from 'node:fs';
import { PAIR_INPUTS, WRAPPED_OUTPUT, wrapPairModel, type PairModel } from './model-io.js';
import { openSession } from './session.js';
import { toByte, toUnit } from './pixel.js';

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
      out[dst] = toUnit(rgb[src]);
      out[plane + dst] = toUnit(rgb[src + 1]);
      out[2 * plane + dst] = toUnit(rgb[src + 2]);
    }
  }
  return out;
}

function fromPaddedPlanes(planes: Float32Array, width: number, height: number, paddedWidth: number, paddedHeight: number): Uint8Array {
  const plane = paddedWidth * paddedHeight;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    let src = y * paddedWidth;
    let dst = y * width * 3;
    for (let x = 0; x < width; x++, src++, dst += 3) {
      out[dst] = toByte(planes[src]);
      out[dst + 1] = toByte(planes[plane + src]);
      out[dst + 2] = toByte(planes[2 * plane + src]);
    }
  }
  return out;
}

/** How frames go into a session and come out: as bytes (a wrapped model) or as float planes. */
interface Feeding {
  feeds(a: Uint8Array, b: Uint8Array, t: number, size: Padded): Record<string, ort.Tensor>;
  read(result: ort.InferenceSession.OnnxValueMapType, size: Padded): Uint8Array;
}

interface Padded {
  readonly width: number;
  readonly height: number;
  readonly pw: number;
  readonly ph: number;
}

const timePlane = (name: string, t: number, { pw, ph }: Padded) => ({ [name]: new ort.Tensor('float32', new Float32Array(pw * ph).fill(t), [1, 1, ph, pw]) });

/** A wrapped model (hosts/model-io.ts): the frames' bytes in and out as they are, converted, padded and cropped inside the graph. */
function byteFeeding(model: PairModel): Feeding {
  return {
    feeds: (a, b, t, size) => ({
      [PAIR_INPUTS.a]: new ort.Tensor('uint8', a, [1, size.height, size.width, 3]),
      [PAIR_INPUTS.b]: new ort.Tensor('uint8', b, [1, size.height, size.width, 3]),
      [PAIR_INPUTS.pads]: new ort.Tensor('int64', BigInt64Array.of(0n, 0n, 0n, 0n, 0n, 0n, BigInt(size.ph - size.height), BigInt(size.pw - size.width)), [8]),
      [PAIR_INPUTS.size]: new ort.Tensor('int64', BigInt64Array.of(BigInt(size.height), BigInt(size.width)), [2]),
      ...timePlane(model.timestep, t, size),
    }),
    read: (result) => result[WRAPPED_OUTPUT].data as Uint8Array,
  };
}

/** A model that cannot be wrapped: float planes made and read here. */
function floatFeeding(session: ort.InferenceSession): Feeding {
  const [img0, img1, timestep] = ['img0', 'img1', 'timestep'].map((name, n) => (session.inputNames.includes(name) ? name : session.inputNames[n]));
  const outputName = session.outputNames[0];
  return {
    feeds: (a, b, t, size) => ({
      [img0]: new ort.Tensor('float32', toPaddedPlanes(a, size.width, size.height, size.pw, size.ph), [1, 3, size.ph, size.pw]),
      [img1]: new ort.Tensor('float32', toPaddedPlanes(b, size.width, size.height, size.pw, size.ph), [1, 3, size.ph, size.pw]),
      ...timePlane(timestep, t, size),
    }),
    read: (result, size) => fromPaddedPlanes(result[outputName].data as Float32Array, size.width, size.height, size.pw, size.ph),
  };
}

/**
 * A two-frame model (`img0`, `img1`, `timestep` plane → `output`), padded to multiples of 32. Wrapped
 * at load (hosts/model-io.ts) so that the frames' bytes go in and come out as they are; a model that
 * cannot be wrapped keeps the float path.
 */
export async function createInterpolator(options: InterpolatorOptions): Promise<Interpolator> {
  let wrapped: PairModel | undefined;
  try {
    wrapped = wrapPairModel(readFileSync(options.modelPath));
  } catch {
    // unreadable here: openSession names the file
  }
  const model = wrapped ? { path: options.modelPath, bytes: wrapped.bytes } : options.modelPath;
  const { session, provider, fallbackReason } = await openSession(model, options.device, options.threads);
  const feeding = wrapped ? byteFeeding(wrapped) : floatFeeding(session);
  return {
    provider,
    fallbackReason,
    async interpolate(a, b, t, width, height) {
      const size = { width, height, pw: padded(width), ph: padded(height) };
      return feeding.read(await session.run(feeding.feeds(a, b, t, size)), size);
    },
    release: () => session.release(),
  };
}
