/**
 * The GPU check's measurements (scripts/gpu-check.sh unpacks the runtime and runs this):
 *   node --import tsx scripts/gpu/check.ts OUTDIR [--frames N] [--cancels N] [--device D] [--quick]
 * 1. the Vulkan drivers and the adapter WebGPU takes; x4v3 on WebGPU (fp32 and the fp16 copy) against
 *    the CPU on the same frames, PSNR;
 * 2. a 1080p clip upscaled to 4K end to end by `upframe run` on the GPU (fps), and the bare
 *    onnxruntime loop on the same frames, the same model file and tile (fps, ratio);
 * 3. cancels at random moments mid-inference: cancel → idle latency (the app's `idle` state event),
 *    and the time until GPU memory (nvidia-smi, every 20 ms) is back to its baseline with no process
 *    of the run on the GPU; the same after SIGKILL of the orchestrator;
 * 4. everything as JSON in OUTDIR/gpu-check.json (written after each part, so a time-out keeps the rest).
 * Without an NVIDIA GPU (nvidia-smi) the memory parts are skipped; without a WebGPU adapter the runs
 * fall back to `--device auto` and say so: the script still runs here, on the CPU or SwiftShader.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { psnr, testFrames } from '../convert-fp16.js';
import { childDeviceCheck, gpuInfo } from '../../src/services/gpu.js';
import { resolveFfmpeg } from '../../src/services/ffmpeg/resolve.js';
import { MODELS_DIR, PACKAGE_ROOT } from '../../src/services/paths.js';
import { likelyAdapter, vulkanView } from '../../src/services/vulkan.js';

const args = process.argv.slice(2);
const OUT = resolve(args[0] ?? 'gpu-check-out');
const flag = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const QUICK = args.includes('--quick');
const FRAMES = flag('--frames', QUICK ? 3 : 48);
const CANCELS = flag('--cancels', QUICK ? 2 : 10);
const SIZE = QUICK ? { width: 64, height: 36 } : { width: 1920, height: 1080 };
const X4V3 = join(MODELS_DIR, 'realesr-general-x4v3.onnx');
const X4V3_FP16 = join(MODELS_DIR, 'realesr-general-x4v3-fp16.onnx');
const BIN = join(PACKAGE_ROOT, 'bin', 'upframe.js');
const { ffmpeg } = resolveFfmpeg();

mkdirSync(OUT, { recursive: true });
const report: Record<string, unknown> = { startedAt: new Date().toISOString(), quick: QUICK };
const save = () => writeFileSync(join(OUT, 'gpu-check.json'), `${JSON.stringify(report, null, 2)}\n`);
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---------- GPU memory, polled by nvidia-smi itself every 20 ms ----------

interface MemorySample {
  readonly at: number;
  readonly usedMiB: number;
}

/** `nvidia-smi … -lms 20`: one process that prints memory.used every 20 ms; undefined without nvidia-smi. */
function memoryPoller(): { samples: MemorySample[]; apps: { at: number; pids: number[] }[]; stop(): void } | undefined {
  try {
    execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return undefined;
  }
  const samples: MemorySample[] = [];
  const apps: { at: number; pids: number[] }[] = [];
  const gpu = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '20'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const compute = spawn('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits', '-lms', '20'], { stdio: ['ignore', 'pipe', 'ignore'] });
  gpu.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) samples.push({ at: Date.now(), usedMiB: Number(line.split(',')[0]) });
  });
  let pending: number[] = [];
  compute.stdout.on('data', (chunk: Buffer) => {
    // Each poll prints one line per app (none when no app): a poll's lines arrive together.
    pending = chunk.toString().split('\n').filter(Boolean).map((line) => Number(line.split(',')[0]));
    apps.push({ at: Date.now(), pids: pending });
  });
  return { samples, apps, stop: () => (gpu.kill('SIGKILL'), compute.kill('SIGKILL')) };
}

