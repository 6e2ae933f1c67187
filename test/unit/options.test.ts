import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formRequest, jobOptions, startRequest } from '../../src/cli/options.js';
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
    expect(() => startRequest(['a.mp4'], { output: 'o.mp4', grace: '500' })).toThrow(/--grace is gone: a cancel kills every process at once/);
    expect(() => startRequest(['a.mp4'], { output: 'o.mp4', device: 'gpu' })).toThrow(/--device expects auto or cpu or webgpu or cuda/);
  });

  it('the TUI form is merged over the parsed options: only its own fields are read again', () => {
    const dir = scratchDir('upframe-opts-');
    const base = jobOptions({ interpolate: '2', chunk: '24', crf: '20', resume: true, tempDir: dir, scale: '2' });
    const request = formRequest({ input: 'in.mp4', output: join(dir, 'o.mkv'), scale: 'model', model: 'm.onnx', device: 'cpu' }, base);
    expect(request.items).toEqual([{ input: join(process.cwd(), 'in.mp4'), output: join(dir, 'o.mkv') }]);
    expect(request.options).toEqual({ ...base, scale: undefined, model: 'm.onnx', device: 'cpu' });
    expect(() => formRequest({ input: 'in.mp4', output: 'o.mp4', scale: '1', model: '', device: 'auto' }, jobOptions({}))).toThrow(/--scale 1 with no interpolation/);
    expect(() => formRequest({ input: '', output: 'o.mp4', scale: 'model', model: '', device: 'auto' }, base)).toThrow(/no input given/);
    const batch = startRequest(['a.mp4', 'b.mp4'], { output: `${dir}/` });
    expect(formRequest({ input: batch.items[0].input, output: '', scale: 'model', model: '', device: 'auto' }, base, batch)).toBe(batch);
  });
});

describe('self-ensemble and steps options', () => {
  it('--tta is --ensemble 8; --ensemble 2|4|8; --steps N', () => {
    expect(jobOptions({ tta: true }).ensemble).toBe(8);
    expect(jobOptions({ ensemble: '4' }).ensemble).toBe(4);
    expect(jobOptions({}).ensemble).toBeUndefined();
    expect(jobOptions({ steps: '20' }).steps).toBe(20);
  });

  it('refuses, in one line, what cannot run', () => {
    expect(() => jobOptions({ ensemble: '3' })).toThrow(/--ensemble expects 2 or 4 or 8, got "3"/);
    expect(() => jobOptions({ tta: true, ensemble: '8' })).toThrow(/--tta and --ensemble both set the self-ensemble/);
    expect(() => jobOptions({ steps: '0' })).toThrow(/--steps expects an integer from 1 to 10000, got "0"/);
    expect(() => jobOptions({ tta: true, scale: '1', interpolate: '2' })).toThrow(/--scale 1 runs no upscale model/);
    expect(() => jobOptions({ steps: '4', scale: '1', fps: '60' })).toThrow(/--steps 4 sets a steps upscale model's runs, and --scale 1 runs no upscale model/);
    const base = jobOptions({ tta: true });
    expect(() => formRequest({ input: 'in.mp4', output: 'o.mkv', scale: '1', model: '', device: 'auto' }, { ...base, interpolate: 2 })).toThrow(/--scale 1 runs no upscale model/);
  });
});
