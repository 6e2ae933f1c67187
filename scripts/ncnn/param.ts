/**
 * Parser for the text form of an ncnn `.param` file.
 *
 * Format (see ncnn `Net::load_param` / `ParamDict::load_param`):
 *
 *   7767517                      <- magic
 *   <layer_count> <blob_count>
 *   <type> <name> <bottom_count> <top_count> <bottoms...> <tops...> <k=v ...>
 *
 * A param value is an int, or a float when its text contains '.', 'e' or 'E'.
 * Keys <= -23300 hold arrays: `-233xx=n,v1,...,vn` stands for key xx.
 */

export const NCNN_PARAM_MAGIC = 7767517;

export type NcnnParamValue = number | number[];

export interface NcnnLayer {
  /** Layer type, e.g. "Convolution". */
  type: string;
  /** Layer name, e.g. "Conv_0". */
  name: string;
  /** Names of the input blobs. */
  bottoms: string[];
  /** Names of the output blobs. */
  tops: string[];
  /** Param id -> value (array params are stored under their real id, not -233xx). */
  params: Map<number, NcnnParamValue>;
  /** 1-based line number in the .param file (for error messages). */
  line: number;
}

export interface NcnnParam {
  layerCount: number;
  blobCount: number;
  layers: NcnnLayer[];
}

function parseScalar(text: string, where: string): number {
  const isFloat = /[.eE]/.test(text);
  const value = isFloat ? Number.parseFloat(text) : Number.parseInt(text, 10);
  if (!Number.isFinite(value) || (!isFloat && !/^[-+]?\d+$/.test(text))) {
    throw new Error(`ncnn param: bad value "${text}" (${where})`);
  }
  return value;
}

/** Parses the text of an ncnn .param file. Throws on anything malformed. */
export function parseParam(text: string): NcnnParam {
  const lines = text.split(/\r?\n/);
  const tokensOf = (s: string): string[] => s.trim().split(/\s+/).filter((t) => t.length > 0);

  let i = 0;
  const nextNonEmpty = (): { tokens: string[]; line: number } | undefined => {
    while (i < lines.length) {
      const tokens = tokensOf(lines[i]);
      i++;
      if (tokens.length > 0) return { tokens, line: i };
    }
    return undefined;
  };

  const magicLine = nextNonEmpty();
  if (!magicLine || magicLine.tokens.length !== 1 || Number(magicLine.tokens[0]) !== NCNN_PARAM_MAGIC) {
    throw new Error(`ncnn param: missing magic ${NCNN_PARAM_MAGIC}`);
  }
  const countLine = nextNonEmpty();
  if (!countLine || countLine.tokens.length !== 2) {
    throw new Error('ncnn param: missing "<layer_count> <blob_count>" line');
  }
  const layerCount = parseScalar(countLine.tokens[0], 'layer_count');
  const blobCount = parseScalar(countLine.tokens[1], 'blob_count');

  const layers: NcnnLayer[] = [];
  for (let entry = nextNonEmpty(); entry; entry = nextNonEmpty()) {
    const { tokens, line } = entry;
    const where = `line ${line}`;
    if (tokens.length < 4) throw new Error(`ncnn param: truncated layer (${where})`);
    const [type, name] = tokens;
    const bottomCount = parseScalar(tokens[2], where);
    const topCount = parseScalar(tokens[3], where);
    let t = 4;
    if (tokens.length < t + bottomCount + topCount) {
      throw new Error(`ncnn param: layer ${name} lists fewer blobs than declared (${where})`);
    }
    const bottoms = tokens.slice(t, t + bottomCount);
    t += bottomCount;
    const tops = tokens.slice(t, t + topCount);
    t += topCount;

    const params = new Map<number, NcnnParamValue>();
    for (; t < tokens.length; t++) {
      const eq = tokens[t].indexOf('=');
      if (eq <= 0) throw new Error(`ncnn param: bad param "${tokens[t]}" (${where})`);
      const key = parseScalar(tokens[t].slice(0, eq), where);
      const valueText = tokens[t].slice(eq + 1);
      if (key <= -23300) {
        const parts = valueText.split(',');
        const n = parseScalar(parts[0], where);
        if (parts.length !== n + 1) {
          throw new Error(`ncnn param: array param ${key} declares ${n} items, has ${parts.length - 1} (${where})`);
        }
        const id = -key - 23300;
        if (params.has(id)) throw new Error(`ncnn param: duplicate param ${id} (${where})`);
        params.set(id, parts.slice(1).map((p) => parseScalar(p, where)));
      } else {
        if (params.has(key)) throw new Error(`ncnn param: duplicate param ${key} (${where})`);
        params.set(key, parseScalar(valueText, where));
      }
    }
    layers.push({ type, name, bottoms, tops, params, line });
  }

  if (layers.length !== layerCount) {
    throw new Error(`ncnn param: header says ${layerCount} layers, found ${layers.length}`);
  }
  const blobs = new Set<string>();
  for (const l of layers) for (const b of l.tops) blobs.add(b);
  if (blobs.size !== blobCount) {
    throw new Error(`ncnn param: header says ${blobCount} blobs, found ${blobs.size}`);
  }
  return { layerCount, blobCount, layers };
}

