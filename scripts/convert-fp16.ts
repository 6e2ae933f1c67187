/**
 * Makes an fp16 copy of an image model for GPU providers: every float32 weight stored as float16,
 * the graph computing in float16, and Casts at the boundaries so that its inputs and outputs stay
 * float32 (the hosts wrap every model with uint8 pre/post-processing around a float32 input and
 * output, src/hosts/model-io.ts).
 *
 *   node --import tsx scripts/convert-fp16.ts [--in models/realesr-general-x4v3.onnx] [--out models/realesr-general-x4v3-fp16.onnx]
 *   node --import tsx scripts/convert-fp16.ts --verify [--provider cpu|webgpu|cuda]   PSNR against fp32 (≥ 40 dB or exit 1)
 *
 * Deterministic: the same model always gives the same bytes. Only graphs of the operators below are
 * converted (those of the bundled upscaler); another operator is refused by name, rather than
 * guessed at. Resize's roi and scales stay float32, as the operator requires.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { resolveFfmpeg } from '../src/services/ffmpeg/resolve.js';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnx } from './ncnn/onnx.js';
import { runIfMain, writeModel } from './ncnn/script.js';

type Model = InstanceType<typeof onnx.ModelProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_IN = resolve(REPO_ROOT, 'models/realesr-general-x4v3.onnx');
export const DEFAULT_OUT = resolve(REPO_ROOT, 'models/realesr-general-x4v3-fp16.onnx');

const DT = onnx.TensorProto.DataType;
/** Elementwise and convolution operators whose float16 kernels onnxruntime's GPU providers have. */
const CONVERTIBLE = new Set(['Conv', 'ConvTranspose', 'PRelu', 'Relu', 'LeakyRelu', 'Sigmoid', 'Add', 'Sub', 'Mul', 'Div', 'DepthToSpace', 'SpaceToDepth', 'Resize', 'Concat', 'Clip', 'Transpose', 'Reshape']);
/** Inputs that keep their type whatever the data's: Resize's roi and scales, Reshape's shape. */
const KEEP_TYPE: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2], Reshape: [1] };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE float32 → float16 bits, rounding to nearest even (what numpy's astype(float16) does). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

function floatData(tensor: Tensor): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function toHalfTensor(tensor: Tensor): Tensor {
  const values = floatData(tensor);
  const halves = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) halves[i] = toHalf(values[i]);
  return onnx.TensorProto.create({ name: tensor.name, dims: tensor.dims, dataType: DT.FLOAT16, rawData: new Uint8Array(halves.buffer) });
}

function castNode(name: string, input: string, output: string, to: number) {
  return onnx.NodeProto.create({ name, opType: 'Cast', input: [input], output: [output], attribute: [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to })] });
}

