// The TypeScript sources as plain ES modules, built by esbuild into node_modules/.cache/upframe and
// rebuilt whenever a file they were built from changes. Under tsx every process (the CLI, each
// inference host) compiles its modules through the loader at start: about 0.3 s for the CLI and
// 0.15 s for a host on 2 cores, before any work. Built, they load as Node loads any module.
// Plain JavaScript: bin/upframe.js needs it before anything TypeScript can load.
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every program upframe starts with `node`: the CLI and its hosts, in one build that shares chunks. */
const ENTRIES = {
  cli: 'src/cli.ts',
  'hosts/upscale': 'src/hosts/upscale.ts',
  'hosts/interpolate': 'src/hosts/interpolate.ts',
  'hosts/face': 'src/hosts/face.ts',
  'hosts/check-session': 'src/hosts/check-session.ts',
  'hosts/face-check': 'src/hosts/face-check.ts',
  'hosts/device-check': 'src/hosts/device-check.ts',
};

const STAMP = 'build.json';
/** A build replaced this long ago is removed: a process started from it has long loaded what it needs. */
const KEEP_REPLACED_MS = 24 * 3600 * 1000;
// Files that shape the build without being among its inputs: the compiler settings and this file.
const SETTINGS = ['tsconfig.json', 'bin/compile.js'];

export function buildCache(root) {
  return join(root, 'node_modules', '.cache', 'upframe');
}

function signature(root, files) {
  const seen = {};
  for (const file of files) {
    const stat = statSync(join(root, file));
    seen[file] = `${stat.mtimeMs}:${stat.size}`;
  }
  return seen;
}

function fresh(root, cache) {
  try {
    const stamp = JSON.parse(readFileSync(join(cache, STAMP), 'utf8'));
    const now = signature(root, Object.keys(stamp.inputs));
    const dir = join(cache, stamp.dir);
    statSync(join(dir, 'cli.mjs'));
    return Object.entries(stamp.inputs).every(([file, seen]) => now[file] === seen) ? dir : undefined;
  } catch {
    // no build yet, or one of its inputs is gone
    return undefined;
  }
}

function build(root, cache) {
  const { buildSync } = createRequire(import.meta.url)('esbuild');
  mkdirSync(cache, { recursive: true });
  const dir = `build-${Date.now()}-${process.pid}`;
  const result = buildSync({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outdir: join(cache, dir),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Dynamic imports stay lazy: the CLI loads the TUI, the queue or a preview only when asked to.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Packages load from node_modules as they are: only this package's own sources are built.
    packages: 'external',
    tsconfig: join(root, 'tsconfig.json'),
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = signature(root, [...Object.keys(result.metafile.inputs), ...SETTINGS]);
  // Written whole, then renamed: a process reading the stamp sees the old build or the new one.
  const temporary = join(cache, `${STAMP}.${process.pid}.tmp`);
  writeFileSync(temporary, JSON.stringify({ dir, inputs }));
  renameSync(temporary, join(cache, STAMP));
  for (const old of readdirSync(cache)) {
    if (!old.startsWith('build-') || old === dir) continue;
    try {
      if (Date.now() - statSync(join(cache, old)).mtimeMs > KEEP_REPLACED_MS) rmSync(join(cache, old), { recursive: true, force: true });
    } catch {
      // another process removed it first
    }
  }
  return join(cache, dir);
}

/**
 * The folder of the current build, built first when there is none or a source changed since;
 * undefined when it cannot be built (a read-only install, esbuild missing): the caller then runs
 * the sources under tsx, as before builds existed.
 */
export function compiled(root) {
  if (process.env.UPFRAME_NO_BUILD === '1') return undefined;
  const cache = buildCache(root);
  const current = fresh(root, cache);
  if (current) return current;
  try {
    return build(root, cache);
  } catch {
    return undefined;
  }
}
