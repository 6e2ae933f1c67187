import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/cli/doctor.js';
import { usableEncoders } from '../../src/services/ffmpeg/encoders.js';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { decodeFrames, ffmpeg, frameMd5s, makeClip, psnr, videoStream } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 0.5, audio: true });
const model = nearestModel(dir, 2);

function tagOf(file: string): string {
  return execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_tag_string', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim();
}

describe('--codec, --encoder, --preset: segments in the output\'s codec, joined by copy', () => {
  for (const { name, flags, codec, pixFmt, ext } of [
    { name: 'h265 in mp4 (tagged hvc1)', flags: ['--codec', 'h265', '--preset', 'ultrafast', '--crf', '30'], codec: 'hevc', pixFmt: 'yuv420p', ext: 'mp4' },
    { name: 'vp9 in webm', flags: ['--preset', '8'], codec: 'vp9', pixFmt: 'yuv420p', ext: 'webm' },
    { name: 'ffv1 in mov', flags: ['--encoder', 'ffv1'], codec: 'ffv1', pixFmt: 'bgr0', ext: 'mov' },
  ]) {
    it(name, async () => {
      const output = join(dir, `${codec}.${ext}`);
      const result = await cli(['run', clip, '-o', output, ...flags, '--model', model, '--chunk', '5', '--temp-dir', tempRoot]).result;
      expect(result.stderr).not.toMatch(/upframe:/);
      expect(result.code).toBe(0);
      const video = videoStream(output);
      expect(video).toMatchObject({ codec_name: codec, width: 128, height: 96 });
      expect(execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=pix_fmt', '-of', 'csv=p=0', output], { encoding: 'utf8' }).trim()).toBe(pixFmt);
      expect(frameMd5s(output)).toHaveLength(12);
      if (codec === 'hevc') expect(tagOf(output)).toBe('hvc1');
    });
  }
});

function colourOf(file: string): Record<string, string> {
  const entries = 'pix_fmt,color_space,color_transfer,color_primaries,color_range';
  const out = execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', `stream=${entries}`, '-of', 'json', file], { encoding: 'utf8' });
  return (JSON.parse(out) as { streams: Record<string, string>[] }).streams[0];
}

/** Each source pixel as a 2×2 block: what the ×2 nearest model makes of a frame. */
function doubled(frame: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * 2 * height * 2 * 3);
  for (let y = 0; y < height * 2; y++) {
    for (let x = 0; x < width * 2; x++) out.set(frame.subarray(((y >> 1) * width + (x >> 1)) * 3, ((y >> 1) * width + (x >> 1)) * 3 + 3), (y * width * 2 + x) * 3);
  }
  return out;
}

