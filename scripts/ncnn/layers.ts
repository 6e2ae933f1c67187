/**
 * ncnn → ONNX layer handlers that more than one converter uses, and the helpers they build on.
 *
 * A converter maps each ncnn layer type to a handler in a `LayerTable`; `walkLayers` (convert.ts)
 * calls them in .param order, so nodes, initializers and .bin reads keep that order.
 */
import type { NcnnBinReader } from './bin.js';
import type { NcnnGraph } from './graph.js';
import { floatTensor, int64Tensor, node, type AttrValue } from './onnx.js';
import { allowOnly, expectArity, paramFloat, paramInt, type ConvGeometry, type NcnnLayer } from './param.js';

/** What a converter knows of a tensor. */
export interface TensorInfo {
  channels: number;
  /** Spatial size relative to the graph inputs (1 = full resolution, 0.125 = 1/8). */
  res: number;
}

/** What a handler works on while the layers are walked. */
export interface LayerContext {
  readonly graph: NcnnGraph<TensorInfo>;
  readonly bin: NcnnBinReader;
  /** The ncnn blobs the Input layers declared. */
  readonly inputs: Set<string>;
}

export type LayerHandler<C extends LayerContext = LayerContext> = (layer: NcnnLayer, ctx: C) => void;

/** ncnn layer type → its handler. */
export type LayerTable<C extends LayerContext = LayerContext> = Readonly<Record<string, LayerHandler<C>>>;

export function addFloatInitializer(graph: NcnnGraph<TensorInfo>, name: string, dims: number[], values: ArrayLike<number>): string {
  graph.initializers.push(floatTensor(name, dims, Float32Array.from(values)));
  return name;
}

export function addInt64Initializer(graph: NcnnGraph<TensorInfo>, name: string, dims: number[], values: number[]): string {
  graph.initializers.push(int64Tensor(name, dims, values));
  return name;
}

/** ncnn Split copies its input to every top: the tops alias the input tensor, no node. */
export function convertSplit(layer: NcnnLayer, { graph }: LayerContext): void {
  if (layer.bottoms.length !== 1 || layer.tops.length < 1) throw new Error(`Split ${layer.name}: bad arity`);
  allowOnly(layer, []);
  const t = graph.use(layer, layer.bottoms[0]);
  for (const top of layer.tops) graph.define(layer, top, t, graph.info(t));
}

export function convertPixelShuffle(layer: NcnnLayer, { graph }: LayerContext): void {
  expectArity(layer, 1, 1);
  allowOnly(layer, [0, 1]);
  const r = paramInt(layer, 0, 1);
  const mode = paramInt(layer, 1, 0);
  if (mode !== 0 && mode !== 1) throw new Error(`PixelShuffle ${layer.name}: unknown mode ${mode}`);
  const x = graph.use(layer, layer.bottoms[0]);
  const { channels, res } = graph.info(x);
  if (channels % (r * r) !== 0) throw new Error(`PixelShuffle ${layer.name}: ${channels} channels not divisible by ${r * r}`);
  const y = layer.tops[0];
  // ncnn mode 0: q = p*r*r + sh*r + sw  (PyTorch pixel_shuffle)  == ONNX DepthToSpace CRD
  // ncnn mode 1: q = (sh*r + sw)*outc + p                          == ONNX DepthToSpace DCR
  graph.nodes.push(node('DepthToSpace', layer.name, [x], [y], { blocksize: r, mode: mode === 0 ? 'CRD' : 'DCR' }));
  graph.define(layer, y, y, { channels: channels / (r * r), res: res * r });
}

/** The one ncnn Interp resize type a converter maps, and the ONNX Resize that reproduces it. */
export interface InterpMode {
  /** ncnn `resize_type` (param 0). */
  readonly resizeType: number;
  readonly label: string;
  /** Refuses scales for which `resize` would not give ncnn's output exactly. */
  readonly checkScales: (layer: NcnnLayer, hs: number, ws: number) => void;
  readonly resize: Record<string, AttrValue>;
}

