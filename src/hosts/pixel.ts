/**
 * A pixel byte ↔ a model's float in 0..1, as ONNX defines it: `DequantizeLinear` in and
 * `QuantizeLinear` out with the scale 1/255 (as float32) and zero point 0. The wrapped models
 * (model-io.ts) run exactly these ops inside the graph; the float path (self-ensemble, steps models,
 * models too old to wrap) runs the same arithmetic in JavaScript, so both give the same bytes.
 */

/** float32(1/255): the scale both conversions use. */
export const BYTE_SCALE = Math.fround(1 / 255);

/** DequantizeLinear: byte · scale, one float32 product (exact in a double, rounded once). */
export function toUnit(byte: number): number {
  return Math.fround(byte * BYTE_SCALE);
}

/**
 * QuantizeLinear: the float32 quotient value / scale (a double quotient of float32s rounded to
 * float32 is the float32 quotient), clamped to 0..255, rounded half to even.
 */
export function toByte(value: number): number {
  const q = Math.fround(value / BYTE_SCALE);
  if (!(q > 0)) return 0;
  if (q >= 255) return 255;
  const r = Math.round(q);
  return r - q === 0.5 && r % 2 === 1 ? r - 1 : r;
}
