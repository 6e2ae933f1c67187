import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Device, TileSpec } from '../domain.js';
import { UserError } from './errors.js';
import { availableEncoders, NVENC } from './ffmpeg/encoders.js';
import { ffmpegBinaries } from './ffmpeg/resolve.js';
import { hostArgs } from './paths.js';
import { collectText, lastLine } from './streams.js';
import type { OwnedProcess, SpawnRequest } from './supervisor.js';
import { likelyAdapter, vulkanMissing, vulkanView, type VulkanView } from './vulkan.js';

const require = createRequire(import.meta.url);

/**
 * Device leases: the GPU has one holder at a time; the CPU as many as `--jobs` (each host then gets
 * its share of the cores). A lease is owned by the actor whose inference host runs on the device,
 * and released only after that host is reaped (the driver frees memory on process exit).
 */
export interface Lease {
  readonly device: string;
  readonly owner: string;
  release(): void;
}

const holders = new Map<string, Set<string>>();
const waiters = new Map<string, (() => void)[]>();

/** Owners per device, for checks: empty when every lease is free. */
export function leaseHolders(): ReadonlyMap<string, readonly string[]> {
  return new Map([...holders].filter(([, owners]) => owners.size > 0).map(([device, owners]) => [device, [...owners]]));
}

export function tryAcquireLease(device: string, owner: string, capacity = 1): Lease | undefined {
  const owners = holders.get(device) ?? new Set<string>();
  if (owners.size >= capacity) return undefined;
  owners.add(owner);
  holders.set(device, owners);
  let released = false;
  return {
    device,
    owner,
    release: () => {
      if (released) return;
      released = true;
      owners.delete(owner);
      waiters.get(device)?.shift()?.();
    },
  };
}

/** Waits for the device; `signal` abandons the wait without ever holding the lease. */
export function acquireLease(device: string, owner: string, signal?: AbortSignal, capacity = 1): Promise<Lease> {
  const lease = tryAcquireLease(device, owner, capacity);
  if (lease) return Promise.resolve(lease);
  return new Promise((resolvePromise, reject) => {
    const queue = waiters.get(device) ?? [];
    waiters.set(device, queue);
    const wake = (): void => {
      const next = tryAcquireLease(device, owner, capacity);
      if (next) {
        signal?.removeEventListener('abort', abandon);
        resolvePromise(next);
      } else queue.push(wake);
    };
    const abandon = (): void => {
      const index = queue.indexOf(wake);
      if (index >= 0) queue.splice(index, 1);
      reject(signal?.reason ?? new Error('lease wait aborted'));
    };
    signal?.addEventListener('abort', abandon, { once: true });
    queue.push(wake);
  });
}

/**
 * Whether `--device auto` can end up on CUDA: onnxruntime's CUDA provider is installed and an NVIDIA
 * device node exists. Read from files, without loading onnxruntime here; when it says no, `auto`
 * jobs take the CPU lease and `--jobs N` really runs N of them at once.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const dir = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    const walk = (d: string): boolean =>
      readdirSync(d, { withFileTypes: true }).some((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.includes('providers_cuda')));
    return existsSync(dir) && walk(dir);
  } catch {
    return false;
  }
}

/**
 * The command that fetches onnxruntime's CUDA provider libraries: onnxruntime-node's own install
 * script, which npm installs of this project never run (`ignore-scripts` in .npmrc).
 */
export function cudaInstallCommand(): string {
  let script = 'node_modules/onnxruntime-node/script/install.js';
  try {
    script = join(dirname(require.resolve('onnxruntime-node/package.json')), 'script', 'install.js');
  } catch {
    // not installed: the relative path still says what to run from the project folder
  }
  return `ONNXRUNTIME_NODE_INSTALL=cuda12 node ${script}`;
}

let cudaLikely: boolean | undefined;
export function cudaMayBeUsed(): boolean {
  cudaLikely ??= existsSync('/dev/nvidiactl') && cudaProviderInstalled();
  return cudaLikely;
}

/** A provider that runs, as the device-check host (src/hosts/device-check.ts) found it. */
export type ComputeDevice = 'cpu' | 'webgpu' | 'cuda';
export type ProviderCheck =
  | { readonly ok: true; readonly loadMs: number; readonly runMs: number; readonly fp16: boolean; readonly fp16Error?: string }
  | { readonly ok: false; readonly error: string };

