import type { Colour, Hdr10 } from '../../domain.js';

/**
 * How the output's colour is written when it is not upframe's default (BT.709, 8-bit): for a wide-
 * gamut or HDR source. The hosts see rgb24 decoded with the source's own matrix, so the numbers are
 * the source's RGB, in its primaries and on its transfer curve; the encode converts them back with
 * the same matrix and tags them as the source was. Tagged BT.709 instead (as before), a PQ or HLG
 * picture plays washed out.
 */
export interface WideColour {
  /** swscale's `out_color_matrix` for the RGB → YUV conversion. */
  readonly matrix: 'bt2020';
  readonly primaries: string;
  readonly transfer: string;
  /** A PQ source's HDR10 static metadata, carried to x265 (players tone-map by it). */
  readonly hdr10?: Hdr10;
  /** For the notice: `HDR (PQ, BT.2020)`. */
  readonly label: string;
}

const HDR_TRANSFERS: Readonly<Record<string, string>> = { smpte2084: 'PQ', 'arib-std-b67': 'HLG' };

/** ffprobe's side data of a frame or stream (`-show_entries frame=side_data_list`), the two HDR10 kinds. */
interface SideData {
  readonly side_data_type?: string;
  readonly [key: string]: unknown;
}

function fraction(text: unknown): number {
  const [num, den = '1'] = String(text).split('/');
  return Number(num) / Number(den);
}

/** HDR10 static metadata from ffprobe's side data (frame or stream), or undefined when it has none. */
export function parseHdr10(sideData: readonly SideData[] | undefined): Hdr10 | undefined {
  const display = sideData?.find((s) => s.side_data_type === 'Mastering display metadata' && s.red_x !== undefined);
  const light = sideData?.find((s) => s.side_data_type === 'Content light level metadata');
  const xy = (name: string) => `(${Math.round(fraction(display![`${name}_x`]) * 50000)},${Math.round(fraction(display![`${name}_y`]) * 50000)})`;
  const masterDisplay = display
    ? `G${xy('green')}B${xy('blue')}R${xy('red')}WP${xy('white_point')}L(${Math.round(fraction(display.max_luminance) * 10000)},${Math.round(fraction(display.min_luminance) * 10000)})`
    : undefined;
  const maxCll = light ? `${Number(light.max_content)},${Number(light.max_average)}` : undefined;
  if (!masterDisplay && !maxCll) return undefined;
  return { ...(masterDisplay ? { masterDisplay } : {}), ...(maxCll ? { maxCll } : {}) };
}

/** x265's parameters for HDR10: the metadata's SEI with every keyframe, as each segment starts on one. */
export function hdr10Params(hdr10: Hdr10 | undefined): string[] {
  if (!hdr10) return [];
  return ['hdr-opt=1', 'repeat-headers=1', ...(hdr10.masterDisplay ? [`master-display=${hdr10.masterDisplay}`] : []), ...(hdr10.maxCll ? [`max-cll=${hdr10.maxCll}`] : [])];
}

/** The output's colour for a source: undefined for upframe's default, BT.709 (every SDR source, BT.601 ones converted). */
export function wideColour(source: Colour | undefined): WideColour | undefined {
  const hdr = source?.transfer ? HDR_TRANSFERS[source.transfer] : undefined;
  const bt2020 = source?.primaries === 'bt2020' || source?.matrix?.startsWith('bt2020') === true;
  if (!hdr && !bt2020) return undefined;
  return {
    matrix: 'bt2020',
    primaries: source?.primaries ?? 'bt2020',
    // An untagged curve on a BT.2020 source: BT.2020's own SDR curve (the same as BT.709's).
    transfer: source?.transfer ?? 'bt2020-10',
    ...(source?.hdr10 && source.transfer === 'smpte2084' ? { hdr10: source.hdr10 } : {}),
    label: `${hdr ? `HDR (${hdr}, ` : 'wide gamut ('}BT.2020)`,
  };
}

/** The output's tags for a YUV encode; a lossless RGB one keeps the primaries and curve only. */
export function colourTags(wide: WideColour | undefined, rgb: boolean): string[] {
  if (!wide) return rgb ? [] : ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'];
  const curve = ['-color_primaries', wide.primaries, '-color_trc', wide.transfer];
  return rgb ? curve : ['-colorspace', 'bt2020nc', ...curve, '-color_range', 'tv'];
}

/** 10-bit 4:2:0 formats, in the order they are preferred: software encoders take the planar one, NVENC P010. */
const DEEP_FORMATS = ['yuv420p10le', 'p010le'];

/**
 * The pixel format a lossy YUV encode gets: 10-bit for a wide or HDR source where the encoder takes
 * it (a PQ or HLG curve bands visibly at 8 bits; BT.2020 is a 10-bit format), else 8-bit.
 */
export function yuvFormat(wide: WideColour | undefined, accepts: readonly string[]): string {
  return (wide && DEEP_FORMATS.find((format) => accepts.includes(format))) ?? 'yuv420p';
}

/** The formats in `ffmpeg -h encoder=NAME`'s `Supported pixel formats:` line (none when it has no such line). */
export function parsePixelFormats(text: string): string[] {
  return /Supported pixel formats:([^\n]*)/.exec(text)?.[1].trim().split(/\s+/).filter(Boolean) ?? [];
}
