/**
 * Small, deterministic helpers to build an ONNX model with onnx-proto.
 *
 * Only fields that are explicitly set get encoded (protobufjs skips unset
 * fields), field order is fixed by the schema, and nothing here reads the
 * clock or the environment, so the same inputs always give the same bytes.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export { onnx };

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;
export const PRODUCER_NAME = 'upframe-convert';
export const PRODUCER_VERSION = '1';

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

export type AttrValue = number | string | number[] | { floats: number[] };

const utf8 = new TextEncoder();

/**
 * Builds an attribute. Integers become INT, non-integers FLOAT, strings STRING,
 * number arrays INTS; use `{ floats: [...] }` for FLOATS.
 */
export function attr(name: string, value: AttrValue): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: utf8.encode(value) });
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? onnx.AttributeProto.create({ name, type: T.INT, i: value })
      : onnx.AttributeProto.create({ name, type: T.FLOAT, f: value });
  }
  if (Array.isArray(value)) {
    if (!value.every((v) => Number.isInteger(v))) throw new Error(`attr ${name}: INTS must be integers`);
    return onnx.AttributeProto.create({ name, type: T.INTS, ints: value });
  }
  return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: value.floats });
}

export function node(
  opType: string,
  name: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, AttrValue> = {},
): InstanceType<typeof onnx.NodeProto> {
  // Attribute order is the insertion order of `attributes` (deterministic).
  return onnx.NodeProto.create({
    opType,
    name,
    input: inputs,
    output: outputs,
    attribute: Object.entries(attributes).map(([k, v]) => attr(k, v)),
  });
}

/** float32 initializer stored as little-endian raw_data. */
export function floatTensor(name: string, dims: number[], data: Float32Array): InstanceType<typeof onnx.TensorProto> {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`tensor ${name}: dims ${dims.join('x')} != ${data.length} values`);
  const raw = new Uint8Array(n * 4);
  const dv = new DataView(raw.buffer);
  for (let k = 0; k < n; k++) dv.setFloat32(k * 4, data[k], true);
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: raw });
}

/** int64 initializer stored as little-endian raw_data. */
export function int64Tensor(name: string, dims: number[], data: number[]): InstanceType<typeof onnx.TensorProto> {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`tensor ${name}: dims ${dims.join('x')} != ${data.length} values`);
  const raw = new Uint8Array(n * 8);
  const dv = new DataView(raw.buffer);
  for (let k = 0; k < n; k++) dv.setBigInt64(k * 8, BigInt(data[k]), true);
  return onnx.TensorProto.create({ name, dims, dataType: INT64, rawData: raw });
}

export { tensorValueInfo } from '../../src/hosts/model-io.js';

export interface ModelSpec {
  graphName: string;
  docString: string;
  nodes: InstanceType<typeof onnx.NodeProto>[];
  initializers: InstanceType<typeof onnx.TensorProto>[];
  inputs: InstanceType<typeof onnx.ValueInfoProto>[];
  outputs: InstanceType<typeof onnx.ValueInfoProto>[];
  metadata?: Array<[string, string]>;
}

/** Encodes a complete model (opset 17, IR 8, fixed producer) to bytes. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const graph = onnx.GraphProto.create({
    node: spec.nodes,
    name: spec.graphName,
    initializer: spec.initializers,
    docString: spec.docString,
    input: spec.inputs,
    output: spec.outputs,
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: OPSET_VERSION })],
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    docString: spec.docString,
    graph,
    metadataProps: (spec.metadata ?? []).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
