import { readdir, readFile, unlink } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessWork, Rate } from '../domain.js';
import { imagePattern, type SideImages } from './ffmpeg/args.js';
import { reduce } from './rational.js';
import type { Segment } from './segments.js';
import { sourcePosition } from './timing.js';

/**
 * Pictures of a job's frames, written by the ffmpeg processes it already runs:
 * - a preview job (`upframe preview`): with `--compare`, its decoder also writes the source frame as
 *   PNG ({@link PREVIEW_SOURCE_FILE}) for the assemble stage to put beside the result;
 * - a run with `previews` (the TUI): now and then (every {@link PaneInfo.every} output frames) the
 *   segment encoder writes a small PPM of the output frame (`out-<j>.ppm`) and the decoder one of the
 *   source frame it comes from (`src-<j>.ppm`), the same j for the same moment, so a reader pairs them
 *   exactly even though the decoder runs ahead of the encoder. {@link latestPanePair} reads the newest
 *   pair and removes the older files.
 */
export const PREVIEW_SOURCE_FILE = 'preview-source.png';
export const PANE_INFO_FILE = 'previews.json';
const PANE_FILE = /^(src|out)-(\d+)\.ppm$/;

export interface PaneInfo {
  /** Pictures are of output frames k = j · every + offset. */
  readonly every: number;
  readonly offset: number;
  /** Output rate over source rate, reduced: output frame k shows source frame floor(k · den / num). */
  readonly ratio: Rate;
  readonly outputFrames: number;
}

/** About two pictures a second of video, never two of one source frame (see {@link paneInfo}). */
export function paneInfo(work: ProcessWork): PaneInfo {
  const { plan } = work;
  const outRate = plan.interpolation?.outRate ?? plan.media.frameRate;
  const ratio = plan.interpolation ? reduce({ num: outRate.num * plan.media.frameRate.den, den: outRate.den * plan.media.frameRate.num }) : { num: 1, den: 1 };
  // Two pictures k apart come from different source frames when every ≥ num / den.
  const every = Math.max(1, Math.ceil(ratio.num / ratio.den), Math.ceil(outRate.num / outRate.den / 2));
  // With interpolation, k = 1 is the first made frame (k = 0 is a copy): the pane shows made ones too.
  return { every, offset: plan.interpolation && every > 1 ? 1 : 0, ratio, outputFrames: plan.interpolation?.outputFrames ?? plan.media.frameCount };
}

export function writePaneInfo(jobDir: string, info: PaneInfo): void {
  writeFileSync(join(jobDir, PANE_INFO_FILE), JSON.stringify(info));
}

/** The first picture number of output frames [from, …). */
function firstPicture(info: PaneInfo, from: number): number {
  return Math.max(0, Math.ceil((from - info.offset) / info.every));
}

