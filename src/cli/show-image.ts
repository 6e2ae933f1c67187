import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { fitSize, halfBlockRows, type Picture } from '../tui/picture.js';

/**
 * Pictures in the terminal, for `upframe preview` without -o and the TUI's pane. Resizing is ffmpeg's
 * (a short child process); this process only copies bytes and, for half blocks, loops over the few
 * thousand pixels of a terminal-sized picture.
 *
 * Protocols, best first, each where the terminal says it has it (`supports-terminal-graphics`, from
 * the environment): Kitty graphics, iTerm2 inline images (`ansi-escapes`), sixel (`sixel`'s encoder);
 * else Unicode half blocks with 24-bit colours, which work everywhere, tmux and SSH included. Inside
 * tmux the image protocols are not passed through, so half blocks are used there. `NO_COLOR` or an
 * output that is no terminal get a line of text. `UPFRAME_GRAPHICS=kitty|iterm2|sixel|blocks|text`
 * overrides the choice (a sixel terminal that sets no variable, such as xterm -ti vt340 or foot).
 */
export type Graphics = 'kitty' | 'iterm2' | 'sixel' | 'blocks' | 'text';

const CHOICES: readonly Graphics[] = ['kitty', 'iterm2', 'sixel', 'blocks', 'text'];

/** NO_COLOR set to anything but the empty string (no-color.org). */
export function noColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

export async function pickGraphics(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Promise<Graphics> {
  const forced = env.UPFRAME_GRAPHICS as Graphics | undefined;
  if (forced && CHOICES.includes(forced)) return forced;
  if (!stream.isTTY || noColor(env)) return 'text';
  if (env.TMUX) return 'blocks';
  const { createSupportsTerminalGraphics } = await import('supports-terminal-graphics');
  const support = createSupportsTerminalGraphics(stream);
  return support.kitty ? 'kitty' : support.iterm2 ? 'iterm2' : support.sixel ? 'sixel' : 'blocks';
}

/** Width and height from a PNG's header (its IHDR chunk), without decoding it. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((byte, i) => bytes[i] !== byte)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function ffmpegOut(args: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(ffmpegBinaries().ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], { encoding: 'buffer', maxBuffer: 1 << 28, timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ffmpeg could not read the picture: ${stderr.toString().trim().split('\n').at(-1) ?? error.message}`));
      else resolve(stdout);
    });
  });
}

/** A picture file resized by ffmpeg (area-averaged) to exactly width × height, as rgb24 or rgba. */
export async function scaledPixels(file: string, width: number, height: number, format: 'rgb24' | 'rgba' = 'rgb24'): Promise<Picture> {
  const data = await ffmpegOut(['-i', `file:${file}`, '-frames:v', '1', '-vf', `scale=${width}:${height}:flags=area`, '-f', 'rawvideo', '-pix_fmt', format, 'pipe:1']);
  const expected = width * height * (format === 'rgba' ? 4 : 3);
  if (data.length !== expected) throw new Error(`ffmpeg gave ${data.length} bytes for a ${width}×${height} picture`);
  return { width, height, data };
}

/** A PNG no wider than `maxWidth` pixels: the file itself when it is, else a copy resized by ffmpeg. */
async function pngAtMost(file: string, bytes: Buffer, width: number, height: number, maxWidth: number): Promise<Buffer> {
  if (width <= maxWidth) return bytes;
  const size = fitSize(width, height, maxWidth, Number.MAX_SAFE_INTEGER);
  return ffmpegOut(['-i', `file:${file}`, '-frames:v', '1', '-vf', `scale=${size.width}:${size.height}:flags=area`, '-c:v', 'png', '-f', 'image2pipe', 'pipe:1']);
}

/** The Kitty graphics protocol: the PNG in base64 chunks of 4096, placed over `columns` cells (the terminal scales it). */
function kittyImage(png: Buffer, columns: number): string {
  const data = png.toString('base64');
  const chunks: string[] = [];
  for (let at = 0; at < data.length; at += 4096) {
    const more = at + 4096 < data.length ? 1 : 0;
    const keys = at === 0 ? `a=T,f=100,c=${columns},m=${more}` : `m=${more}`;
    chunks.push(`\u001B_G${keys};${data.slice(at, at + 4096)}\u001B\\`);
  }
  return `${chunks.join('')}\n`;
}

export interface ShowOptions {
  readonly columns: number;
  readonly rows: number;
  readonly graphics: Graphics;
}

/**
 * The picture drawn for the terminal (escape sequences or half-block lines), or for `text` one line
 * naming it. Fits `columns` × `rows` cells, a line kept for the prompt.
 */
export async function renderPicture(file: string, options: ShowOptions): Promise<string> {
  const bytes = await readFile(file);
  const size = pngSize(bytes);
  if (!size) throw new Error(`not a PNG picture: ${file}`);
  const columns = Math.max(4, options.columns);
  const rows = Math.max(2, options.rows - 1);
  switch (options.graphics) {
    case 'text':
      return `${file} (${size.width}×${size.height} PNG)\n`;
    case 'kitty': {
      // A cell is about 2:1 (height:width); the terminal scales the picture into the cells given.
      const cells = Math.min(columns, Math.floor((rows * 2 * size.width) / size.height));
      return kittyImage(await pngAtMost(file, bytes, size.width, size.height, 2048), Math.max(1, cells));
    }
    case 'iterm2': {
      const { default: ansiEscapes } = await import('ansi-escapes');
      const cells = Math.min(columns, Math.floor((rows * 2 * size.width) / size.height));
      return `${ansiEscapes.image(await pngAtMost(file, bytes, size.width, size.height, 2048), { width: Math.max(1, cells), preserveAspectRatio: true })}\n`;
    }
    case 'sixel': {
      // Sixel draws real pixels: about 10 × 20 of them per cell here, the picture never enlarged.
      const fitted = fitSize(size.width, size.height, Math.min(size.width, columns * 10), Math.min(size.height, rows * 20));
      const rgba = await scaledPixels(file, fitted.width, fitted.height, 'rgba');
      const { image2sixel } = await import('sixel');
      return `${image2sixel(rgba.data, rgba.width, rgba.height, 256, 1)}\n`;
    }
    case 'blocks': {
      const fitted = fitSize(size.width, size.height, columns, rows * 2);
      const picture = await scaledPixels(file, fitted.width, fitted.height);
      return `${halfBlockRows(picture).join('\n')}\n`;
    }
  }
}
