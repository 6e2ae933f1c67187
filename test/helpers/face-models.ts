import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/services/paths.js';
import { ffmpeg } from './media.js';
import { FLOAT, encodeModel, floatTensor, node, onnx, tensorValueInfo } from '../../scripts/ncnn/onnx.js';

const DOUBLE = onnx.TensorProto.DataType.DOUBLE;

export interface RestorerOptions {
  /** The crop's side (512: GFPGAN/CodeFormer; 256: GPEN-256). */
  readonly size?: number;
  /** A CodeFormer-like `weight` input of type double [1] (added times zero). */
  readonly fidelity?: boolean;
  /** Matrix products of 1024² per run, as test/helpers/models.ts slowModel: 600 take seconds. */
  readonly slow?: number;
}

/**
 * A synthetic face restorer of the real layout, `input` [1,3,S,S] RGB in [-1,1] → `output` the same:
 * red inverted (−R, so the input's warp shows), green and blue the crop's position (u, v) from −1 at
 * the first pixel to 1 at the last (so where the paste put each crop pixel shows). Exact in float32.
 */
export function positionRestorer(dir: string, options: RestorerOptions = {}): string {
  const size = options.size ?? 512;
  const path = join(dir, `restorer-${size}${options.fidelity ? '-fidelity' : ''}${options.slow ? `-slow${options.slow}` : ''}.onnx`);
  const ramp = new Float32Array(3 * size * size);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      ramp[size * size + v * size + u] = (u / (size - 1)) * 2 - 1;
      ramp[2 * size * size + v * size + u] = (v / (size - 1)) * 2 - 1;
    }
  }
  const initializers = [floatTensor('sign', [1, 3, 1, 1], new Float32Array([-1, 0, 0])), floatTensor('ramp', [1, 3, size, size], ramp), floatTensor('zero', [1], new Float32Array([0]))];
  const nodes = [node('Mul', 'invert', ['input', 'sign'], ['inverted']), node('Add', 'place', ['inverted', 'ramp'], ['placed'])];
  let last = 'placed';
  if (options.fidelity) {
    nodes.push(node('Cast', 'cast', ['weight'], ['wf'], { to: FLOAT }), node('Mul', 'wz', ['wf', 'zero'], ['w0']), node('Add', 'wadd', [last, 'w0'], ['weighted']));
    last = 'weighted';
  }
  if (options.slow) {
    const n = 1024;
    initializers.push(floatTensor('m', [n, n], new Float32Array(n * n).fill(1 / n)));
    nodes.push(node('ReduceMean', 'seed', ['input'], ['k'], { keepdims: 0 }), node('Mul', 'seeded', ['m', 'k'], ['m0']));
    let previous = 'm0';
    for (let i = 0; i < options.slow; i++) {
      nodes.push(node('MatMul', `mm${i}`, [previous, 'm'], [`p${i}`]));
      previous = `p${i}`;
    }
    nodes.push(node('ReduceSum', 'sum', [previous], ['s'], { keepdims: 0 }), node('Mul', 'zeroed', ['s', 'zero'], ['z']), node('Add', 'slowed', [last, 'z'], ['slowed_out']));
    last = 'slowed_out';
  }
  nodes.push(node('Identity', 'out', [last], ['output']));
  const image = (name: string) => tensorValueInfo(name, FLOAT, [1, 3, size, size]);
  const inputs = [image('input'), ...(options.fidelity ? [tensorValueInfo('weight', DOUBLE, [1])] : [])];
  writeFileSync(path, encodeModel({ graphName: 'position-restorer', docString: 'test', nodes, initializers, inputs, outputs: [image('output')] }));
  return path;
}

/** A "restorer" of the wrong shape: a 512 crop in, a 256 one out (2×2 average). */
export function halvingRestorer(dir: string): string {
  const path = join(dir, 'halving-restorer.onnx');
  const nodes = [node('AveragePool', 'pool', ['input'], ['output'], { kernel_shape: [2, 2], strides: [2, 2] })];
  writeFileSync(path, encodeModel({
    graphName: 'halving', docString: 'test', nodes, initializers: [],
    inputs: [tensorValueInfo('input', FLOAT, [1, 3, 512, 512])], outputs: [tensorValueInfo('output', FLOAT, [1, 3, 256, 256])],
  }));
  return path;
}

/** A short H.264 clip of a still photo of test/fixtures/faces (three faces unless told), scaled to `width` (height to match). */
export function faceClip(dir: string, name: string, options: { width?: number; frames?: number; photo?: string } = {}): string {
  const path = join(dir, name);
  const photo = join(PACKAGE_ROOT, 'test/fixtures/faces', options.photo ?? 'three-faces.jpg');
  execFileSync(ffmpeg.ffmpeg, [
    '-nostdin', '-loglevel', 'error', '-loop', '1', '-framerate', '8', '-i', photo, '-frames:v', String(options.frames ?? 4),
    '-vf', `scale=${options.width ?? 640}:-2`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', path,
  ]);
  return path;
}
