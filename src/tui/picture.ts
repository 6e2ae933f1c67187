/**
 * Pictures as terminal text: Unicode upper half blocks (`▀`), each cell two pixels, the upper one its
 * 24-bit foreground colour and the lower one its background. Plain text with SGR colours, so it draws
 * inside Ink, in tmux and over SSH alike. The pictures are small (a preview pane's, or one already
 * fitted to the terminal by ffmpeg): the work here is a loop over a few thousand pixels.
 */

/** 8-bit RGB, row by row (ffmpeg's rgb24). */
export interface Picture {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** The largest size of the same shape within the box (at least 1×1). */
export function fitSize(width: number, height: number, maxWidth: number, maxHeight: number): { width: number; height: number } {
  const scale = Math.min(maxWidth / width, maxHeight / height);
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

/** Nearest-neighbour resampling of a small picture (a terminal resized since the picture was made). */
export function resample(picture: Picture, width: number, height: number): Picture {
  if (width === picture.width && height === picture.height) return picture;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(picture.height - 1, Math.floor(((y + 0.5) * picture.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(picture.width - 1, Math.floor(((x + 0.5) * picture.width) / width));
      const from = (sy * picture.width + sx) * 3;
      data.set(picture.data.subarray(from, from + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

const UPPER_HALF = '▀';
const RESET = '\u001B[0m';

function rgbAt(picture: Picture, x: number, y: number): string {
  const at = (y * picture.width + x) * 3;
  return `${picture.data[at]};${picture.data[at + 1]};${picture.data[at + 2]}`;
}

/**
 * One string per two pixel rows, `width` cells each; an odd last row has the terminal's background
 * below. A colour is written only where it changes from the cell before.
 */
export function halfBlockRows(picture: Picture): string[] {
  const rows: string[] = [];
  for (let y = 0; y < picture.height; y += 2) {
    let row = '';
    let fg = '';
    let bg = '';
    for (let x = 0; x < picture.width; x++) {
      const upper = `38;2;${rgbAt(picture, x, y)}`;
      const lower = y + 1 < picture.height ? `48;2;${rgbAt(picture, x, y + 1)}` : '49';
      const changes = [upper === fg ? '' : upper, lower === bg ? '' : lower].filter(Boolean);
      if (changes.length > 0) row += `\u001B[${changes.join(';')}m`;
      row += UPPER_HALF;
      fg = upper;
      bg = lower;
    }
    rows.push(row + RESET);
  }
  return rows;
}
