import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLOAT, INT64, encodeModel, floatTensor, int64Tensor, node, tensorValueInfo } from '../../scripts/ncnn/onnx.js';
import { toByte, toUnit } from '../../src/hosts/pixel.js';

function io(scale: number) {
  return {
    inputs: [tensorValueInfo('input', FLOAT, [1, 3, 'height', 'width'])],
    outputs: [tensorValueInfo('output', FLOAT, [1, 3, scale === 1 ? 'height' : `height_x${scale}`, scale === 1 ? 'width' : `width_x${scale}`])],
  };
}

function resizeNodes(scale: number, output: string) {
  return {
    nodes: [node('Resize', 'resize', ['input', '', 'scales'], [output], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' })],
    initializers: [floatTensor('scales', [4], new Float32Array([1, 1, scale, scale]))],
  };
}

/** A nearest-neighbour ×scale upscaler: fast, exact, easy to check. */
export function nearestModel(dir: string, scale = 2): string {
  const path = join(dir, `nearest-x${scale}.onnx`);
  const { nodes, initializers } = resizeNodes(scale, 'output');
  writeFileSync(path, encodeModel({ graphName: 'nearest', docString: 'test', nodes, initializers, ...io(scale) }));
  return path;
}

/**
 * A ×2 nearest upscaler that also burns time: a chain of `steps` 1024² matrix products whose result
 * is multiplied by zero and added, so the output is exact but each run takes seconds (600 steps ≈ 2–6 s
 * on 2 cores).
 */
export function slowModel(dir: string, steps = 600): string {
  const path = join(dir, `slow-x2-${steps}.onnx`);
  const { nodes, initializers } = resizeNodes(2, 'up');
  const n = 1024;
  const matrix = new Float32Array(n * n).fill(1 / n);
  initializers.push(floatTensor('m', [n, n], matrix), floatTensor('zero', [1], new Float32Array([0])));
  // Seeded from the input so that onnxruntime cannot fold the chain into a constant at load time.
  nodes.push(node('ReduceMean', 'seed', ['input'], ['k'], { keepdims: 0 }), node('Mul', 'seeded', ['m', 'k'], ['m0']));
  let previous = 'm0';
  for (let i = 0; i < steps; i++) {
    nodes.push(node('MatMul', `mm${i}`, [previous, 'm'], [`p${i}`]));
    previous = `p${i}`;
  }
  nodes.push(
    node('ReduceSum', 'sum', [previous], ['s'], { keepdims: 0 }),
    node('Mul', 'zeroed', ['s', 'zero'], ['z']),
    node('Add', 'add', ['up', 'z'], ['output']),
  );
  writeFileSync(path, encodeModel({ graphName: 'slow', docString: 'test', nodes, initializers, ...io(2) }));
  return path;
}

/**
 * A two-frame "interpolation" model with RIFE's I/O: img0·(1−t) + img1·t. Exact, so a test can tell
 * a blend from a copy; `steps` matrix products make each run slow like {@link slowModel}.
 */
export function blendModel(dir: string, steps = 0): string {
  const path = join(dir, `blend-${steps}.onnx`);
  const nodes = [
    node('Sub', 'one_minus_t', ['one', 'timestep'], ['u']),
    node('Mul', 'a', ['img0', 'u'], ['wa']),
    node('Mul', 'b', ['img1', 'timestep'], ['wb']),
    node('Add', 'blend', ['wa', 'wb'], steps > 0 ? ['mixed'] : ['output']),
  ];
  const initializers = [floatTensor('one', [1], new Float32Array([1]))];
  if (steps > 0) {
    const n = 1024;
    initializers.push(floatTensor('m', [n, n], new Float32Array(n * n).fill(1 / n)), floatTensor('zero', [1], new Float32Array([0])));
    nodes.push(node('ReduceMean', 'seed', ['img0'], ['k'], { keepdims: 0 }), node('Mul', 'seeded', ['m', 'k'], ['m0']));
    let previous = 'm0';
    for (let i = 0; i < steps; i++) {
      nodes.push(node('MatMul', `mm${i}`, [previous, 'm'], [`p${i}`]));
      previous = `p${i}`;
    }
    nodes.push(node('ReduceSum', 'sum', [previous], ['s'], { keepdims: 0 }), node('Mul', 'zeroed', ['s', 'zero'], ['z']), node('Add', 'add', ['mixed', 'z'], ['output']));
  }
  const frame = (name: string, channels: number) => tensorValueInfo(name, FLOAT, [1, channels, 'height', 'width']);
  writeFileSync(path, encodeModel({ graphName: 'blend', docString: 'test', nodes, initializers, inputs: [frame('img0', 3), frame('img1', 3), frame('timestep', 1)], outputs: [frame('output', 3)] }));
  return path;
}

/** A temporal model: T = 3 frames in (stacked on channels), 0.25·prev + 0.5·this + 0.25·next out, scale 1. */
export function temporalMeanModel(dir: string): string {
  const path = join(dir, 'temporal-mean-3.onnx');
  const nodes = [
    node('Split', 'split', ['input', 'splits'], ['prev', 'cur', 'next'], { axis: 1 }),
    node('Mul', 'wp', ['prev', 'quarter'], ['a']),
    node('Mul', 'wc', ['cur', 'half'], ['b']),
    node('Mul', 'wn', ['next', 'quarter'], ['c']),
    node('Add', 'ab', ['a', 'b'], ['ab']),
    node('Add', 'abc', ['ab', 'c'], ['output']),
  ];
  const initializers = [
    int64Tensor('splits', [3], [3, 3, 3]),
    floatTensor('quarter', [1], new Float32Array([0.25])),
    floatTensor('half', [1], new Float32Array([0.5])),
  ];
  writeFileSync(path, encodeModel({
    graphName: 'temporal-mean', docString: 'test', nodes, initializers,
    inputs: [tensorValueInfo('input', FLOAT, [1, 9, 'height', 'width'])],
    outputs: [tensorValueInfo('output', FLOAT, [1, 3, 'height', 'width'])],
  }));
  return path;
}

export interface StepsModelOptions {
  /** `float32`: α = t; `int64`: α = (t + 1) / 8. */
  readonly stepType?: 'float32' | 'int64';
  /** The step input's shape: a scalar [] or [1]. */
  readonly stepShape?: [] | [1];
  /** Matrix products per run, as in {@link slowModel}: 600 take seconds. */
  readonly slow?: number;
  /** With a `source` input: the target is 1 − the source enlarged ×2; else a fixed colour. */
  readonly source?: boolean;
  /** The sidecar manifest written beside the model (`<file>.json`); none when undefined. */
  readonly manifest?: Record<string, unknown>;
  readonly name?: string;
}

/** The colour the plain steps model pulls every pixel towards. */
export const STEPS_TARGET = [0.9, 0.2, 0.6] as const;

/**
 * An iterative "steps" model: x ← x + (target − x)·α per run, α from the step input, so N runs give
 * target + (x₀ − target)·Π(1 − αₖ), computable exactly in float32 (see {@link stepsReference}).
 * Inputs `x` (the image) and `t` (the step), optionally `source`; output `y`.
 */
export function stepsModel(dir: string, options: StepsModelOptions = {}): string {
  const stepType = options.stepType ?? 'float32';
  const path = join(dir, `${options.name ?? `steps-${stepType}${options.source ? '-source' : ''}${options.slow ? `-slow${options.slow}` : ''}`}.onnx`);
  const nodes = [];
  const initializers = [];
  if (stepType === 'int64') {
    nodes.push(node('Cast', 'cast', ['t'], ['tf'], { to: FLOAT }), node('Add', 'plus1', ['tf', 'one'], ['t1']), node('Mul', 'eighth', ['t1', 'k8'], ['alpha']));
    initializers.push(floatTensor('one', [1], new Float32Array([1])), floatTensor('k8', [1], new Float32Array([0.125])));
  } else {
    nodes.push(node('Identity', 'alpha', ['t'], ['alpha']));
  }
  if (options.source) {
    nodes.push(
      node('Resize', 'up', ['source', '', 'scales'], ['up'], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
      node('Sub', 'invert', ['ones', 'up'], ['target']),
    );
    initializers.push(floatTensor('scales', [4], new Float32Array([1, 1, 2, 2])), floatTensor('ones', [1], new Float32Array([1])));
  } else {
    initializers.push(floatTensor('target', [1, 3, 1, 1], new Float32Array(STEPS_TARGET)));
  }
  const last = options.slow ? 'moved' : 'y';
  nodes.push(node('Sub', 'd', ['target', 'x'], ['d']), node('Mul', 'm', ['d', 'alpha'], ['m']), node('Add', 'next', ['x', 'm'], [last]));
  if (options.slow) {
    const n = 1024;
    initializers.push(floatTensor('mat', [n, n], new Float32Array(n * n).fill(1 / n)), floatTensor('zero', [1], new Float32Array([0])));
    nodes.push(node('ReduceMean', 'seed', ['x'], ['k'], { keepdims: 0 }), node('Mul', 'seeded', ['mat', 'k'], ['m0']));
    let previous = 'm0';
    for (let i = 0; i < options.slow; i++) {
      nodes.push(node('MatMul', `mm${i}`, [previous, 'mat'], [`p${i}`]));
      previous = `p${i}`;
    }
    nodes.push(node('ReduceSum', 'sum', [previous], ['s'], { keepdims: 0 }), node('Mul', 'zeroed', ['s', 'zero'], ['z']), node('Add', 'add', ['moved', 'z'], ['y']));
  }
  const image = (name: string, h = 'height', w = 'width') => tensorValueInfo(name, FLOAT, [1, 3, h, w]);
  const inputs = [image('x'), tensorValueInfo('t', stepType === 'int64' ? INT64 : FLOAT, options.stepShape ?? [])];
  if (options.source) inputs.push(image('source', 'source_height', 'source_width'));
  writeFileSync(path, encodeModel({ graphName: 'steps', docString: 'test', nodes, initializers, inputs, outputs: [image('y')] }));
  if (options.manifest) writeFileSync(`${path}.json`, JSON.stringify(options.manifest));
  return path;
}

/**
 * What {@link stepsModel} gives for one rgb24 frame after the runs with these α, emulating each float32
 * operation: the pixel's start x₀ (the frame, or with `source` the frame enlarged ×2) and target.
 */
export function stepsReference(rgb: Uint8Array, width: number, height: number, alphas: readonly number[], source = false): Uint8Array {
  const f = Math.fround;
  const scale = source ? 2 : 1;
  const out = new Uint8Array(width * scale * height * scale * 3);
  for (let y = 0; y < height * scale; y++) {
    for (let x = 0; x < width * scale; x++) {
      for (let c = 0; c < 3; c++) {
        const s = toUnit(rgb[(Math.floor(y / scale) * width + Math.floor(x / scale)) * 3 + c]);
        const target = source ? f(1 - s) : f(STEPS_TARGET[c]);
        let v = s;
        for (const alpha of alphas) v = f(v + f(f(target - v) * f(alpha)));
        out[(y * width * scale + x) * 3 + c] = toByte(v);
      }
    }
  }
  return out;
}
