import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invariantViolations, options, scratchDir, startRun } from '../helpers/app.js';
import { doubledReference, ffmpeg, frameMd5s, makeClip, probeStreams, videoStream } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const model = nearestModel(dir, 2);

/** The clip with a file attached, as Matroska carries the fonts of its ASS subtitles. */
function withAttachment(clip: string, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, 'not really a font');
  const attached = clip.replace(/\.mkv$/, '.attached.mkv');
  execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', clip, '-map', '0', '-c', 'copy', '-attach', file, '-metadata:s:t', 'mimetype=application/x-truetype-font', '-y', attached]);
  return attached;
}

function attachmentNames(file: string): string[] {
  const out = execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 't', '-show_entries', 'stream_tags=filename', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

async function upscale(input: string, output: string, extra: Parameters<typeof options>[1] = {}) {
  const run = startRun([{ input, output }], options(tempRoot, { model, ...extra }));
  const result = await run.ended;
  expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  const notices = run.actor.getSnapshot().context.items[0].notices ?? [];
  run.actor.stop();
  return { ...result.items[0], notices };
}

describe('upscale pipeline (real ffmpeg, real onnxruntime)', () => {
  it('keeps frame count, frame rate and audio, and doubles the size (mp4)', async () => {
    const input = makeClip(dir, 'a.mp4', { size: '64x48', seconds: 1, rate: '30000/1001', audio: true });
    const output = join(dir, 'a.out.mp4');
    const item = await upscale(input, output);
    expect(item.status).toBe('done');
    const streams = probeStreams(output);
    const video = streams.find((s) => s.codec_type === 'video')!;
    const source = videoStream(input);
    expect([video.width, video.height]).toEqual([128, 96]);
    expect(video.nb_read_frames).toBe(source.nb_read_frames);
    expect(video.r_frame_rate).toBe('30000/1001');
    expect(streams.some((s) => s.codec_type === 'audio')).toBe(true);
  });

  it('writes mkv with subtitles and attachments copied, and webm with opus audio', async () => {
    const mkvIn = withAttachment(makeClip(dir, 'b.mkv', { audio: true, subtitles: true }), 'font.ttf');
    const mkvOut = join(dir, 'b.out.mkv');
    expect((await upscale(mkvIn, mkvOut)).status).toBe('done');
    expect(probeStreams(mkvOut).map((s) => s.codec_type).sort()).toEqual(['attachment', 'audio', 'subtitle', 'video']);
    expect(attachmentNames(mkvOut)).toEqual(['font.ttf']);

    const webmOut = join(dir, 'b.out.webm');
    expect((await upscale(mkvIn, webmOut)).status).toBe('done');
    const webm = probeStreams(webmOut);
    expect(webm.find((s) => s.codec_type === 'video')?.codec_name).toBe('vp9');
    expect(webm.find((s) => s.codec_type === 'audio')?.codec_name).toBe('opus');
  });

  it('converts the sound or subtitles a container refuses as they are, and says so', async () => {
    const flac = makeClip(dir, 'flac.mkv', { audio: true, audioCodec: 'flac', subtitles: true });
    for (const container of ['mp4', 'mov']) {
      const output = join(dir, `flac.out.${container}`);
      const item = await upscale(flac, output);
      expect(item.status).toBe('done');
      expect(item.notices).toContainEqual(expect.stringMatching(new RegExp(`^${container} does not take the source's flac audio as it is \\(.+\\): converted to AAC 192 kb/s; write \\.mkv to keep it as it is$`)));
      const streams = probeStreams(output);
      expect(streams.map((s) => `${s.codec_type} ${s.codec_name}`)).toEqual(['video h264', 'audio aac', 'subtitle mov_text']);
      expect(videoStream(output).nb_read_frames).toBe(videoStream(flac).nb_read_frames);
    }
    // MP4's text subtitles are not Matroska's: they become SubRip, the AAC is copied.
    const movText = makeClip(dir, 'movtext.mp4', { audio: true, subtitles: true });
    const mkv = join(dir, 'movtext.out.mkv');
    const item = await upscale(movText, mkv);
    expect(item.status).toBe('done');
    expect(item.notices).toContainEqual(expect.stringMatching(/^mkv does not take the source's mov_text subtitles as they are \(.+\): converted to SubRip$/));
    expect(probeStreams(mkv).map((s) => `${s.codec_type} ${s.codec_name}`)).toEqual(['video h264', 'audio aac', 'subtitle subrip']);
    // What the container takes as it is goes in untouched, with no notice.
    const kept = join(dir, 'flac.out.mkv');
    const same = await upscale(flac, kept);
    expect(same.notices).not.toContainEqual(expect.stringMatching(/does not take/));
    expect(probeStreams(kept).map((s) => `${s.codec_type} ${s.codec_name}`)).toEqual(['video h264', 'audio flac', 'subtitle subrip']);
  });

  it('fails at once, before any frame, where the container refuses the sound even converted', async () => {
    // WebM's Opus takes up to 8 channels: 16 are refused as PCM and as Opus alike.
    const studio = makeClip(dir, 'sixteen.mkv', { audio: true, audioCodec: 'pcm_s16le', audioChannels: 16 });
    const output = join(dir, 'sixteen.out.webm');
    const item = await upscale(studio, output);
    expect(item.status).toBe('failed');
    expect(item.error).toMatchObject({ kind: 'input' });
    expect(item.error?.message).toMatch(/^webm cannot hold the source's audio \(pcm_s16le\) for: .*sixteen\.mkv \(write \.mkv, or remux the source without them \(ffmpeg says: Opus mapping family undefined for 16 channels\)\)$/);
    expect(existsSync(output)).toBe(false);
  });

  it('keeps the source\'s cover picture, byte for byte: a cover stream in .mp4, an attachment in .mkv; says .webm leaves it out', async () => {
    const clip = makeClip(dir, 'covered-src.mp4', { audio: true });
    const picture = join(dir, 'poster.jpg');
    execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=48x64', '-frames:v', '1', '-y', picture]);
    const covered = join(dir, 'covered.mp4');
    execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', clip, '-i', picture, '-map', '0', '-map', '1', '-c', 'copy', '-disposition:v:1', 'attached_pic', '-y', covered]);
    const coverMd5 = (file: string) => execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', file, '-map', '0:v:1', '-c', 'copy', '-f', 'md5', '-'], { encoding: 'utf8' }).trim();
    const described = (file: string) => execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name:stream_disposition=attached_pic:stream_tags=filename,mimetype', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim().split('\n');
    expect(described(covered)).toEqual(['h264,video,0', 'aac,audio,0', 'mjpeg,video,1']);
    for (const [extension, streams] of [['mp4', ['h264,video,0', 'aac,audio,0', 'mjpeg,video,1']], ['mkv', ['h264,video,0', 'aac,audio,0', 'mjpeg,video,1,cover.jpg,image/jpeg']]] as const) {
      const output = join(dir, `covered.out.${extension}`);
      const item = await upscale(covered, output, { chunk: 12 });
      expect(item.status).toBe('done');
      expect(described(output)).toEqual(streams);
      expect(coverMd5(output)).toBe(coverMd5(covered));
      expect(videoStream(output).nb_read_frames).toBe(videoStream(covered).nb_read_frames);
    }
    const webm = await upscale(covered, join(dir, 'covered.out.webm'));
    expect(webm.status).toBe('done');
    expect(webm.notices).toContain("the source's cover picture is left out of the .webm (upframe keeps covers in .mp4 and .mkv)");
  });

  it('processes the film, not a still picture stored as a track ahead of it, segments seeking in the film', async () => {
    const film = makeClip(dir, 'film.mkv', { size: '64x48', seconds: 1, audio: true });
    const ahead = join(dir, 'still-ahead.mkv');
    execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=32x32:d=0.04', '-i', film, '-map', '0:v', '-map', '1', '-c:v:0', 'mjpeg', '-c:v:1', 'copy', '-c:a', 'copy', '-y', ahead]);
    expect(probeStreams(ahead).map((s) => `${s.codec_type} ${s.codec_name}`)).toEqual(['video mjpeg', 'video h264', 'audio aac']);
    const output = join(dir, 'still-ahead.out.mkv');
    const item = await upscale(ahead, output, { chunk: 8, lossless: true });
    expect(item.status).toBe('done');
    expect(item.notices).toContain('2 video streams: stream 1 (64×48 h264), the largest, is processed; stream 0 (32×32 mjpeg) is left out of the output');
    expect(frameMd5s(output)).toEqual(doubledReference(dir, film, 'null'));
    expect(probeStreams(output).map((s) => s.codec_type)).toEqual(['video', 'audio']);
  });

  it('applies rotation metadata and handles odd sizes', async () => {
    const rotated = makeClip(dir, 'r.mp4', { size: '64x48', rotate: 90 });
    const out = join(dir, 'r.out.mp4');
    expect((await upscale(rotated, out)).status).toBe('done');
    const video = videoStream(out);
    expect([video.width, video.height]).toEqual([96, 128]);

    const odd = makeClip(dir, 'odd.mkv', { size: '33x17', pattern: 'testsrc', codec: ['-c:v', 'ffv1'] });
    const oddOut = join(dir, 'odd.out.mov');
    expect((await upscale(odd, oddOut)).status).toBe('done');
    const oddVideo = videoStream(oddOut);
    expect([oddVideo.width, oddVideo.height]).toEqual([66, 34]);
    expect(oddVideo.nb_read_frames).toBe(videoStream(odd).nb_read_frames);
  });

  it('upscales ×4 with the bundled Real-ESRGAN model, and ×2 from it on request', async () => {
    const input = makeClip(dir, 'x4.mp4', { size: '32x24', seconds: 0.25 });
    const out4 = join(dir, 'x4.out.mp4');
    const run = startRun([{ input, output: out4 }], options(tempRoot, { tile: 16 }));
    expect((await run.ended).items[0].status).toBe('done');
    run.actor.stop();
    expect([videoStream(out4).width, videoStream(out4).height]).toEqual([128, 96]);

    const out2 = join(dir, 'x4.out2.mp4');
    const run2 = startRun([{ input, output: out2 }], options(tempRoot, { scale: 2 }));
    expect((await run2.ended).items[0].status).toBe('done');
    run2.actor.stop();
    expect([videoStream(out2).width, videoStream(out2).height]).toEqual([64, 48]);
  });

  it('never overwrites without overwrite, and replaces with it', async () => {
    const input = makeClip(dir, 'ow.mp4');
    const output = join(dir, 'ow.out.mp4');
    const first = await upscale(input, output);
    expect(first.status).toBe('done');
    const before = readFileSync(output);
    const second = await upscale(input, output);
    expect(second.status).toBe('failed');
    expect(second.error?.message).toMatch(/already exists.*--overwrite/);
    expect(readFileSync(output).equals(before)).toBe(true);
    expect((await upscale(input, output, { overwrite: true })).status).toBe('done');
    expect(existsSync(output)).toBe(true);
  });
});
