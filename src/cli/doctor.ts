import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { CheckSessionResult, SessionRun } from '../hosts/check-session.js';
import { formatBytes, freeBytes } from '../services/disk-space.js';
import { UserError, formatUserError } from '../services/errors.js';
import { isVaapi, KNOWN_ENCODERS, usableEncoders, VAAPI_DEVICE } from '../services/ffmpeg/encoders.js';
import { resolveFfmpeg } from '../services/ffmpeg/resolve.js';
import { childDeviceCheck, cudaInstallCommand, cudaProviderInstalled, gpuInfo } from '../services/gpu.js';
import { likelyAdapter, vulkanMissing, vulkanView } from '../services/vulkan.js';
import { DEFAULT_MODEL, resolveModel, verifyModels } from '../services/models.js';
import { verifyStore } from '../services/model-store.js';
import { hostArgs } from '../services/paths.js';
import { lastLine } from '../services/streams.js';
import { listTempRoot, resolveTempRoot } from '../services/workdir.js';

/**
 * One line of `upframe doctor`. `required` checks decide the exit code; the others (GPU, CUDA) say
 * what is there and how to get what is not, and never fail the run.
 */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly required: boolean;
  readonly detail: string;
  /** Measurements behind the detail, for `--json`. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Long enough for a loaded machine to start a host and load the model; a hung host is killed after it. */
export const SESSION_TIMEOUT_MS = 30_000;
const TOOL_TIMEOUT_MS = 10_000;

function oneLine(error: unknown): string {
  if (error instanceof UserError) return formatUserError(error);
  const failure = error as { shortMessage?: string; code?: string };
  // execa's for a command that is not there
  if (failure.code === 'ENOENT' && failure.shortMessage !== undefined) return 'not found';
  const text = failure.shortMessage ?? (error instanceof Error ? error.message : String(error));
  return text.split('\n')[0];
}

async function firstLine(command: string, args: string[]): Promise<string> {
  const { stdout } = await execa(command, args, { timeout: TOOL_TIMEOUT_MS, killSignal: 'SIGKILL', stdin: 'ignore' });
  return stdout.split('\n')[0] ?? '';
}

async function ffmpegChecks(): Promise<Check[]> {
  let bins: ReturnType<typeof resolveFfmpeg>;
  try {
    bins = resolveFfmpeg();
  } catch (error) {
    return [{ name: 'ffmpeg', ok: false, required: true, detail: oneLine(error) }];
  }
  return Promise.all(
    (['ffmpeg', 'ffprobe'] as const).map(async (name): Promise<Check> => {
      const path = bins[name];
      try {
        return { name, ok: true, required: true, detail: `${path} (${bins.source}) ${await firstLine(path, ['-version'])}` };
      } catch (error) {
        return { name, ok: false, required: true, detail: `${path} (${bins.source}) does not run: ${oneLine(error)}` };
      }
    }),
  );
}

export type HostAnswer = { readonly result: Extract<CheckSessionResult, { ok: true }> } | { readonly failure: string };

/**
 * Runs the session-check host (`args` after node's own) and reads its one JSON line. A host that does
 * not answer within `timeoutMs` is SIGKILLed and reported as such.
 */
export async function askSessionHost(args: readonly string[], timeoutMs: number = SESSION_TIMEOUT_MS): Promise<HostAnswer> {
  const run = await execa(process.execPath, args, { timeout: timeoutMs, killSignal: 'SIGKILL', reject: false, stdin: 'ignore' });
  if (run.timedOut) return { failure: `the check host gave no answer within ${timeoutMs / 1000} s (killed)` };
  let answer: CheckSessionResult | undefined;
  try {
    answer = JSON.parse(lastLine(run.stdout)) as CheckSessionResult;
  } catch {
    answer = undefined;
  }
  if (answer?.type === 'check-session') return answer.ok ? { result: answer } : { failure: answer.error };
  const how = run.signal ? `killed by ${run.signal}` : `exit code ${run.exitCode}`;
  return { failure: `the check host stopped (${how})${lastLine(run.stderr) ? `: ${lastLine(run.stderr)}` : ''}` };
}

function backendList(backends: readonly { readonly name: string; readonly bundled: boolean }[]): string {
  const names = (bundled: boolean): string => backends.filter((b) => b.bundled === bundled).map((b) => b.name).join(', ');
  return `backends: ${names(true)}${names(false) ? `; not bundled: ${names(false)}` : ''}`;
}

const shape = (dims: readonly number[]): string => dims.join('×');
const timing = (run: SessionRun): string => `load ${run.loadMs} ms, run ${run.runMs} ms`;

