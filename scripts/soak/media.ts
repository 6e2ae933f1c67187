import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { resolveFfmpeg } from '../../src/services/ffmpeg/resolve.js';
import { makeClip } from '../../test/helpers/media.js';

const tools = resolveFfmpeg();

export interface Clip {
  readonly path: string;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly audio: boolean;
}

/**
 * The clips every run draws from: made once, always the same (so a seed replays the same inputs),
 * small enough that one run takes about a second or two on 2 cores. Distinct stems, so a batch
 * written to a folder never needs `-2` names.
 */
const POOL: readonly { name: string; size: string; seconds: number; rate: string; audio?: boolean; cuts?: boolean }[] = [
  { name: 'tiny-a.mp4', size: '64x48', seconds: 1, rate: '24', audio: true },
  { name: 'tiny-b.mkv', size: '96x64', seconds: 1, rate: '25' },
  { name: 'small-c.mp4', size: '80x48', seconds: 1, rate: '25' },
  { name: 'small-d.mkv', size: '96x64', seconds: 1.5, rate: '24', audio: true },
  { name: 'cuts-e.mp4', size: '96x64', seconds: 1.5, rate: '24', cuts: true },
];

/** Two sources joined end to end (a cut at the middle), so `--scenes` finds a scene boundary. */
function makeCutClip(dir: string, name: string, size: string, seconds: number, rate: string): string {
  const path = join(dir, name);
  const half = seconds / 2;
  const source = (filter: string) => ['-f', 'lavfi', '-i', `${filter}=size=${size}:rate=${rate}:duration=${half}`];
  execFileSync(tools.ffmpeg, [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    ...source('testsrc2'), ...source('smptebars'),
    '-filter_complex', '[0][1]concat=n=2:v=1[v]', '-map', '[v]',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', path,
  ]);
  return path;
}

export function makeClips(dir: string): Clip[] {
  return POOL.map((spec) => {
    const path = spec.cuts
      ? makeCutClip(dir, spec.name, spec.size, spec.seconds, spec.rate)
      : makeClip(dir, spec.name, { size: spec.size, seconds: spec.seconds, rate: spec.rate, audio: spec.audio });
    const info = probeMedia(path);
    if (!info.ok) throw new Error(`the soak's clip ${path} does not probe: ${info.error}`);
    return { path, frames: info.frames, width: info.width, height: info.height, audio: info.audio };
  });
}

export type Probed =
  | { readonly ok: true; readonly frames: number; readonly width: number; readonly height: number; readonly audio: boolean }
  | { readonly ok: false; readonly error: string };

/** Decodes every video frame (ffprobe -count_frames): a file that does not decode fully says so. */
export function probeMedia(path: string): Probed {
  const result = spawnSync(
    tools.ffprobe,
    ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames,width,height', '-of', 'json', path],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (result.status !== 0) return { ok: false, error: `ffprobe exit ${result.status ?? result.signal}: ${(result.stderr ?? '').trim().split('\n').at(-1) ?? ''}` };
  if (result.stderr.trim()) return { ok: false, error: `ffprobe reports: ${result.stderr.trim().split('\n')[0]}` };
  const streams = (JSON.parse(result.stdout) as { streams?: { codec_type: string; nb_read_frames?: string; width?: number; height?: number }[] }).streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  if (!video) return { ok: false, error: 'no video stream' };
  return { ok: true, frames: Number(video.nb_read_frames ?? 0), width: video.width ?? 0, height: video.height ?? 0, audio: streams.some((s) => s.codec_type === 'audio') };
}
