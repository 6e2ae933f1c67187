import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { WRAPPED_INPUT, WRAPPED_OUTPUT, wrapImageModel, wrapPairModel } from '../../src/hosts/model-io.js';
import { createInterpolator } from '../../src/hosts/interpolator.js';
import { blendModel } from '../helpers/models.js';
import { extractTile, pasteTile, pasteTileBytes, planTiles, tileBytes } from '../../src/hosts/tiles.js';
import { createUpscaler } from '../../src/hosts/upscaler.js';
import { toByte, toUnit } from '../../src/hosts/pixel.js';
import { FLOAT, encodeModel, floatTensor, node, tensorValueInfo } from '../../scripts/ncnn/onnx.js';
import { scratchDir } from '../helpers/app.js';

/**
 * A ×2 model of T frames in whose outputs are not multiples of 1/255 and leave 0..1: a 1×1
 * convolution mixing the 3T channels, then nearest ×2. Its results round and clamp for real.
 */
function mixModel(frames: number): Uint8Array {
  const c = 3 * frames;
  const weights = Float32Array.from({ length: 3 * c }, (_, k) => (((k * 37) % 17) - 5) / 7.3);
  return encodeModel({
    graphName: 'mix', docString: 'test',
    nodes: [
      node('Conv', 'mix', ['input', 'w', 'b'], ['mixed']),
      node('Resize', 'resize', ['mixed', '', 'scales'], ['output'], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
    ],
    initializers: [floatTensor('w', [3, c, 1, 1], weights), floatTensor('b', [3], Float32Array.of(0.1, -0.2, 0.05)), floatTensor('scales', [4], Float32Array.of(1, 1, 2, 2))],
    inputs: [tensorValueInfo('input', FLOAT, [1, c, 'h', 'w'])],
    outputs: [tensorValueInfo('output', FLOAT, [1, 3, 'h2', 'w2'])],
  });
}

/** Every byte value, then a ramp: the input conversion is checked for all 256 values. */
function frame(width: number, height: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: width * height * 3 }, (_, k) => (k < 256 ? k : (k * 31 + seed * 7) % 256));
}