/** The fp16 copy of a float32 model (bytes in, bytes out). */
export function convertToFp16(bytes: Uint8Array): Uint8Array {
  const model: Model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const refused = [...new Set(graph.node!.map((n) => n.opType!).filter((op) => !CONVERTIBLE.has(op)))];
  if (refused.length > 0) throw new Error(`not converted: operators without an fp16 rule here: ${refused.join(', ')}`);
  const keep = new Set(graph.node!.flatMap((n) => (KEEP_TYPE[n.opType!] ?? []).map((i) => n.input![i]).filter(Boolean)));
  graph.initializer = (graph.initializer as Tensor[]).map((t) => (t.dataType === DT.FLOAT && !keep.has(t.name!) ? toHalfTensor(t) : t));
  const floatInputs = graph.input!.filter((v) => v.type?.tensorType?.elemType === DT.FLOAT).map((v) => v.name!);
  const floatOutputs = graph.output!.filter((v) => v.type?.tensorType?.elemType === DT.FLOAT).map((v) => v.name!);
  const rename = (name: string, suffix: string) => `${name}_${suffix}`;
  for (const node of graph.node!) {
    node.input = node.input!.map((name, i) => (floatInputs.includes(name) && !(KEEP_TYPE[node.opType!] ?? []).includes(i) ? rename(name, 'fp16') : name));
    node.output = node.output!.map((name) => (floatOutputs.includes(name) ? rename(name, 'fp16') : name));
  }
  graph.node = [
    ...floatInputs.map((name) => castNode(`cast_${name}_to_fp16`, name, rename(name, 'fp16'), DT.FLOAT16)),
    ...graph.node!,
    ...floatOutputs.map((name) => castNode(`cast_${name}_to_fp32`, rename(name, 'fp16'), name, DT.FLOAT)),
  ];
  // Shapes inferred for float32 would now be wrong: onnxruntime infers them again.
  graph.valueInfo = [];
  model.docString = `${model.docString ?? ''} fp16 copy by upframe scripts/convert-fp16.ts (float32 inputs and outputs, float16 inside).`.trim();
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The fp32 model computing as a float16 GPU kernel stores: weights rounded to float16 and every
 * activation rounded to 11 significant bits (Veltkamp's split: t = x·(2¹³+1), x ≈ t − (t − x)), in
 * float32 Muls and Subs that onnxruntime's CPU provider keeps (it runs an fp16 graph in float32 and
 * drops the Casts, so the fp16 copy itself gives the fp32 numbers there). Range limits of float16
 * (overflow above 65504, subnormals) are not modelled: image activations stay far inside them.
 */
export function emulateFp16(bytes: Uint8Array): Uint8Array {
  const model: Model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  graph.initializer = (graph.initializer as Tensor[]).map((t) => {
    if (t.dataType !== DT.FLOAT) return t;
    const values = floatData(t).map((v) => Math.fround(halfToFloat(toHalf(v))));
    return onnx.TensorProto.create({ name: t.name, dims: t.dims, dataType: DT.FLOAT, rawData: new Uint8Array(values.buffer) });
  });
  const splitter = onnx.TensorProto.create({ name: 'fp16_split', dims: [], dataType: DT.FLOAT, rawData: new Uint8Array(new Float32Array([8193]).buffer) });
  graph.initializer.push(splitter);
  const outputs = new Set(graph.output!.map((o) => o.name!));
  const activations = new Set([...graph.input!.map((v) => v.name!), ...graph.node!.flatMap((n) => n.output!)]);
  const rounded = (name: string) => (outputs.has(name) ? name : `${name}_r16`);
  const raw = (name: string) => (outputs.has(name) ? `${name}_raw` : name);
  const round = (name: string) => [
    onnx.NodeProto.create({ name: `${name}_t`, opType: 'Mul', input: [raw(name), 'fp16_split'], output: [`${name}_t`] }),
    onnx.NodeProto.create({ name: `${name}_d`, opType: 'Sub', input: [`${name}_t`, raw(name)], output: [`${name}_d`] }),
    onnx.NodeProto.create({ name: `${name}_h`, opType: 'Sub', input: [`${name}_t`, `${name}_d`], output: [rounded(name)] }),
  ];
  const nodes = graph.input!.flatMap((v) => round(v.name!));
  for (const node of graph.node as InstanceType<typeof onnx.NodeProto>[]) {
    const keep = KEEP_TYPE[node.opType!] ?? [];
    node.input = node.input!.map((name, i) => (keep.includes(i) || !activations.has(name) ? name : rounded(name)));
    const produced = node.output!;
    node.output = produced.map(raw);
    nodes.push(node, ...produced.flatMap(round));
  }
  graph.node = nodes;
  graph.valueInfo = [];
  return onnx.ModelProto.encode(model).finish();
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function argValue(args: string[], flag: string, fallback: string): string {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? resolve(args[i + 1]) : fallback;
}

/** The test frames: ffmpeg's testsrc2, smptehdbars and mandelbrot, rgb24 of `width`×`height`, as 0..1 planes. */
export function testFrames(width = 96, height = 64): Float32Array[] {
  const { ffmpeg } = resolveFfmpeg();
  return ['testsrc2', 'smptehdbars', 'mandelbrot'].map((source) => {
    const rgb = execFileSync(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', `${source}=size=${width}x${height}:rate=1`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    const planes = new Float32Array(3 * width * height);
    for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) planes[c * width * height + i] = rgb[i * 3 + c] / 255;
    return planes;
  });
}

/** PSNR in dB of two outputs as 8-bit pictures (clamped to 0..1, as the hosts write them). */
export function psnr(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.round(Math.min(1, Math.max(0, a[i])) * 255) - Math.round(Math.min(1, Math.max(0, b[i])) * 255);
    sum += d * d;
  }
  return sum === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (sum / a.length));
}

async function outputsOf(model: Uint8Array | string, frames: readonly Float32Array[], width: number, height: number, provider: string): Promise<Float32Array[]> {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: [provider], graphOptimizationLevel: 'disabled' };
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  try {
    const results: Float32Array[] = [];
    for (const frame of frames) {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', frame, [1, 3, height, width]) });
      results.push(out[session.outputNames[0]].data as Float32Array);
    }
    return results;
  } finally {
    await session.release();
  }
}

/**
 * PSNR of the fp16 model against the fp32 one on the test frames, per frame: on the CPU through the
 * float16 emulation above; on a GPU provider (`webgpu`, `cuda`), the fp16 copy itself against the
 * fp32 model on the same provider.
 */
export async function fp16Psnr(fp32Path: string, fp16Path: string, provider = 'cpu', width = 96, height = 64): Promise<number[]> {
  const frames = testFrames(width, height);
  const reference = await outputsOf(fp32Path, frames, width, height, provider);
  const candidate = provider === 'cpu' ? await outputsOf(emulateFp16(readFileSync(fp32Path)), frames, width, height, 'cpu') : await outputsOf(fp16Path, frames, width, height, provider);
  return reference.map((r, i) => psnr(r, candidate[i]));
}

runIfMain(import.meta.url, () => {
  const args = process.argv.slice(2);
  const input = argValue(args, '--in', DEFAULT_IN);
  const out = argValue(args, '--out', DEFAULT_OUT);
  if (!args.includes('--verify')) return writeModel(out, convertToFp16(readFileSync(input)));
  const provider = args[args.indexOf('--provider') + 1] && args.includes('--provider') ? args[args.indexOf('--provider') + 1] : 'cpu';
  void fp16Psnr(input, out, provider).then((values) => {
    console.log(`fp16 vs fp32 on ${provider}${provider === 'cpu' ? ' (float16 emulated)' : ''}: ${values.map((v) => `${v.toFixed(1)} dB`).join(', ')}`);
    if (Math.min(...values) < 40) process.exit(1);
  });
});
