import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a job's segments go: its temp folder, or with --resume a folder that outlives the job. */
export interface SegmentStore {
  readonly dir: string;
  readonly resumable: boolean;
  path(index: number): string;
  /** Written here, renamed to `path` when complete: a listed segment is always whole. */
  partPath(index: number): string;
  has(index: number): boolean;
}

export interface InputIdentity {
  readonly size: number;
  readonly mtimeMs: number;
  /** sha256 of the first and last MiB: a changed file is caught without reading all of it. */
  readonly sample: string;
}

interface Manifest {
  readonly version: 1;
  readonly input: InputIdentity;
  readonly settings: unknown;
}

const SAMPLE = 1 << 20;

export function inputIdentity(path: string): InputIdentity {
  const { size, mtimeMs } = statSync(path);
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (const position of size > 2 * SAMPLE ? [0, size - SAMPLE] : [0]) {
      const buffer = Buffer.alloc(Math.min(size, size > 2 * SAMPLE ? SAMPLE : size));
      readSync(fd, buffer, 0, buffer.length, position);
      hash.update(buffer);
    }
  } finally {
    closeSync(fd);
  }
  return { size, mtimeMs, sample: hash.digest('hex') };
}

export function resumeDir(tempRoot: string, input: string, output: string): string {
  return join(tempRoot, `resume-${createHash('sha256').update(`${input}\0${output}`).digest('hex').slice(0, 16)}`);
}

function store(dir: string, resumable: boolean): SegmentStore {
  const name = (index: number) => `segment-${String(index).padStart(5, '0')}.nut`;
  return {
    dir,
    resumable,
    path: (index) => join(dir, name(index)),
    partPath: (index) => join(dir, `${name(index)}.part`),
    has: (index) => existsSync(join(dir, name(index))),
  };
}

export function temporaryStore(jobDir: string): SegmentStore {
  return store(jobDir, false);
}

export interface OpenedStore {
  readonly store: SegmentStore;
  /** Why earlier checkpoints were dropped, or how many are reused: for the user. */
  readonly notice?: string;
}

function differences(before: Manifest, input: InputIdentity, settings: unknown): string | undefined {
  if (before.version !== 1) return 'an older format';
  if (before.input.size !== input.size || before.input.sample !== input.sample || before.input.mtimeMs !== input.mtimeMs) return 'a different version of the input';
  if (JSON.stringify(before.settings) !== JSON.stringify(settings)) return 'other options or models';
  return undefined;
}

/**
 * The --resume store: reuses the folder when its manifest matches this input and these settings,
 * and starts it over (saying why) when it does not. Unfinished `.part` files never count.
 */
export function openResumeStore(dir: string, input: InputIdentity, settings: unknown): OpenedStore {
  const manifestPath = join(dir, 'manifest.json');
  let notice: string | undefined;
  if (existsSync(manifestPath)) {
    let before: Manifest | undefined;
    try {
      before = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    } catch {
      before = undefined;
    }
    const why = before ? differences(before, input, settings) : 'an unreadable manifest';
    if (why) {
      notice = `checkpoints in ${dir} were made for ${why}: starting over`;
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(dir)) if (name.endsWith('.part')) rmSync(join(dir, name), { force: true });
  writeFileSync(manifestPath, JSON.stringify({ version: 1, input, settings } satisfies Manifest));
  return { store: store(dir, true), notice };
}

export function removeStore(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
