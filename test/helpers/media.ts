import { execFileSync, spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { resolveFfmpeg } from '../../src/services/ffmpeg/resolve.js';

export const ffmpeg = resolveFfmpeg();

export interface ClipOptions {
  readonly size?: string;
  readonly seconds?: number;
  readonly rate?: string;
  readonly audio?: boolean;
  /** The audio's codec (default AAC, Opus in .webm). */
  readonly audioCodec?: string;
  /** The sine copied to this many channels (default 1), as a studio's multichannel capture has them. */
  readonly audioChannels?: number;
  readonly subtitles?: boolean;
  /** Display rotation metadata in degrees (mp4/mov only). */
  readonly rotate?: number;
  readonly codec?: string[];
  /** testsrc2 rounds sizes to even numbers; testsrc keeps odd ones. */
  readonly pattern?: 'testsrc2' | 'testsrc';
}

/** A synthetic clip made with ffmpeg's testsrc2 (and sine for audio). */
export function makeClip(dir: string, name: string, options: ClipOptions = {}): string {
  const path = join(dir, name);
  const seconds = options.seconds ?? 1;
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `${options.pattern ?? 'testsrc2'}=size=${options.size ?? '64x48'}:rate=${options.rate ?? '24'}:duration=${seconds}`];
  if (options.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  if (options.subtitles) {
    const srt = join(dir, `${name}.srt`);
    execFileSync('sh', ['-c', `printf '1\\n00:00:00,000 --> 00:00:00,500\\nhello\\n\\n' > '${srt}'`]);
    args.push('-i', srt);
  }
  args.push('-map', '0:v');
  if (options.audio) args.push('-map', '1:a', '-c:a', options.audioCodec ?? (name.endsWith('.webm') ? 'libopus' : 'aac'), ...(options.audioChannels ? ['-ac', String(options.audioChannels)] : []));
  if (options.subtitles) args.push('-map', `${options.audio ? 2 : 1}:s`, '-c:s', name.endsWith('.mkv') ? 'srt' : 'mov_text');
  args.push(...(options.codec ?? (name.endsWith('.webm') ? ['-c:v', 'libvpx-vp9', '-deadline', 'realtime'] : ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'])));
  const encoded = options.rotate === undefined ? path : join(dir, `unrotated-${name}`);
  args.push('-y', encoded);
  execFileSync(ffmpeg.ffmpeg, args);
  if (options.rotate !== undefined) {
    // The rotate tag becomes a display matrix only on a stream copy.
    execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-i', encoded, '-c', 'copy', '-metadata:s:v:0', `rotate=${options.rotate}`, '-y', path]);
  }
  return path;
}

export interface StreamInfo {
  readonly codec_type: string;
  readonly codec_name: string;
  readonly width?: number;
  readonly height?: number;
  readonly nb_read_frames?: string;
  readonly r_frame_rate?: string;
  readonly duration?: string;
}

export function probeStreams(path: string): StreamInfo[] {
  const out = execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_streams', path], { encoding: 'utf8' });
  return (JSON.parse(out) as { streams: StreamInfo[] }).streams;
}

export function videoStream(path: string): StreamInfo {
  const video = probeStreams(path).find((s) => s.codec_type === 'video');
  if (!video) throw new Error(`no video stream in ${path}`);
  return video;
}

/** Three different sources joined end to end (1 s each at 24 fps): cuts at frames 24 and 48. */
export function makeJoinedClip(dir: string, name: string, size = '96x64'): string {
  const path = join(dir, name);
  const source = (filter: string) => ['-f', 'lavfi', '-i', `${filter}=size=${size}:rate=24`];
  execFileSync(ffmpeg.ffmpeg, [
    '-nostdin', '-loglevel', 'error',
    ...source('testsrc2'), ...source('mandelbrot'), ...source('smptebars'),
    '-filter_complex', '[0]trim=duration=1[a];[1]trim=duration=1[b];[2]trim=duration=1[c];[a][b][c]concat=n=3:v=1[v]',
    '-map', '[v]', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', path,
  ]);
  return path;
}

/** The decoded frames' checksums (`ffmpeg -f framemd5`), timestamps left out: equal lists mean equal pictures. */
export function frameMd5s(path: string): string[] {
  const out = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', path, '-map', '0:v:0', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return out.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(',').at(-1)!.trim());
}

/**
 * The frames ffmpeg itself makes of `input` through `filter` (rgb24 by then), each pixel doubled as
 * the tests' ×2 nearest model does, as lossless FFV1 in `dir`: what a lossless upframe run should give.
 */
export function doubledReference(dir: string, input: string, filter: string): string[] {
  const file = join(dir, `reference-${basename(input)}.mkv`);
  execFileSync(ffmpeg.ffmpeg, ['-nostdin', '-loglevel', 'error', '-i', input, '-map', '0:v', '-vf', `${filter},format=rgb24,scale=iw*2:ih*2:flags=neighbor`, '-c:v', 'ffv1', '-pix_fmt', 'bgr0', '-y', file]);
  return frameMd5s(file);
}

/** Decoded rgb24 frames of a file's first video stream. */
export function decodeFrames(path: string): { frames: Buffer[]; width: number; height: number } {
  const video = videoStream(path);
  const raw = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', path, '-map', '0:v:0', '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
  const size = video.width! * video.height! * 3;
  return { frames: Array.from({ length: raw.length / size }, (_, i) => raw.subarray(i * size, (i + 1) * size)), width: video.width!, height: video.height! };
}

export function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

export interface VideoPsnr {
  readonly frames: number;
  /** Over all frames and planes, and the worst frame's, in dB (Infinity when equal). */
  readonly average: number;
  readonly min: number;
}

/**
 * PSNR of two videos' decoded frames, frame by frame, by ffmpeg's `psnr` filter on their own pixels
 * (same size and format: two encodes of one pipeline). The frame counts are checked too: the filter
 * stops at the shorter one.
 */
export function videoPsnr(a: string, b: string): VideoPsnr {
  const run = spawnSync(ffmpeg.ffmpeg, ['-hide_banner', '-nostdin', '-i', a, '-i', b, '-lavfi', '[0:v:0][1:v:0]psnr', '-f', 'null', '-'], { encoding: 'utf8' });
  const summary = /PSNR .*average:(\S+) min:(\S+)/.exec(run.stderr);
  if (run.status !== 0 || !summary) throw new Error(`ffmpeg psnr failed: ${run.stderr.slice(-500)}`);
  const value = (text: string) => (text === 'inf' ? Number.POSITIVE_INFINITY : Number(text));
  const [countA, countB] = [a, b].map((file) => frameMd5s(file).length);
  if (countA !== countB) throw new Error(`${a} has ${countA} frames, ${b} ${countB}`);
  return { frames: countA, average: value(summary[1]), min: value(summary[2]) };
}
