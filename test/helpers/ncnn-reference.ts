/**
 * Plain-TypeScript reference interpreter for the small ncnn op subset used by
 * SRVGGNetCompact (Real-ESRGAN realesr-general-x4v3), written from the ncnn
 * layer semantics (src/layer/{convolution,prelu,pixelshuffle,interp,binaryop}.cpp).
 *
 * It shares only the file *parsing* (param text / .bin reader) with the
 * converter; all math is done here with loops, independently of ONNX.
 *
 * Tensors are CHW float32 (batch 1), like an ncnn Mat with c/h/w.
 */
import { readFileSync } from 'node:fs';

import { NcnnBinReader } from '../../scripts/ncnn/bin.js';
import { parseParam, paramFloat, paramInt, type NcnnLayer } from '../../scripts/ncnn/param.js';

export interface Chw {
  c: number;
  h: number;
  w: number;
  data: Float32Array;
}

export function makeChw(c: number, h: number, w: number, data?: Float32Array): Chw {
  const d = data ?? new Float32Array(c * h * w);
  if (d.length !== c * h * w) throw new Error(`makeChw: ${d.length} values for ${c}x${h}x${w}`);
  return { c, h, w, data: d };
}

/** ncnn Convolution (group 1, stride 1, dilation 1), constant zero padding, optional bias. */
export function conv2d(
  x: Chw,
  weight: Float32Array, // [outC][inC][k][k]
  bias: Float32Array | undefined,
  outC: number,
  k: number,
  pad: number,
): Chw {
  const { c: inC, h, w } = x;
  if (weight.length !== outC * inC * k * k) throw new Error('conv2d: weight size mismatch');
  const outH = h + 2 * pad - k + 1;
  const outW = w + 2 * pad - k + 1;
  const y = makeChw(outC, outH, outW);
  const acc = new Float64Array(outH * outW);
  for (let oc = 0; oc < outC; oc++) {
    acc.fill(bias ? bias[oc] : 0);
    for (let ic = 0; ic < inC; ic++) {
      const inBase = ic * h * w;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = weight[((oc * inC + ic) * k + ky) * k + kx];
          for (let oy = 0; oy < outH; oy++) {
            const iy = oy + ky - pad;
            if (iy < 0 || iy >= h) continue; // zero padding
            const rowIn = inBase + iy * w;
            const rowOut = oy * outW;
            for (let ox = 0; ox < outW; ox++) {
              const ix = ox + kx - pad;
              if (ix < 0 || ix >= w) continue; // zero padding
              acc[rowOut + ox] += wv * x.data[rowIn + ix];
            }
          }
        }
      }
    }
    y.data.set(acc, oc * outH * outW);
  }
  return y;
}

/** ncnn PReLU: x < 0 ? x * slope[c] : x (one slope shared when num_slope == 1). */
export function prelu(x: Chw, slope: Float32Array): Chw {
  const y = makeChw(x.c, x.h, x.w);
  const plane = x.h * x.w;
  for (let q = 0; q < x.c; q++) {
    const s = slope.length === 1 ? slope[0] : slope[q];
    for (let i = 0; i < plane; i++) {
      const v = x.data[q * plane + i];
      y.data[q * plane + i] = v < 0 ? v * s : v;
    }
  }
  return y;
}

/** ncnn PixelShuffle: mode 0 -> q = p*r*r + sh*r + sw; mode 1 -> q = (sh*r + sw)*outc + p. */
export function pixelShuffle(x: Chw, r: number, mode: number): Chw {
  const outC = x.c / (r * r);
  if (!Number.isInteger(outC)) throw new Error('pixelShuffle: channels not divisible');
  const y = makeChw(outC, x.h * r, x.w * r);
  for (let p = 0; p < outC; p++) {
    for (let sh = 0; sh < r; sh++) {
      for (let sw = 0; sw < r; sw++) {
        const q = mode === 0 ? p * r * r + sh * r + sw : (sh * r + sw) * outC + p;
        for (let i = 0; i < x.h; i++) {
          for (let j = 0; j < x.w; j++) {
            y.data[(p * y.h + i * r + sh) * y.w + j * r + sw] = x.data[(q * x.h + i) * x.w + j];
          }
        }
      }
    }
  }
  return y;
}

/** ncnn Interp nearest: in_y = min(floor(y / height_scale), h - 1), same for x. */
export function interpNearest(x: Chw, hScale: number, wScale: number): Chw {
  const outH = Math.trunc(x.h * hScale);
  const outW = Math.trunc(x.w * wScale);
  const y = makeChw(x.c, outH, outW);
  for (let q = 0; q < x.c; q++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy = Math.min(Math.trunc(oy / hScale), x.h - 1);
      for (let ox = 0; ox < outW; ox++) {
        const ix = Math.min(Math.trunc(ox / wScale), x.w - 1);
        y.data[(q * outH + oy) * outW + ox] = x.data[(q * x.h + iy) * x.w + ix];
      }
    }
  }
  return y;
}