describe('models wrapped for bytes in and out (model-io.ts)', () => {
  for (const frames of [1, 3]) {
    it(`T = ${frames}: the wrapped model on rgb24 bytes gives what the float model and the JavaScript conversions gave`, async () => {
      const [width, height] = [24, 20];
      const bytes = mixModel(frames);
      const wrapped = wrapImageModel(bytes)!;
      expect(wrapped.frames).toBe(frames);
      const inputs = Array.from({ length: frames }, (_, t) => frame(width, height, t));
      const float = await ort.InferenceSession.create(bytes);
      const byteSession = await ort.InferenceSession.create(wrapped.bytes);
      try {
        const tile = planTiles(width, height, 0, 0)[0];
        const planes = inputs.map((f) => extractTile(f, width, tile));
        const joined = new Float32Array(planes.length * planes[0].length);
        planes.forEach((p, t) => joined.set(p, t * p.length));
        const result = (await float.run({ input: new ort.Tensor('float32', joined, [1, 3 * frames, height, width]) })).output;
        const expected = new Uint8Array(width * 2 * height * 2 * 3);
        pasteTile(expected, width * 2, result.data as Float32Array, tile, 2);
        // The test means something only if outputs round and clamp.
        const values = result.data as Float32Array;
        expect(values.some((v) => v < 0) && values.some((v) => v > 1)).toBe(true);

        const input = tileBytes(inputs, width, height, tile);
        const got = (await byteSession.run({ [WRAPPED_INPUT]: new ort.Tensor('uint8', input, [frames, height, width, 3]) }))[WRAPPED_OUTPUT];
        expect(got.type).toBe('uint8');
        expect(got.dims).toEqual([1, height * 2, width * 2, 3]);
        // Bit for bit, for every byte value in (the frame holds all 256).
        expect(Buffer.from(got.data as Uint8Array).equals(Buffer.from(expected))).toBe(true);
      } finally {
        await float.release();
        await byteSession.release();
      }
    });
  }

  it('rounding is QuantizeLinear\'s, halves to even, and pixel.ts toByte gives the same bytes: on and around every k + ½ level', async () => {
    // Float32 results on and around the k + ½ levels, where rounding rules part, and out of range.
    const bits = new Float32Array(1);
    const word = new Int32Array(bits.buffer);
    const ys: number[] = [0.5, 1.5 / 255, 2.5 / 255, 100.5 / 255, 253.5 / 255, -0.01, 1.02, 0, 1, NaN].map(Math.fround);
    for (let k = 0; k < 255; k += 1) {
      bits[0] = (k + 0.5) / 255;
      word[0] -= 4;
      for (let n = 0; n < 8; n++, word[0] += 1) ys.push(bits[0]);
    }
    const halfUp = ys.map((y) => Math.min(255, Math.max(0, Math.round(y * 255))));
    const js = ys.map(toByte);
    // The cases that matter are there: rounding halves up (Math.round) parts from the rule on some of them.
    expect(js.filter((v, i) => v !== halfUp[i] && !Number.isNaN(ys[i])).length).toBeGreaterThan(10);
    const n = ys.length;
    const bytes = encodeModel({
      graphName: 'const', docString: 'test',
      nodes: [node('Mul', 'zero', ['input', 'z'], ['zeroed']), node('Add', 'add', ['zeroed', 'y'], ['output'])],
      initializers: [floatTensor('z', [1], Float32Array.of(0)), floatTensor('y', [1, 3, 1, n], Float32Array.from([...ys, ...ys, ...ys]))],
      inputs: [tensorValueInfo('input', FLOAT, [1, 3, 1, n])],
      outputs: [tensorValueInfo('output', FLOAT, [1, 3, 1, n])],
    });
    const wrapped = await ort.InferenceSession.create(wrapImageModel(bytes)!.bytes);
    const out = (await wrapped.run({ [WRAPPED_INPUT]: new ort.Tensor('uint8', new Uint8Array(3 * n), [1, 1, n, 3]) }))[WRAPPED_OUTPUT].data as Uint8Array;
    await wrapped.release();
    expect(Array.from({ length: n }, (_, i) => out[3 * i])).toEqual(js);
  });

  it('every byte survives the way in and back out (toUnit then toByte), in the graph and in pixel.ts', async () => {
    const all = Uint8Array.from({ length: 256 }, (_, k) => k);
    expect(Array.from(all, (b) => toByte(toUnit(b)))).toEqual(Array.from(all));
    const identity = encodeModel({
      graphName: 'identity', docString: 'test',
      nodes: [node('Identity', 'same', ['input'], ['output'])],
      inputs: [tensorValueInfo('input', FLOAT, [1, 3, 'h', 'w'])],
      initializers: [],
      outputs: [tensorValueInfo('output', FLOAT, [1, 3, 'h', 'w'])],
    });
    const session = await ort.InferenceSession.create(wrapImageModel(identity)!.bytes);
    const input = Uint8Array.from({ length: 3 * 256 }, (_, k) => (k * 85) % 256);
    const out = (await session.run({ [WRAPPED_INPUT]: new ort.Tensor('uint8', input, [1, 16, 16, 3]) }))[WRAPPED_OUTPUT].data as Uint8Array;
    await session.release();
    expect(Buffer.from(out).equals(Buffer.from(input))).toBe(true);
  });

  it('tiles copy rows: pasted tiles rebuild the frame exactly', () => {
    const [width, height] = [37, 23];
    const source = frame(width, height, 5);
    const output = new Uint8Array(source.length);
    for (const tile of planTiles(width, height, 10, 3)) pasteTileBytes(output, width, tileBytes([source], width, height, tile), tile, 1);
    expect(Buffer.from(output).equals(Buffer.from(source))).toBe(true);
  });

  it('the upscaler on the byte path gives the float path\'s frames, tiled and whole', async () => {
    const dir = scratchDir();
    const path = join(dir, 'mix.onnx');
    writeFileSync(path, mixModel(1));
    const [width, height] = [40, 30];
    const input = frame(width, height, 2);
    for (const tileSize of [0, 16]) {
      const bytePath = await createUpscaler({ modelPath: path, device: 'cpu', tileSize, overlap: 4, threads: 1 });
      const got = await bytePath.upscale(input, width, height);
      await bytePath.release();
      const float = await ort.InferenceSession.create(path);
      const expected = new Uint8Array(got.length);
      for (const tile of planTiles(width, height, tileSize, 4)) {
        const result = (await float.run({ input: new ort.Tensor('float32', extractTile(input, width, tile), [1, 3, tile.padHeight, tile.padWidth]) })).output;
        pasteTile(expected, width * 2, result.data as Float32Array, tile, 2);
      }
      await float.release();
      expect(bytePath.scale).toBe(2);
      expect(Buffer.from(got).equals(Buffer.from(expected))).toBe(true);
    }
  });

  it('an interpolation model too old to wrap (opset 9) takes the float path, and both paths give the same bytes', async () => {
    const dir = scratchDir();
    const wrappable = blendModel(dir);
    const old = onnxProto.onnx.ModelProto.decode(readFileSync(wrappable));
    old.opsetImport = [onnxProto.onnx.OperatorSetIdProto.create({ domain: '', version: 9 })];
    const oldPath = join(dir, 'blend-opset9.onnx');
    writeFileSync(oldPath, onnxProto.onnx.ModelProto.encode(old).finish());
    expect(wrapPairModel(readFileSync(oldPath))).toBeUndefined();
    expect(wrapPairModel(readFileSync(wrappable))).toBeDefined();
    const [width, height] = [45, 27];
    const [a, b] = [frame(width, height, 3), frame(width, height, 9)];
    const outputs: Uint8Array[] = [];
    for (const modelPath of [wrappable, oldPath]) {
      const interpolator = await createInterpolator({ modelPath, device: 'cpu', threads: 1 });
      outputs.push(Buffer.from(await interpolator.interpolate(a, b, 0.3, width, height)));
      await interpolator.release();
    }
    expect(outputs[0].length).toBe(width * height * 3);
    expect(Buffer.from(outputs[0]).equals(Buffer.from(outputs[1]))).toBe(true);
  });
});
