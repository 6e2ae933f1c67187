import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { collectText } from '../services/streams.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import type { WorkScope } from './work.js';

/**
 * One ffprobe run through the scope, so a cancel kills it like the rest: its stdout when it exits 0,
 * undefined when it fails on its own (a file it cannot read, data it does not find). One killed from
 * outside fails the job saying so (`failed` … `file`), rather than passing for a file without the data.
 */
export async function ffprobeOutput(scope: WorkScope, args: string[], failed: string, file: string): Promise<string | undefined> {
  const ffprobe = scope.spawn({ command: ffmpegBinaries().ffprobe, args, role: 'ffprobe' });
  const [stdout, ending] = await Promise.all([collectText(ffprobe.child.stdout), endingOf(ffprobe)]);
  if (ending.exit.signal) throw toolFailure(failed, 'ffprobe', ending, { kind: 'runtime', file });
  return ending.exit.code === 0 ? stdout : undefined;
}
