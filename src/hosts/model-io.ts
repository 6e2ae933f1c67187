/**
 * Pre- and post-processing inside the model: at load time an image model [1,3T,H,W] float (0..1) →
 * [1,3,sH,sW] float is wrapped into one that takes the pipe's bytes, T frames of rgb24 [T,H,W,3]
 * uint8, and gives rgb24 bytes [1,sH,sW,3] uint8, so no frame crosses a JavaScript loop.
 *
 * The conversions are ONNX's own, `DequantizeLinear` in and `QuantizeLinear` out (scale 1/255, zero
 * point 0), one pass each over the frame, layouts moved as bytes; pixel.ts is the same arithmetic
 * for the float path. They replaced a float64 round-half-up tail that cost 2–3× a trivial model's
 * own time at 1080p (npm run bench, transport).
 */
import onnxProto from 'onnx-proto';
import { BYTE_SCALE } from './pixel.js';

const { onnx } = onnxProto;
type Model = InstanceType<typeof onnx.ModelProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

const DT = onnx.TensorProto.DataType;
const PREFIX = 'upframe_io_';
/** QuantizeLinear and DequantizeLinear are opset 10's: older models keep the float path. */
const MIN_OPSET = 10;

export const WRAPPED_INPUT = `${PREFIX}rgb_in`;
export const WRAPPED_OUTPUT = `${PREFIX}rgb_out`;

export interface WrappedModel {
  readonly bytes: Uint8Array;
  /** Frames the model takes at once (its input channels / 3). */
  readonly frames: number;
}

function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  return typeof value === 'object' && value !== null ? value.toNumber() : Number(value ?? 0);
}

function scalar(name: string, dataType: number, dims: number[], raw: ArrayBufferView): Tensor {
  return onnx.TensorProto.create({ name: PREFIX + name, dims, dataType, rawData: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) });
}

/** Tensor value info; a string dim is symbolic (dim_param), a number is fixed (dim_value). */
export function tensorValueInfo(name: string, elemType: number, shape: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType,
        shape: onnx.TensorShapeProto.create({
          dim: shape.map((d) => (typeof d === 'number' ? onnx.TensorShapeProto.Dimension.create({ dimValue: d }) : onnx.TensorShapeProto.Dimension.create({ dimParam: d }))),
        }),
      }),
    }),
  });
}

function node(opType: string, inputs: string[], outputs: string[], attributes: InstanceType<typeof onnx.AttributeProto>[] = []) {
  return onnx.NodeProto.create({ opType, name: `${PREFIX}${outputs[0]}`, input: inputs, output: outputs, attribute: attributes });
}

const ints = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });

/** Float [1,3,H,W] in 0..1 → rgb24 bytes [1,H,W,3]: QuantizeLinear (clamps, rounds half to even), then the layout moved as bytes. */
function toBytes(from: string) {
  const n = (name: string) => PREFIX + name;
  return [
    node('QuantizeLinear', [from, n('scale'), n('zero_point')], [n('bytes')]),
    node('Transpose', [n('bytes')], [WRAPPED_OUTPUT], [ints('perm', [0, 2, 3, 1])]),
  ];
}

/** Bytes [1,3,H,W] → float in 0..1: DequantizeLinear, byte · scale. */
function toUnits(from: string, to: string) {
  return node('DequantizeLinear', [from, PREFIX + 'scale', PREFIX + 'zero_point'], [to]);
}

/** The constants {@link toBytes} and {@link toUnits} read: pixel.ts's scale, zero point 0. */
function byteConstants(): Tensor[] {
  return [scalar('scale', DT.FLOAT, [], Float32Array.of(BYTE_SCALE)), scalar('zero_point', DT.UINT8, [], Uint8Array.of(0))];
}

/** A model's graph and its inputs that are not initializers; undefined when it does not parse or its opset is too old to wrap. */
function openGraph(bytes: Uint8Array) {
  let model: Model;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return undefined;
  }
  const graph = model.graph;
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!graph || !opset || toNumber(opset.version as never) < MIN_OPSET) return undefined;
  const initializer = graph.initializer ?? [];
  const initialized = new Set(initializer.map((t) => t.name));
  const graphInputs = graph.input ?? [];
  return { model, graph, initializer, initialized, graphInputs, inputs: graphInputs.filter((i) => !initialized.has(i.name)) };
}

/**
 * The model wrapped for bytes in and out, or undefined when it is not a one-image float model this
 * can wrap (several inputs, another element type, an old opset): those keep the float path.
 */
