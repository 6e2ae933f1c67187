import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { askSessionHost, type Check } from '../../src/cli/doctor.js';
import { hostArgs } from '../../src/services/paths.js';
import { scratchDir } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { VAAPI_DEVICE } from '../../src/services/ffmpeg/encoders.js';

describe('doctor', () => {
  it('a temp dir that cannot be written is ✗ and exit 1, and the other checks still run', async () => {
    const dir = scratchDir('upframe-doctor-');
    writeFileSync(join(dir, 'file'), 'not a folder\n');
    const result = await cli(['doctor'], { UPFRAME_TMPDIR: join(dir, 'file', 'tmp') }).result;
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^✗ temp dir: \S+\/file\/tmp is not writable: ENOTDIR/m);
    expect(result.stdout).toMatch(/^✓ onnxruntime: /m);
    expect(result.stdout).toMatch(/^✓ model realesr-general-x4v3: /m);
    expect(result.stdout.trim().split('\n').every((line) => /^[✓✗·] [\w -.]+: /.test(line))).toBe(true);
  });

  it('--json: every check with ok, required and detail; the session ran; the temp dir is made, probed and left clean', async () => {
    const root = join(scratchDir('upframe-doctor-'), 'made-by-doctor');
    const result = await cli(['doctor', '--json'], { UPFRAME_TMPDIR: root }).result;
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { type: string; ok: boolean; checks: Check[] };
    expect(report.type).toBe('doctor');
    expect(report.ok).toBe(true);
    for (const check of report.checks) {
      expect(Object.keys(check)).toEqual(expect.arrayContaining(['name', 'ok', 'required', 'detail']));
      expect(typeof check.ok).toBe('boolean');
      expect(typeof check.required).toBe('boolean');
    }
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    for (const name of ['ffmpeg', 'ffprobe', 'onnxruntime', 'model realesr-general-x4v3', 'model rife-v4.6', 'temp dir']) {
      expect(byName.get(name), name).toMatchObject({ ok: true, required: true });
    }
    expect(byName.get('gpu')?.required).toBe(false);
    expect(byName.get('cuda provider')?.required).toBe(false);
    // ×4 model on an 8×8 input: the session really ran.
    expect(byName.get('onnxruntime')?.data).toMatchObject({ session: { provider: 'cpu', inputShape: [1, 3, 8, 8], outputShape: [1, 3, 32, 32] } });
    // The encoders this ffmpeg has, and those that cannot run here for want of their device.
    const encoders = byName.get('encoders')?.data as { found: string[]; noDevice: string[] };
    expect(encoders.found).toContain('libx264');
    expect(encoders.noDevice).toEqual(existsSync(VAAPI_DEVICE) ? [] : encoders.found.filter((name) => name.endsWith('_vaapi')));
    if (encoders.noDevice.length > 0) expect(byName.get('encoders')?.detail).toContain(`${encoders.noDevice.join(', ')}: no VAAPI render node ${VAAPI_DEVICE}`);
    expect(byName.get('temp dir')?.data).toMatchObject({ path: root, leftovers: [] });
    expect(byName.get('temp dir')?.data?.freeBytes).toBeGreaterThan(0);
    expect(existsSync(root)).toBe(true);
    expect(readdirSync(root)).toEqual([]);
  });

  it('lists what is left in the temp dir', async () => {
    const root = scratchDir('upframe-doctor-');
    mkdirSync(join(root, 'job-leftover'));
    const result = await cli(['doctor'], { UPFRAME_TMPDIR: root }).result;
    expect(result.stdout).toMatch(/^✓ temp dir: .*holds job-leftover\)$/m);
    expect(readdirSync(root)).toEqual(['job-leftover']);
  });

  it('a hung host is killed after the timeout; a failing one gives its one-line error', async () => {
    const started = Date.now();
    expect(await askSessionHost(['-e', 'setInterval(() => {}, 1000)'], 500)).toEqual({ failure: 'the check host gave no answer within 0.5 s (killed)' });
    expect(Date.now() - started).toBeLessThan(5_000);

    expect(await askSessionHost(['-e', 'console.error("boom"); process.exit(3)'])).toEqual({ failure: 'the check host stopped (exit code 3): boom' });

    const missing = await askSessionHost([...hostArgs('check-session'), '/nonexistent/model.onnx']);
    expect(missing).toMatchObject({ failure: expect.stringMatching(/^Load model from \/nonexistent\/model\.onnx failed/) });
    expect('failure' in missing && missing.failure).not.toContain('\n');
  });
});
