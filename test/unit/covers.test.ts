import { describe, expect, it } from 'vitest';
import { coverArgs, coverExtractArgs, coverFiles, coverNotice } from '../../src/services/ffmpeg/covers.js';

const covers = [{ index: 3, codec: 'mjpeg' }, { index: 5, codec: 'png', filename: 'poster.png' }];

describe('the source\'s cover pictures in the assembly', () => {
  it('MP4 maps them as cover streams after the video; WebM and MOV leave them out, with a notice', () => {
    expect(coverArgs('mp4', { covers })).toEqual(['-map', '1:3', '-disposition:v:1', 'attached_pic', '-map', '1:5', '-disposition:v:2', 'attached_pic']);
    expect(coverNotice('mp4', { covers })).toBeUndefined();
    for (const container of ['webm', 'mov'] as const) {
      expect(coverArgs(container, { covers })).toEqual([]);
      expect(coverNotice(container, { covers })).toBe(`the source's cover pictures are left out of the .${container} (upframe keeps covers in .mp4 and .mkv)`);
    }
    expect(coverNotice('webm', {})).toBeUndefined();
  });

  it('Matroska attaches the copied pictures after the source\'s own attachments, under their names or cover.jpg', () => {
    const files = coverFiles(covers, '/tmp/job');
    expect(files.map((f) => f.path)).toEqual(['/tmp/job/cover-0.jpg', '/tmp/job/cover-1.png']);
    expect(coverExtractArgs('/films/a.mp4', files)).toEqual([
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file,pipe', '-i', 'file:/films/a.mp4',
      '-map', '0:3', '-c', 'copy', '-frames:v', '1', '-f', 'image2', '-y', 'file:/tmp/job/cover-0.jpg',
      '-map', '0:5', '-c', 'copy', '-frames:v', '1', '-f', 'image2', '-y', 'file:/tmp/job/cover-1.png',
    ]);
    expect(coverArgs('mkv', { covers, attachments: 2 }, files)).toEqual([
      '-attach', '/tmp/job/cover-0.jpg', '-metadata:s:t:2', 'mimetype=image/jpeg', '-metadata:s:t:2', 'filename=cover.jpg',
      '-attach', '/tmp/job/cover-1.png', '-metadata:s:t:3', 'mimetype=image/png', '-metadata:s:t:3', 'filename=poster.png',
    ]);
  });
});