/** Integer scalar param with a default (mirrors ncnn `ParamDict::get(id, int)`). */
export function paramInt(layer: NcnnLayer, id: number, def: number): number {
  const v = layer.params.get(id);
  if (v === undefined) return def;
  if (Array.isArray(v) || !Number.isInteger(v)) {
    throw new Error(`ncnn param: ${layer.name} param ${id} is not an int`);
  }
  return v;
}

/** Float scalar param with a default (mirrors ncnn `ParamDict::get(id, float)`). */
export function paramFloat(layer: NcnnLayer, id: number, def: number): number {
  const v = layer.params.get(id);
  if (v === undefined) return def;
  if (Array.isArray(v)) throw new Error(`ncnn param: ${layer.name} param ${id} is an array`);
  return v;
}

/** Array param (`-233xx=n,...`), or undefined when absent. */
export function paramArray(layer: NcnnLayer, id: number): number[] | undefined {
  const v = layer.params.get(id);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new Error(`${layer.type} ${layer.name}: param ${id} should be an array`);
  return v;
}

/** Refuses a layer carrying a param the converter does not map. */
export function allowOnly(layer: NcnnLayer, allowed: number[]): void {
  for (const id of layer.params.keys()) {
    if (!allowed.includes(id)) {
      throw new Error(`${layer.type} ${layer.name}: unsupported param ${id}=${String(layer.params.get(id))}`);
    }
  }
}

export function expectArity(layer: NcnnLayer, bottoms: number, tops: number): void {
  if (layer.bottoms.length !== bottoms || layer.tops.length !== tops) {
    throw new Error(
      `${layer.type} ${layer.name}: expected ${bottoms} in / ${tops} out, got ${layer.bottoms.length} / ${layer.tops.length}`,
    );
  }
}

/** A Convolution/Deconvolution layer's geometry, from ncnn's param ids (explicit padding only). */
export interface ConvGeometry {
  readonly outC: number;
  readonly kw: number;
  readonly kh: number;
  readonly dw: number;
  readonly dh: number;
  readonly sw: number;
  readonly sh: number;
  readonly padL: number;
  readonly padR: number;
  readonly padT: number;
  readonly padB: number;
  readonly biasTerm: number;
  readonly weightSize: number;
}

export function convGeometry(layer: NcnnLayer): ConvGeometry {
  const kw = paramInt(layer, 1, 0);
  const dw = paramInt(layer, 2, 1);
  const sw = paramInt(layer, 3, 1);
  const padL = paramInt(layer, 4, 0);
  const padT = paramInt(layer, 14, padL);
  const geometry: ConvGeometry = {
    outC: paramInt(layer, 0, 0),
    kw,
    kh: paramInt(layer, 11, kw),
    dw,
    dh: paramInt(layer, 12, dw),
    sw,
    sh: paramInt(layer, 13, sw),
    padL,
    padR: paramInt(layer, 15, padL),
    padT,
    padB: paramInt(layer, 16, padT),
    biasTerm: paramInt(layer, 5, 0),
    weightSize: paramInt(layer, 6, 0),
  };
  if ([geometry.padL, geometry.padR, geometry.padT, geometry.padB].some((p) => p < 0)) {
    throw new Error(`${layer.type} ${layer.name}: SAME padding (-233/-234) is not supported`);
  }
  return geometry;
}
