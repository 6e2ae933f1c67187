import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { availableEncoders, encoderArgs, parseEncoders, resolveEncoding, usableEncoders, VAAPI_DEVICE } from '../../src/services/ffmpeg/encoders.js';
import { segmentArgs } from '../../src/services/ffmpeg/args.js';

/** An ffmpeg with every encoder upframe drives, and one with only the software ones of a 2018 build. */
const everything = new Set(['libx264', 'libx264rgb', 'libx265', 'libvpx-vp9', 'libsvtav1', 'libaom-av1', 'ffv1', 'h264_nvenc', 'hevc_nvenc', 'av1_nvenc']);
const older = new Set(['libx264', 'libx264rgb', 'libx265', 'libvpx-vp9', 'libaom-av1', 'ffv1']);

describe('encoder choice', () => {
  it('reads the video encoders from this ffmpeg\'s own list', () => {
    const found = availableEncoders();
    expect(found.has('ffv1')).toBe(true);
    expect(found.has('libx264')).toBe(true);
    // Audio encoders are not video ones.
    expect(found.has('aac')).toBe(false);
    expect(parseEncoders(' V..... libx264              libx264 H.264\n A..... aac   AAC\n VF.... utvideo   Ut Video\n')).toEqual(new Set(['libx264', 'utvideo']));
    expect(usableEncoders(older)).toEqual(['libx264', 'libx265', 'libvpx-vp9', 'libaom-av1', 'ffv1']);
  });

  it('defaults: the container\'s usual codec, as before (x264 crf 18 medium; vp9 crf 30 in webm)', () => {
    expect(resolveEncoding({}, 'mp4', everything)).toEqual({ codec: 'h264', encoder: 'libx264', lossless: false, quality: 18, preset: 'medium' });
    expect(resolveEncoding({}, 'mkv', everything).encoder).toBe('libx264');
    expect(resolveEncoding({}, 'webm', everything)).toEqual({ codec: 'vp9', encoder: 'libvpx-vp9', lossless: false, quality: 30, preset: '4' });
  });

  it('a codec picks the first encoder this ffmpeg has: SVT-AV1, else libaom', () => {
    expect(resolveEncoding({ codec: 'av1' }, 'mkv', everything).encoder).toBe('libsvtav1');
    expect(resolveEncoding({ codec: 'av1' }, 'mkv', older).encoder).toBe('libaom-av1');
    expect(resolveEncoding({ encoder: 'hevc_nvenc', crf: 28, preset: 'p5' }, 'mp4', everything)).toEqual({ codec: 'h265', encoder: 'hevc_nvenc', lossless: false, quality: 28, preset: 'p5' });
    expect(() => resolveEncoding({ encoder: 'hevc_nvenc' }, 'mp4', older)).toThrow('--encoder hevc_nvenc is not one this ffmpeg has');
  });

  it('inference on an NVIDIA GPU whose NVENC opened: a lossy encode with no encoder named goes to NVENC', () => {
    const opened = ['h264_nvenc', 'hevc_nvenc'];
    expect(resolveEncoding({}, 'mp4', everything, undefined, opened)).toEqual({ codec: 'h264', encoder: 'h264_nvenc', lossless: false, quality: 23, preset: undefined });
    expect(resolveEncoding({ codec: 'h265', preset: 'p6', crf: 30 }, 'mkv', everything, undefined, opened)).toMatchObject({ encoder: 'hevc_nvenc', preset: 'p6', quality: 30 });
    // What keeps the CPU encoder: one named, lossless, a codec NVENC does not make or one that did not open, a preset only x264 knows.
    expect(resolveEncoding({ encoder: 'libx264' }, 'mp4', everything, undefined, opened).encoder).toBe('libx264');
    expect(resolveEncoding({ lossless: true }, 'mp4', everything, undefined, opened).encoder).toBe('libx264');
    expect(resolveEncoding({}, 'webm', everything, undefined, opened).encoder).toBe('libvpx-vp9');
    expect(resolveEncoding({ codec: 'av1' }, 'mkv', everything, undefined, opened).encoder).toBe('libsvtav1');
    expect(resolveEncoding({ preset: 'veryfast' }, 'mp4', everything, undefined, opened)).toMatchObject({ encoder: 'libx264', preset: 'veryfast' });
    // Listed by ffmpeg is not enough: without a device that opened it, the CPU encoder.
    expect(resolveEncoding({}, 'mp4', everything).encoder).toBe('libx264');
  });

  it('VAAPI: only by --encoder, only with a render node; frames converted to NV12 and uploaded, constant QP', () => {
    const withVaapi = new Set([...everything, 'h264_vaapi', 'hevc_vaapi']);
    // Never chosen for a codec on its own.
    expect(resolveEncoding({ codec: 'h265' }, 'mkv', withVaapi).encoder).toBe('libx265');
    if (existsSync(VAAPI_DEVICE)) {
      expect(resolveEncoding({ encoder: 'h264_vaapi' }, 'mp4', withVaapi)).toEqual({ codec: 'h264', encoder: 'h264_vaapi', lossless: false, quality: 25, preset: undefined });
    } else {
      expect(() => resolveEncoding({ encoder: 'h264_vaapi' }, 'mp4', withVaapi)).toThrow(`--encoder h264_vaapi needs a VAAPI render node (${VAAPI_DEVICE}), and this machine has none`);
    }
    const encoding = { codec: 'h265', encoder: 'hevc_vaapi', lossless: false, quality: 27 } as const;
    const args = segmentArgs({ width: 64, height: 48, rate: { num: 24, den: 1 } }, '/tmp/s.nut', undefined, { kind: 'final', container: 'mkv', encoding });
    expect(args.indexOf('-vaapi_device')).toBeLessThan(args.indexOf('-i'));
    expect(args[args.indexOf('-vaapi_device') + 1]).toBe(VAAPI_DEVICE);
    expect(args[args.indexOf('-vf') + 1]).toBe('scale=out_color_matrix=bt709:out_range=tv,format=nv12,hwupload');
    expect(args.join(' ')).toContain('-c:v hevc_vaapi -qp 27');
    // The CPU encoders upload nothing.
    const x264 = segmentArgs({ width: 64, height: 48, rate: { num: 24, den: 1 } }, '/tmp/s.nut', undefined, { kind: 'final', container: 'mkv', encoding: resolveEncoding({}, 'mkv', everything) });
    expect(x264).not.toContain('-vaapi_device');
  });

  it('--lossless: FFV1 (RGB) in mkv, x264 -qp 0 (RGB) in mp4 and mov; the pixels are the hosts\' RGB', () => {
    const mkv = resolveEncoding({ lossless: true }, 'mkv', older);
    expect(mkv).toMatchObject({ codec: 'ffv1', lossless: true, quality: undefined });
    expect(encoderArgs(mkv)).toEqual(['-c:v', 'ffv1', '-level', '3', '-pix_fmt', 'bgr0']);
    const mp4 = resolveEncoding({ lossless: true }, 'mp4', older);
    expect(mp4).toMatchObject({ codec: 'h264', encoder: 'libx264', lossless: true });
    expect(encoderArgs(mp4)).toEqual(expect.arrayContaining(['libx264rgb', '-qp', '0', 'rgb24']));
    expect(resolveEncoding({ lossless: true, codec: 'ffv1' }, 'mov', older).codec).toBe('ffv1');
    expect(() => resolveEncoding({ lossless: true }, 'mp4', new Set(['libx264', 'ffv1']))).toThrow('needs libx264rgb');
  });

  it('x265 closes its GOPs; x264 segments are stitchable', () => {
    expect(encoderArgs(resolveEncoding({ codec: 'h265' }, 'mkv', older))).toEqual(expect.arrayContaining(['-x265-params', 'open-gop=0:log-level=error']));
    expect(encoderArgs(resolveEncoding({}, 'mkv', older))).toEqual(expect.arrayContaining(['-x264-params', 'stitchable=1']));
  });
});