/** The device-check host's one line on stdout. */
export interface DeviceCheckResult {
  readonly type: 'device-check';
  readonly version: string;
  readonly providers: { cuda?: ProviderCheck; webgpu?: ProviderCheck };
}

/** Runs the device-check host for these providers (a child process: the caller decides how it is owned). */
export type DeviceCheckRunner = (providers: readonly ('cuda' | 'webgpu')[]) => Promise<DeviceCheckResult>;

/** What `--device` came to: where the hosts run, what that device offers, and what a user is told. */
export interface DeviceChoice {
  readonly device: ComputeDevice;
  /** The device runs float16 models (a GPU provider whose test run of an fp16 graph passed). */
  readonly fp16: boolean;
  /** The adapter or GPU, as far as the driver tells: `NVIDIA H100 80GB HBM3`, `SwiftShader`. */
  readonly adapter?: string;
  readonly memoryBytes?: number;
  /** The hardware encoders that opened beside this device (NVENC on an NVIDIA GPU): `auto` encodes with them. */
  readonly encoders?: readonly string[];
  /** One line each: which device was taken and why the others were passed over, warnings. */
  readonly notices: readonly string[];
}

/** The NVIDIA GPU as nvidia-smi tells it (first one), else an AMD card's VRAM from sysfs. */
/** Runs a tool and gives its stdout, or undefined when it fails: on its own, or as a process a job owns. */
export type ToolRunner = (command: string, args: readonly string[]) => Promise<string | undefined>;

const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total,memory.used', '--format=csv,noheader,nounits'];

/** Outside a job (doctor, `upframe run`'s check before it starts): a child that dies with this process. */
const runOnOwn: ToolRunner = async (command, args) => {
  const query = promisify(execFile)(command, [...args], { timeout: 5000, killSignal: 'SIGKILL' });
  diesWithUs(query.child);
  return (await query).stdout;
};

/** Inside a job: the tool is a process the job owns, so a cancel kills it like any other. */
export function ownedTool(spawn: (request: Omit<SpawnRequest, 'owner'>) => OwnedProcess): ToolRunner {
  return async (command, args) => {
    const owned = spawn({ command, args: [...args], role: 'device-check', stdio: ['ignore', 'pipe', 'ignore'] });
    const [stdout, exit] = await Promise.all([collectText(owned.child.stdout), owned.exited]);
    return exit.code === 0 ? stdout : undefined;
  };
}

export interface GpuInfo {
  readonly vendor: 'nvidia' | 'amd';
  readonly name?: string;
  readonly memoryBytes?: number;
  readonly usedBytes?: number;
}

export async function gpuInfo(run: ToolRunner = runOnOwn): Promise<GpuInfo | undefined> {
  try {
    // Asked only where NVIDIA's driver is loaded: elsewhere no process is started for nothing.
    if (!existsSync('/dev/nvidiactl')) throw new Error('no NVIDIA driver');
    const stdout = (await run('nvidia-smi', NVIDIA_SMI_ARGS)) ?? '';
    const [name, total, used] = stdout.split('\n')[0].split(',').map((s) => s.trim());
    if (name) return { vendor: 'nvidia', name, memoryBytes: Number(total) * 2 ** 20, usedBytes: Number(used) * 2 ** 20 };
  } catch {
    // no NVIDIA tools: look for an AMD card
  }
  try {
    for (const card of readdirSync('/sys/class/drm').filter((c) => /^card\d+$/.test(c))) {
      const file = join('/sys/class/drm', card, 'device', 'mem_info_vram_total');
      if (existsSync(file)) return { vendor: 'amd', name: `AMD GPU (${card})`, memoryBytes: Number(readFileSync(file, 'utf8').trim()) };
    }
  } catch {
    // no DRM devices
  }
  return undefined;
}

/**
 * The NVENC encoders this ffmpeg has that open here: one black frame each. ffmpeg lists them whether
 * or not the driver can encode (an H100 or H200 has no NVENC unit; a container may lack the driver's
 * encode library), so only a real open tells.
 */