/** Interp with scale factors (no fixed output size) → Resize with `scales [1, 1, hs, ws]`. */
export function interpHandler(mode: InterpMode): LayerHandler {
  return (layer, { graph }) => {
    expectArity(layer, 1, 1);
    allowOnly(layer, [0, 1, 2, 3, 4, 6]);
    const { hs, ws } = interpScales(layer, mode);
    mode.checkScales(layer, hs, ws);
    const x = graph.use(layer, layer.bottoms[0]);
    const y = layer.tops[0];
    const scales = addFloatInitializer(graph, `${layer.name}.scales`, [4], [1, 1, hs, ws]);
    graph.nodes.push(node('Resize', layer.name, [x, '', scales], [y], mode.resize));
    const { channels, res } = graph.info(x);
    graph.define(layer, y, y, { channels, res: res * hs });
  };
}

function interpScales(layer: NcnnLayer, mode: InterpMode): { hs: number; ws: number } {
  const resizeType = paramInt(layer, 0, 0);
  const hs = paramFloat(layer, 1, 1);
  const ws = paramFloat(layer, 2, 1);
  if (resizeType !== mode.resizeType) {
    throw new Error(`Interp ${layer.name}: only ${mode.label} (0=${mode.resizeType}) is supported, got ${resizeType}`);
  }
  if (paramInt(layer, 3, 0) !== 0 || paramInt(layer, 4, 0) !== 0) {
    throw new Error(`Interp ${layer.name}: fixed output size is not supported`);
  }
  if (paramInt(layer, 6, 0) !== 0) throw new Error(`Interp ${layer.name}: align_corner is not supported`);
  return { hs, ws };
}

/** Convolution → Conv, Deconvolution → ConvTranspose. */
export type ConvOp = 'Conv' | 'ConvTranspose';

/**
 * Adds a Convolution/Deconvolution layer's `op` node, writing `output`, with its weights and bias
 * read from the .bin as ncnn `Convolution::load_model` does (`load(weight_data_size, 0)`, then
 * `load(num_output, 1)`). Returns what the node writes.
 */
export function addConvolution(layer: NcnnLayer, { graph, bin }: LayerContext, op: ConvOp, g: ConvGeometry, output: string): TensorInfo {
  const x = graph.use(layer, layer.bottoms[0]);
  const input = graph.info(x);
  const inC = convInputChannels(layer, g, input.channels);
  const weight = graph.record(layer, 'weight', bin.loadAuto(g.weightSize, `${layer.name} weight`));
  const inputs = [x, addFloatInitializer(graph, `${layer.name}.weight`, ...onnxConvWeight(op, g, inC, weight))];
  if (g.biasTerm) {
    const bias = graph.record(layer, 'bias', bin.loadRaw(g.outC, `${layer.name} bias`));
    inputs.push(addFloatInitializer(graph, `${layer.name}.bias`, [g.outC], bias));
  }
  graph.nodes.push(
    node(op, layer.name, inputs, [output], {
      dilations: [g.dh, g.dw],
      group: 1,
      kernel_shape: [g.kh, g.kw],
      pads: [g.padT, g.padL, g.padB, g.padR],
      strides: [g.sh, g.sw],
    }),
  );
  return { channels: g.outC, res: op === 'ConvTranspose' ? input.res * g.sw : input.res / g.sw };
}

function convInputChannels(layer: NcnnLayer, g: ConvGeometry, channels: number): number {
  const inC = g.weightSize / (g.outC * g.kh * g.kw);
  if (!Number.isInteger(inC) || inC <= 0) {
    throw new Error(`${layer.type} ${layer.name}: weight_data_size ${g.weightSize} not divisible by ${g.outC}x${g.kh}x${g.kw}`);
  }
  if (channels !== inC) throw new Error(`${layer.type} ${layer.name}: input has ${channels} channels, weights imply ${inC}`);
  return inC;
}

/**
 * ncnn stores [outch][inch][kh][kw] for Convolution and Deconvolution alike (Deconvolution:
 * out[i*stride + ky][j*stride + kx] += in[i][j] * w[p][q][ky][kx]); ONNX Conv wants the same,
 * ConvTranspose [inch][outch][kh][kw].
 */
function onnxConvWeight(op: ConvOp, g: ConvGeometry, inC: number, w: Float32Array): [number[], Float32Array] {
  if (op === 'Conv') return [[g.outC, inC, g.kh, g.kw], w];
  const maxk = g.kh * g.kw;
  const t = new Float32Array(w.length);
  for (let o = 0; o < g.outC; o++) {
    for (let i = 0; i < inC; i++) {
      t.set(w.subarray((o * inC + i) * maxk, (o * inC + i + 1) * maxk), (i * g.outC + o) * maxk);
    }
  }
  return [[inC, g.outC, g.kh, g.kw], t];
}
