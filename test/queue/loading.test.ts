import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** Imports loaded with the file itself: static, not `import type`, not dynamic `import()`. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s+(?!type\s)[^'";]*?from\s+'([^']+)'/gms), ...text.matchAll(/^import\s+'([^']+)'/gm)].map((m) => m[1]);
}

const files = new Map(sourceFiles(SRC).map((file) => [file.replace(/\.tsx?$/, ''), file]));

/** Every file loaded when upframe starts, before any command decides to load more. */
function loadedAtStart(): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue = [join(SRC, 'cli.ts')];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const imports = staticImports(file);
    seen.set(file, imports);
    for (const specifier of imports) {
      if (!specifier.startsWith('.')) continue;
      const target = files.get(resolve(dirname(file), specifier).replace(/\.js$/, ''));
      if (target) queue.push(target);
    }
  }
  return seen;
}

describe('the queue is opt-in', () => {
  it('a plain run never loads BullMQ, ioredis or src/queue: only --queue, worker, status and doctor --queue do', () => {
    const loaded = loadedAtStart();
    expect(loaded.size).toBeGreaterThan(20);
    const offenders = [...loaded].filter(([file, imports]) => relative(SRC, file).startsWith('queue/') || imports.some((s) => s === 'bullmq' || s === 'ioredis'));
    expect(offenders.map(([file]) => relative(SRC, file))).toEqual([]);
    // and the queue code does load them: the check looks at the right thing.
    expect(staticImports(join(SRC, 'queue/worker.ts'))).toContain('bullmq');
  });
});
