/**
 * SwiftShader, the software Vulkan driver that Debian's chromium-common ships, fetched once with
 * `apt-get download` (no root needed) and extracted into a cache folder: with VK_ICD_FILENAMES at its
 * manifest, onnxruntime-node's WebGPU provider (Dawn over Vulkan) runs on this CPU. Where the system
 * has no Vulkan loader (libvulkan.so.1; `.ci/run` installs libvulkan1), the libvulkan1 package is
 * extracted beside it and put on LD_LIBRARY_PATH.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/services/paths.js';
import { vulkanView } from '../../src/services/vulkan.js';

const CACHE = process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'upframe-swiftshader') : join(PACKAGE_ROOT, 'node_modules', '.cache', 'upframe-swiftshader');
const ICD = 'vk_swiftshader_icd.json';

/** Extracts `files` (paths inside the package) of a Debian package into `into`. */
function extractFromPackage(pkg: string, files: readonly string[], into: string): void {
  const scratch = mkdtempSync(join(CACHE, '..', `.${pkg}-`));
  try {
    execFileSync('apt-get', ['download', pkg], { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    const deb = readdirSync(scratch).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} gave no .deb`);
    execFileSync('dpkg-deb', ['-x', join(scratch, deb), join(scratch, 'x')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    for (const file of files) copyFileSync(join(scratch, 'x', file), join(into, file.split('/').pop()!));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function fetchInto(folder: string): void {
  extractFromPackage('chromium-common', ['usr/lib/chromium/libvk_swiftshader.so', `usr/lib/chromium/${ICD}`], folder);
  if (!vulkanView({ LD_LIBRARY_PATH: '' }).loader) {
    extractFromPackage('libvulkan1', ['usr/lib/x86_64-linux-gnu/libvulkan.so.1'], folder);
  }
}

/** The cached driver, fetched on first use (about 27 MB through apt, a few seconds). */
export function swiftShaderDir(): string {
  if (existsSync(join(CACHE, ICD))) return CACHE;
  mkdirSync(join(CACHE, '..'), { recursive: true });
  const staging = mkdtempSync(`${CACHE}.part-`);
  try {
    fetchInto(staging);
    // Test files run in parallel: the first complete copy wins, the others are dropped.
    try {
      renameSync(staging, CACHE);
    } catch {
      if (!existsSync(join(CACHE, ICD))) throw new Error(`cannot place SwiftShader in ${CACHE}`);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return CACHE;
}

/** The environment under which WebGPU sees SwiftShader as its only adapter. */
export function swiftShaderEnv(): Record<string, string> {
  const dir = swiftShaderDir();
  const env: Record<string, string> = { VK_ICD_FILENAMES: join(dir, ICD) };
  if (existsSync(join(dir, 'libvulkan.so.1'))) env.LD_LIBRARY_PATH = [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}