describe('colour: a wide-gamut or HDR source keeps its colour', () => {
  // HDR10 as cameras and discs make it: 10-bit HEVC, BT.2020 primaries and matrix, the PQ curve. One
  // flat, saturated colour: a wrong matrix shifts it by 30 dB's worth, where edges' chroma would blur
  // the difference (testsrc2: 35 against 33 dB).
  const hdr = join(dir, 'hdr10.mp4');
  execFileSync(ffmpeg.ffmpeg, [
    '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=0xD02850:size=64x48:rate=24:duration=0.5',
    '-vf', 'scale=out_color_matrix=bt2020:out_range=tv,format=yuv420p10le', '-c:v', 'libx265', '-x265-params', 'log-level=error',
    '-colorspace', 'bt2020nc', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-color_range', 'tv', '-y', hdr,
  ]);
  const HDR10 = { color_space: 'bt2020nc', color_transfer: 'smpte2084', color_primaries: 'bt2020', color_range: 'tv' };

  /** The output's pictures against the source's, doubled, each decoded by its own tags: 45 dB when the encode's matrix is the one tagged, 30 when not. */
  function colourPsnr(output: string): number {
    const source = decodeFrames(hdr);
    const made = decodeFrames(output);
    expect(made.frames).toHaveLength(source.frames.length);
    return Math.min(...made.frames.map((frame, i) => psnr(frame, doubled(source.frames[i], source.width, source.height))));
  }

  it('HDR10 in, no codec named: 10-bit h265 tagged as the source, the same colours, and a notice saying so', async () => {
    const output = join(dir, 'hdr-out.mp4');
    const result = await cli(['run', hdr, '-o', output, '--model', model, '--chunk', '5', '--temp-dir', tempRoot, '--json']).result;
    expect(result.code).toBe(0);
    expect(colourOf(output)).toMatchObject({ pix_fmt: 'yuv420p10le', ...HDR10 });
    expect(videoStream(output).codec_name).toBe('hevc');
    expect(colourPsnr(output)).toBeGreaterThan(40);
    const notices = jsonEvents(result.stdout).filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices).toContain('HDR (PQ, BT.2020) source: written 10-bit h265, tagged bt2020/smpte2084 as the source is; the models see its picture as 8-bit RGB');
  });

  it('--codec h264 is kept: 10-bit H.264 tagged as the source; lossless FFV1 keeps the primaries and curve', async () => {
    const h264 = join(dir, 'hdr-h264.mkv');
    expect((await cli(['run', hdr, '-o', h264, '--codec', 'h264', '--model', model, '--temp-dir', tempRoot]).result).code).toBe(0);
    expect(videoStream(h264).codec_name).toBe('h264');
    expect(colourOf(h264)).toMatchObject({ pix_fmt: 'yuv420p10le', ...HDR10 });
    expect(colourPsnr(h264)).toBeGreaterThan(40);
    const lossless = join(dir, 'hdr-lossless.mkv');
    expect((await cli(['run', hdr, '-o', lossless, '--lossless', '--model', model, '--temp-dir', tempRoot]).result).code).toBe(0);
    expect(colourOf(lossless)).toMatchObject({ pix_fmt: 'bgr0', color_transfer: 'smpte2084', color_primaries: 'bt2020' });
    expect(colourPsnr(lossless)).toBe(Number.POSITIVE_INFINITY);
  });

  it('HDR10 metadata in the stream (mastering display, light levels) reaches the output, at every segment\'s start', async () => {
    const master = 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)';
    const withMetadata = join(dir, 'hdr10-metadata.mp4');
    execFileSync(ffmpeg.ffmpeg, [
      '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=24:duration=0.5',
      '-vf', 'scale=out_color_matrix=bt2020:out_range=tv,format=yuv420p10le', '-c:v', 'libx265',
      '-x265-params', `log-level=error:hdr-opt=1:repeat-headers=1:master-display=${master}:max-cll=1000,400`,
      '-colorspace', 'bt2020nc', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-color_range', 'tv', '-y', withMetadata,
    ]);
    /** The side data of frame n (HDR10's two kinds, as ffprobe prints them). */
    const sideData = (file: string, n: number) => execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', `%+#${n + 1}`, '-show_frames', '-show_entries', 'frame=side_data_list', '-of', 'json', file], { encoding: 'utf8' });
    const hdr10Of = (file: string, n: number) => ((JSON.parse(sideData(file, n)) as { frames: { side_data_list?: { side_data_type: string }[] }[] }).frames[n].side_data_list ?? [])
      .filter((s) => /Mastering display|Content light level/.test(s.side_data_type));
    expect(hdr10Of(withMetadata, 0)).toHaveLength(2);
    const output = join(dir, 'hdr10-metadata-out.mp4');
    const result = await cli(['run', withMetadata, '-o', output, '--model', model, '--chunk', '6', '--temp-dir', tempRoot, '--json']).result;
    expect(result.code, result.stderr).toBe(0);
    expect(hdr10Of(output, 0)).toEqual(hdr10Of(withMetadata, 0));
    // The second segment's first frame, a keyframe of its own encoder (x265 runs one encoder per segment or cuts at forced IDRs).
    expect(hdr10Of(output, 6)).toEqual(hdr10Of(withMetadata, 0));
    const notices = jsonEvents(result.stdout).filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices).toContain('HDR (PQ, BT.2020) source: written 10-bit h265, tagged bt2020/smpte2084 as the source is, with its HDR10 metadata; the models see its picture as 8-bit RGB');
  });

  it('an SDR source is written BT.709, 8-bit, as before', async () => {
    const output = join(dir, 'sdr.mp4');
    expect((await cli(['run', clip, '-o', output, '--model', model, '--temp-dir', tempRoot]).result).code).toBe(0);
    expect(colourOf(output)).toMatchObject({ pix_fmt: 'yuv420p', color_space: 'bt709', color_transfer: 'bt709', color_primaries: 'bt709', color_range: 'tv' });
    expect(videoStream(output).codec_name).toBe('h264');
  });
});

describe('non-square pixels (DVD, anamorphic HD) keep their shape', () => {
  // A 16:9 DVD's pixels: 720×480 stored, 32:27 wide each; here 72×48.
  const dvd = join(dir, 'dvd.mp4');
  execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=72x48:rate=25:duration=0.4', '-vf', 'setsar=32/27', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', dvd]);
  const shape = (file: string) => execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,sample_aspect_ratio,display_aspect_ratio', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim();

  for (const [name, flags] of [['out.mp4', []], ['out.webm', ['--preset', '8']], ['lossless.mkv', ['--lossless']], ['lossless.mp4', ['--lossless']]] as const) {
    it(`${name}${flags.length ? ` (${flags.join(' ')})` : ''}: 16:9 on screen, as the source`, async () => {
      expect(shape(dvd)).toBe('72,48,32:27,16:9');
      const output = join(dir, `dvd-${name}`);
      const result = await cli(['run', dvd, '-o', output, '--model', model, '--chunk', '5', '--temp-dir', tempRoot, ...flags]).result;
      expect(result.code, result.stderr).toBe(0);
      const [width, height, sar] = shape(output).split(',');
      expect([width, height]).toEqual(['144', '96']);
      // VP9 has no pixel shape of its own: Matroska's whole-pixel display width rounds it (171×96, 19:16).
      const [num, den] = sar.split(':').map(Number);
      expect((144 * num) / den / 96).toBeCloseTo(16 / 9, 1);
      if (!name.endsWith('webm')) expect(sar).toBe('32:27');
    });
  }
});

describe('doctor', () => {
  it('lists the encoders this ffmpeg has', async () => {
    const result = await cli(['doctor', '--json'], { UPFRAME_TMPDIR: join(dir, 'doctor-tmp') }).result;
    const report = JSON.parse(result.stdout) as { checks: Check[] };
    const encoders = report.checks.find((check) => check.name === 'encoders');
    expect(encoders).toMatchObject({ ok: true, required: false, data: { found: usableEncoders() } });
    expect(encoders?.detail).toMatch(/^libx264, /);
  });
});