/** The largest size of the same shape within the box (at least 1×1): a picture's size. */
export function fitBox(width: number, height: number, box: { readonly width: number; readonly height: number }): { width: number; height: number } {
  const scale = Math.min(box.width / width, box.height / height);
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

/** The encoder's pictures: output frames k = from + n with k ≡ offset (mod every), from frames of `frame`'s size. */
export function outputSideImages(work: ProcessWork, range: { readonly from: number }, frame: { readonly width: number; readonly height: number }): SideImages[] {
  if (!work.options.previews || work.plan.preview) return [];
  const info = paneInfo(work);
  return [{
    kind: 'sequence',
    select: `gte(n+${range.from},${info.offset})*eq(mod(n+${range.from}-${info.offset},${info.every}),0)`,
    size: fitBox(frame.width, frame.height, work.options.previews),
    pattern: imagePattern(work.jobDir, 'out-%d.ppm'),
    start: firstPicture(info, range.from),
  }];
}

/**
 * The decoder's pictures: with a preview job's --compare, its source frame; with previews, the
 * source frame i = decodeStart + n of each picture's output frame: the first k ≡ offset (mod every)
 * with k ≥ i · num / den is a picture, and it is i's when floor(k · den / num) = i. Only frames of
 * the segment itself count (not its context), so the pictures match the encoder's one for one.
 */
export function sourceSideImages(work: ProcessWork, segment: Segment, range: { readonly from: number }): SideImages[] {
  const { plan } = work;
  if (plan.preview) {
    if (!plan.preview.compare) return [];
    return [{ kind: 'still', select: `eq(n,${previewSourceFrame(work) - segment.decodeStart})`, file: join(work.jobDir, PREVIEW_SOURCE_FILE) }];
  }
  if (!work.options.previews) return [];
  const info = paneInfo(work);
  const i = `(n+${segment.decodeStart})`;
  const { num: a, den: b } = info.ratio;
  const { every, offset } = info;
  const mine = `gte(${i},${segment.start})*lt(${i},${segment.end})`;
  const select = a === b && offset === 0
    ? `${mine}*eq(mod(${i},${every}),0)`
    : `${mine}*eq(floor((${every}*ceil((${i}*${a}-${offset * b})/${b * every})+${offset})*${b}/${a}),${i})`;
  return [{ kind: 'sequence', select, size: fitBox(plan.media.width, plan.media.height, work.options.previews), pattern: imagePattern(work.jobDir, 'src-%d.ppm'), start: firstPicture(info, range.from) }];
}

/** The source frame a preview's output frame comes from: itself, or with interpolation the frame before its time. */
export function previewSourceFrame(work: ProcessWork): number {
  const { plan } = work;
  const frame = plan.preview!.frame;
  return plan.interpolation ? sourcePosition(frame, plan.media.frameRate, plan.interpolation.outRate).index : frame;
}

/** An 8-bit RGB picture, row by row. */
export interface RgbPicture {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A binary PPM (`P6 w h 255`, as ffmpeg writes it); undefined for anything else or a short file. */
export function parsePpm(bytes: Uint8Array): RgbPicture | undefined {
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(Buffer.from(bytes.subarray(0, 32)).toString('latin1'));
  if (!header) return undefined;
  const width = Number(header[1]);
  const height = Number(header[2]);
  const offset = header[0].length;
  if (bytes.length !== offset + width * height * 3) return undefined;
  return { width, height, data: bytes.subarray(offset) };
}

export interface PanePair {
  /** The output frame shown, and the source frame it comes from. */
  readonly frame: number;
  readonly sourceFrame: number;
  readonly outputFrames: number;
  readonly source: RgbPicture;
  readonly output: RgbPicture;
}

async function listPictures(jobDir: string): Promise<{ src: Set<number>; out: Set<number> } | undefined> {
  let names: string[];
  try {
    names = await readdir(jobDir);
  } catch {
    return undefined;
  }
  const found = { src: new Set<number>(), out: new Set<number>() };
  for (const name of names) {
    const match = PANE_FILE.exec(name);
    if (match) found[match[1] as 'src' | 'out'].add(Number(match[2]));
  }
  return found;
}

/**
 * The newest picture pair of a running job (the encoder's newest picture and its source frame), or
 * undefined while there is none; older pictures are removed, so the folder holds a handful of small
 * files however long the job. `read: false` only removes them.
 */
export async function latestPanePair(jobDir: string, read = true): Promise<PanePair | undefined> {
  const found = await listPictures(jobDir);
  if (!found) return undefined;
  const both = [...found.out].filter((j) => found.src.has(j));
  if (both.length === 0) return undefined;
  const j = Math.max(...both);
  const older = (set: Set<number>) => [...set].filter((n) => n < j);
  await Promise.all([
    ...older(found.src).map((n) => unlink(join(jobDir, `src-${n}.ppm`)).catch(() => undefined)),
    ...older(found.out).map((n) => unlink(join(jobDir, `out-${n}.ppm`)).catch(() => undefined)),
  ]);
  if (!read) return undefined;
  try {
    const [info, source, output] = await Promise.all([
      readFile(join(jobDir, PANE_INFO_FILE), 'utf8').then((text) => JSON.parse(text) as PaneInfo),
      readFile(join(jobDir, `src-${j}.ppm`)).then(parsePpm),
      readFile(join(jobDir, `out-${j}.ppm`)).then(parsePpm),
    ]);
    if (!source || !output) return undefined;
    const frame = j * info.every + info.offset;
    return { frame, sourceFrame: Math.floor((frame * info.ratio.den) / info.ratio.num), outputFrames: info.outputFrames, source, output };
  } catch {
    // the job ended and its folder went while we read: nothing to show
    return undefined;
  }
}
