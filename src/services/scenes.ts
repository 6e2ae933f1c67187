import type { Rate } from '../domain.js';
import { fileArg, gridFilter } from './ffmpeg/args.js';
import { videoSpecifier } from './ffmpeg/probe.js';

/** A scene: frames [start, end) of the source. */
export interface Scene {
  readonly start: number;
  readonly end: number;
}

export const DEFAULT_MIN_SCENE = 1;

/**
 * ffmpeg's own scene score on every decoded frame; `setpts=N` makes each printed pts the frame's index.
 * Cuts print on stdout (`metadata=print:file=-`), progress (`frame=N`) on fd 3.
 */
/** With `grid`, a variable-rate source put on that rate first, as its decoders do, so cuts count the grid's frames. */
export function sceneDetectArgs(absoluteInput: string, threshold: number, grid?: Rate, videoStream?: number): string[] {
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-protocol_whitelist', 'file,pipe', '-i', fileArg(absoluteInput),
    '-map', `0:${videoSpecifier({ videoStream })}`, '-an', '-sn', '-dn',
    '-vf', `${grid ? `${gridFilter(grid)},` : ''}setpts=N,select='gt(scene,${threshold})',metadata=print:file=-`,
    '-progress', 'pipe:3', '-nostats',
    '-f', 'null', '-',
  ];
}

/** The frame indices at which a new scene starts, from the metadata printout. */
export function parseCuts(printout: string): number[] {
  const cuts: number[] = [];
  for (const match of printout.matchAll(/^frame:\d+\s+pts:(\d+)/gm)) cuts.push(Number(match[1]));
  return cuts;
}

/** Scenes from cuts, merging any shorter than `minScene` frames into the one before. */
export function scenesFrom(cuts: readonly number[], frames: number, minScene = DEFAULT_MIN_SCENE): Scene[] {
  const starts = [0];
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= 0 || cut >= frames) continue;
    if (cut - starts[starts.length - 1] >= minScene) starts.push(cut);
  }
  if (starts.length > 1 && frames - starts[starts.length - 1] < minScene) starts.pop();
  return starts.map((start, i) => ({ start, end: starts[i + 1] ?? frames }));
}

