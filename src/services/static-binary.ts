import { closeSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';

const ELF_MAGIC = 0x464c457f;
/** A program header's type that names the dynamic loader: a binary without one is static. */
const PT_INTERP = 3;

/** Whether `path` is a 64-bit little-endian ELF executable with no dynamic loader: a static build. */
export function isStaticElf(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) < 64 || header.readUInt32LE(0) !== ELF_MAGIC || header[4] !== 2 || header[5] !== 1) return false;
    const offset = Number(header.readBigUInt64LE(32));
    const size = header.readUInt16LE(54);
    const count = header.readUInt16LE(56);
    const table = Buffer.alloc(size * count);
    if (readSync(fd, table, 0, table.length, offset) < table.length) return false;
    for (let i = 0; i < count; i++) if (table.readUInt32LE(i * size) === PT_INTERP) return false;
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const known = new Map<string, boolean>();

/**
 * The environment a child runs in, where it differs from ours: a static build (the npm-shipped
 * ffmpeg and ffprobe, or one a user downloaded) gets GCONV_PATH pointed at a folder with no charset
 * modules. glibc's iconv inside a static binary otherwise loads the system's modules, built for
 * another glibc, and crashes: its ffprobe died that way on every MPEG-TS file (it converts the
 * broadcast's service names). Without modules iconv fails cleanly and ffmpeg keeps those names as
 * sent. Undefined for a dynamic binary: it has its own glibc's modules.
 */
export function staticBinaryEnv(command: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv | undefined {
  let isStatic = known.get(command);
  if (isStatic === undefined) known.set(command, (isStatic = isStaticElf(command)));
  // The binary's own folder: it exists, and holds no `gconv-modules`.
  return isStatic ? { ...env, GCONV_PATH: dirname(command) } : undefined;
}
