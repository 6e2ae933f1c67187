import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { doubledReference, ffmpeg, frameMd5s } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const model = nearestModel(dir, 2);

/** 1080i as broadcast makes it, small: 50 moving fields a second woven into 25 frames, coded interlaced, top field first. */
const interlaced = join(dir, 'interlaced.mp4');
execFileSync(ffmpeg.ffmpeg, [
  '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=50:duration=2',
  '-vf', 'tinterlace=mode=interleave_top,setfield=tff', '-c:v', 'libx264', '-flags', '+ildct+ilme', '-x264-params', 'tff=1', '-pix_fmt', 'yuv420p', '-y', interlaced,
]);

function fieldOrder(file: string): string {
  return execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=field_order', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim();
}

/** ffmpeg's own bwdif over the source: the frames a user should get. */
const reference = () => doubledReference(dir, interlaced, 'bwdif=mode=send_frame:parity=auto:deint=all');

describe('an interlaced source is deinterlaced', () => {
  it('frame for frame as it is decoded, with a notice; the output is progressive', async () => {
    expect(fieldOrder(interlaced)).toBe('tt');
    const output = join(dir, 'out.mkv');
    const result = await cli(['run', interlaced, '-o', output, '--model', model, '--lossless', '--temp-dir', tempRoot, '--json']).result;
    expect(result.code).toBe(0);
    const notices = jsonEvents(result.stdout).filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices).toContain('interlaced source (fields top first): deinterlaced as it is decoded (bwdif, one frame per frame), written progressive');
    expect(frameMd5s(output)).toEqual(reference());
    const lossy = join(dir, 'out.mp4');
    expect((await cli(['run', interlaced, '-o', lossy, '--model', model, '--temp-dir', tempRoot]).result).code).toBe(0);
    expect(fieldOrder(lossy)).toBe('progressive');
  });

  it('segments whose decoders seek give the frames of a whole run: each starts a frame early for its first frame\'s neighbour', async () => {
    // Interpolated chunks each decode from their own first frame, seeking there (context windows
    // and runs of chunks would hide it: their first decoded frame is context, or frame 0).
    const flags = ['--lossless', '--interpolate', '2', '--scale', '1', '--temp-dir', tempRoot];
    const whole = join(dir, 'interpolated.mkv');
    const chunked = join(dir, 'interpolated-chunks.mkv');
    expect((await cli(['run', interlaced, '-o', whole, ...flags]).result).code).toBe(0);
    const result = await cli(['run', interlaced, '-o', chunked, '--chunk', '10', ...flags]).result;
    expect(result.code, result.stderr).toBe(0);
    expect(frameMd5s(chunked)).toEqual(frameMd5s(whole));
  });
});
