import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/cli/doctor.js';
import { usableEncoders } from '../../src/services/ffmpeg/encoders.js';
import { scratchDir } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { ffmpeg, frameMd5s, makeClip, videoStream } from '../helpers/media.js';
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

describe('doctor', () => {
  it('lists the encoders this ffmpeg has', async () => {
    const result = await cli(['doctor', '--json'], { UPFRAME_TMPDIR: join(dir, 'doctor-tmp') }).result;
    const report = JSON.parse(result.stdout) as { checks: Check[] };
    const encoders = report.checks.find((check) => check.name === 'encoders');
    expect(encoders).toMatchObject({ ok: true, required: false, data: { found: usableEncoders() } });
    expect(encoders?.detail).toMatch(/^libx264, /);
  });
});
