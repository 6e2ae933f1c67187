import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * What the Vulkan loader will find, read from files the way the loader reads them (onnxruntime-node
 * exposes no adapter name: its WebGPU provider, Dawn, keeps it inside). Dawn asks for the
 * high-performance adapter, so with a hardware driver whose device is present it takes that one;
 * with software drivers only (SwiftShader, lavapipe), it takes one of those.
 */
export interface VulkanDriver {
  /** The ICD manifest (`*.json`) that names the driver. */
  readonly manifest: string;
  /** Its `library_path` as written there. */
  readonly library: string;
  /** A readable name: `SwiftShader`, `NVIDIA`, `AMD (RADV)` … or the library's name. */
  readonly name: string;
  readonly software: boolean;
  /** Software drivers: always; hardware ones: whether a device of its vendor is present here. */
  readonly devicePresent: boolean;
}

export interface VulkanView {
  /** `libvulkan.so.1` found where the dynamic loader looks (LD_LIBRARY_PATH and the usual folders). */
  readonly loader: string | undefined;
  readonly drivers: readonly VulkanDriver[];
  /** Set when VK_ICD_FILENAMES / VK_DRIVER_FILES choose the manifests (the usual folders are then ignored). */
  readonly override?: string;
}

interface KnownDriver {
  readonly pattern: RegExp;
  readonly name: string;
  readonly software: boolean;
  /** PCI vendor id of its devices (`/sys/class/drm/card*\/device/vendor`). */
  readonly vendor?: string;
}

const KNOWN: readonly KnownDriver[] = [
  { pattern: /swiftshader/i, name: 'SwiftShader', software: true },
  { pattern: /vulkan_lvp|lavapipe/i, name: 'lavapipe (llvmpipe)', software: true },
  { pattern: /nvidia/i, name: 'NVIDIA', software: false, vendor: '0x10de' },
  { pattern: /radeon|amdvlk|amdgpu/i, name: 'AMD', software: false, vendor: '0x1002' },
  { pattern: /intel|hasvk/i, name: 'Intel', software: false, vendor: '0x8086' },
  { pattern: /nouveau/i, name: 'NVIDIA (nouveau)', software: false, vendor: '0x10de' },
];

const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];

function manifestDirs(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? '';
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  return [
    ...configDirs,
    '/etc',
    env.XDG_CONFIG_HOME || (home && join(home, '.config')),
    ...dataDirs,
    env.XDG_DATA_HOME || (home && join(home, '.local/share')),
  ]
    .filter(Boolean)
    .map((d) => join(d, 'vulkan', 'icd.d'));
}

function jsonFilesOf(pathList: string): string[] {
  return pathList
    .split(':')
    .filter(Boolean)
    .flatMap((path) => {
      try {
        if (statSync(path).isDirectory()) return readdirSync(path).filter((f) => f.endsWith('.json')).map((f) => join(path, f));
        return [path];
      } catch {
        return [];
      }
    });
}

function vendorPresent(vendor: string): boolean {
  if (vendor === '0x10de' && existsSync('/dev/nvidiactl')) return true;
  try {
    return readdirSync('/sys/class/drm')
      .filter((card) => /^card\d+$/.test(card))
      .some((card) => readFileSync(join('/sys/class/drm', card, 'device', 'vendor'), 'utf8').trim() === vendor);
  } catch {
    return false;
  }
}

function driverOf(manifest: string): VulkanDriver | undefined {
  let library: string;
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: unknown } };
    if (typeof parsed.ICD?.library_path !== 'string') return undefined;
    library = parsed.ICD.library_path;
  } catch {
    return undefined;
  }
  const known = KNOWN.find((k) => k.pattern.test(basename(library)) || k.pattern.test(basename(manifest)));
  const software = known?.software ?? false;
  const resolved = library.includes('/') && !isAbsolute(library) ? resolve(dirname(manifest), library) : library;
  return {
    manifest,
    library: resolved,
    name: known?.name ?? basename(library),
    software,
    devicePresent: software || (known?.vendor ? vendorPresent(known.vendor) : true),
  };
}

function findLoader(env: NodeJS.ProcessEnv): string | undefined {
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  return dirs.map((d) => join(d, 'libvulkan.so.1')).find((p) => existsSync(p));
}

export function vulkanView(env: NodeJS.ProcessEnv = process.env): VulkanView {
  const override = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  const manifests = override
    ? jsonFilesOf(override)
    : [...manifestDirs(env).flatMap(jsonFilesOf), ...jsonFilesOf(env.VK_ADD_DRIVER_FILES ?? '')];
  const drivers = [...new Set(manifests)].map(driverOf).filter((d): d is VulkanDriver => d !== undefined);
  return { loader: findLoader(env), drivers, ...(override ? { override } : {}) };
}

/** The adapter Dawn will take: the first hardware driver with its device present, else a software one. */
export function likelyAdapter(view: VulkanView): VulkanDriver | undefined {
  return view.drivers.find((d) => !d.software && d.devicePresent) ?? view.drivers.find((d) => d.software);
}

/** What is missing for WebGPU and how to get it; undefined when a driver is there to try. */
export function vulkanMissing(view: VulkanView): { readonly what: string; readonly fix: string } | undefined {
  const driverFix = "install your GPU's Vulkan driver: NVIDIA's own driver, or mesa-vulkan-drivers for AMD and Intel";
  if (!view.loader) return { what: 'the Vulkan loader (libvulkan.so.1) is not installed', fix: "install it: apt-get install libvulkan1 (Debian, Ubuntu) or vulkan-loader" };
  if (view.drivers.length === 0) {
    const where = view.override ? `VK_ICD_FILENAMES/VK_DRIVER_FILES=${view.override} names no driver manifest` : 'no manifest in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d';
    return { what: `no Vulkan driver (${where})`, fix: driverFix };
  }
  if (!likelyAdapter(view)) {
    return { what: `no GPU for the Vulkan drivers here (${view.drivers.map((d) => d.name).join(', ')})`, fix: 'check that the GPU is there and its kernel driver loaded (upframe doctor)' };
  }
  return undefined;
}
