import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildCache, compiled } from '../../bin/compile.js';
import { hostArgs, PACKAGE_ROOT } from '../../src/services/paths.js';
import { scratchDir } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { markedProcesses } from '../helpers/invariants.js';
import { frameMd5s, makeClip } from '../helpers/media.js';
import { nearestModel } from '../helpers/models.js';

/** A package of its own: the sources, settings and build script, nothing else (packages stay external). */
function copyOfPackage(): string {
  const root = scratchDir('upframe-build-');
  for (const part of ['src', 'bin', 'tsconfig.json', 'package.json']) cpSync(join(PACKAGE_ROOT, part), join(root, part), { recursive: true });
  return root;
}

/** Every module a built entry loads, statically or by `import()`, and the packages they name. */
function reach(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)"([^"]+)"/g)) {
      const specifier = match[1];
      if (specifier.startsWith('.')) queue.push(join(dirname(file), specifier));
      else packages.add(specifier);
    }
  }
  return { files, packages };
}

describe('the built sources', () => {
  it('are built once, reused while no input changes, rebuilt when one does, and left to tsx when they cannot build', () => {
    const root = copyOfPackage();
    const first = compiled(root)!;
    expect(first.startsWith(buildCache(root))).toBe(true);
    for (const entry of ['cli.mjs', 'hosts/upscale.mjs', 'hosts/interpolate.mjs', 'hosts/face.mjs', 'hosts/device-check.mjs']) expect(existsSync(join(first, entry))).toBe(true);
    expect(compiled(root)).toBe(first);

    // A source the build came from, touched: a new build; the one before stays for processes started from it.
    const source = join(root, 'src', 'hosts', 'tiles.ts');
    const later = new Date(Date.now() + 5000);
    utimesSync(source, later, later);
    const second = compiled(root)!;
    expect(second).not.toBe(first);
    expect(existsSync(join(first, 'cli.mjs'))).toBe(true);
    expect(compiled(root)).toBe(second);
    // The compiler settings count too.
    utimesSync(join(root, 'tsconfig.json'), later, new Date(Date.now() + 10_000));
    const third = compiled(root)!;
    expect(third).not.toBe(second);

    // A source that does not compile: no build; the caller runs the sources under tsx and reports there.
    writeFileSync(source, `${readFileSync(source, 'utf8')}\nexport const broken = ;\n`);
    expect(compiled(root)).toBeUndefined();
    expect(compiled(root)).toBeUndefined();
  });

  it('keeps onnxruntime out of the CLI: only the hosts load it', () => {
    const build = compiled(PACKAGE_ROOT)!;
    const orchestrator = reach(join(build, 'cli.mjs'));
    expect(orchestrator.packages.has('xstate')).toBe(true);
    expect(orchestrator.packages.has('ink')).toBe(true);
    expect([...orchestrator.packages].filter((name) => name.startsWith('onnxruntime'))).toEqual([]);
    expect(reach(join(build, 'hosts', 'upscale.mjs')).packages.has('onnxruntime-node')).toBe(true);
    expect(hostArgs('upscale')).toEqual([join(build, 'hosts', 'upscale.mjs')]);
    expect(readdirSync(build).some((file) => /^chunk-.*\.mjs$/.test(file))).toBe(true);
  });

  it('runs a job the same built or under tsx', async () => {
    const dir = scratchDir();
    const input = makeClip(dir, 'in.mp4', { size: '64x48', seconds: 0.5 });
    const model = nearestModel(dir);
    const outputs = [];
    for (const env of [{}, { UPFRAME_NO_BUILD: '1' }]) {
      const output = join(dir, `out-${outputs.length}.mkv`);
      const run = cli(['run', input, '-o', output, '--model', model, '--lossless', '--json', '--temp-dir', join(dir, 'tmp')], env);
      const hosts = new Set<string>();
      const sample = setInterval(() => {
        for (const pid of markedProcesses(run.marker)) {
          try {
            hosts.add(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').find((arg) => /hosts\/upscale\./.test(arg)) ?? '');
          } catch {
            // gone
          }
        }
      }, 20);
      const result = await run.result;
      clearInterval(sample);
      expect(result.code, result.stderr).toBe(0);
      expect([...hosts].filter(Boolean).map((path) => path.split('/').slice(-2).join('/'))).toEqual([env.UPFRAME_NO_BUILD ? 'hosts/upscale.ts' : 'hosts/upscale.mjs']);
      outputs.push(output);
    }
    expect(frameMd5s(outputs[1])).toEqual(frameMd5s(outputs[0]));
  });
});
