/**
 * The GPU check (scripts/gpu-pack.sh, scripts/gpu-check.sh, scripts/gpu/check.ts) as far as it runs
 * without a GPU: packed here, unpacked into a clean copy of the repository that has no node_modules,
 * run there on the CPU with its quick sizes, its JSON read back.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/services/paths.js';
import { scratchDir } from '../helpers/app.js';

const PARTS = join('node_modules', '.cache', 'upframe-gpu');

describe('the GPU check, without a GPU', () => {
  it('packs into two parts under 60 MiB, unpacks into a clean copy, runs on the CPU and writes its JSON', { timeout: 600_000 }, () => {
    const pack = spawnSync('bash', ['scripts/gpu-pack.sh'], { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 480_000 });
    expect(pack.status, pack.stderr).toBe(0);
    for (const part of ['runtime', 'ffmpeg']) expect(statSync(join(PACKAGE_ROOT, PARTS, `${part}.tar.xz`)).size).toBeLessThan(60 * 2 ** 20);

    // The repository's own files, as the device machine gets them, and the two parts: nothing else.
    const clean = join(scratchDir('upframe-gpu-check-'), 'repo');
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: PACKAGE_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const file of files) {
      if (!existsSync(join(PACKAGE_ROOT, file))) continue;
      mkdirSync(dirname(join(clean, file)), { recursive: true });
      cpSync(join(PACKAGE_ROOT, file), join(clean, file));
    }
    mkdirSync(join(clean, PARTS), { recursive: true });
    for (const part of ['runtime', 'ffmpeg']) cpSync(join(PACKAGE_ROOT, PARTS, `${part}.tar.xz`), join(clean, PARTS, `${part}.tar.xz`));
    expect(existsSync(join(clean, 'node_modules', 'onnxruntime-node'))).toBe(false);

    // Two calls, as on the device machine: the first only unpacks.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !['UPFRAME_FFMPEG', 'UPFRAME_FFPROBE', 'VK_ICD_FILENAMES', 'VK_DRIVER_FILES'].includes(key)));
    const unpack = spawnSync('bash', ['scripts/gpu-check.sh', '--unpack'], { cwd: clean, encoding: 'utf8', env, timeout: 300_000 });
    expect(unpack.status, unpack.stderr).toBe(0);
    expect(unpack.stdout).toMatch(/unpacked runtime/);
    expect(unpack.stdout).toMatch(/unpacked ffmpeg/);
    const out = join(clean, 'out');
    const run = spawnSync('bash', ['scripts/gpu-check.sh', out, '--quick', '--device', 'cpu'], { cwd: clean, encoding: 'utf8', env, timeout: 300_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    // It ran the carried Node, not this machine's.
    expect(readFileSync(join(out, 'node-version.txt'), 'utf8').trim()).toBe(process.version);

    const report = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8'));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ quick: true, device: 'cpu' });
    expect(report.adapters.onnxruntime).toMatch(/^1\.30\./);
    // No GPU here: WebGPU and CUDA are reported as not starting, each with its reason.
    expect(report.adapters.check.cuda.ok).toBe(false);
    expect(report.endToEnd).toMatchObject({ device: 'cpu', code: 0 });
    expect(report.endToEnd.bare.fps).toBeGreaterThan(0);
    expect(report.cancels.length).toBeGreaterThanOrEqual(2);
    // A cancel lands (exit 130, idle within the bound) or comes after a short run's end (exit 0).
    for (const cancel of report.cancels.filter((c: { how: string }) => c.how.startsWith('SIGINT'))) {
      expect([0, 130]).toContain(cancel.code);
      if (cancel.code === 130) expect(cancel.cancelToIdleMs).toBeLessThan(1000);
    }
    expect(report.cancels.at(-1)).toMatchObject({ how: 'SIGKILL of the orchestrator' });
    expect(report.finishedAt).toBeDefined();
  });
});
