import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { faceClip, halvingRestorer, positionRestorer } from '../helpers/face-models.js';
import { jobDirs } from '../helpers/invariants.js';

const dir = scratchDir();
const data = join(dir, 'xdg');
const store = join(data, 'upframe', 'models');
const env = { XDG_DATA_HOME: data };
const tempRoot = join(scratchDir('upframe-e2e-tmp-'), 'tmp');
const restorer = positionRestorer(dir, { fidelity: true });

/** Every file of the store with its size and mtime: a refusal changes none. */
function storeState(): Record<string, string> {
  if (!existsSync(store)) return {};
  return Object.fromEntries(readdirSync(store).map((name) => [name, `${statSync(join(store, name)).size}@${statSync(join(store, name)).mtimeMs}`]));
}

async function expectRefused(args: string[], pattern: RegExp): Promise<void> {
  const before = storeState();
  const result = await cli(args, env).result;
  const errors = result.stderr.trim().split('\n').filter((l) => l.startsWith('upframe:'));
  expect(result.code).toBe(2);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(storeState()).toEqual(before);
}

describe('models import: a restorer the user brings', () => {
  it('refuses what is not a face restorer, before the store exists', async () => {
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'not a model\n');
    await expectRefused(['models', 'import', text, '--kind', 'face-restore'], /^upframe: not an ONNX model: .*notes\.onnx/);
    await expectRefused(['models', 'import', halvingRestorer(dir), '--kind', 'face-restore'], /^upframe: not a face restorer \(a 512×512 crop came back as float32 \[1,3,256,256\]\)/);
    await expectRefused(['models', 'import', restorer, '--kind', 'upscale'], /--kind expects face-restore or face-detect/);
    expect(existsSync(store)).toBe(false);
  });

  it('imports one, lists it, verifies it, and refuses the same bytes under another name', async () => {
    const imported = await cli(['models', 'import', restorer, '--kind', 'face-restore', '--name', 'synth'], env).result;
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/^imported synth \(face-restore, 512×512, fidelity input\), sha256 [0-9a-f]{64}$/m);
    expect(readdirSync(store).sort()).toEqual(['models.json', 'synth.onnx']);
    expect(readFileSync(join(store, 'synth.onnx'))).toEqual(readFileSync(restorer));
    const list = await cli(['models', 'list'], env).result;
    expect(list.stdout).toMatch(/^synth\tface-restore\t512×512 \+fidelity\timported\t.*synth\.onnx$/m);
    expect(list.stdout).toMatch(/^blazeface-back-256\tface-detect\t-\tApache-2\.0\t/m);
    await expectRefused(['models', 'import', restorer, '--kind', 'face-restore', '--name', 'other'], /already imported as "synth"/);
    await expectRefused(['models', 'import', positionRestorer(dir, { size: 256 }), '--kind', 'face-restore', '--name', 'synth'], /a model named "synth" is already imported/);
    expect((await cli(['models', 'verify'], env).result).stdout).toMatch(/^ok {3}synth: sha256 [0-9a-f]{64} \(imported\)$/m);
  });

  it('restores the faces of a video by the imported name, and says how many (--json)', async () => {
    const clip = faceClip(dir, 'faces.mp4', { width: 320, frames: 2 });
    const output = join(dir, 'restored.mp4');
    const result = await cli(['run', clip, '-o', output, '--scale', '1', '--face-restore', 'synth', '--face-min-size', '30', '--face-fidelity', '0.8', '--json', '--temp-dir', tempRoot], env).result;
    expect(result.code).toBe(0);
    const events = jsonEvents(result.stdout);
    const notices = events.filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices).toContain('faces: 6 restored in 2 of 2 frames');
    expect(events.some((e) => e.type === 'progress' && e.stage === 'face')).toBe(true);
    expect(existsSync(output)).toBe(true);
    expect(jobDirs(tempRoot)).toEqual([]);
  });

  it('doctor verifies the imported model, and fails when its file changed', async () => {
    const ok = jsonEvents((await cli(['doctor', '--json'], env).result).stdout)[0] as { checks: { name: string; ok: boolean }[] };
    expect(ok.checks.find((c) => c.name === 'imported model synth')?.ok).toBe(true);
    writeFileSync(join(store, 'synth.onnx'), Buffer.concat([readFileSync(join(store, 'synth.onnx')), Buffer.from([0])]));
    const doctor = await cli(['doctor', '--json'], env).result;
    const checks = (jsonEvents(doctor.stdout)[0] as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
    expect(checks.find((c) => c.name === 'imported model synth')).toMatchObject({ ok: false, detail: expect.stringMatching(/!= imported/) });
    expect(doctor.code).toBe(1);
    expect((await cli(['models', 'verify'], env).result).code).toBe(1);
  });
});
