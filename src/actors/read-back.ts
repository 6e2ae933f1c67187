import { packetCountArgs } from '../services/ffmpeg/probe.js';
import { ffprobeOutput } from './ffprobe.js';
import type { WorkScope } from './work.js';

/**
 * ffprobe reads a written file back: its video frames (one packet a frame in what we write), or
 * undefined when it cannot open it. Spawned through the scope, so a cancel kills it like the rest; an
 * ffprobe killed from outside says so, rather than passing for a broken file.
 */
export async function readBackFrames(scope: WorkScope, file: string): Promise<number | undefined> {
  const stdout = (await ffprobeOutput(scope, packetCountArgs(file), 'reading a written file back failed for', file))?.trim();
  const frames = Number(stdout);
  return stdout && Number.isInteger(frames) ? frames : undefined;
}
