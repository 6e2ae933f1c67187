import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLOAT, encodeModel, floatTensor, int64Tensor, node, tensorValueInfo } from '../../scripts/ncnn/onnx.js';

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
