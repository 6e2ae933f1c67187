import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { doubledReference, ffmpeg, frameMd5s } from '../helpers/media.js';
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
    // Matroska may leave a packet's duration out (N/A: the first of AAC copied from Matroska).
    return { length: Math.max(...packets.map(([pts, duration]) => pts + (Number.isFinite(duration) ? duration : 0))) - Math.min(...starts), packets: packets.length };
  };
  const video = span('v:0');
  return { video: video.length, audio: span('a:0').length, frames: video.packets };
}

/** `upframe run --lossless --json` of `input` into `name`: its output's streams and its notices. */
async function losslessRun(input: string, name: string) {
  const output = join(dir, name);
  const result = await cli(['run', input, '-o', output, '--model', model, '--lossless', '--temp-dir', tempRoot, '--json']).result;
  expect(result.code, result.stderr).toBe(0);
  const notices = jsonEvents(result.stdout).filter((e) => e.type === 'notice').map((e) => String(e.message));
  return { output, made: durations(output), notices };
}

/** What a constant-rate run would be given: the source put on 30 fps by ffmpeg itself. */
const reference = () => doubledReference(dir, vfr, 'fps=fps=30');

describe('a variable-rate source keeps its timing', () => {
  it('is put on 30 fps with a notice: the picture as long as the sound, each slot the source frame of that moment', async () => {
    expect(durations(vfr)).toMatchObject({ frames: 100 });
    const { output, made, notices } = await losslessRun(vfr, 'out.mkv');
    expect(made.frames).toBe(120);
    expect(Math.abs(made.video - made.audio)).toBeLessThan(0.05);
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

  it('frames lost from a constant-rate stream, both rates unchanged, are filled so the sound stays in sync', async () => {
    // A dropout: 73 of 240 frames gone at 4.2 s, Matroska still saying 24 fps nominal and on average.
    const lost = join(dir, 'dropout.mkv');
    execFileSync(ffmpeg.ffmpeg, [
      '-nostdin', '-loglevel', 'error',
      '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=24:duration=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10',
      '-vf', "select='not(between(n\\,100\\,172))'", '-vsync', 'vfr', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', lost,
    ]);
    const rates = execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate,avg_frame_rate', '-of', 'csv=p=0', lost], { encoding: 'utf8' });
    expect(rates.trim()).toBe('24/1,24/1');
    expect(durations(lost).frames).toBe(167);
    const { output, made, notices } = await losslessRun(lost, 'dropout-out.mkv');
    expect(made.frames).toBe(240);
    expect(Math.abs(made.video - made.audio)).toBeLessThan(0.05);
    expect(notices).toContain("73 frames missing from a constant 24 fps stream (a dropout or damage): the frame before each gap is repeated over it, 240 frames, so the picture keeps the source's timing and its sync with the audio");
    // Each slot the source frame of that moment, the last before the gap held over it: as ffmpeg's own fps filter puts it.
    const frames = frameMd5s(output);
    expect(frames).toEqual(doubledReference(dir, lost, 'fps=fps=24').slice(0, 240));
    expect(new Set(frames.slice(101, 172)).size).toBe(1);
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

describe('a picture that starts after its sound starts as late in the output', () => {
  /** Each stream's first timestamp, by type. */
  const starts = (file: string) => Object.fromEntries(
    execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_type,start_time', '-of', 'csv=p=0', file], { encoding: 'utf8' })
      .trim().split('\n').map((line) => line.split(',')).map(([type, start]) => [type, Number(start)]),
  ) as { video: number; audio: number };

  // The same clip twice: once as made, once with its picture 0.6 s late (a recorder that started the
  // sound first), and once with its sound 0.5 s late.
  const base = join(dir, 'base.mp4');
  execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=duration=3', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', base]);
  const shifted = (name: string, video: number, audio: number) => {
    const file = join(dir, name);
    execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-itsoffset', String(video), '-i', base, '-itsoffset', String(audio), '-i', base, '-map', '0:v', '-map', '1:a', '-c', 'copy', '-y', file]);
    return file;
  };

  for (const [name, video, audio] of [['picture-late.mp4', 0.6, 0], ['sound-late.mp4', 0, 0.5]] as const) {
    for (const extension of ['mp4', 'mkv']) {
      it(`${name} → .${extension}, in chunks: the picture starts ${video > audio ? 'after' : 'before'} the sound by as much as in the source`, async () => {
        const input = shifted(name, video, audio);
        const source = starts(input);
        expect(source.video - source.audio).toBeCloseTo(video - audio, 1);
        const output = join(dir, `${name}.${extension}`);
        const result = await cli(['run', input, '-o', output, '--model', model, '--chunk', '7', '--temp-dir', tempRoot]).result;
        expect(result.code, result.stderr).toBe(0);
        const made = starts(output);
        // Within AAC's priming (about 23 ms, which Matroska shows and mp4 hides).
        expect(Math.abs(made.video - made.audio - (source.video - source.audio))).toBeLessThan(0.03);
      });
    }
  }
});

describe('a broadcast capture (MPEG-TS) through the npm-shipped static builds', () => {
  it('is read, in chunks that seek, frame for frame as ffmpeg decodes it, its sound in sync', async () => {
    // Their ffprobe crashed (SIGSEGV) on every MPEG-TS file: its iconv loaded this system's charset modules.
    const require = createRequire(import.meta.url);
    const shipped = (pkg: string, name: string) => join(dirname(require.resolve(`${pkg}/package.json`)), name);
    const capture = join(dir, 'capture.ts');
    execFileSync(ffmpeg.ffmpeg, [
      '-nostdin', '-loglevel', 'error',
      '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25:duration=4', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=4',
      '-c:v', 'libx264', '-g', '10', '-pix_fmt', 'yuv420p', '-c:a', 'mp2', '-f', 'mpegts', '-y', capture,
    ]);
    const output = join(dir, 'capture.mkv');
    const env = { UPFRAME_FFMPEG: shipped('@ffmpeg-installer/linux-x64', 'ffmpeg'), UPFRAME_FFPROBE: shipped('@ffprobe-installer/linux-x64', 'ffprobe') };
    const result = await cli(['run', capture, '-o', output, '--model', model, '--lossless', '--chunk', '30', '--temp-dir', tempRoot], env).result;
    expect(result.code, result.stderr).toBe(0);
    expect(frameMd5s(output)).toEqual(doubledReference(dir, capture, 'null'));
    const made = durations(output);
    expect(made.frames).toBe(100);
    expect(Math.abs(made.video - made.audio)).toBeLessThan(0.05);
  });
});
