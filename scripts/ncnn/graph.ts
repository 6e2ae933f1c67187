import type { NcnnBinReader, NcnnStorage } from './bin.js';
import type { onnx } from './onnx.js';
import type { NcnnLayer } from './param.js';

export type OnnxNode = InstanceType<typeof onnx.NodeProto>;
export type OnnxTensor = InstanceType<typeof onnx.TensorProto>;

/** One entry of the .bin byte accounting. */
export interface BinEntry {
  layer: string;
  what: 'weight' | 'bias' | 'slope';
  count: number;
  storage: NcnnStorage;
  offset: number;
  bytes: number;
}

/**
 * What every ncnn → ONNX conversion keeps while it walks the layers: the ONNX nodes and initializers,
 * which ONNX tensor each ncnn blob is (consumed exactly once, as ncnn's Split makes explicit), what
 * the converter knows of each tensor (`Info`), and the byte accounting of the .bin.
 */
export class NcnnGraph<Info> {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly binEntries: BinEntry[] = [];
  readonly layerTypes: Record<string, number> = {};
  private readonly tensorOf = new Map<string, string>();
  private readonly infoOf = new Map<string, Info>();
  private readonly consumed = new Set<string>();

  countLayer(layer: NcnnLayer): void {
    this.layerTypes[layer.type] = (this.layerTypes[layer.type] ?? 0) + 1;
  }

  use(layer: NcnnLayer, blob: string): string {
    const t = this.tensorOf.get(blob);
    if (t === undefined) throw new Error(`${layer.type} ${layer.name}: blob "${blob}" is not produced before use`);
    if (this.consumed.has(blob)) throw new Error(`${layer.type} ${layer.name}: blob "${blob}" consumed twice (missing Split?)`);
    this.consumed.add(blob);
    return t;
  }

  define(layer: NcnnLayer, blob: string, tensor: string, info: Info): void {
    if (this.tensorOf.has(blob)) throw new Error(`${layer.type} ${layer.name}: blob "${blob}" produced twice`);
    this.tensorOf.set(blob, tensor);
    this.infoOf.set(tensor, info);
  }

  /** The blobs nothing consumed: a graph's outputs. */
  unconsumed(): string[] {
    return [...this.tensorOf.keys()].filter((blob) => !this.consumed.has(blob));
  }

  tensor(blob: string): string | undefined {
    return this.tensorOf.get(blob);
  }

  /** Renames a tensor wherever a node produces or reads it (to give the graph output its public name). */
  renameTensor(from: string, to: string): void {
    for (const n of this.nodes) {
      n.output = n.output.map((o) => (o === from ? to : o));
      n.input = n.input.map((i) => (i === from ? to : i));
    }
  }

  info(tensor: string): Info {
    const info = this.infoOf.get(tensor);
    if (info === undefined) throw new Error(`internal: no info for tensor ${tensor}`);
    return info;
  }

  /** Accounts for weights read from the .bin and refuses non-finite values. */
  record(layer: NcnnLayer, what: BinEntry['what'], read: ReturnType<NcnnBinReader['loadRaw']>): Float32Array {
    this.binEntries.push({ layer: layer.name, what, count: read.data.length, storage: read.storage, offset: read.offset, bytes: read.bytes });
    for (const v of read.data) {
      if (!Number.isFinite(v)) throw new Error(`${layer.name} ${what}: non-finite value in weights`);
    }
    return read.data;
  }
}