export async function nvencThatOpen(run: ToolRunner, available: ReadonlySet<string> = availableEncoders()): Promise<string[]> {
  const opened: string[] = [];
  for (const name of Object.values(NVENC).filter((n) => available.has(n))) {
    if ((await run(ffmpegBinaries().ffmpeg, encoderOpenArgs(name))) !== undefined) opened.push(name);
  }
  return opened;
}

/** ffmpeg's arguments that open `encoder` on one black frame and discard it. */
export function encoderOpenArgs(encoder: string): string[] {
  return ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=256x256:r=1', '-frames:v', '1', '-c:v', encoder, '-f', 'null', '-'];
}

const firstWords = (text: string): string => text.replace(/\s+/g, ' ').slice(0, 200);

function cudaUnavailable(reason: string): UserError {
  return new UserError(`--device cuda cannot start: ${reason}`, {
    kind: 'usage',
    tryMessage: `install CUDA's provider library with ${cudaInstallCommand()}, or use --device auto`,
  });
}

function webgpuUnavailable(reason: string, fix = "check the Vulkan driver with upframe doctor"): UserError {
  return new UserError(`--device webgpu cannot start: ${reason}`, { kind: 'usage', tryMessage: `${fix}, or use --device auto` });
}

function adapterName(view: VulkanView, gpu: Awaited<ReturnType<typeof gpuInfo>>): { name?: string; software: boolean } {
  const adapter = likelyAdapter(view);
  if (!adapter) return { software: false };
  if (adapter.software) return { name: adapter.name, software: true };
  return { name: adapter.name === 'NVIDIA' || adapter.name === 'AMD' ? (gpu?.name ?? adapter.name) : adapter.name, software: false };
}

/**
 * Resolves `--device`: `auto` takes CUDA when its provider library loads, then WebGPU on a hardware
 * adapter, then the CPU, and says why it passed the others over; a software Vulkan adapter
 * (SwiftShader, lavapipe) is slower than the CPU provider, so `auto` passes it over and `webgpu`
 * runs on it with a warning. `webgpu`/`cuda` that cannot start: a usage error naming what is missing.
 * Only the providers worth trying are tried, in one child process (`runCheck`).
 */
export async function chooseDevice(requested: Device, runCheck: DeviceCheckRunner, runTool: ToolRunner = runOnOwn): Promise<DeviceChoice> {
  if (requested === 'cpu') return { device: 'cpu', fp16: false, notices: [] };
  const view = vulkanView();
  const gpu = await gpuInfo(runTool);
  const passed: string[] = [];
  const tryCuda = requested === 'cuda' || (requested === 'auto' && cudaMayBeUsed());
  if (requested === 'cuda' && !cudaProviderInstalled()) throw cudaUnavailable("onnxruntime's CUDA provider library is not installed");
  if (requested === 'auto' && !tryCuda) passed.push(cudaProviderInstalled() ? 'CUDA: no NVIDIA device (/dev/nvidiactl)' : 'CUDA: provider library not installed');
  const missing = vulkanMissing(view);
  const adapter = adapterName(view, gpu);
  if (requested === 'webgpu' && missing) throw webgpuUnavailable(missing.what, missing.fix);
  let tryWebgpu = requested === 'webgpu';
  if (requested === 'auto') {
    if (missing) passed.push(`WebGPU: ${missing.what}`);
    else if (adapter.software) passed.push(`WebGPU: the only Vulkan adapter is ${adapter.name}, a software renderer slower than the CPU provider`);
    else tryWebgpu = true;
  }
  const providers = [...(tryCuda ? (['cuda'] as const) : []), ...(tryWebgpu ? (['webgpu'] as const) : [])];
  const checked = providers.length > 0 ? (await runCheck(providers)).providers : {};
  const cuda = checked.cuda;
  // Inference on an NVIDIA GPU: its video encoder, where it has one, takes the encode off the CPU.
  const encoders = async () => (gpu?.vendor === 'nvidia' ? nvencThatOpen(runTool) : []);
  if (cuda?.ok) {
    return { device: 'cuda', fp16: cuda.fp16, adapter: gpu?.name, memoryBytes: gpu?.memoryBytes, encoders: await encoders(), notices: requested === 'auto' ? [`device auto: CUDA${gpu?.name ? ` on ${gpu.name}` : ''}`] : [] };
  }
  if (cuda && !cuda.ok) {
    if (requested === 'cuda') throw cudaUnavailable(firstWords(cuda.error));
    passed.push(`CUDA: ${firstWords(cuda.error)}`);
  }
  const webgpu = checked.webgpu;
  if (webgpu?.ok) {
    const where = adapter.name ? ` on ${adapter.name}` : '';
    const notices = [
      ...(requested === 'auto' ? [`device auto: WebGPU${where}${passed.length ? ` (${passed.join('; ')})` : ''}`] : []),
      ...(adapter.software ? [`WebGPU runs${where}, a software Vulkan driver: slower than --device cpu`] : []),
    ];
    return { device: 'webgpu', fp16: webgpu.fp16, adapter: adapter.name, memoryBytes: adapter.software ? undefined : gpu?.memoryBytes, encoders: adapter.software ? [] : await encoders(), notices };
  }
  if (webgpu && !webgpu.ok) {
    if (requested === 'webgpu') throw webgpuUnavailable(`${firstWords(webgpu.error)}${adapter.name ? ` (Vulkan driver: ${adapter.name})` : ''}`);
    passed.push(`WebGPU: ${firstWords(webgpu.error)}`);
  }
  return { device: 'cpu', fp16: false, notices: [`device auto: CPU (${passed.join('; ')})`] };
}