export function wrapImageModel(bytes: Uint8Array): WrappedModel | undefined {
  const opened = openGraph(bytes);
  if (!opened) return undefined;
  const { model, graph, initializer, initialized, graphInputs, inputs } = opened;
  const output = graph.output?.[0];
  if (inputs.length !== 1 || !output?.name || !inputs[0].name) return undefined;
  const [input] = inputs;
  const inputName = inputs[0].name;
  const outputName = output.name;
  const inputType = input.type?.tensorType;
  const outputType = output.type?.tensorType;
  if (inputType?.elemType !== DT.FLOAT || outputType?.elemType !== DT.FLOAT) return undefined;
  const dims = inputType.shape?.dim ?? [];
  if (dims.length !== 4) return undefined;
  const channels = dims[1].dimValue ? toNumber(dims[1].dimValue as never) : 3;
  const frames = channels > 3 && channels % 3 === 0 ? channels / 3 : 1;

  const n = (name: string) => PREFIX + name;
  const head = [
    // [T,H,W,3] → [T,3,H,W] → [1,3T,H,W], moved as bytes; then to float 0..1.
    node('Transpose', [WRAPPED_INPUT], [n('planar')], [ints('perm', [0, 3, 1, 2])]),
    node('Reshape', [n('planar'), n('nchw_shape')], [n('nchw')]),
    toUnits(n('nchw'), inputName),
  ];
  const tail = toBytes(outputName);
  const initializers = [
    // Reshape's 0 copies the dimension: [1, 3T, H, W] whatever the tile.
    scalar('nchw_shape', DT.INT64, [4], BigInt64Array.of(1n, -1n, 0n, 0n)),
    ...byteConstants(),
  ];
  graph.node = [...head, ...(graph.node ?? []), ...tail];
  graph.initializer = [...initializer, ...initializers];
  graph.input = [tensorValueInfo(WRAPPED_INPUT, DT.UINT8, [frames, 'height', 'width', 3]), ...graphInputs.filter((i) => initialized.has(i.name))];
  graph.output = [tensorValueInfo(WRAPPED_OUTPUT, DT.UINT8, [1, 'out_height', 'out_width', 3])];
  // The model's own input and output are now inner values: their declared shapes stay valid.
  graph.valueInfo = [...(graph.valueInfo ?? []), input, output];
  return { bytes: onnx.ModelProto.encode(model).finish(), frames };
}

export const PAIR_INPUTS = { a: `${PREFIX}a`, b: `${PREFIX}b`, pads: `${PREFIX}pads`, size: `${PREFIX}size` } as const;

/** A two-frame model's inputs: its two images and its time plane, by name. */
export interface PairModel {
  readonly bytes: Uint8Array;
  readonly timestep: string;
}

/**
 * A two-frame model (img0, img1, a time plane [1,1,H,W], all float, H and W multiples of its stride;
 * one float image out) wrapped like an image model: the two frames go in as rgb24 bytes
 * [1,h,w,3], are converted and zero-padded right and bottom by `pads` ([8], Pad's layout) inside
 * the graph, and the output comes back cropped to `size` ([h, w]) as rgb24 bytes; the time plane
 * stays the model's own input. Undefined when the model is not of that shape.
 */
export function wrapPairModel(bytes: Uint8Array): PairModel | undefined {
  const opened = openGraph(bytes);
  if (!opened) return undefined;
  const { model, graph, initializer, initialized, graphInputs, inputs } = opened;
  const output = graph.output?.[0];
  const isFloat4d = (v: (typeof graphInputs)[number] | undefined) => v?.type?.tensorType?.elemType === DT.FLOAT && v.type.tensorType.shape?.dim?.length === 4;
  if (inputs.length !== 3 || !inputs.every(isFloat4d) || !isFloat4d(output) || !output?.name) return undefined;
  const named = (name: string, n: number) => inputs.find((i) => i.name === name) ?? inputs[n];
  const [img0, img1, timestep] = [named('img0', 0), named('img1', 1), named('timestep', 2)];
  if (new Set([img0, img1, timestep]).size !== 3) return undefined;

  const n = (name: string) => PREFIX + name;
  const head = (from: string, tag: string, to: string) => [
    node('Transpose', [from], [n(`${tag}_planar`)], [ints('perm', [0, 3, 1, 2])]),
    toUnits(n(`${tag}_planar`), n(`${tag}_unpadded`)),
    node('Pad', [n(`${tag}_unpadded`), PAIR_INPUTS.pads, n('0f')], [to]),
  ];
  const tail = [
    node('Slice', [output.name, n('crop_starts'), PAIR_INPUTS.size, n('crop_axes')], [n('cropped')]),
    ...toBytes(n('cropped')),
  ];
  graph.node = [...head(PAIR_INPUTS.a, 'a', img0.name!), ...head(PAIR_INPUTS.b, 'b', img1.name!), ...(graph.node ?? []), ...tail];
  graph.initializer = [
    ...initializer,
    scalar('0f', DT.FLOAT, [], Float32Array.of(0)),
    scalar('crop_starts', DT.INT64, [2], BigInt64Array.of(0n, 0n)),
    scalar('crop_axes', DT.INT64, [2], BigInt64Array.of(2n, 3n)),
    ...byteConstants(),
  ];
  // Names of their own: the model's padded planes name theirs `height` and `width` too, and onnxruntime holds equal names to equal sizes.
  const image = (name: string) => tensorValueInfo(name, DT.UINT8, [1, 'frame_height', 'frame_width', 3]);
  graph.input = [
    image(PAIR_INPUTS.a), image(PAIR_INPUTS.b), tensorValueInfo(PAIR_INPUTS.pads, DT.INT64, [8]), tensorValueInfo(PAIR_INPUTS.size, DT.INT64, [2]), timestep,
    ...graphInputs.filter((i) => initialized.has(i.name)),
  ];
  graph.output = [tensorValueInfo(WRAPPED_OUTPUT, DT.UINT8, [1, 'frame_height', 'frame_width', 3])];
  graph.valueInfo = [...(graph.valueInfo ?? []), img0, img1, output];
  return { bytes: onnx.ModelProto.encode(model).finish(), timestep: timestep.name! };
}