async function onnxChecks(): Promise<Check[]> {
  const cudaInstalled = cudaProviderInstalled();
  let modelPath: string;
  try {
    modelPath = resolveModel(DEFAULT_MODEL).path;
  } catch (error) {
    return [{ name: 'onnxruntime', ok: false, required: true, detail: `no model to check with: ${oneLine(error)}` }];
  }
  const answer = await askSessionHost([...hostArgs('check-session'), modelPath, ...(cudaInstalled ? ['--cuda'] : [])]);
  const onnx: Check =
    'failure' in answer
      ? { name: 'onnxruntime', ok: false, required: true, detail: `no session on ${DEFAULT_MODEL}: ${answer.failure}` }
      : {
          name: 'onnxruntime',
          ok: true,
          required: true,
          detail:
            `${answer.result.version}, a session on ${DEFAULT_MODEL} ran on the CPU ` +
            `(${shape(answer.result.cpu.inputShape)} → ${shape(answer.result.cpu.outputShape)}, ${timing(answer.result.cpu)}); ` +
            backendList(answer.result.backends),
          data: { version: answer.result.version, backends: answer.result.backends, session: answer.result.cpu },
        };
  return [onnx, cudaCheck(cudaInstalled, answer)];
}

function cudaCheck(installed: boolean, answer: HostAnswer): Check {
  const name = 'cuda provider';
  if (!installed) {
    return { name, ok: false, required: false, detail: `not installed: CPU only (for an NVIDIA GPU run: ${cudaInstallCommand()})` };
  }
  if ('failure' in answer) return { name, ok: false, required: false, detail: 'installed, not tried (onnxruntime failed)' };
  const cuda = answer.result.cuda;
  if (cuda?.ok) {
    return { name, ok: true, required: false, detail: `installed, a session ran on CUDA (${timing(cuda.run)})`, data: { session: cuda.run } };
  }
  return { name, ok: false, required: false, detail: `installed, but no CUDA session: ${cuda?.error ?? 'not tried'} (--device auto uses the CPU)` };
}

async function gpuCheck(): Promise<Check> {
  try {
    const { stdout } = await execa('nvidia-smi', ['-L'], { timeout: TOOL_TIMEOUT_MS, killSignal: 'SIGKILL', stdin: 'ignore' });
    const gpus = stdout.split('\n').filter(Boolean);
    const info = await gpuInfo();
    const memory = info?.memoryBytes ? `, ${formatBytes(info.memoryBytes)} memory (${formatBytes(info.usedBytes ?? 0)} used)` : '';
    return { name: 'gpu', ok: true, required: false, detail: `${gpus.join('; ') || 'nvidia-smi lists no GPU'}${memory}`, data: { gpus, memoryBytes: info?.memoryBytes, usedBytes: info?.usedBytes } };
  } catch (error) {
    const why = oneLine(error) === 'not found' ? 'nvidia-smi not on PATH' : `nvidia-smi failed: ${oneLine(error)}`;
    return { name: 'gpu', ok: false, required: false, detail: `no NVIDIA GPU found (${why}): --device auto uses the CPU` };
  }
}

/**
 * WebGPU (Dawn over Vulkan, bundled with onnxruntime-node): the Vulkan loader and drivers seen, the
 * adapter Dawn takes (a software one is passed over by --device auto), and a session's test run in
 * a child process, in float32 and float16.
 */
async function webgpuCheck(): Promise<Check> {
  const name = 'webgpu';
  const view = vulkanView();
  const drivers = view.drivers.map((d) => `${d.name}${d.software ? ' (software)' : d.devicePresent ? '' : ' (no device)'}`);
  const data = { loader: view.loader, drivers: view.drivers };
  const missing = vulkanMissing(view);
  if (missing) return { name, ok: false, required: false, detail: `${missing.what} (${missing.fix}): --device auto uses the CPU or CUDA`, data };
  const adapter = likelyAdapter(view)!;
  let answer;
  try {
    answer = (await childDeviceCheck(SESSION_TIMEOUT_MS)(['webgpu'])).providers.webgpu;
  } catch (error) {
    return { name, ok: false, required: false, detail: `no answer from the check host: ${oneLine(error)}`, data };
  }
  if (!answer?.ok) return { name, ok: false, required: false, detail: `no WebGPU session (${answer?.error ?? 'not tried'}); Vulkan drivers: ${drivers.join(', ')}`, data };
  const memory = adapter.software ? undefined : (await gpuInfo())?.memoryBytes;
  const detail =
    `a session ran on ${adapter.name}${adapter.software ? ', a software adapter (--device auto passes it over; --device webgpu runs on it, slower than the CPU)' : ''}` +
    `${memory ? `, ${formatBytes(memory)} memory` : ''}; fp16 ${answer.fp16 ? 'yes' : `no (${answer.fp16Error ?? 'failed'})`}; load ${answer.loadMs} ms, run ${answer.runMs} ms; Vulkan drivers: ${drivers.join(', ')}`;
  return { name, ok: true, required: false, detail, data: { ...data, adapter: adapter.name, software: adapter.software, fp16: answer.fp16, memoryBytes: memory, session: answer } };
}

