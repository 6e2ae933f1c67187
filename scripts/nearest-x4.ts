/**
 * The bench's trivial model: nearest-neighbour ×4 as one ONNX `Resize`, float [1,3,H,W] in 0..1 like
 * a real upscaler (the pipeline wraps it for bytes in and out, src/hosts/model-io.ts), so that what
 * the bench times around it is the transport. `node --import tsx scripts/nearest-x4.ts out.onnx`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLOAT, encodeModel, floatTensor, node, tensorValueInfo } from './ncnn/onnx.js';

export function nearestX4Model(): Uint8Array {
  return encodeModel({
    graphName: 'nearest_x4',
    docString: 'nearest-neighbour x4 (upframe bench)',
    nodes: [node('Resize', 'resize', ['input', '', 'scales'], ['output'], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' })],
    initializers: [floatTensor('scales', [4], Float32Array.of(1, 1, 4, 4))],
    inputs: [tensorValueInfo('input', FLOAT, [1, 3, 'height', 'width'])],
    outputs: [tensorValueInfo('output', FLOAT, [1, 3, 'height_x4', 'width_x4'])],
  });
}

export function writeNearestX4(path: string): string {
  writeFileSync(path, nearestX4Model());
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node --import tsx scripts/nearest-x4.ts out.onnx\n');
    process.exit(2);
  }
  writeNearestX4(out);
}
