import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { colourTags, hdr10Params, parseHdr10, parsePixelFormats, wideColour, yuvFormat } from '../../src/services/ffmpeg/colour.js';
import { ffmpeg } from '../helpers/media.js';

describe('the output colour a source gets', () => {
  it('SDR sources keep the BT.709 default, BT.601 and untagged ones included', () => {
    for (const source of [undefined, {}, { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709' }, { primaries: 'smpte170m', transfer: 'smpte170m', matrix: 'smpte170m' }, { matrix: 'bt470bg' }]) {
      expect(wideColour(source)).toBeUndefined();
    }
    expect(colourTags(undefined, false)).toEqual(['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv']);
    expect(colourTags(undefined, true)).toEqual([]);
  });

  it('PQ and HLG sources keep their primaries and curve, BT.2020 matrix, 10-bit', () => {
    const pq = wideColour({ primaries: 'bt2020', transfer: 'smpte2084', matrix: 'bt2020nc', range: 'tv' });
    expect(pq).toEqual({ matrix: 'bt2020', primaries: 'bt2020', transfer: 'smpte2084', label: 'HDR (PQ, BT.2020)' });
    expect(colourTags(pq, false)).toEqual(['-colorspace', 'bt2020nc', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-color_range', 'tv']);
    expect(colourTags(pq, true)).toEqual(['-color_primaries', 'bt2020', '-color_trc', 'smpte2084']);
    expect(wideColour({ transfer: 'arib-std-b67' })).toMatchObject({ primaries: 'bt2020', transfer: 'arib-std-b67', label: 'HDR (HLG, BT.2020)' });
  });

  it('a BT.2020 SDR source keeps its gamut, on BT.2020\'s curve when the curve is untagged', () => {
    expect(wideColour({ matrix: 'bt2020nc' })).toMatchObject({ primaries: 'bt2020', transfer: 'bt2020-10', label: 'wide gamut (BT.2020)' });
    expect(wideColour({ primaries: 'bt2020', transfer: 'bt2020-10' })).toMatchObject({ transfer: 'bt2020-10' });
  });

  it('10-bit where the encoder takes it (this ffmpeg\'s own lists), 8-bit otherwise', () => {
    const pq = wideColour({ transfer: 'smpte2084' });
    const listed = (encoder: string) => parsePixelFormats(execFileSync(ffmpeg.ffmpeg, ['-hide_banner', '-h', `encoder=${encoder}`], { encoding: 'utf8' }));
    const x265 = listed('libx265');
    expect(x265).toContain('yuv420p');
    expect(yuvFormat(pq, x265)).toBe('yuv420p10le');
    expect(yuvFormat(undefined, x265)).toBe('yuv420p');
    expect(yuvFormat(pq, ['yuv420p', 'nv12', 'p010le'])).toBe('p010le');
    expect(yuvFormat(pq, ['yuv420p'])).toBe('yuv420p');
    expect(parsePixelFormats('Encoder x [y]:\n    General capabilities: none\n')).toEqual([]);
  });

  it('HDR10 metadata from ffprobe\'s side data, in x265\'s units, kept for a PQ source only', () => {
    // As ffprobe prints HDR10's usual P3-D65 1000-nit mastering display.
    const sideData = [
      { side_data_type: 'Mastering display metadata', red_x: '34000/50000', red_y: '16000/50000', green_x: '13250/50000', green_y: '34500/50000', blue_x: '7500/50000', blue_y: '3000/50000', white_point_x: '15635/50000', white_point_y: '16450/50000', min_luminance: '50/10000', max_luminance: '10000000/10000' },
      { side_data_type: 'Content light level metadata', max_content: 1000, max_average: 400 },
    ];
    const hdr10 = parseHdr10(sideData);
    expect(hdr10).toEqual({ masterDisplay: 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)', maxCll: '1000,400' });
    expect(parseHdr10([{ side_data_type: 'Display Matrix', rotation: 90 }])).toBeUndefined();
    expect(hdr10Params(hdr10)).toEqual(['hdr-opt=1', 'repeat-headers=1', 'master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)', 'max-cll=1000,400']);
    expect(hdr10Params(undefined)).toEqual([]);
    expect(wideColour({ primaries: 'bt2020', transfer: 'smpte2084', hdr10 })?.hdr10).toEqual(hdr10);
    expect(wideColour({ primaries: 'bt2020', transfer: 'arib-std-b67', hdr10 })?.hdr10).toBeUndefined();
  });
});
