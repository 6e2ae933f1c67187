import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { ffmpeg, frameMd5s } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const model = nearestModel(dir, 2);

/**
 * A phone-like variable-rate file with its audio: 30 fps nominal, but in its first 2 s only 20 of
 * each 30 frames were kept (gaps), then every frame; 4 s of sound. 100 frames where a constant
 * 30 fps would have 120.
 */
const vfr = join(dir, 'vfr.mp4');
execFileSync(ffmpeg.ffmpeg, [
  '-nostdin', '-loglevel', 'error',
  '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=30:duration=4', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=4',
  '-vf', "select='lt(mod(n\\,30)\\,20)+gt(t\\,2)'", '-vsync', 'vfr', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', vfr,
]);

/** Each stream's length from its packets (last end less first start) and the video's frame count: the same for mp4 and Matroska. */
function durations(file: string): { video: number; audio: number; frames: number } {
  const span = (stream: string) => {
    const csv = execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    const packets = csv.trim().split('\n').map((line) => line.split(',').map(Number));
    const starts = packets.map(([pts]) => pts);
    return { length: Math.max(...packets.map(([pts, duration]) => pts + duration)) - Math.min(...starts), packets: packets.length };
  };
  const video = span('v:0');
  return { video: video.length, audio: span('a:0').length, frames: video.packets };
}

/** What a constant-rate run would be given: the source decoded onto 30 fps by ffmpeg itself, each pixel doubled as the model does. */
function reference(): string[] {
  const file = join(dir, 'reference.mkv');
  execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-i', vfr, '-map', '0:v', '-vf', 'fps=fps=30,format=rgb24,scale=iw*2:ih*2:flags=neighbor', '-c:v', 'ffv1', '-pix_fmt', 'bgr0', '-y', file]);
  return frameMd5s(file);
}

describe('a variable-rate source keeps its timing', () => {
  it('is put on 30 fps with a notice: the picture as long as the sound, each slot the source frame of that moment', async () => {
    expect(durations(vfr)).toMatchObject({ frames: 100 });
    const output = join(dir, 'out.mkv');
    const result = await cli(['run', vfr, '-o', output, '--model', model, '--lossless', '--temp-dir', tempRoot, '--json']).result;
    expect(result.code).toBe(0);
    const made = durations(output);
    expect(made.frames).toBe(120);
    expect(Math.abs(made.video - made.audio)).toBeLessThan(0.05);
    const notices = jsonEvents(result.stdout).filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices).toContain("variable frame rate (100 frames, 25 fps on average): put on a constant 30 fps, 120 frames (repeated over gaps, dropped where two share a slot), so the picture keeps the source's timing and its sync with the audio");
    const frames = frameMd5s(output);
    expect(frames).toEqual(reference().slice(0, 120));
  });

  it('chunks and scenes give the frames of a whole run: decoders and scene detection count the same grid', async () => {
    const whole = frameMd5s(join(dir, 'out.mkv'));
    for (const [name, flags] of [['chunks', ['--chunk', '7']], ['scenes', ['--scenes', '--scene-threshold', '0.05']]] as const) {
      const output = join(dir, `${name}.mkv`);
      const result = await cli(['run', vfr, '-o', output, '--model', model, '--lossless', '--temp-dir', tempRoot, ...flags]).result;
      expect(result.code, result.stderr).toBe(0);
      expect(frameMd5s(output)).toEqual(whole);
    }
  });

  it('a constant-rate file is left as it is: no notice, one frame out per frame in', async () => {
    const cfr = join(dir, 'cfr.mp4');
    execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=30:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', cfr]);
    const output = join(dir, 'cfr-out.mkv');
    const result = await cli(['run', cfr, '-o', output, '--model', model, '--temp-dir', tempRoot, '--json']).result;
    expect(result.code).toBe(0);
    expect(jsonEvents(result.stdout).filter((e) => e.type === 'notice' && String(e.message).startsWith('variable'))).toEqual([]);
    expect(frameMd5s(output)).toHaveLength(30);
  });
});