const choices = new Map<Device, DeviceChoice>();

/** `chooseDevice`, once per process and requested device (a failure is not kept: it is asked again). */
export async function resolveDevice(requested: Device, runCheck: DeviceCheckRunner, runTool?: ToolRunner): Promise<DeviceChoice> {
  const known = choices.get(requested);
  if (known) return known;
  const choice = await chooseDevice(requested, runCheck, runTool);
  choices.set(requested, choice);
  return choice;
}

/** The choice made for `requested` in this process, if one was made (the processing stage makes it before its hosts start). */
export function resolvedDevice(requested: Device): DeviceChoice | undefined {
  return requested === 'cpu' ? { device: 'cpu', fp16: false, notices: [] } : choices.get(requested);
}

/**
 * The model's tile on a GPU whose memory the driver tells (nvidia-smi, amdgpu's sysfs): a quarter
 * of that memory for the model's activations, at about 1 KiB per input pixel in float32 (x4v3: 64
 * channels of 4 bytes, a few alive at once, and the ×4 output), half that in float16; never below the
 * model's default, at most 2048 (a 1080p frame in one tile). The CPU, a software adapter, or a GPU
 * whose memory is not told keeps the model's default.
 */
export function tileFor(requested: Device, model: { readonly path: string; readonly tile: TileSpec }, asked: 'fp16' | 'fp32' | undefined): number {
  const choice = resolvedDevice(requested);
  if (!choice || choice.device === 'cpu' || !choice.memoryBytes) return model.tile.defaultSize;
  const bytesPerPixel = precisionPlan(choice, model.path, asked).fp16 ? 512 : 1024;
  const side = Math.min(2048, Math.max(model.tile.defaultSize, Math.floor(Math.sqrt(choice.memoryBytes / 4 / bytesPerPixel))));
  return side - (side % Math.max(1, model.tile.multiple));
}

/** The device a host is started with: the one resolved for the job (the request itself before that, e.g. a host started alone). */
export function hostDevice(requested: Device): Device {
  return resolvedDevice(requested)?.device ?? requested;
}

/** Node arguments that run the device-check host for `providers`. */
export function deviceCheckArgs(providers: readonly ('cuda' | 'webgpu')[]): string[] {
  return [...hostArgs('device-check'), ...providers];
}

/** The device-check host's answer, or a runtime error saying how it ended. */
export function parseDeviceCheck(stdout: string, ended: string): DeviceCheckResult {
  try {
    const answer = JSON.parse(lastLine(stdout)) as DeviceCheckResult;
    if (answer.type === 'device-check') return answer;
  } catch {
    // no answer: said below
  }
  throw new UserError(`the device check gave no answer (${ended})`, { kind: 'runtime', tryMessage: 'run upframe doctor; use --device cpu meanwhile' });
}