const poller = memoryPoller();
const memoryNow = (): number | undefined => poller?.samples.at(-1)?.usedMiB;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Time from `from` until memory.used is within `slackMiB` of `baseline` (and stays so for 3 polls); undefined if it never is within `limitMs`. */
async function memoryBack(from: number, baseline: number, limitMs = 5000, slackMiB = 32): Promise<{ ms?: number; lastMiB?: number }> {
  const end = from + limitMs;
  while (Date.now() < end) {
    await pause(20);
    const after = poller!.samples.filter((s) => s.at >= from);
    const firstBack = after.findIndex((s, i) => after.slice(i, i + 3).length === 3 && after.slice(i, i + 3).every((t) => t.usedMiB <= baseline + slackMiB));
    if (firstBack >= 0) return { ms: after[firstBack].at - from, lastMiB: after.at(-1)!.usedMiB };
  }
  return { lastMiB: memoryNow() };
}

// ---------- 1. adapters, WebGPU against the CPU ----------

async function outputs(model: string, provider: string, frames: readonly Float32Array[], width: number, height: number): Promise<{ out: Float32Array[]; msPerFrame: number }> {
  const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
  try {
    const out: Float32Array[] = [];
    const started = performance.now();
    for (const frame of frames) out.push((await session.run({ input: new ort.Tensor('float32', frame, [1, 3, height, width]) })).output.data as Float32Array);
    return { out, msPerFrame: round((performance.now() - started) / frames.length) };
  } finally {
    await session.release();
  }
}

async function adapters(): Promise<boolean> {
  const view = vulkanView();
  const adapter = likelyAdapter(view);
  const gpu = await gpuInfo();
  const check = await childDeviceCheck(120_000)(['webgpu', 'cuda']);
  report.adapters = { loader: view.loader, drivers: view.drivers, adapter, gpu, check: check.providers, onnxruntime: check.version };
  say(`Vulkan loader: ${view.loader ?? 'none'}; drivers: ${view.drivers.map((d) => `${d.name}${d.software ? ' (software)' : ''} ${d.manifest}`).join(', ') || 'none'}`);
  say(`WebGPU adapter (as the drivers tell): ${adapter?.name ?? 'none'}${gpu?.name ? `; GPU: ${gpu.name}, ${round((gpu.memoryBytes ?? 0) / 2 ** 30)} GiB` : ''}`);
  say(`WebGPU session: ${check.providers.webgpu?.ok ? `ok (fp16 ${check.providers.webgpu.fp16 ? 'yes' : 'no'})` : check.providers.webgpu?.error}; CUDA: ${check.providers.cuda?.ok ? 'ok' : check.providers.cuda?.error}`);
  save();
  if (!check.providers.webgpu?.ok) return false;
  const { width, height } = QUICK ? { width: 48, height: 32 } : { width: 256, height: 144 };
  const frames = testFrames(width, height);
  const cpu = await outputs(X4V3, 'cpu', frames, width, height);
  const fp32 = await outputs(X4V3, 'webgpu', frames, width, height);
  const result: Record<string, unknown> = {
    frames: `testsrc2, smptehdbars, mandelbrot at ${width}x${height}`,
    cpuMsPerFrame: cpu.msPerFrame,
    webgpuFp32MsPerFrame: fp32.msPerFrame,
    psnrWebgpuFp32VsCpu: fp32.out.map((o, i) => round(psnr(o, cpu.out[i]))),
  };
  if (check.providers.webgpu.fp16) {
    const fp16 = await outputs(X4V3_FP16, 'webgpu', frames, width, height);
    result.webgpuFp16MsPerFrame = fp16.msPerFrame;
    result.psnrWebgpuFp16VsCpuFp32 = fp16.out.map((o, i) => round(psnr(o, cpu.out[i])));
  }
  report.webgpuVsCpu = result;
  say(`x4v3 WebGPU vs CPU: ${JSON.stringify(result)}`);
  save();
  return true;
}

