/**
 * A face restorer of the layout the common ONNX exports share (GFPGAN, CodeFormer, GPEN, RestoreFormer,
 * as FaceFusion's face enhancer runs them): an aligned S×S RGB crop in [-1,1], NCHW `[1,3,S,S]`, in;
 * the same out. CodeFormer adds one scalar input, its fidelity weight (float or double).
 */
import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { UserError } from '../services/errors.js';
import { openSession } from './session.js';

/** What the model's inputs say: the crop's side, and the fidelity input if it has one. */
export interface RestorerLayout {
  readonly size: number;
  readonly image: string;
  readonly output: string;
  readonly fidelity?: { readonly name: string; readonly type: 'float32' | 'float64'; readonly dims: readonly number[] };
}

/** Dynamic sides take FFHQ's 512. */
const DEFAULT_SIDE = 512;
export const DEFAULT_FIDELITY = 0.5;

const dimsOf = (meta: ort.InferenceSession.ValueMetadata | undefined): readonly (number | string)[] => (meta?.isTensor ? meta.shape : []);

function notRestorer(path: string, why: string): UserError {
  return new UserError(`not a face restorer (${why})`, {
    kind: 'usage', file: path, tryMessage: 'a face restorer takes and returns an aligned RGB crop [1,3,512,512] or [1,3,256,256] in [-1,1]: see README, "Face restoration"',
  });
}

/** The layout from the session's metadata; throws a one-line usage error for anything else. */
export function restorerLayout(session: ort.InferenceSession, path: string): RestorerLayout {
  const inputs = session.inputNames.map((name, n) => ({ name, meta: session.inputMetadata[n] }));
  const images = inputs.filter((i) => dimsOf(i.meta).length === 4);
  const scalars = inputs.filter((i) => dimsOf(i.meta).length <= 1);
  if (images.length !== 1 || images.length + scalars.length !== inputs.length || scalars.length > 1) {
    throw notRestorer(path, `inputs ${inputs.map((i) => `${i.name}[${dimsOf(i.meta).join(',')}]`).join(' ')}, expected one image and at most a fidelity weight`);
  }
  const dims = dimsOf(images[0].meta);
  const side = (d: number | string) => (typeof d === 'number' && d > 0 ? d : DEFAULT_SIDE);
  if ((typeof dims[1] === 'number' && dims[1] !== 3) || side(dims[2]) !== side(dims[3]) || side(dims[2]) < 64 || side(dims[2]) > 2048) {
    throw notRestorer(path, `input [${dims.join(',')}], expected [1,3,S,S]`);
  }
  const image = images[0].meta;
  if (image?.isTensor && image.type !== 'float32') throw notRestorer(path, `input of ${image.type}, expected float32`);
  const scalar = scalars[0];
  let fidelity: RestorerLayout['fidelity'];
  if (scalar) {
    const type = scalar.meta?.isTensor ? scalar.meta.type : undefined;
    if (type !== 'float32' && type !== 'float64') throw notRestorer(path, `the extra input ${scalar.name} is ${type}, expected a float fidelity weight`);
    fidelity = { name: scalar.name, type, dims: dimsOf(scalar.meta).map(() => 1) };
  }
  const output = session.outputNames[0];
  const outDims = dimsOf(session.outputMetadata[0]);
  if (outDims.length !== 4 || (typeof outDims[1] === 'number' && outDims[1] !== 3)) throw notRestorer(path, `output [${outDims.join(',')}], expected [1,3,S,S]`);
  return { size: side(dims[2]), image: images[0].name, output, ...(fidelity ? { fidelity } : {}) };
}

export interface FaceRestorer {
  readonly layout: RestorerLayout;
  readonly provider: 'cpu' | 'webgpu' | 'cuda';
  readonly fallbackReason?: string;
  /** One aligned crop, planar RGB in [-1,1], restored; the output is checked to be the crop's shape. */
  restore(crop: Float32Array): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface RestorerOptions {
  readonly modelPath: string;
  readonly device: Device;
  readonly threads?: number;
  /** CodeFormer's weight (0: most restoration, 1: closest to the input). */
  readonly fidelity?: number;
}

export async function createFaceRestorer(options: RestorerOptions): Promise<FaceRestorer> {
  const { session, provider, fallbackReason } = await openSession(options.modelPath, options.device, options.threads);
  const layout = restorerLayout(session, options.modelPath);
  const { size } = layout;
  const weight = options.fidelity ?? DEFAULT_FIDELITY;
  const feeds = (crop: Float32Array): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = { [layout.image]: new ort.Tensor('float32', crop, [1, 3, size, size]) };
    if (layout.fidelity) {
      const { name, type, dims } = layout.fidelity;
      f[name] = type === 'float64' ? new ort.Tensor('float64', new Float64Array([weight]), dims) : new ort.Tensor('float32', new Float32Array([weight]), dims);
    }
    return f;
  };
  const restore = async (crop: Float32Array): Promise<Float32Array> => {
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run(feeds(crop));
    } catch (cause) {
      throw new UserError(`the face restorer failed on a ${size}×${size} crop`, { kind: 'usage', file: options.modelPath, tryMessage: 'check that it takes [1,3,S,S] RGB in [-1,1]', cause });
    }
    const out = result[layout.output];
    const dims = out.dims;
    if (dims.length !== 4 || dims[0] !== 1 || dims[1] !== 3 || dims[2] !== size || dims[3] !== size || out.type !== 'float32') {
      throw notRestorer(options.modelPath, `a ${size}×${size} crop came back as ${out.type} [${dims.join(',')}]`);
    }
    return out.data as Float32Array;
  };
  // An output whose shape the file does not fix is checked by one run now, before any frame.
  const declared = dimsOf(session.outputMetadata[0]);
  if (![1, 3, size, size].every((d, i) => declared[i] === d)) await restore(new Float32Array(3 * size * size));
  return { layout, provider, fallbackReason, restore, release: () => session.release() };
}