/** ncnn BinaryOp ADD of two same-shaped blobs. */
export function add(a: Chw, b: Chw): Chw {
  if (a.c !== b.c || a.h !== b.h || a.w !== b.w) throw new Error('add: shape mismatch');
  const y = makeChw(a.c, a.h, a.w);
  for (let i = 0; i < y.data.length; i++) y.data[i] = a.data[i] + b.data[i];
  return y;
}

type Op = (blobs: Map<string, Chw>) => void;

/** A loaded ncnn network that can be run on CHW inputs. */
export interface NcnnReferenceNet {
  run(input: Chw): Chw;
  /** Bytes of the .bin consumed while loading (always the whole file). */
  binBytes: number;
}

/** Loads .param/.bin (weights read in layer order, like ncnn Net::load_model) into runnable ops. */
export function loadNcnnReference(paramPath: string, binPath: string): NcnnReferenceNet {
  const param = parseParam(readFileSync(paramPath, 'utf8'));
  const bin = new NcnnBinReader(new Uint8Array(readFileSync(binPath)));
  const ops: Op[] = [];
  let inputBlob: string | undefined;
  const produced = new Set<string>();
  const consumed = new Set<string>();

  const only = (l: NcnnLayer, ids: number[]): void => {
    for (const id of l.params.keys()) if (!ids.includes(id)) throw new Error(`${l.name}: unexpected param ${id}`);
  };

  for (const l of param.layers) {
    l.bottoms.forEach((b) => consumed.add(b));
    l.tops.forEach((t) => produced.add(t));
    const [bottom] = l.bottoms;
    const [top] = l.tops;
    switch (l.type) {
      case 'Input':
        inputBlob = top;
        break;
      case 'Split':
        ops.push((m) => {
          const x = m.get(bottom)!;
          for (const t of l.tops) m.set(t, x);
        });
        break;
      case 'Convolution': {
        only(l, [0, 1, 4, 5, 6]); // num_output, kernel, pad, bias_term, weight_data_size
        const outC = paramInt(l, 0, 0);
        const k = paramInt(l, 1, 0);
        const pad = paramInt(l, 4, 0);
        const weight = bin.loadAuto(paramInt(l, 6, 0)).data;
        const bias = paramInt(l, 5, 0) ? bin.loadRaw(outC).data : undefined;
        ops.push((m) => m.set(top, conv2d(m.get(bottom)!, weight, bias, outC, k, pad)));
        break;
      }
      case 'PReLU': {
        only(l, [0]);
        const slope = bin.loadRaw(paramInt(l, 0, 0)).data;
        ops.push((m) => m.set(top, prelu(m.get(bottom)!, slope)));
        break;
      }
      case 'PixelShuffle': {
        only(l, [0, 1]);
        const r = paramInt(l, 0, 1);
        const mode = paramInt(l, 1, 0);
        ops.push((m) => m.set(top, pixelShuffle(m.get(bottom)!, r, mode)));
        break;
      }
      case 'Interp': {
        only(l, [0, 1, 2]);
        if (paramInt(l, 0, 0) !== 1) throw new Error(`${l.name}: only nearest Interp is implemented`);
        const hs = paramFloat(l, 1, 1);
        const ws = paramFloat(l, 2, 1);
        ops.push((m) => m.set(top, interpNearest(m.get(bottom)!, hs, ws)));
        break;
      }
      case 'BinaryOp': {
        only(l, [0]);
        if (paramInt(l, 0, 0) !== 0) throw new Error(`${l.name}: only ADD is implemented`);
        const [a, b] = l.bottoms;
        ops.push((m) => m.set(top, add(m.get(a)!, m.get(b)!)));
        break;
      }
      default:
        throw new Error(`reference: unsupported layer ${l.type}`);
    }
  }
  bin.assertFullyConsumed();
  if (inputBlob === undefined) throw new Error('reference: no Input layer');
  const outputs = [...produced].filter((b) => !consumed.has(b));
  if (outputs.length !== 1) throw new Error(`reference: expected one output blob, got ${outputs.join(',')}`);
  const inName = inputBlob;
  const outName = outputs[0];

  return {
    binBytes: bin.length,
    run(input: Chw): Chw {
      const blobs = new Map<string, Chw>([[inName, input]]);
      for (const op of ops) op(blobs);
      return blobs.get(outName)!;
    },
  };
}
