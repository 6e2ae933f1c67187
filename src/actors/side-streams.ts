import type { MediaInfo } from '../domain.js';
import { type Container, containerFor, type SideKind, sideCheckArgs } from '../services/ffmpeg/args.js';
import { ffmpegBinaries } from '../services/ffmpeg/resolve.js';
import { UserError } from '../services/errors.js';
import { lastLine } from '../services/streams.js';
import { endingOf, toolFailure } from '../services/tool-failure.js';
import type { WorkScope } from './work.js';

/** What a converted stream becomes, as a notice says it. */
function convertedTo(kind: SideKind, container: Container): string {
  if (kind === 'subtitles') return 'SubRip';
  return container === 'webm' ? 'Opus 160 kb/s' : 'AAC 192 kb/s';
}

/**
 * The muxer's or encoder's own line where one gave it (`[mp4 @ 0x…] flac in MP4 support is
 * experimental…`, `[libopus @ 0x…] Opus mapping family undefined for 16 channels.`), else ffmpeg's last.
 */
function refusalReason(stderr: string): string {
  const muxerLine = stderr.split('\n').find((line) => /^\[[\w-]+ @ 0x[0-9a-f]+\] /.test(line));
  const line = muxerLine ? muxerLine.replace(/^\[[^\]]+\] /, '') : lastLine(stderr);
  // ffmpeg's own advice names its flags, not upframe's.
  return line.replace(/,? add '-strict -2' if you want to use it\.?$/, '').trim().replace(/\.$/, '');
}

/** Undefined when the trial mux went through; else why the container refused. */
async function refusal(scope: WorkScope, args: string[], input: string): Promise<string | undefined> {
  const ffmpeg = scope.spawn({ command: ffmpegBinaries().ffmpeg, args, role: 'mux' });
  const ending = await endingOf(ffmpeg);
  if (ending.exit.signal) throw toolFailure('checking the sound and subtitles failed for', 'ffmpeg', ending, { kind: 'runtime', file: input });
  return ending.exit.code === 0 ? undefined : refusalReason(ending.stderr) || 'refused';
}

/**
 * Before any frame is made: whether the output's container takes the source's audio and subtitles as
 * the assembly would write them (a trial mux of a tenth of a second each). A kind it refuses is
 * converted instead, with a notice; one it refuses converted too fails the job now, not after hours
 * of frames (FLAC or Opus into an older ffmpeg's MP4, FLAC into MOV, MP4's subtitles into Matroska).
 */
export async function checkSideStreams(scope: WorkScope, input: string, output: string, media: MediaInfo): Promise<MediaInfo> {
  const container = containerFor(output);
  let convert: MediaInfo['convert'];
  for (const kind of ['audio', 'subtitles'] as const) {
    const asTheyAre = sideCheckArgs(kind, container, media, input, false);
    const refused = asTheyAre && (await refusal(scope, asTheyAre, input));
    if (refused === undefined) continue;
    const codecs = (kind === 'audio' ? media.audioCodecs : media.subtitleCodecs).join(', ');
    const converted = sideCheckArgs(kind, container, media, input, true);
    const refusedConverted = converted ? await refusal(scope, converted, input) : refused;
    if (refusedConverted !== undefined) {
      throw new UserError(`${container} cannot hold the source's ${kind} (${codecs}) for`, {
        kind: 'input',
        file: input,
        tryMessage: `write .mkv, or remux the source without them (ffmpeg says: ${refusedConverted})`,
      });
    }
    convert = { ...convert, [kind]: true };
    const asIs = kind === 'audio' ? 'it is' : 'they are';
    const keep = container === 'mkv' ? '' : `; write .mkv to keep ${kind === 'audio' ? 'it' : 'them'} as ${asIs}`;
    scope.notice(`${container} does not take the source's ${codecs} ${kind} as ${asIs} (${refused}): converted to ${convertedTo(kind, container)}${keep}`);
  }
  return convert ? { ...media, convert } : media;
}
