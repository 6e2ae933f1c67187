/**
 * Pre- and post-processing inside the model: at load time an image model [1,3T,H,W] float (0..1) →
 * [1,3,sH,sW] float is wrapped into one that takes the pipe's bytes, T frames of rgb24 [T,H,W,3]
 * uint8, and gives rgb24 bytes [1,sH,sW,3] uint8, so no frame crosses a JavaScript loop.
 *
 * The conversions are the JavaScript ones, bit for bit. In: x / 255 in float32 (what
 * `Math.fround(x / 255)` gives, for every byte). Out: floor(y · 255 + ½) in float64, clamped to
 * 0..255: `Math.round(y · 255)` on the same double product, halves up. Cheaper forms part from it
 * where models put values on halves (a temporal mean does, often): ONNX `Round` and `QuantizeLinear`
 * round halves to even, and a float32 product rounds once more, taking y · 255 just under k + ½ onto
 * it. The float64 passes cost about 2–4× a trivial model's own time (a nearest ×4) and nothing
 * measurable next to a real one.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Model = InstanceType<typeof onnx.ModelProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

const DT = onnx.TensorProto.DataType;
const PREFIX = 'upframe_io_';
/** Clip with its bounds as inputs (and of doubles) is opset 11's: older models keep the float path. */
const MIN_OPSET = 11;

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
const int = (name: string, value: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });

/**
 * The model wrapped for bytes in and out, or undefined when it is not a one-image float model this
 * can wrap (several inputs, another element type, an old opset): those keep the float path.
 */
export function wrapImageModel(bytes: Uint8Array): WrappedModel | undefined {
  let model: Model;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return undefined;
  }
  const graph = model.graph;
  if (!graph) return undefined;
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!opset || toNumber(opset.version as never) < MIN_OPSET) return undefined;
  const initializer = graph.initializer ?? [];
  const initialized = new Set(initializer.map((t) => t.name));
  const graphInputs = graph.input ?? [];
  const inputs = graphInputs.filter((i) => !initialized.has(i.name));
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
    node('Cast', [n('nchw')], [n('float')], [int('to', DT.FLOAT)]),
    node('Div', [n('float'), n('255f')], [inputName]),
  ];
  const tail = [
    // floor(y · 255 + ½) in float64, as Math.round(y · 255) was: clamped below 256, a cast truncates.
    node('Cast', [outputName], [n('double')], [int('to', DT.DOUBLE)]),
    node('Mul', [n('double'), n('255d')], [n('scaled')]),
    node('Add', [n('scaled'), n('half')], [n('halved')]),
    node('Clip', [n('halved'), n('zero'), n('top')], [n('clamped')]),
    node('Cast', [n('clamped')], [n('bytes')], [int('to', DT.UINT8)]),
    node('Transpose', [n('bytes')], [WRAPPED_OUTPUT], [ints('perm', [0, 2, 3, 1])]),
  ];
  const initializers = [
    // Reshape's 0 copies the dimension: [1, 3T, H, W] whatever the tile.
    scalar('nchw_shape', DT.INT64, [4], BigInt64Array.of(1n, -1n, 0n, 0n)),
    scalar('255f', DT.FLOAT, [], Float32Array.of(255)),
    scalar('255d', DT.DOUBLE, [], Float64Array.of(255)),
    scalar('half', DT.DOUBLE, [], Float64Array.of(0.5)),
    scalar('zero', DT.DOUBLE, [], Float64Array.of(0)),
    // The largest double below 256: 255.5 and up truncate to 255.
    scalar('top', DT.DOUBLE, [], Float64Array.of(256 - 2 ** -44)),
  ];
  graph.node = [...head, ...(graph.node ?? []), ...tail];
  graph.initializer = [...initializer, ...initializers];
  graph.input = [tensorValueInfo(WRAPPED_INPUT, DT.UINT8, [frames, 'height', 'width', 3]), ...graphInputs.filter((i) => initialized.has(i.name))];
  graph.output = [tensorValueInfo(WRAPPED_OUTPUT, DT.UINT8, [1, 'out_height', 'out_width', 3])];
  // The model's own input and output are now inner values: their declared shapes stay valid.
  graph.valueInfo = [...(graph.valueInfo ?? []), input, output];
  return { bytes: onnx.ModelProto.encode(model).finish(), frames };
}
