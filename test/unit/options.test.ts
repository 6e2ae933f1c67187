import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRequest } from '../../src/cli/options.js';
import { scratchDir } from '../helpers/app.js';

describe('run options → start request', () => {
  it('expands folders into their video files, sorted naturally, and derives clash-free outputs', () => {
    const dir = scratchDir('upframe-opts-');
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const out = join(dir, 'out');
    for (const folder of [a, b, out]) mkdirSync(folder);
    for (const name of ['clip10.mp4', 'clip2.mkv', 'notes.txt', 'x.mov']) writeFileSync(join(a, name), 'x');
    writeFileSync(join(b, 'x.mov'), 'x');
    const request = startRequest([a, join(b, 'x.mov')], { output: `${out}/` });
    expect(request.items.map((i) => i.input)).toEqual([join(a, 'clip2.mkv'), join(a, 'clip10.mp4'), join(a, 'x.mov'), join(b, 'x.mov')]);
    expect(request.items.map((i) => i.output)).toEqual([
      join(out, 'clip2.upscaled.mkv'),
      join(out, 'clip10.upscaled.mp4'),
      join(out, 'x.upscaled.mov'),
      join(out, 'x.upscaled-2.mov'),
    ]);
    expect(request.runId).toMatch(/^[0-9a-z]+$/);
  });

  it('says what is wrong in one line', () => {
    const dir = scratchDir('upframe-opts-');
    mkdirSync(join(dir, 'empty'));
    expect(() => startRequest([join(dir, 'empty')], { output: `${dir}/` })).toThrow(/no video files in the folder/);
    expect(() => startRequest(['a.mp4', 'b.mp4'], { output: join(dir, 'one.mp4') })).toThrow(/several inputs need an output folder/);
    expect(() => startRequest(['a.mp4'], { output: join(dir, 'missing') + '/' })).toThrow(/output folder .* does not exist/);
    expect(() => startRequest(['a.mp4'], { output: 'o.mp4', grace: '-1' })).toThrow(/--grace expects an integer from 0 to 60000/);
    expect(() => startRequest(['a.mp4'], { output: 'o.mp4', device: 'gpu' })).toThrow(/--device expects auto or cpu or cuda/);
  });
});
