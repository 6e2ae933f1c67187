import { describe, expect, it } from 'vitest';
import type { MediaInfo } from '../../src/domain.js';
import { assembleArgs, sideCheckArgs } from '../../src/services/ffmpeg/args.js';

const media = (audioCodecs: string[], subtitleCodecs: string[], convert?: MediaInfo['convert']): MediaInfo => ({
  width: 64, height: 48, rotation: 0, frameRate: { num: 24, den: 1 }, frameCount: 24, durationSec: 1, pixFmt: 'yuv420p',
  audioCodecs, subtitleCodecs, formatName: 'matroska,webm', ...(convert ? { convert } : {}),
});
const after = (args: readonly string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe("the trial mux of a source's sound and subtitles, and the assembly it decides", () => {
  it('checks what the assembly would write, from the one input, to nowhere', () => {
    const args = sideCheckArgs('audio', 'mp4', media(['flac'], []), '/in.mkv', false)!;
    expect(after(args, '-map')).toEqual(['0:a']);
    expect(after(args, '-c:a')).toEqual(['copy']);
    expect(after(args, '-f')).toEqual(['mp4']);
    expect(args.at(-1)).toBe('/dev/null');
    expect(after(sideCheckArgs('audio', 'mp4', media(['flac'], []), '/in.mkv', true)!, '-c:a')).toEqual(['aac']);
  });

  it('no check where there is nothing to write, or where converting would write the same', () => {
    expect(sideCheckArgs('audio', 'mp4', media([], ['subrip']), '/in.mkv', false)).toBeUndefined();
    // Bitmap subtitles never go into MP4 (left out, with their own notice).
    expect(sideCheckArgs('subtitles', 'mp4', media([], ['hdmv_pgs_subtitle']), '/in.mkv', false)).toBeUndefined();
    // MP4's text subtitles are always converted to mov_text: there is no second way to try.
    expect(sideCheckArgs('subtitles', 'mp4', media([], ['ass']), '/in.mkv', true)).toBeUndefined();
    // Matroska's bitmap subtitles have no other form to take.
    expect(sideCheckArgs('subtitles', 'mkv', media([], ['dvd_subtitle']), '/in.mkv', true)).toBeUndefined();
  });

  it('the assembly converts only the kind the check refused', () => {
    const args = (convert?: MediaInfo['convert']) => assembleArgs('mkv', { encoding: { codec: 'h264', encoder: 'libx264', lossless: false } }, media(['flac'], ['mov_text'], convert), '/list', '/in.mkv', '/out.mkv');
    expect([after(args(), '-c:a'), after(args(), '-c:s')]).toEqual([['copy'], ['copy']]);
    expect([after(args({ subtitles: true }), '-c:a'), after(args({ subtitles: true }), '-c:s')]).toEqual([['copy'], ['srt']]);
    expect(after(args({ audio: true }), '-c:a')).toEqual(['aac']);
    expect(after(args(), '-map')).toEqual(['0:v:0', '1:a', '1:s', '1:t?']);
  });
});
