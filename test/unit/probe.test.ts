import { describe, expect, it } from 'vitest';
import { readProbe } from '../../src/services/ffmpeg/probe.js';

const parseProbe = (json: string, file: string) => readProbe(json, file).media;

/** ffprobe's JSON for one video stream, as `probeArgs` asks for it. */
function probed(stream: Record<string, unknown>): string {
  return JSON.stringify({
    streams: [{ codec_type: 'video', codec_name: 'h264', width: 720, height: 480, pix_fmt: 'yuv420p', r_frame_rate: '30000/1001', avg_frame_rate: '30000/1001', nb_read_packets: '10', ...stream }],
    format: { format_name: 'mov,mp4', duration: '0.33' },
  });
}

describe('what the probe reads of a video stream', () => {
  it('a pixel shape other than square, turned with the picture; square and unknown ones left out', () => {
    expect(parseProbe(probed({ sample_aspect_ratio: '32:27' }), 'in.mp4').sampleAspect).toEqual({ num: 32, den: 27 });
    expect(parseProbe(probed({ sample_aspect_ratio: '32:27', side_data_list: [{ rotation: -90 }] }), 'in.mp4')).toMatchObject({ width: 480, height: 720, sampleAspect: { num: 27, den: 32 } });
    for (const sar of ['1:1', '0:1', undefined]) expect(parseProbe(probed({ sample_aspect_ratio: sar }), 'in.mp4').sampleAspect).toBeUndefined();
  });

  it('interlacing from the field order, the colour description without ffprobe\'s unknowns, and the average rate', () => {
    const media = parseProbe(probed({ field_order: 'bb', color_primaries: 'bt2020', color_transfer: 'arib-std-b67', color_space: 'unknown', avg_frame_rate: '1798/60' }), 'in.mp4');
    expect(media.interlaced).toEqual({ fieldOrder: 'bb' });
    expect(media.colour).toEqual({ primaries: 'bt2020', transfer: 'arib-std-b67' });
    expect(media.averageRate).toEqual({ num: 1798, den: 60 });
    for (const order of ['progressive', 'unknown', undefined]) expect(parseProbe(probed({ field_order: order }), 'in.mp4').interlaced).toBeUndefined();
  });

  it('how long after the file\'s start the picture starts, only where it is later', () => {
    const withStarts = (video: string, file: string) => JSON.stringify({ ...JSON.parse(probed({ start_time: video })), format: { format_name: 'mpegts', start_time: file } });
    expect(parseProbe(withStarts('1.480000', '1.400000'), 'in.ts').pictureDelay).toBeCloseTo(0.08, 6);
    expect(parseProbe(withStarts('1.400000', '1.400000'), 'in.ts').pictureDelay).toBeUndefined();
    expect(parseProbe(withStarts('0.000000', '-0.021333'), 'in.mp4').pictureDelay).toBeCloseTo(0.021333, 6);
  });

  it('of several video streams, the largest picture; a cover picture never, wherever it is stored', () => {
    const file = (...streams: Record<string, unknown>[]) =>
      JSON.stringify({ streams: streams.map((s, index) => ({ index, codec_type: 'video', r_frame_rate: '24/1', nb_read_packets: '24', ...s })), format: { format_name: 'matroska,webm' } });
    const still = { codec_name: 'mjpeg', width: 600, height: 600, nb_read_packets: '1' };
    const film = { codec_name: 'h264', width: 1920, height: 1080 };
    const cover = { codec_name: 'png', width: 3000, height: 3000, disposition: { attached_pic: 1 } };
    expect(parseProbe(file(still, film), 'in.mkv')).toMatchObject({ videoStream: 1, width: 1920, frameCount: 24 });
    expect(readProbe(file(still, film), 'in.mkv').videoChoice).toBe('2 video streams: stream 1 (1920×1080 h264), the largest, is processed; stream 0 (600×600 mjpeg) is left out of the output');
    expect(parseProbe(file(cover, film), 'in.mkv')).toMatchObject({ videoStream: 1, width: 1920 });
    expect(readProbe(file(cover, film), 'in.mkv').videoChoice).toBeUndefined();
    // Equals: the first, as ffmpeg's own choice.
    expect(parseProbe(file({ ...film, codec_name: 'hevc' }, film, still), 'in.mkv')).toMatchObject({ videoStream: 0, width: 1920 });
    expect(readProbe(file(film, film, still), 'in.mkv').videoChoice).toMatch(/^3 video streams: stream 0 .* stream 1 \(1920×1080 h264\), stream 2 \(600×600 mjpeg\) are left out/);
  });

  it('the cover pictures (JPEG or PNG, attached_pic) by index, with Matroska\'s name for them, and the other attachments counted', () => {
    const json = JSON.stringify({
      streams: [
        { index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 48, r_frame_rate: '24/1', nb_read_packets: '24' },
        { index: 1, codec_type: 'attachment', codec_name: 'ttf' },
        { index: 2, codec_type: 'video', codec_name: 'mjpeg', width: 600, height: 900, disposition: { attached_pic: 1 }, tags: { filename: 'poster.jpg' } },
        { index: 3, codec_type: 'video', codec_name: 'bmp', width: 32, height: 32, disposition: { attached_pic: 1 } },
      ],
      format: { format_name: 'matroska,webm' },
    });
    expect(parseProbe(json, 'in.mkv')).toMatchObject({ videoStream: 0, covers: [{ index: 2, codec: 'mjpeg', filename: 'poster.jpg' }], attachments: 1 });
    expect(parseProbe(probed({}), 'in.mp4')).not.toHaveProperty('covers');
  });
});

