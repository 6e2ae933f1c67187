import { packetCountArgs } from '../services/ffmpeg/probe.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { collectText } from '../services/streams.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import type { WorkScope } from './work.js';

/**
 * ffprobe reads a written file back: its video frames (one packet a frame in what we write), or
 * undefined when it cannot open it. Spawned through the scope, so a cancel kills it like the rest; an
 * ffprobe killed from outside says so, rather than passing for a broken file.
 */
export async function readBackFrames(scope: WorkScope, file: string): Promise<number | undefined> {
  const ffprobe = scope.spawn({ command: ffmpegBinaries().ffprobe, args: packetCountArgs(file), role: 'ffprobe' });
  const [stdout, ending] = await Promise.all([collectText(ffprobe.child.stdout), endingOf(ffprobe)]);
  if (ending.exit.signal) throw toolFailure('reading a written file back failed for', 'ffprobe', ending, { kind: 'runtime', file });
  const frames = Number(stdout.trim());
  return ending.exit.code === 0 && stdout.trim() !== '' && Number.isInteger(frames) ? frames : undefined;
}