function modelChecks(): Check[] {
  let bundled: Check[];
  try {
    bundled = verifyModels().map((v) => ({ name: `model ${v.name}`, ok: v.ok, required: true, detail: v.detail }));
  } catch (error) {
    bundled = [{ name: 'models', ok: false, required: true, detail: `cannot read the manifest: ${oneLine(error)}` }];
  }
  return [...bundled, ...importedModelChecks()];
}

/** Models the user imported (`upframe models import`): each file against the sha256 taken at import. */
function importedModelChecks(): Check[] {
  try {
    return verifyStore().map((v) => ({ name: `imported model ${v.name}`, ok: v.ok, required: true, detail: v.detail }));
  } catch (error) {
    return [{ name: 'imported models', ok: false, required: true, detail: oneLine(error) }];
  }
}

/** Creates the temp root if missing, writes, reads back and removes a probe file, and reports free space. */
export function tempCheck(root: string = resolveTempRoot()): Check {
  const name = 'temp dir';
  let leftovers: string[];
  const probe = join(root, `.doctor-probe-${process.pid}`);
  try {
    mkdirSync(root, { recursive: true });
    leftovers = listTempRoot(root);
    const content = `upframe doctor ${process.pid}\n`;
    writeFileSync(probe, content, { flag: 'wx' });
    if (readFileSync(probe, 'utf8') !== content) throw new Error('a file written there read back different');
  } catch (error) {
    return { name, ok: false, required: true, detail: `${root} is not writable: ${oneLine(error)} (point UPFRAME_TMPDIR, or --temp-dir of run, at a writable folder)` };
  } finally {
    try {
      rmSync(probe, { force: true });
    } catch {
      // never made: its folder is missing or not a folder
    }
  }
  const free = freeBytes(root);
  const space = free === undefined ? 'free space unknown' : `${formatBytes(free)} free`;
  return {
    name,
    ok: true,
    required: true,
    detail: `${root} (writable, ${space}; ${leftovers.length === 0 ? 'empty' : `holds ${leftovers.join(', ')}`})`,
    data: { path: root, freeBytes: free, leftovers },
  };
}

const MARK = { ok: '✓', failed: '✗', optional: '·' } as const;

/** The video encoders upframe drives that this ffmpeg has (`--encoder`), and those it lacks. */
function encodersCheck(): Check {
  try {
    const found = usableEncoders();
    const missing = KNOWN_ENCODERS.filter((name) => !found.includes(name));
    // Listed by ffmpeg, but VAAPI needs the GPU's render node to run at all.
    const noDevice = existsSync(VAAPI_DEVICE) ? [] : found.filter(isVaapi);
    const notes = [
      ...(missing.length > 0 ? [`not in this ffmpeg: ${missing.join(', ')}`] : []),
      ...(noDevice.length > 0 ? [`${noDevice.join(', ')}: no VAAPI render node ${VAAPI_DEVICE}`] : []),
    ];
    const detail = `${found.join(', ') || 'none'}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
    return { name: 'encoders', ok: found.length > 0, required: false, detail, data: { found, missing, noDevice } };
  } catch (error) {
    return { name: 'encoders', ok: false, required: false, detail: oneLine(error) };
  }
}

export function markOf(check: Check): string {
  return check.ok ? MARK.ok : check.required ? MARK.failed : MARK.optional;
}

export async function doctorCommand(options: { json?: boolean }): Promise<number> {
  // The session host takes the longest: it runs while the other checks do.
  const onnx = onnxChecks();
  const webgpu = webgpuCheck();
  const checks = [...(await ffmpegChecks()), encodersCheck(), ...(await onnx), await webgpu, await gpuCheck(), ...modelChecks(), tempCheck()];
  const ok = checks.every((c) => c.ok || !c.required);
  if (options.json) process.stdout.write(`${JSON.stringify({ type: 'doctor', ok, checks })}\n`);
  else for (const c of checks) process.stdout.write(`${markOf(c)} ${c.name}: ${c.detail}\n`);
  return ok ? 0 : 1;
}