/** A runner for front ends outside a job (the CLI before it starts, the doctor): a plain child, killed after `timeoutMs`. */
/**
 * A check's child outside any job (doctor, `upframe run`'s check before it starts) still dies with
 * this process: Ctrl-C then exits at once (bin/upframe.js), and must leave no process behind.
 */
function diesWithUs(child: ChildProcess): void {
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
}

export function childDeviceCheck(timeoutMs = 60_000): DeviceCheckRunner {
  return (providers) =>
    new Promise((resolvePromise, reject) => {
      const child = execFile(process.execPath, deviceCheckArgs(providers), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
        const ended = error ? `${error.killed ? 'killed after ' + timeoutMs / 1000 + ' s' : error.message.split('\n')[0]}${lastLine(stderr) ? `: ${lastLine(stderr)}` : ''}` : 'exit 0';
        try {
          resolvePromise(parseDeviceCheck(stdout, ended));
        } catch (failure) {
          reject(failure);
        }
      });
      diesWithUs(child);
    });
}

/** A runner inside a job: the check is a process the job owns, so a cancel kills it like any other. */
export function ownedDeviceCheck(spawn: (request: Omit<SpawnRequest, 'owner'>) => OwnedProcess): DeviceCheckRunner {
  return async (providers) => {
    const owned = spawn({ command: process.execPath, args: deviceCheckArgs(providers), role: 'device-check', stdio: ['ignore', 'pipe', 'pipe'] });
    const [stdout, stderr, exit] = await Promise.all([collectText(owned.child.stdout), collectText(owned.child.stderr), owned.exited]);
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    return parseDeviceCheck(stdout, `${how}${lastLine(stderr) ? `: ${lastLine(stderr)}` : ''}`);
  };
}

/** Whether the job's model runs as its fp16 copy, and what to tell about it. */
export interface PrecisionPlan {
  readonly fp16: boolean;
  readonly notice?: string;
}

/** A bundled model's fp16 copy sits beside it as `<name>-fp16.onnx` (scripts/convert-fp16.ts, models/models.json). */
export function fp16CopyOf(modelPath: string): string | undefined {
  const copy = modelPath.replace(/\.onnx$/i, '-fp16.onnx');
  return copy !== modelPath && existsSync(copy) ? copy : undefined;
}

/**
 * fp16 where the device computes in float16 (a GPU provider whose fp16 test run passed) and the
 * model has an fp16 copy, unless `--precision fp32`; the CPU provider has no float16 kernels for
 * these models (it would convert the copy back to float32), so fp16 is for GPU providers only.
 */
export function precisionPlan(choice: DeviceChoice, modelPath: string | undefined, asked: 'fp16' | 'fp32' | undefined): PrecisionPlan {
  if (asked === 'fp32' || !modelPath) return { fp16: false };
  const copy = fp16CopyOf(modelPath);
  if (choice.device === 'cpu') {
    return asked === 'fp16' ? { fp16: false, notice: '--precision fp16 is for GPU providers (the CPU provider has no float16 kernels): running fp32' } : { fp16: false };
  }
  if (!choice.fp16) {
    return asked === 'fp16' ? { fp16: false, notice: `--precision fp16: ${choice.adapter ?? 'this device'} does not run float16 shaders here: running fp32` } : { fp16: false };
  }
  if (!copy) return asked === 'fp16' ? { fp16: false, notice: `--precision fp16: the model has no fp16 copy (scripts/convert-fp16.ts makes one): running fp32` } : { fp16: false };
  return { fp16: true };
}

/** The model file a host loads for `--precision`, once the device is resolved. */
export function modelFileFor(modelPath: string, requested: Device, asked: 'fp16' | 'fp32' | undefined): string {
  const choice = resolvedDevice(requested);
  return choice && precisionPlan(choice, modelPath, asked).fp16 ? (fp16CopyOf(modelPath) ?? modelPath) : modelPath;
}

/**
 * For a front end about to start a run: resolves a non-CPU device in a plain child process, so that
 * `--device webgpu|cuda` that cannot start fails (usage, exit 2) before any job exists; the jobs then
 * find the choice made.
 */
export async function resolveDeviceUpFront(requested: Device): Promise<void> {
  if (requested !== 'cpu') await resolveDevice(requested, childDeviceCheck());
}
