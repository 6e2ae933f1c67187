import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

interface Import {
  readonly from: string;
  readonly specifier: string;
  /** `import type …` / `export type …`: erased at run time. */
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** Static imports and re-exports, and dynamic `import('…')`, as written in the file. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(/^(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gms)) {
    found.push({ from: file, specifier: match[3], typeOnly: Boolean(match[2]) });
  }
  for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push({ from: file, specifier: match[1], typeOnly: false });
  return found;
}

function target(imp: Import): string | undefined {
  if (!imp.specifier.startsWith('.')) return undefined;
  return resolve(dirname(imp.from), imp.specifier).replace(/\.js$/, '');
}

const files = sourceFiles(SRC);
const byPath = new Map(files.map((file) => [file.replace(/\.tsx?$/, ''), file]));
const layerOf = (file: string): string => relative(SRC, file).split('/')[0].replace(/\.tsx?$/, '');

/** Every file the orchestrator loads at run time, from the CLI entry, following runtime imports only. */
function orchestratorFiles(): Set<string> {
  const seen = new Set<string>();
  const queue = [join(SRC, 'cli.ts')];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of importsOf(file)) {
      const path = target(imp);
      if (!imp.typeOnly && path && byPath.has(path)) queue.push(byPath.get(path)!);
    }
  }
  return seen;
}

describe('layers', () => {
  it('the orchestrator never loads onnxruntime or host-side compute: only the hosts do', () => {
    const loaded = [...orchestratorFiles()];
    expect(loaded.length).toBeGreaterThan(20);
    expect(loaded.filter((file) => layerOf(file) === 'hosts').map((file) => relative(SRC, file))).toEqual([]);
    const ort = loaded.filter((file) => importsOf(file).some((imp) => imp.specifier === 'onnxruntime-node' && !imp.typeOnly));
    expect(ort.map((file) => relative(SRC, file))).toEqual([]);
    // and the hosts do load it: the check above looks at the right thing.
    expect(importsOf(join(SRC, 'hosts/upscaler.ts')).some((imp) => imp.specifier === 'onnxruntime-node')).toBe(true);
  });

  it('machines hold no I/O and import no service, actor or front end', () => {
    for (const file of files.filter((f) => layerOf(f) === 'machines')) {
      for (const imp of importsOf(file)) {
        const path = target(imp);
        const allowed = path ? ['machines', 'domain'].includes(layerOf(path)) : imp.specifier === 'xstate';
        expect(allowed, `${relative(SRC, file)} imports ${imp.specifier}`).toBe(true);
      }
    }
  });

  it('the domain module imports nothing', () => {
    expect(importsOf(join(SRC, 'domain.ts'))).toEqual([]);
  });

  it('services and hosts never import machines, actors or front ends (types flow one way)', () => {
    for (const file of files.filter((f) => ['services', 'hosts'].includes(layerOf(f)))) {
      for (const imp of importsOf(file)) {
        const path = target(imp);
        if (!path) continue;
        expect(['machines', 'actors', 'cli', 'tui', 'app'].includes(layerOf(path)), `${relative(SRC, file)} imports ${imp.specifier}`).toBe(false);
      }
    }
  });

  it('the TUI renders: it imports machines (types), the domain and its own components, nothing that runs', () => {
    for (const file of files.filter((f) => layerOf(f) === 'tui')) {
      for (const imp of importsOf(file)) {
        const path = target(imp);
        if (!path) {
          expect(['ink', 'react', 'xstate', '@xstate/react'], `${relative(SRC, file)} imports ${imp.specifier}`).toContain(imp.specifier);
          continue;
        }
        const layer = layerOf(path);
        const ok = layer === 'tui' || layer === 'domain' || (layer === 'machines' && imp.typeOnly);
        expect(ok, `${relative(SRC, file)} imports ${imp.specifier}`).toBe(true);
      }
    }
  });
});