// ---------- 2. end to end, and the bare loop ----------

interface RunEvents {
  readonly code: number | null;
  readonly events: Record<string, unknown>[];
  readonly wallMs: number;
}

function upframe(argv: string[], onEvent?: (event: Record<string, unknown>, child: ChildProcess) => void): { child: ChildProcess; ended: Promise<RunEvents> } {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...argv, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line) as Record<string, unknown>;
      (event as { receivedAt?: number }).receivedAt = Date.now();
      events.push(event);
      onEvent?.(event, child);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<RunEvents>((resolvePromise) =>
    child.on('close', (code) => {
      if (code !== 0 && code !== 130) say(`upframe exited ${code}: ${stderr.trim().split('\n').at(-1)}`);
      resolvePromise({ code, events, wallMs: performance.now() - started });
    }),
  );
  return { child, ended };
}

function makeClip(path: string, frames: number): void {
  execFileSync(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${SIZE.width}x${SIZE.height}:rate=24`, '-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-y', path]);
}

async function endToEnd(device: string): Promise<void> {
  const clip = join(OUT, 'clip-1080p.mp4');
  makeClip(clip, FRAMES);
  const output = join(OUT, 'out-4k.mp4');
  rmSync(output, { force: true });
  const run = await upframe(['run', clip, '-o', output, '--scale', '2', '--device', device, '--overwrite', '--temp-dir', join(OUT, 'tmp')]).ended;
  const notices = run.events.filter((e) => e.type === 'notice').map((e) => e.message);
  const progress = run.events.filter((e) => e.type === 'progress' && e.stage !== 'assemble' && typeof e.done === 'number');
  const first = progress.find((e) => (e.done as number) >= 1);
  const last = progress.at(-1);
  // Frames after the first over the time between: the model's load and first run do not count.
  const fps = first && last && last !== first ? ((last.done as number) - (first.done as number)) / (((last as { receivedAt: number }).receivedAt - (first as { receivedAt: number }).receivedAt) / 1000) : undefined;
  // The provider upframe took (its notice `… on webgpu`), for the bare loop to use the same.
  const took = notices.map((n) => /on (cpu|webgpu|cuda)$/.exec(String(n))?.[1]).find(Boolean) ?? 'cpu';
  const bare = await bareLoop(clip, took, notices);
  report.endToEnd = {
    input: `${SIZE.width}x${SIZE.height}, ${FRAMES} frames`, output: `${SIZE.width * 2}x${SIZE.height * 2}`, device, code: run.code, notices,
    wallSec: round(run.wallMs / 1000), upscaleFps: fps && round(fps, 2), bare, ratio: fps && bare?.fps ? round(fps / bare.fps, 3) : undefined,
  };
  say(`end to end: ${JSON.stringify(report.endToEnd)}`);
  save();
}

/** The same frames through a bare session on the same model file and whole-frame tile: decode, convert, run, convert back. */
async function bareLoop(clip: string, provider: string, notices: readonly unknown[]): Promise<{ fps: number; frames: number; model: string } | undefined> {
  const fp16 = provider !== 'cpu' && (report.adapters as { check?: { webgpu?: { ok: boolean; fp16?: boolean } } } | undefined)?.check?.webgpu?.fp16 === true;
  const model = fp16 && !notices.some((n) => /running fp32/.test(String(n))) ? X4V3_FP16 : X4V3;
  const { width, height } = SIZE;
  const rgb = execFileSync(ffmpeg, ['-v', 'error', '-i', clip, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 2 ** 31 });
  const frameBytes = width * height * 3;
  const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
  try {
    const planes = new Float32Array(frameBytes);
    let started = 0;
    const count = Math.floor(rgb.length / frameBytes);
    for (let f = 0; f < count; f++) {
      if (f === 1) started = performance.now();
      const frame = rgb.subarray(f * frameBytes, (f + 1) * frameBytes);
      for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) planes[c * width * height + i] = frame[i * 3 + c] / 255;
      const out = (await session.run({ input: new ort.Tensor('float32', planes, [1, 3, height, width]) })).output.data as Float32Array;
      const bytes = new Uint8Array(out.length);
      for (let i = 0; i < out.length; i++) bytes[i] = Math.min(255, Math.max(0, Math.round(out[i] * 255)));
    }
    return count > 1 ? { fps: round((count - 1) / ((performance.now() - started) / 1000), 2), frames: count, model: model.split('/').at(-1)! } : undefined;
  } finally {
    await session.release();
  }
}

// ---------- 3. cancel and GPU memory ----------

async function cancels(device: string): Promise<void> {
  const clip = join(OUT, 'clip-cancel.mp4');
  makeClip(clip, QUICK ? 12 : 240);
  const results: Record<string, unknown>[] = [];
  await pause(500);
  const baseline = memoryNow();
  for (let i = 0; i < CANCELS + 1; i++) {
    const kill = i === CANCELS;
    const output = join(OUT, `cancel-${i}.mp4`);
    const waitMs = Math.round(Math.random() * (QUICK ? 300 : 1500));
    let sentAt = 0;
    let peak = 0;
    const run = upframe(['run', clip, '-o', output, '--scale', '2', '--device', device, '--overwrite', '--temp-dir', join(OUT, 'tmp')], (event, child) => {
      if (sentAt === 0 && event.type === 'progress' && (event.done as number) >= 1) {
        sentAt = -1;
        setTimeout(() => {
          peak = memoryNow() ?? 0;
          sentAt = Date.now();
          child.kill(kill ? 'SIGKILL' : 'SIGINT');
        }, waitMs);
      }
    });
    const ended = await run.ended;
    const idle = ended.events.find((e) => e.type === 'state' && e.actor === 'app' && e.path === 'idle' && sentAt > 0 && (e.time as number) >= sentAt);
    const exitedAt = Date.now();
    const memory = poller && baseline !== undefined && sentAt > 0 ? await memoryBack(sentAt, baseline) : undefined;
    const pidsAfter = poller?.apps.filter((a) => a.at > (memory?.ms !== undefined ? sentAt + memory.ms : exitedAt)).at(-1)?.pids;
    results.push({
      how: kill ? 'SIGKILL of the orchestrator' : 'SIGINT (cancel)', waitAfterFirstFrameMs: waitMs, code: ended.code,
      ...(sentAt <= 0 ? { finishedBeforeTheCancel: true } : {}),
      cancelToIdleMs: idle && sentAt > 0 ? (idle.time as number) - sentAt : undefined, cancelToExitMs: sentAt > 0 ? exitedAt - sentAt : undefined,
      memoryBaselineMiB: baseline, memoryAtCancelMiB: peak, memoryBackMs: memory?.ms, memoryLastMiB: memory?.lastMiB, computeAppsAfter: pidsAfter,
    });
    say(`cancel ${i + 1}: ${JSON.stringify(results.at(-1))}`);
    report.cancels = results;
    save();
  }
}

async function main(): Promise<void> {
  say(`GPU check into ${OUT}${QUICK ? ' (quick)' : ''}`);
  const webgpu = await adapters();
  const forced = args.includes('--device') ? args[args.indexOf('--device') + 1] : undefined;
  const device = forced ?? (webgpu ? 'webgpu' : 'auto');
  if (!webgpu && !forced) say('no WebGPU session: the runs below use --device auto');
  report.device = device;
  await endToEnd(device);
  await cancels(device);
  report.finishedAt = new Date().toISOString();
  save();
}

main()
  .catch((error: unknown) => {
    report.error = error instanceof Error ? error.stack : String(error);
    save();
    process.exitCode = 1;
  })
  .finally(() => poller?.stop());
