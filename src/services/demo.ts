import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { ffmpegBinaries } from './ffmpeg/resolve.js';

export interface DemoClip {
  readonly input: string;
  readonly output: string;
}

/** A short synthetic clip with sound (testsrc2 + sine), made with ffmpeg: no download, no fixture file. */
export async function makeDemoClip(dir = resolve('upframe-demo'), seconds = 3, size = '160x90'): Promise<DemoClip> {
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'sample.mp4');
  await execa(ffmpegBinaries().ffmpeg, [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=24:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-y', `file:${input}`,
  ]);
  return { input, output: join(dir, 'sample.x4.mp4') };
}
