import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNoSpace } from './disk-space.js';

/** Where a job's segments go: its temp folder, or with --resume a folder that outlives the job. */
export interface SegmentStore {
  readonly dir: string;
  readonly resumable: boolean;
  path(index: number): string;
  /** Written here, renamed to `path` when verified complete. */
  partPath(index: number): string;
  /** `partPath` as ffmpeg's printf pattern over the index, for an encoder that names its files itself. */
  readonly partPattern: string;
  /** A segment counts once its file is recorded and still has the size (and, when opened, the checksum) recorded. */
  has(index: number): boolean;
  /** After the rename: the segment's frame count, size and checksum go into the manifest. */
  record(index: number, frames: number): void;
}

/** What is recorded of a finished segment, so a truncated or altered file is never joined. */
interface SegmentRecord {
  readonly frames: number;
  readonly size: number;
  /** sha256 of the whole file: segments are in the output's codec, about its size, cheap to hash. */
  readonly sha256: string;
}

export interface InputIdentity {
  readonly size: number;
  readonly mtimeMs: number;
  /** sha256 of the first and last MiB: a changed file is caught without reading all of it. */
  readonly sample: string;
}

interface Manifest {
  /** 3: segments in the output's codec, recorded by a whole-file hash (2: lossless segments). */
  readonly version: 3;
  readonly input: InputIdentity;
  readonly settings: unknown;
  readonly segments: Readonly<Record<string, SegmentRecord>>;
}

const SAMPLE = 1 << 20;

export function inputIdentity(path: string): InputIdentity {
  const { size, mtimeMs } = statSync(path);
  return { size, mtimeMs, sample: sampleHash(path, size) };
}

function sampleHash(path: string, size: number): string {
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
  return hash.digest('hex');
}

function fileHash(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(SAMPLE);
    for (let read = readSync(fd, buffer, 0, SAMPLE, null); read > 0; read = readSync(fd, buffer, 0, SAMPLE, null)) hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function recordOf(path: string, frames: number): SegmentRecord {
  return { frames, size: statSync(path).size, sha256: fileHash(path) };
}

/** A kept segment counts only while its file is the one recorded: same size, same bytes. */
function matches(path: string, record: SegmentRecord | undefined): boolean {
  if (!record || !existsSync(path)) return false;
  return statSync(path).size === record.size && fileHash(path) === record.sha256;
}

export function resumeDir(tempRoot: string, input: string, output: string): string {
  return join(tempRoot, `resume-${createHash('sha256').update(`${input}\0${output}`).digest('hex').slice(0, 16)}`);
}

const SEGMENT_DIGITS = 5;
const segmentName = (index: number) => `segment-${String(index).padStart(SEGMENT_DIGITS, '0')}.nut`;

/** `save` persists the records (the --resume manifest); a job folder's store keeps them in memory. */
function store(dir: string, resumable: boolean, records: Record<string, SegmentRecord>, save: () => void): SegmentStore {
  const path = (index: number) => join(dir, segmentName(index));
  return {
    dir,
    resumable,
    path,
    partPath: (index) => `${path(index)}.part`,
    // `%` is the pattern's own character: one in the folder's name is written twice.
    partPattern: join(dir.replace(/%/g, '%%'), `segment-%0${SEGMENT_DIGITS}d.nut.part`),
    // The bytes were checked when the store was opened (openResumeStore): here the size suffices.
    has: (index) => records[index] !== undefined && existsSync(path(index)) && statSync(path(index)).size === records[index].size,
    record: (index, frames) => {
      records[index] = recordOf(path(index), frames);
      save();
    },
  };
}

export function temporaryStore(jobDir: string): SegmentStore {
  return store(jobDir, false, {}, () => undefined);
}

export interface OpenedStore {
  readonly store: SegmentStore;
  /** Why earlier checkpoints were dropped, or how many are reused: for the user. */
  readonly notice?: string;
}

function differences(before: Manifest, input: InputIdentity, settings: unknown): string | undefined {
  if (before.version !== 3) return 'an older format';
  if (before.input.size !== input.size || before.input.sample !== input.sample || before.input.mtimeMs !== input.mtimeMs) return 'a different version of the input';
  if (JSON.stringify(before.settings) !== JSON.stringify(settings)) return 'other options or models';
  return undefined;
}

function readManifest(path: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** Written beside and renamed over: a crash mid-write leaves the previous manifest whole. */
function writeManifest(path: string, manifest: Manifest): void {
  writeFileSync(`${path}.part`, JSON.stringify(manifest));
  renameSync(`${path}.part`, path);
}

/** Room set aside in a --resume folder for the manifest: about 600 segments' records. */
const RESERVE_BYTES = 64 << 10;
const RESERVE_NAME = 'reserve';

/**
 * Set aside where the disk may fill while a finished segment is recorded: the next segment's encoder
 * writes beside it, and on a shared, busy machine it filled the disk first, so the record failed and
 * the finished segment went with it. Not set aside when the disk has no room even for this.
 */
function setAside(dir: string): void {
  try {
    writeFileSync(join(dir, RESERVE_NAME), Buffer.alloc(RESERVE_BYTES));
  } catch (cause) {
    rmSync(join(dir, RESERVE_NAME), { force: true });
    if (!isNoSpace(cause)) throw cause;
  }
}

/** `write`, and on a full disk the room set aside given up for it, once. */
function intoReserve(dir: string, write: () => void): void {
  try {
    write();
  } catch (cause) {
    const reserve = join(dir, RESERVE_NAME);
    if (!isNoSpace(cause) || !existsSync(reserve)) throw cause;
    rmSync(reserve);
    write();
  }
}

/**
 * The --resume store: reuses the folder when its manifest matches this input and these settings,
 * and starts it over (saying why) when it does not. Unfinished `.part` files never count, and a kept
 * segment whose size or checksum changed since it was recorded (truncated, overwritten, bit rot) is
 * removed and redone, with a notice: it is never joined.
 */
export function openResumeStore(dir: string, input: InputIdentity, settings: unknown): OpenedStore {
  const manifestPath = join(dir, 'manifest.json');
  const notices: string[] = [];
  const before = existsSync(manifestPath) ? readManifest(manifestPath) : undefined;
  const why = existsSync(manifestPath) ? (before ? differences(before, input, settings) : 'an unreadable manifest') : undefined;
  if (why) notices.push(`checkpoints in ${dir} were made for ${why}: starting over`);
  if (why || !before) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  removePartFiles(dir);
  const records: Record<string, SegmentRecord> = {};
  const damaged: number[] = [];
  for (const [index, record] of Object.entries(why ? {} : (before?.segments ?? {}))) {
    const path = join(dir, segmentName(Number(index)));
    if (matches(path, record)) records[index] = record;
    else {
      damaged.push(Number(index) + 1);
      rmSync(path, { force: true });
    }
  }
  if (damaged.length > 0) notices.push(`kept segment(s) ${damaged.join(', ')} in ${dir} changed on disk since they were finished: redoing them`);
  setAside(dir);
  const save = () => intoReserve(dir, () => writeManifest(manifestPath, { version: 3, input, settings, segments: records }));
  save();
  return { store: store(dir, true, records, save), notice: notices.length > 0 ? notices.join('; ') : undefined };
}

/** Unfinished segment files: never counted, removed on every ending of the job that wrote them. */
export function removeParts(store: SegmentStore): void {
  removePartFiles(store.dir);
}

function removePartFiles(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (name.endsWith('.part')) rmSync(join(dir, name), { force: true });
}

export function removeStore(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
