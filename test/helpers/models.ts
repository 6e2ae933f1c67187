import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLOAT, encodeModel, floatTensor, node, tensorValueInfo } from '../../scripts/ncnn/onnx.js';

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
