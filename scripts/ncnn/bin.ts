/**
 * Sequential reader over an ncnn `.bin` weight file, mirroring
 * ncnn `ModelBinFromDataReader::load(w, type)`:
 *
 * - type 0 ("auto"): a 4-byte flag, then the data:
 *     0x01306B47  fp16, w halves, padded to a multiple of 4 bytes
 *     0x000D4B38  int8 (unsupported here: not a float weight)
 *     0x0002C056  raw fp32 with extra scaling (w floats)
 *     0x00000000  raw fp32 (w floats)
 *     any other   quantized: 256 fp32 table + w uint8 indices, padded to 4 bytes
 * - type 1: raw fp32, no flag.
 *
 * All values are little-endian.
 */

export const NCNN_FLAG_FP16 = 0x01306b47;
export const NCNN_FLAG_INT8 = 0x000d4b38;
export const NCNN_FLAG_FP32_SCALED = 0x0002c056;

export type NcnnStorage = 'fp32' | 'fp16' | 'fp32-scaled' | 'quantized';

export interface NcnnBlobRead {
  data: Float32Array;
  storage: NcnnStorage;
  /** Byte offset of the first byte (flag included) in the file. */
  offset: number;
  /** Bytes consumed (flag included). */
  bytes: number;
}

/** IEEE 754 binary16 -> number (exact: every half is representable as a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const align4 = (n: number): number => (n + 3) & ~3;

export class NcnnBinReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  private take(n: number, what: string): number {
    if (n < 0 || this.pos + n > this.bytes.byteLength) {
      throw new Error(
        `ncnn bin: reading ${what} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private readF32(count: number, what: string): Float32Array {
    const at = this.take(count * 4, what);
    const out = new Float32Array(count);
    for (let k = 0; k < count; k++) out[k] = this.view.getFloat32(at + k * 4, true);
    return out;
  }

  /** ncnn `load(w, 1)`: raw fp32, no flag (biases, PReLU slopes, ...). */
  loadRaw(count: number, what = 'raw fp32'): NcnnBlobRead {
    const offset = this.pos;
    const data = this.readF32(count, what);
    return { data, storage: 'fp32', offset, bytes: this.pos - offset };
  }

  /** ncnn `load(w, 0)`: flag-prefixed data (convolution / inner-product weights). */
  loadAuto(count: number, what = 'weights'): NcnnBlobRead {
    const offset = this.pos;
    const flagAt = this.take(4, `${what} flag`);
    const tag = this.view.getUint32(flagAt, true);
    const f = [0, 1, 2, 3].map((k) => this.view.getUint8(flagAt + k));
    const flagSum = f[0] + f[1] + f[2] + f[3];

    if (tag === NCNN_FLAG_FP16) {
      const at = this.take(align4(count * 2), `${what} fp16`);
      const data = new Float32Array(count);
      for (let k = 0; k < count; k++) data[k] = halfToFloat(this.view.getUint16(at + k * 2, true));
      return { data, storage: 'fp16', offset, bytes: this.pos - offset };
    }
    if (tag === NCNN_FLAG_INT8) {
      throw new Error(`ncnn bin: ${what} at offset ${offset} is int8 (unsupported)`);
    }
    if (tag === NCNN_FLAG_FP32_SCALED) {
      const data = this.readF32(count, what);
      return { data, storage: 'fp32-scaled', offset, bytes: this.pos - offset };
    }
    if (flagSum !== 0) {
      const table = this.readF32(256, `${what} quantization table`);
      const at = this.take(align4(count), `${what} quantized indices`);
      const data = new Float32Array(count);
      for (let k = 0; k < count; k++) data[k] = table[this.view.getUint8(at + k)];
      return { data, storage: 'quantized', offset, bytes: this.pos - offset };
    }
    // flag == 0: raw fp32
    const data = this.readF32(count, what);
    return { data, storage: 'fp32', offset, bytes: this.pos - offset };
  }

  /** Throws unless every byte of the file has been consumed. */
  assertFullyConsumed(): void {
    if (this.pos !== this.bytes.byteLength) {
      throw new Error(
        `ncnn bin: consumed ${this.pos} of ${this.bytes.byteLength} bytes (${this.remaining} left over): layout mismatch`,
      );
    }
  }
}
