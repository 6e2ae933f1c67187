import { join } from 'node:path';
import type { Cover, MediaInfo } from '../../domain.js';
import { type Container, fileArg, INPUT_WHITELIST, QUIET } from './args.js';

/**
 * A source's cover pictures in the output. MP4 keeps a cover as a stream of its own (iTunes' cover
 * art): it is mapped from the source. Matroska keeps one as an attachment, which ffmpeg 4's muxer
 * does not make of a mapped picture (it writes a one-frame video track): the picture is copied out to
 * a file first and attached. WebM holds none, and ffmpeg 4's MOV muxer drops a mapped one.
 */
export type CoverKeeping = 'stream' | 'attachment' | 'none';

export function coverKeeping(container: Container): CoverKeeping {
  if (container === 'mp4') return 'stream';
  return container === 'mkv' ? 'attachment' : 'none';
}

const EXTENSION: Readonly<Record<string, string>> = { mjpeg: 'jpg', png: 'png' };
const MIME: Readonly<Record<string, string>> = { mjpeg: 'image/jpeg', png: 'image/png' };

/** A cover copied out of the source, to be attached to a Matroska output. */
export interface CoverFile {
  readonly path: string;
  readonly cover: Cover;
}

/** The files the source's covers are copied to in `dir` (the job's folder) for a Matroska output. */
export function coverFiles(covers: readonly Cover[], dir: string): CoverFile[] {
  return covers.map((cover, k) => ({ path: join(dir, `cover-${k}.${EXTENSION[cover.codec]}`), cover }));
}

/** One ffmpeg run that copies each cover's picture (one JPEG or PNG packet) out of the source to its file. */
export function coverExtractArgs(absoluteInput: string, files: readonly CoverFile[]): string[] {
  return [
    ...QUIET, ...INPUT_WHITELIST, '-i', fileArg(absoluteInput),
    ...files.flatMap((f) => ['-map', `0:${f.cover.index}`, '-c', 'copy', '-frames:v', '1', '-f', 'image2', '-y', fileArg(f.path)]),
  ];
}

/**
 * The assembly's arguments for the covers (the source is its input 1): mapped as cover streams after
 * the video (MP4), or attached from their files after the source's own attachments, under the
 * name the source gave them or `cover.jpg` (Matroska's name for a cover).
 */
export function coverArgs(container: Container, media: Pick<MediaInfo, 'covers' | 'attachments'>, files: readonly CoverFile[] = []): string[] {
  const covers = media.covers ?? [];
  const keeping = coverKeeping(container);
  if (keeping === 'stream') return covers.flatMap((cover, k) => ['-map', `1:${cover.index}`, `-disposition:v:${k + 1}`, 'attached_pic']);
  if (keeping === 'none') return [];
  return files.flatMap(({ path, cover }, k) => {
    const n = (media.attachments ?? 0) + k;
    const name = cover.filename ?? `cover${k === 0 ? '' : `-${k + 1}`}.${EXTENSION[cover.codec]}`;
    return ['-attach', path, `-metadata:s:t:${n}`, `mimetype=${MIME[cover.codec]}`, `-metadata:s:t:${n}`, `filename=${name}`];
  });
}

/** What a job whose container holds no cover is told; undefined where the covers are kept or there are none. */
export function coverNotice(container: Container, media: Pick<MediaInfo, 'covers'>): string | undefined {
  const count = media.covers?.length ?? 0;
  if (count === 0 || coverKeeping(container) !== 'none') return undefined;
  return `the source's cover picture${count === 1 ? ' is' : 's are'} left out of the .${container} (upframe keeps covers in .mp4 and .mkv)`;
}
