/**
 * The steps every ncnn → ONNX conversion takes: walk the .param layers through a table of handlers
 * (consuming the whole .bin), give the graph output its public name, encode the model; and the
 * checks and summaries the converters' CLIs print.
 */
import { NcnnBinReader } from './bin.js';
import { NcnnGraph, type BinEntry } from './graph.js';
import type { LayerContext, LayerHandler, LayerTable, TensorInfo } from './layers.js';
import { encodeModel, type ModelSpec } from './onnx.js';
import type { NcnnLayer, NcnnParam } from './param.js';

export interface ConversionResult {
  model: Uint8Array;
  binEntries: BinEntry[];
  binBytes: number;
  layerTypes: Record<string, number>;
}

/** A model's fixed parts: everything but what the layers add. */
export type GraphSpec = Omit<ModelSpec, 'nodes' | 'initializers'>;

/** The graph's single output: the one blob nothing consumed. */
export interface GraphOutput {
  /** Its public ONNX name. */
  readonly name: string;
  /** The ncnn blob it must be; any blob when absent. */
  readonly blob?: string;
  readonly check: (info: TensorInfo) => void;
}

export function newLayerContext(binBytes: Uint8Array): LayerContext {
  return { graph: new NcnnGraph<TensorInfo>(), bin: new NcnnBinReader(binBytes), inputs: new Set() };
}

/** Hands every layer, in order, to its handler; then the whole .bin must have been read. */
export function walkLayers<C extends LayerContext>(param: NcnnParam, table: LayerTable<C>, ctx: C): void {
  for (const layer of param.layers) {
    ctx.graph.countLayer(layer);
    handlerOf(table, layer)(layer, ctx);
  }
  ctx.bin.assertFullyConsumed();
}

function handlerOf<C extends LayerContext>(table: LayerTable<C>, layer: NcnnLayer): LayerHandler<C> {
  const handler = Object.hasOwn(table, layer.type) ? table[layer.type] : undefined;
  if (!handler) throw new Error(`unsupported ncnn layer type ${layer.type} (${layer.name}, line ${layer.line})`);
  return handler;
}

/** Checks the graph's single output and renames its tensor to the public name. */
export function publishOutput(graph: NcnnGraph<TensorInfo>, output: GraphOutput): void {
  const unconsumed = graph.unconsumed();
  if (unconsumed.length !== 1 || (output.blob !== undefined && unconsumed[0] !== output.blob)) {
    const expected = output.blob === undefined ? '' : ` ${output.blob}`;
    throw new Error(`expected exactly one graph output${expected}, found: ${unconsumed.join(', ')}`);
  }
  const tensor = graph.tensor(unconsumed[0]) as string;
  output.check(graph.info(tensor));
  graph.renameTensor(tensor, output.name);
}

export function encodeConversion({ graph, bin }: LayerContext, spec: GraphSpec): ConversionResult {
  const model = encodeModel({ ...spec, nodes: graph.nodes, initializers: graph.initializers });
  return { model, binEntries: graph.binEntries, binBytes: bin.length, layerTypes: graph.layerTypes };
}

/** Refuses a graph whose layer-type counts are not exactly the expected ones. */
export function assertLayerCounts(actual: Record<string, number>, expected: Record<string, number>, graphName: string): void {
  const canon = (r: Record<string, number>): string =>
    JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (canon(actual) !== canon(expected)) {
    throw new Error(`not a ${graphName} graph: layer types ${JSON.stringify(actual)}`);
  }
}

interface StorageTotal {
  entries: number;
  values: number;
  bytes: number;
}

/** One line per `what/storage` (e.g. `weight/fp16`) of the .bin accounting; `width` pads the counts. */
export function binStorageLines(entries: BinEntry[], width: number): string[] {
  return [...totalsByStorage(entries)].map(
    ([key, s]) =>
      `  ${key.padEnd(14)} ${String(s.entries).padStart(3)} blobs ${String(s.values).padStart(width)} values ${String(s.bytes).padStart(width)} bytes`,
  );
}

function totalsByStorage(entries: BinEntry[]): Map<string, StorageTotal> {
  const totals = new Map<string, StorageTotal>();
  for (const e of entries) {
    const key = `${e.what}/${e.storage}`;
    const s = totals.get(key) ?? { entries: 0, values: 0, bytes: 0 };
    s.entries++;
    s.values += e.count;
    s.bytes += e.bytes;
    totals.set(key, s);
  }
  return totals;
}
