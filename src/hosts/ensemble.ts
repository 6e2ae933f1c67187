/**
 * Self-ensemble (test-time augmentation, the `-x` of realesrgan-ncnn-vulkan and waifu2x): the model runs
 * on flipped and rotated copies of each tile, each result is turned back and the results are averaged.
 * A transform is a horizontal flip, a vertical flip, then a transpose (each optional): the eight of
 * them are the square's symmetries. Planar float tiles (NCHW, any number of planes) go in; the
 * average of the turned-back results goes into an interleaved float accumulator of the output frame.
 */
import type { Tile } from './tiles.js';
import { toByte } from './pixel.js';

export interface Transform {
  readonly name: string;
  readonly flipX: boolean;
  readonly flipY: boolean;
  /** Applied after the flips: width and height swap. */
  readonly transpose: boolean;
}

const t = (name: string, flipX: boolean, flipY: boolean, transpose: boolean): Transform => ({ name, flipX, flipY, transpose });

/**
 * Ordered so that the first 2 and the first 4 are groups (rotations by 180°; by multiples of 90°):
 * an ensemble over a group gives the same picture, turned, for a turned input.
 */
export const TRANSFORMS: readonly Transform[] = [
  t('identity', false, false, false),
  t('rotate 180°', true, true, false),
  t('rotate 90°', false, true, true),
  t('rotate 270°', true, false, true),
  t('flip horizontally', true, false, false),
  t('flip vertically', false, true, false),
  t('transpose', false, false, true),
  t('anti-transpose', true, true, true),
];

export const ENSEMBLE_SIZES = [1, 2, 4, 8] as const;

export function ensembleTransforms(size: number): readonly Transform[] {
  if (!(ENSEMBLE_SIZES as readonly number[]).includes(size)) throw new Error(`self-ensemble of ${size}: expected 1, 2, 4 or 8`);
  return TRANSFORMS.slice(0, size);
}

/**
 * `dst` = the transform of `src` (`planes` planes of width × height); `dst` is then height × width
 * when the transform transposes. Position (x, y) goes to (x₁, y₁) = the flips of (x, y), then
 * transposed to (y₁, x₁).
 */
export function transformPlanes(src: Float32Array, dst: Float32Array, planes: number, width: number, height: number, transform: Transform): void {
  const plane = width * height;
  const { flipX, flipY, transpose } = transform;
  // Along a source row, the destination index moves by `step`.
  const step = transpose ? (flipX ? -height : height) : flipX ? -1 : 1;
  for (let c = 0; c < planes; c++) {
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      const y1 = flipY ? height - 1 - y : y;
      const x1 = flipX ? width - 1 : 0;
      let d = base + (transpose ? x1 * height + y1 : y1 * width + x1);
      let s = base + y * width;
      for (let x = 0; x < width; x++, s++, d += step) dst[d] = src[s];
    }
  }
}

/**
 * Adds the tile's core region of a model result (3 planes, in the transform's orientation) turned
 * back into the frame's orientation to `acc`: interleaved RGB floats of the whole output frame.
 */
export function accumulateTile(acc: Float32Array, outputWidth: number, result: Float32Array, tile: Tile, scale: number, transform: Transform): void {
  const { flipX, flipY, transpose } = transform;
  // The padded result, in the frame's orientation.
  const width = tile.padWidth * scale;
  const height = tile.padHeight * scale;
  const plane = width * height;
  const offsetX = (tile.x - tile.padX) * scale;
  const offsetY = (tile.y - tile.padY) * scale;
  const step = transpose ? (flipX ? -height : height) : flipX ? -1 : 1;
  for (let row = 0; row < tile.height * scale; row++) {
    const y = offsetY + row;
    const y1 = flipY ? height - 1 - y : y;
    const x1 = flipX ? width - 1 - offsetX : offsetX;
    let s = transpose ? x1 * height + y1 : y1 * width + x1;
    let d = ((tile.y * scale + row) * outputWidth + tile.x * scale) * 3;
    for (let col = 0; col < tile.width * scale; col++, s += step, d += 3) {
      acc[d] += result[s];
      acc[d + 1] += result[plane + s];
      acc[d + 2] += result[2 * plane + s];
    }
  }
}

/** The average, rounded once to bytes (as a single run's result is). */
export function averageInto(output: Uint8Array, acc: Float32Array, count: number): void {
  for (let i = 0; i < output.length; i++) output[i] = toByte(Math.fround(acc[i] / count));
}
