import { describe, expect, it } from 'vitest';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserError } from '../../src/services/errors.js';
import { resolveFfmpeg } from '../../src/services/ffmpeg/resolve.js';
import { scratchDir } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { ffmpeg } from '../helpers/media.js';

describe('inspect, doctor, models', () => {
  it('inspect prints the four statecharts as mermaid, json and scxml from the running definitions', async () => {
    const mermaid = await cli(['inspect', '--format', 'mermaid']).result;
    expect(mermaid.code).toBe(0);
    for (const machine of ['app', 'batch', 'job', 'stage']) expect(mermaid.stdout).toContain(`%% ${machine}\nstateDiagram-v2`);
    expect(mermaid.stdout).toMatch(/job_active --> job_cancelling : job\.cancel/);
    expect(mermaid.stdout).toMatch(/stage_cancelling --> stage_cancelled : work\.stopped/);

    const json = await cli(['inspect', '--format', 'json']).result;
    const charts = JSON.parse(json.stdout) as Record<string, { states: { key: string; states: { key: string }[] }[] }>;
    expect(Object.keys(charts)).toEqual(['app', 'batch', 'job', 'stage']);
    expect(charts.job.states.map((s) => s.key)).toEqual(['active', 'committed', 'cancelling', 'failing', 'done', 'failed', 'cancelled']);
    expect(charts.job.states[0].states.map((s) => s.key)).toEqual(['probing', 'detecting', 'processing', 'assembling']);

    const scxml = await cli(['inspect', '--format', 'scxml', '--machine', 'stage']).result;
    expect(scxml.stdout).toMatch(/^<\?xml/);
    expect(scxml.stdout).toContain('<state id="stage.cancelling">');
    expect(scxml.stdout).toContain('<final id="stage.cancelled">');

    const bad = await cli(['inspect', '--format', 'dot']).result;
    expect(bad.code).toBe(2);
  });

  it('doctor reports ffmpeg with its source, onnxruntime providers, GPU, the model and the temp dir', async () => {
    const result = await cli(['doctor']).result;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok {3}ffmpeg: \/\S+ \((env|path|bundled)\) ffmpeg version/m);
    expect(result.stdout).toMatch(/^ok {3}onnxruntime: execution providers: cpu/m);
    expect(result.stdout).toMatch(/^ok {3}gpu: /m);
    expect(result.stdout).toMatch(/^ok {3}model realesr-general-x4v3: sha256 0017a033/m);
    expect(result.stdout).toMatch(/^ok {3}temp dir: \//m);
  });

  it('models list and verify', async () => {
    const list = await cli(['models', 'list']).result;
    expect(list.stdout).toMatch(/^realesr-general-x4v3\tupscale\t×4\tBSD-3-Clause/m);
    const verify = await cli(['models', 'verify']).result;
    expect(verify.code).toBe(0);
  });

  it('UPFRAME_FFMPEG picks the binary, and a wrong one is a clear error', async () => {
    const wrong = await cli(['doctor'], { UPFRAME_FFMPEG: '/nonexistent/ffmpeg' }).result;
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/FAIL ffmpeg: UPFRAME_FFMPEG at \/nonexistent\/ffmpeg is not executable/);

    const dir = scratchDir('upframe-ffmpeg-');
    symlinkSync(ffmpeg.ffmpeg, join(dir, 'ffmpeg'));
    symlinkSync(ffmpeg.ffprobe, join(dir, 'ffprobe'));
    const chosen = await cli(['doctor'], { UPFRAME_FFMPEG: join(dir, 'ffmpeg') }).result;
    expect(chosen.stdout).toContain(`ok   ffmpeg: ${join(dir, 'ffmpeg')} (env)`);
    expect(chosen.stdout).toContain(`ok   ffprobe: ${join(dir, 'ffprobe')} (env)`);
  });

  it('a binary without its exec bit is refused with the fix to apply', () => {
    const dir = scratchDir('upframe-noexec-');
    for (const name of ['ffmpeg', 'ffprobe']) {
      writeFileSync(join(dir, name), '#!/bin/sh\n');
      chmodSync(join(dir, name), 0o644);
    }
    expect(() => resolveFfmpeg({ UPFRAME_FFMPEG: join(dir, 'ffmpeg') })).toThrow(/is not executable/);
    try {
      resolveFfmpeg({ UPFRAME_FFMPEG: join(dir, 'ffmpeg') });
    } catch (error) {
      expect((error as UserError).tryMessage).toBe(`run: chmod +x ${join(dir, 'ffmpeg')}`);
    }
  });
});
