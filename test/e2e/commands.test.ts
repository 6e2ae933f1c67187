import { describe, expect, it } from 'vitest';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserError } from '../../src/services/errors.js';
import { resolveFfmpeg } from '../../src/services/ffmpeg/resolve.js';
import { scratchDir } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { ffmpeg } from '../helpers/media.js';

describe('inspect, doctor, models', () => {
  it('inspect prints the four statecharts as mermaid, dot, json and scxml from the running definitions', async () => {
    const mermaid = await cli(['inspect', '--format', 'mermaid']).result;
    expect(mermaid.code).toBe(0);
    for (const machine of ['app', 'batch', 'job', 'stage']) expect(mermaid.stdout).toContain(`%% ${machine}\nstateDiagram-v2`);
    expect(mermaid.stdout.match(/job_active --> job_cancelling : job\.cancel$/gm)).toHaveLength(1);
    expect(mermaid.stdout).toMatch(/stage_cancelling --> stage_cancelled : work\.stopped/);
    expect(mermaid.stdout).toMatch(/note right of job_done : The output is in place, the temp folder is<br\/>removed\.<br\/>entry \/ recordDone, removeWorkdir$/m);

    const dot = await cli(['inspect', '--format', 'dot', '--machine', 'job']).result;
    expect(dot.code).toBe(0);
    expect(dot.stdout).toMatch(/^\/\/ job\ndigraph "job" \{$/m);
    expect(dot.stdout).toContain('subgraph cluster_job_active {');
    expect(dot.stdout.match(/label="job\.cancel"/g)).toHaveLength(1);

    const json = await cli(['inspect', '--format', 'json']).result;
    const charts = JSON.parse(json.stdout) as Record<string, { states: { key: string; description: string; entry: string[]; states: { key: string }[] }[] }>;
    expect(Object.keys(charts)).toEqual(['app', 'batch', 'job', 'stage']);
    expect(charts.job.states.map((s) => s.key)).toEqual(['active', 'committed', 'cancelling', 'failing', 'done', 'failed', 'cancelled']);
    expect(charts.job.states[0].states.map((s) => s.key)).toEqual(['probing', 'detecting', 'processing', 'assembling']);
    expect(charts.job.states[4]).toMatchObject({ key: 'done', description: 'The output is in place; the temp folder is removed.', entry: ['recordDone', 'removeWorkdir'] });

    const scxml = await cli(['inspect', '--format', 'scxml', '--machine', 'stage']).result;
    expect(scxml.stdout).toMatch(/^<\?xml/);
    expect(scxml.stdout).toContain('<state id="stage.cancelling">');
    expect(scxml.stdout).toContain('<final id="stage.cancelled">');
    expect(scxml.stdout).toContain('<!-- Cancelled; nothing the work owned is live. -->');

    const bad = await cli(['inspect', '--format', 'png']).result;
    expect(bad.code).toBe(2);
  });

  it('doctor checks ffmpeg with its source, runs an onnxruntime session, and checks the GPU, the models and the temp dir', async () => {
    const result = await cli(['doctor']).result;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^✓ ffmpeg: \/\S+ \((env|path|bundled)\) ffmpeg version/m);
    expect(result.stdout).toMatch(/^✓ ffprobe: \/\S+ \((env|path|bundled)\) ffprobe version/m);
    expect(result.stdout).toMatch(/^✓ onnxruntime: \S+, a session on realesr-general-x4v3 ran on the CPU \(1×3×8×8 → 1×3×32×32, /m);
    expect(result.stdout).toMatch(/^[✓·] cuda provider: /m);
    expect(result.stdout).toMatch(/^[✓·] gpu: /m);
    expect(result.stdout).toMatch(/^✓ model realesr-general-x4v3: sha256 0017a033/m);
    expect(result.stdout).toMatch(/^✓ temp dir: \/\S+ \(writable, [\d.]+ [KMG]B free; /m);
    expect(result.stdout).not.toMatch(/^✗/m);
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
    expect(wrong.stdout).toMatch(/^✗ ffmpeg: UPFRAME_FFMPEG at \/nonexistent\/ffmpeg is not executable/m);

    const dir = scratchDir('upframe-ffmpeg-');
    symlinkSync(ffmpeg.ffmpeg, join(dir, 'ffmpeg'));
    symlinkSync(ffmpeg.ffprobe, join(dir, 'ffprobe'));
    const chosen = await cli(['doctor'], { UPFRAME_FFMPEG: join(dir, 'ffmpeg') }).result;
    expect(chosen.stdout).toContain(`✓ ffmpeg: ${join(dir, 'ffmpeg')} (env)`);
    expect(chosen.stdout).toContain(`✓ ffprobe: ${join(dir, 'ffprobe')} (env)`);
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
