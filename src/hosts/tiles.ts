import { toByte, toUnit } from './pixel.js';

/** A tile: the core region it owns in the input frame, and the padded region fed to the model. */
export interface Tile {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly padX: number;
  readonly padY: number;
  readonly padWidth: number;
  readonly padHeight: number;
}

function spans(length: number, size: number): [number, number][] {
  const result: [number, number][] = [];
  for (let start = 0; start < length; start += size) result.push([start, Math.min(size, length - start)]);
  return result;
}

/** Splits a frame into tiles of at most `size` pixels a side (0 = whole frame), each padded by `overlap`. */
export function planTiles(width: number, height: number, size: number, overlap: number): Tile[] {
  const side = size > 0 ? size : Math.max(width, height);
  const tiles: Tile[] = [];
  for (const [y, h] of spans(height, side)) {
    for (const [x, w] of spans(width, side)) {
      const padX = Math.max(0, x - overlap);
      const padY = Math.max(0, y - overlap);
      const padRight = Math.min(width, x + w + overlap);
      const padBottom = Math.min(height, y + h + overlap);
      tiles.push({ x, y, width: w, height: h, padX, padY, padWidth: padRight - padX, padHeight: padBottom - padY });
    }
  }
  return tiles;
}

/**
 * Interleaved rgb24 → planar float32 NCHW in 0..1 for the tile's padded region; into `out` when given
 * (3 · padWidth · padHeight values), so a caller can reuse one buffer.
 */
export function extractTile(rgb: Uint8Array, frameWidth: number, tile: Tile, out = new Float32Array(3 * tile.padWidth * tile.padHeight)): Float32Array {
  const plane = tile.padWidth * tile.padHeight;
  for (let row = 0; row < tile.padHeight; row++) {
    let src = ((tile.padY + row) * frameWidth + tile.padX) * 3;
    let dst = row * tile.padWidth;
    for (let col = 0; col < tile.padWidth; col++, src += 3, dst++) {
      out[dst] = toUnit(rgb[src]);
      out[plane + dst] = toUnit(rgb[src + 1]);
      out[2 * plane + dst] = toUnit(rgb[src + 2]);
    }
  }
  return out;
}

/** Writes the model output's core region (padding cropped) into the interleaved rgb24 output frame. */
export function pasteTile(
  output: Uint8Array,
  outputWidth: number,
  result: Float32Array,
  tile: Tile,
  scale: number,
): void {
  const resultWidth = tile.padWidth * scale;
  const plane = resultWidth * tile.padHeight * scale;
  const offsetX = (tile.x - tile.padX) * scale;
  const offsetY = (tile.y - tile.padY) * scale;
  const width = tile.width * scale;
  const height = tile.height * scale;
  for (let row = 0; row < height; row++) {
    let src = (offsetY + row) * resultWidth + offsetX;
    let dst = ((tile.y * scale + row) * outputWidth + tile.x * scale) * 3;
    for (let col = 0; col < width; col++, src++, dst += 3) {
      output[dst] = toByte(result[src]);
      output[dst + 1] = toByte(result[plane + src]);
      output[dst + 2] = toByte(result[2 * plane + src]);
    }
  }
}

/** Whether the tile is the whole frame, unpadded: its bytes are the frame's own. */
export function isWholeFrame(tile: Tile, frameWidth: number, frameHeight: number): boolean {
  return tile.padX === 0 && tile.padY === 0 && tile.padWidth === frameWidth && tile.padHeight === frameHeight;
}

/**
 * The tile's padded region of each frame, rgb24 as it is ([T, padHeight, padWidth, 3] bytes), copied
 * row by row into `out`; a whole-frame tile of one frame is the frame itself.
 */
export function tileBytes(frames: readonly Uint8Array[], frameWidth: number, frameHeight: number, tile: Tile, out?: Uint8Array): Uint8Array {
  if (frames.length === 1 && isWholeFrame(tile, frameWidth, frameHeight)) return frames[0];
  const rowBytes = tile.padWidth * 3;
  const frameBytes = rowBytes * tile.padHeight;
  const target = out ?? new Uint8Array(frameBytes * frames.length);
  frames.forEach((frame, t) => {
    for (let row = 0; row < tile.padHeight; row++) {
      const src = ((tile.padY + row) * frameWidth + tile.padX) * 3;
      target.set(frame.subarray(src, src + rowBytes), t * frameBytes + row * rowBytes);
    }
  });
  return target;
}

/** Copies the core region of a model's rgb24 result (padding cropped) into the output frame, row by row. */
export function pasteTileBytes(output: Uint8Array, outputWidth: number, result: Uint8Array, tile: Tile, scale: number): void {
  const resultRow = tile.padWidth * scale * 3;
  const offsetX = (tile.x - tile.padX) * scale * 3;
  const offsetY = (tile.y - tile.padY) * scale;
  const rowBytes = tile.width * scale * 3;
  for (let row = 0; row < tile.height * scale; row++) {
    const src = (offsetY + row) * resultRow + offsetX;
    output.set(result.subarray(src, src + rowBytes), ((tile.y * scale + row) * outputWidth + tile.x * scale) * 3);
  }
}
