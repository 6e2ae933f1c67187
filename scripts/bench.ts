/**
 * `npm run bench`: JSON on stdout. Every ratio is measured side by side in this one run.
 *  - pipeline fps (decode → host → encode, x4v3) vs a bare onnxruntime-node loop over the same frames, same tiling
 *  - cancel latency over N cancels at random moments
 *  - orchestrator peak RSS (VmHWM) for a short clip and a 10× longer one
 *  - RIFE pairs/s in the pipeline vs a bare loop; resume after a cancel at half; scene detection vs a
 *    plain decode; a batch of 8 with --jobs 1 vs 2
 *  - the preview pane: the job's fps with pictures written and read every 2 s vs without
 *  - transport: a trivial ×4 model (scripts/nearest-x4.ts) through the pipeline vs ffmpeg alone scaling
 *    ×4 by nearest neighbour, same encoder and preset, at 1080p and 2160p output
 *  - chunks: 480 frames with --chunk 48 (one chain of hosts serves all 10 segments) vs one segment
 *  - rss4k: orchestrator and host peak RSS at 3840×2160 output, tiled and whole-frame
 *  - tempDisk: peak temp disk vs the output's size, with and without --resume (scripts/bench/temp-disk.ts)
 *  - endToEnd: a 20 s clip through `upframe run` vs ffmpeg's decode + the bare onnxruntime loop +
 *    ffmpeg's encode of the same frames (scripts/bench/end-to-end.ts)
 * `--only=resume,batch` runs some sections; `--cancels=N`, `--rounds=N`, `--size=WxH`, `--frames=N`,
 * `--preset=NAME` (x264, transport, chunks, endToEnd), `--chunk-size=WxH` (chunks' input),
 * `--seconds=N` (endToEnd's clip).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createActor } from 'xstate';
import { liveAppMachine } from '../src/app.js';
import { newRunId } from '../src/cli/options.js';
import type { BatchItem } from '../src/machines/batch.js';
import { jobDirPath, type JobOptions, type ProcessWork } from '../src/domain.js';
import { decodeArgs, segmentArgs } from '../src/services/ffmpeg/args.js';
import { latestPanePair, outputSideImages, paneInfo, sourceSideImages, writePaneInfo } from '../src/services/previews.js';
import { PANE_POLL_MS } from '../src/tui/App.js';
import { halfBlockRows } from '../src/tui/picture.js';
import { loadManifest, resolveModel } from '../src/services/models.js';
import { createInterpolator } from '../src/hosts/interpolator.js';
import { createUpscaler } from '../src/hosts/upscaler.js';
import { extractTile, planTiles } from '../src/hosts/tiles.js';
import { RUN_MARKER_ENV, runMarker } from '../src/services/supervisor.js';
import { markedProcesses } from '../test/helpers/invariants.js';
import { writeNearestX4 } from './nearest-x4.js';
import { tempDisk } from './bench/temp-disk.js';
import { endToEnd } from './bench/end-to-end.js';
import { BIN } from '../test/helpers/cli.js';
import { ffmpeg, makeClip, makeJoinedClip } from '../test/helpers/media.js';
import { sceneDetectArgs } from '../src/services/scenes.js';
import { nearestModel } from '../test/helpers/models.js';
import { scratchDir } from '../test/helpers/app.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SIZE = args.get('size') ?? '160x90';
const FRAMES = Number(args.get('frames') ?? 48);
const CANCELS = Number(args.get('cancels') ?? 20);
const ROUNDS = Number(args.get('rounds') ?? 3);
const PRESET = args.get('preset') ?? 'veryfast';
const CHUNK_SIZE = args.get('chunk-size') ?? '320x180';
const dir = scratchDir('upframe-bench-');
const tempRoot = join(dir, 'tmp');
const log = (line: string) => process.stderr.write(`${line}\n`);

function options(extra: Partial<JobOptions> = {}): JobOptions {
  return { device: 'cpu', overwrite: true, tempRoot, ...(args.has('threads') ? { threads: Number(args.get('threads')) } : {}), ...extra };
}

interface Timed {
  readonly item: BatchItem | undefined;
  readonly firstFrameAt?: number;
  /** The first report of a finished frame: the steady state starts there, past the first frame's warm-up. */
  readonly steadyFrom?: { readonly at: number; readonly done: number };
  readonly lastFrameAt?: number;
}

/** Runs one job in-process; resolves when the app is idle again. */
function runJob(input: string, output: string, jobOptions: JobOptions, cancelAfterMs?: number) {
  const actor = createActor(liveAppMachine).start();
  let firstFrameAt: number | undefined;
  let steadyFrom: Timed['steadyFrom'];
  let lastFrameAt: number | undefined;
  let cancelSentAt: number | undefined;
  const ended = new Promise<Timed & { idleAt: number }>((resolve) => {
    actor.subscribe((s) => {
      const item = s.context.items[0];
      if (item?.phase === 'processing' && item.progress) {
        if (item.progress.done === 0) firstFrameAt ??= performance.now();
        if (item.progress.done > 0) {
          lastFrameAt = performance.now();
          steadyFrom ??= { at: lastFrameAt, done: item.progress.done };
        }
      }
      if (s.matches('idle') && s.context.lastResult) resolve({ item: s.context.items[0], firstFrameAt, steadyFrom, lastFrameAt, idleAt: performance.now() });
    });
  });
  actor.send({ type: 'app.start', request: { runId: newRunId(), items: [{ input, output }], options: jobOptions } });
  if (cancelAfterMs !== undefined) {
    setTimeout(() => {
      if (actor.getSnapshot().matches('idle')) return;
      cancelSentAt = performance.now();
      actor.send({ type: 'app.cancel' });
    }, cancelAfterMs);
  }
  return ended.then((r) => {
    actor.stop();
    return { ...r, cancelSentAt };
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Alternating rounds of the real pipeline and a bare loop, so machine noise hits both alike. */
async function pipelineVsBare() {
  const input = makeClip(dir, 'bench.mp4', { size: SIZE, seconds: FRAMES / 24 });
  const [w, h] = SIZE.split('x').map(Number);
  const model = resolveModel(undefined);
  const tile = model.tile.defaultSize;
  const raw = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', input, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 30 });
  const frameBytes = w * h * 3;
  const frames = raw.length / frameBytes;
  const pipelineRuns: number[] = [];
  const bareRuns: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const pipeline = await runJob(input, join(dir, 'bench.out.mp4'), options({ tile }));
    // The steady-state rate, from the first finished frame to the last, as the bare loop leaves out
    // its first run: the first frame pays the model's warm-up and the decoder's start.
    const steady = pipeline.steadyFrom ?? { at: NaN, done: 0 };
    pipelineRuns.push((frames - steady.done) / (((pipeline.lastFrameAt ?? 0) - steady.at) / 1000));

    // Bare: onnxruntime alone on the float model, every tile converted beforehand, only session.run timed.
    const session = await ort.InferenceSession.create(model.path, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    const feeds = Array.from({ length: frames }, (_, i) =>
      planTiles(w, h, tile, model.tile.overlap).map((t) => ({ [session.inputNames[0]]: new ort.Tensor('float32', extractTile(raw.subarray(i * frameBytes, (i + 1) * frameBytes), w, t), [1, 3, t.padHeight, t.padWidth]) })),
    );
    for (const feed of feeds[0]) await session.run(feed);
    const started = performance.now();
    for (let i = 1; i < frames; i++) for (const feed of feeds[i]) await session.run(feed);
    bareRuns.push((frames - 1) / ((performance.now() - started) / 1000));
    await session.release();
  }
  // Where the rest goes: every process's CPU, in one more run, not timed (sampling /proc costs CPU too).
  const pipelineCpu = (await timedJob(input, join(dir, 'bench.out.mp4'), options({ tile }))).cpuSeconds;
  const pipelineFps = median(pipelineRuns);
  const bareFps = median(bareRuns);
  return {
    size: SIZE, frames, tile, rounds: ROUNDS, bare: 'onnxruntime session.run on pre-converted float tiles, nothing else',
    pipelineFps: round(pipelineFps), bareFps: round(bareFps), ratio: round(pipelineFps / bareFps), goal: 0.95,
    // The encoder (the default x264 medium), the decoder and the orchestrator share the cores with the host.
    pipelineCpuSeconds: pipelineCpu,
    pipelineRuns: pipelineRuns.map(round), bareRuns: bareRuns.map(round),
  };
}

async function cancelLatency(input = makeClip(dir, 'cancel.mp4', { size: '96x54', seconds: 2 }), jobOptions = options(), count = CANCELS, windowMs = 2500) {
  const latencies: number[] = [];
  const moments: number[] = [];
  // A cancel that lands after the job ended does not count: try until `count` have landed.
  for (let i = 0; latencies.length < count && i < count * 3; i++) {
    const at = Math.random() * windowMs;
    const r = await runJob(input, join(dir, `cancel-${i}.mp4`), jobOptions, at);
    if (r.cancelSentAt === undefined || r.item?.status !== 'cancelled') continue;
    latencies.push(r.idleAt - r.cancelSentAt);
    moments.push(Math.round(at));
  }
  latencies.sort((a, b) => a - b);
  return {
    cancels: latencies.length,
    medianMs: round(median(latencies)),
    maxMs: round(latencies.at(-1) ?? NaN),
    goal: { medianMs: 100, maxMs: 600 },
    momentsMs: moments,
  };
}

/** RIFE at 640×360: the pipeline (`--scale 1 --interpolate 2`) vs a bare loop over the same pairs. */
async function interpolation() {
  const entry = loadManifest().models.find((m) => m.kind === 'interpolate');
  if (!entry) return { skipped: 'no interpolation model in models/models.json' };
  const model = resolveModel(entry.name, undefined, 'interpolate');
  const input = makeClip(dir, 'interp.mp4', { size: '640x360', seconds: 1 });
  const [w, h] = [640, 360];
  const raw = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', input, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 30 });
  const frameBytes = w * h * 3;
  const frames = raw.length / frameBytes;
  const frame = (i: number) => raw.subarray(i * frameBytes, (i + 1) * frameBytes);
  const jobOptions = options({ scale: 1, interpolate: 2, interpolationModel: entry.name });
  const pipelineRuns: number[] = [];
  const bareRuns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const pipeline = await runJob(input, join(dir, 'interp.out.mp4'), jobOptions);
    // From the hosts' first report to the last output frame: frames - 1 model runs, the copies between them free.
    const seconds = ((pipeline.lastFrameAt ?? 0) - (pipeline.firstFrameAt ?? 0)) / 1000;
    pipelineRuns.push((frames - 1) / seconds);

    const interpolator = await createInterpolator({ modelPath: model.path, device: 'cpu' });
    await interpolator.interpolate(frame(0), frame(1), 0.5, w, h);
    const started = performance.now();
    for (let i = 0; i + 1 < frames; i++) await interpolator.interpolate(frame(i), frame(i + 1), 0.5, w, h);
    bareRuns.push((frames - 1) / ((performance.now() - started) / 1000));
    await interpolator.release();
  }
  const cancel = await cancelLatency(input, jobOptions, Math.max(10, Math.floor(CANCELS / 2)), 4000);
  return {
    model: entry.name, size: '640x360', pairs: frames - 1, rounds: ROUNDS,
    pipelinePairsPerSec: round(median(pipelineRuns)), barePairsPerSec: round(median(bareRuns)),
    ratio: round(median(pipelineRuns) / median(bareRuns)), goal: 0.95,
    cancel: { cancels: cancel.cancels, medianMs: cancel.medianMs, maxMs: cancel.maxMs },
  };
}

/** --resume: cancel at half, then the same run again, against one uninterrupted run. */
async function resume() {
  const input = makeClip(dir, 'resume.mp4', { size: '128x72', seconds: 4 });
  const jobOptions = options({ chunk: 12, resume: true });
  const t0 = performance.now();
  const full = await runJob(input, join(dir, 'resume-full.mp4'), jobOptions);
  const fullMs = performance.now() - t0;
  const frames = full.item?.frames ?? 96;
  // Cancel as soon as half the segments are checkpointed: what resume saves, not what a segment in flight loses.
  const actor = createActor(liveAppMachine).start();
  const halfway = new Promise<void>((resolve) => {
    actor.subscribe((s) => {
      const item = s.context.items[0];
      const progress = item?.progress;
      if (item?.phase === 'processing' && progress?.segments && (progress.segment ?? 0) >= progress.segments / 2 && s.matches({ running: 'active' })) {
        actor.send({ type: 'app.cancel' });
      }
      if (s.matches('idle') && s.context.lastResult) resolve();
    });
  });
  actor.send({ type: 'app.start', request: { runId: newRunId(), items: [{ input, output: join(dir, 'resume-part.mp4') }], options: jobOptions } });
  await halfway;
  actor.stop();
  const t1 = performance.now();
  await runJob(input, join(dir, 'resume-part.mp4'), jobOptions);
  const resumedMs = performance.now() - t1;
  return { frames, chunk: 12, cancelledAt: 'half the segments checkpointed', uninterruptedMs: Math.round(fullMs), resumedAfterHalfMs: Math.round(resumedMs), ratio: round(resumedMs / fullMs), goal: 0.6 };
}

/** The scenes stage's frames/s against a plain ffmpeg decode of the same clip. */
async function sceneDetection() {
  const input = makeJoinedClip(dir, 'scenes.mp4', '640x360');
  const frames = 72;
  const rounds = 3;
  const decode: number[] = [];
  const detect: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', input, '-f', 'null', '-']);
    decode.push(frames / ((performance.now() - t0) / 1000));
    const t1 = performance.now();
    execFileSync(ffmpeg.ffmpeg, sceneDetectArgs(input, 0.3).map((a) => (a === 'pipe:3' ? 'pipe:1' : a)), { stdio: 'ignore' });
    detect.push(frames / ((performance.now() - t1) / 1000));
  }
  return { size: '640x360', frames, decodeFps: round(median(decode)), sceneDetectFps: round(median(detect)), ratio: round(median(detect) / median(decode)) };
}

/** Eight small clips as one batch, --jobs 1 against --jobs 2. */
async function batchJobs() {
  const clips = Array.from({ length: 8 }, (_, i) => makeClip(dir, `batch-${i}.mp4`, { size: '96x54', seconds: 1 }));
  const timed = async (jobs: number) => {
    const actor = createActor(liveAppMachine).start();
    const ended = new Promise<void>((resolve) => actor.subscribe((s) => s.matches('idle') && s.context.lastResult && resolve()));
    const t0 = performance.now();
    actor.send({ type: 'app.start', request: { runId: newRunId(), items: clips.map((input, i) => ({ input, output: join(dir, `batch-${jobs}-${i}.mp4`) })), options: options({ jobs }) } });
    await ended;
    actor.stop();
    return performance.now() - t0;
  };
  const one = await timed(1);
  const two = await timed(2);
  return { clips: 8, size: '96x54', jobs1Ms: Math.round(one), jobs2Ms: Math.round(two), speedup: round(one / two) };
}

function peakRss(input: string, output: string, model: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', input, '-o', output, '--model', model, '--overwrite', '--json', '--temp-dir', tempRoot], { stdio: 'ignore' });
    let peak = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        peak = Math.max(peak, hwm);
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(sample, 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`run exited ${code}`));
      else resolve(peak / 1024);
    });
  });
}

/**
 * The preview pane's cost: x4v3 as in `throughput`, each round once without pictures and once with
 * them written (the TUI's `previews`) and read as the open pane reads them: every 2 s the newest pair,
 * turned into half-block rows. The job's fps (first frame to last) of the two, side by side.
 */
async function previewPane() {
  const frames = FRAMES * 2;
  const input = makeClip(dir, 'pane.mp4', { size: SIZE, seconds: frames / 24 });
  const tile = resolveModel(undefined).tile.defaultSize;
  // CPU seconds of this process's reaped children (the hosts, the ffmpegs: /proc/self/stat cutime + cstime).
  const childCpu = () => {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  };
  const timed = async (pane: boolean) => {
    const cpuBefore = childCpu();
    const selfBefore = process.cpuUsage();
    const actor = createActor(liveAppMachine).start();
    let firstFrameAt: number | undefined;
    let lastFrameAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    let reads = 0;
    const ended = new Promise<void>((resolve) => {
      actor.subscribe((s) => {
        const item = s.context.items[0];
        if (pane && item?.status === 'running' && !timer) {
          const jobDir = jobDirPath(tempRoot, item.id);
          const poll = () =>
            void latestPanePair(jobDir).then((pair) => {
              if (!pair) return;
              reads += 1;
              halfBlockRows(pair.source);
              halfBlockRows(pair.output);
            });
          timer = setInterval(poll, PANE_POLL_MS);
          poll();
        }
        if (item?.phase === 'processing' && item.progress) {
          if (item.progress.done === 0) firstFrameAt ??= performance.now();
          if (item.progress.done > 0) lastFrameAt = performance.now();
        }
        if (s.matches('idle') && s.context.lastResult) resolve();
      });
    });
    const jobOptions = options({ tile, ...(pane ? { previews: { width: 54, height: 32 } } : {}) });
    actor.send({ type: 'app.start', request: { runId: newRunId(), items: [{ input, output: join(dir, 'pane.out.mp4') }], options: jobOptions } });
    await ended;
    clearInterval(timer);
    actor.stop();
    const self = process.cpuUsage(selfBefore);
    return { fps: (frames - 1) / (((lastFrameAt ?? 0) - (firstFrameAt ?? 0)) / 1000), reads, childCpu: childCpu() - cpuBefore, selfCpu: (self.user + self.system) / 1e6 };
  };
  const without: Awaited<ReturnType<typeof timed>>[] = [];
  const withPane: Awaited<ReturnType<typeof timed>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    without.push(await timed(false));
    withPane.push(await timed(true));
  }
  const pictures = await pictureCost(childCpu);
  const fps = (runs: typeof without) => median(runs.map((r) => r.fps));
  const cpu = (runs: typeof without) => median(runs.map((r) => r.childCpu + r.selfCpu));
  return {
    size: SIZE, frames, rounds: ROUNDS, pairsRead: withPane.reduce((sum, r) => sum + r.reads, 0),
    fpsWithout: round(fps(without)), fpsWithPane: round(fps(withPane)), ratio: round(fps(withPane) / fps(without)), goal: 0.97,
    // The best run of each: the least disturbed by whatever else the machine runs.
    bestRatio: round(Math.max(...withPane.map((r) => r.fps)) / Math.max(...without.map((r) => r.fps))),
    // CPU seconds per run, every process of the job and this one: what the pictures cost whatever else runs.
    cpuSecWithout: round(cpu(without)), cpuSecWithPane: round(cpu(withPane)), cpuRatio: round(cpu(withPane) / cpu(without)),
    runsWithout: without.map((r) => round(r.fps)), runsWithPane: withPane.map((r) => round(r.fps)),
    pictures: { ...pictures, percentOfPipelineCpu: round((100 * pictures.extraMsPerFrame) / ((cpu(without) * 1000) / frames)) },
  };
}

/**
 * What the pictures cost by themselves, in CPU time (which other load on the machine does not change):
 * a 640×360 clip (x4v3's output size here) decoded and encoded as a segment, hosts left out, with and
 * without the pictures; and the orchestrator's reading of one pair (file reads, half-block rows).
 */
async function pictureCost(childCpu: () => number) {
  const frames = 96;
  const input = makeClip(dir, 'pictures.mp4', { size: '640x360', seconds: frames / 24 });
  const jobDir = join(dir, 'pictures-job');
  mkdirSync(jobDir, { recursive: true });
  const rate = { num: 24, den: 1 };
  const work = {
    id: 'bench', input, output: join(dir, 'unused.mp4'), jobDir,
    options: options({ previews: { width: 54, height: 32 } }),
    plan: { media: { width: 640, height: 360, rotation: 0, frameRate: rate, frameCount: frames, durationSec: 4, pixFmt: 'yuv420p', audioCodecs: [], subtitleCodecs: [], formatName: 'mp4' }, steps: ['upscale'] },
  } as unknown as ProcessWork;
  writePaneInfo(jobDir, paneInfo(work));
  const segment = { index: 0, start: 0, end: frames, decodeStart: 0, decodeEnd: frames, rightFrame: false };
  const once = async (pictures: boolean) => {
    const before = childCpu();
    const decode = spawn(ffmpeg.ffmpeg, decodeArgs(input, { side: pictures ? sourceSideImages(work, segment, { from: 0 }) : [] }), { stdio: ['ignore', 'pipe', 'ignore'] });
    const encode = spawn(ffmpeg.ffmpeg, segmentArgs({ width: 640, height: 360, rate }, join(jobDir, 'segment.nut'), pictures ? outputSideImages(work, { from: 0 }, { width: 640, height: 360 }) : []), { stdio: [decode.stdout, 'ignore', 'ignore'] });
    // Our copy of the pipe goes at once, as the pipeline's does: EOF then reaches the encoder.
    decode.stdout.destroy();
    await Promise.all([new Promise((r) => decode.on('exit', r)), new Promise((r) => encode.on('exit', r))]);
    return childCpu() - before;
  };
  const plain: number[] = [];
  const withPictures: number[] = [];
  for (let r = 0; r < 5; r++) {
    plain.push(await once(false));
    withPictures.push(await once(true));
  }
  const started = process.cpuUsage();
  let read = 0;
  for (let i = 0; i < 20; i++) {
    const pair = await latestPanePair(jobDir);
    if (!pair) continue;
    read += 1;
    halfBlockRows(pair.source);
    halfBlockRows(pair.output);
  }
  const used = process.cpuUsage(started);
  return {
    size: '640x360', frames, picturesPerRun: Math.ceil(frames / paneInfo(work).every),
    ffmpegMsPerFrameWithout: round((median(plain) * 1000) / frames), ffmpegMsPerFrameWith: round((median(withPictures) * 1000) / frames),
    extraMsPerFrame: round(((median(withPictures) - median(plain)) * 1000) / frames),
    readMsPerPair: round((used.user + used.system) / 1000 / Math.max(1, read)),
  };
}

async function orchestratorMemory() {
  const model = nearestModel(dir, 2);
  const short = makeClip(dir, 'short.mp4', { size: '320x180', seconds: 2 });
  const long = makeClip(dir, 'long.mp4', { size: '320x180', seconds: 20 });
  const shortMb = await peakRss(short, join(dir, 'short.out.mp4'), model);
  const longMb = await peakRss(long, join(dir, 'long.out.mp4'), model);
  return { shortClipFrames: 48, longClipFrames: 480, shortPeakMb: round(shortMb), longPeakMb: round(longMb), growth: round(longMb / shortMb), goalMb: 150 };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The encoder both sides of a comparison use: upframe's `--codec h264 --preset P --crf 23`, and ffmpeg's. */
function x264(preset = PRESET): { options: Partial<JobOptions>; args: string[] } {
  return { options: { codec: 'h264', preset: preset, crf: 23 }, args: ['-c:v', 'libx264', '-preset', preset, '-crf', '23', '-pix_fmt', 'yuv420p'] };
}

const CLOCK_TICK = 100;

/** CPU seconds (user + system) of a live process, from /proc. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICK;
  } catch {
    return undefined;
  }
}

function roleOf(pid: number): string {
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return 'gone';
  }
  if (cmdline.includes('hosts/upscale.')) return 'host';
  if (/ffprobe/.test(cmdline)) return 'ffprobe';
  if (/-f rawvideo -pix_fmt rgb24 -y file:\S*\.fifo/.test(cmdline)) return 'decode';
  if (/-i file:\S*\.fifo/.test(cmdline)) return 'encode';
  if (/ffmpeg/.test(cmdline)) return 'assemble';
  return 'other';
}

/**
 * One upframe run timed: start → first progress (probe, hosts loaded), → last frame, → idle (flush,
 * checks, assembly); and the CPU seconds of each of its processes (sampled from /proc every 50 ms,
 * so a process's last 50 ms may be missed), the orchestrator's own included (with this sampling).
 */
async function timedJob(input: string, output: string, jobOptions: JobOptions) {
  const cpu = new Map<number, { role: string; seconds: number }>();
  const sample = () => {
    for (const pid of markedProcesses(runMarker())) {
      const seconds = cpuSeconds(pid);
      if (seconds === undefined) continue;
      const known = cpu.get(pid);
      if (known) known.seconds = Math.max(known.seconds, seconds);
      else cpu.set(pid, { role: roleOf(pid), seconds });
    }
  };
  const timer = setInterval(sample, 50);
  const before = process.cpuUsage();
  const started = performance.now();
  const r = await runJob(input, output, jobOptions);
  clearInterval(timer);
  const own = process.cpuUsage(before);
  if (r.item?.status !== 'done') throw new Error(`bench job ${r.item?.status}: ${r.item?.error?.message}`);
  const cpuByRole: Record<string, number> = { orchestrator: round((own.user + own.system) / 1e6) };
  for (const { role, seconds } of cpu.values()) cpuByRole[role] = round((cpuByRole[role] ?? 0) + seconds);
  cpuByRole.total = round(Object.values(cpuByRole).reduce((a, b) => a + b, 0));
  return {
    wallMs: r.idleAt - started,
    startupMs: (r.firstFrameAt ?? started) - started,
    framesMs: (r.lastFrameAt ?? started) - (r.firstFrameAt ?? started),
    tailMs: r.idleAt - (r.lastFrameAt ?? started),
    cpuSeconds: cpuByRole,
  };
}

/** ffmpeg alone: decode, ×4 nearest neighbour, encode, timed as one process; its CPU from `-benchmark`. */
function ffmpegAlone(input: string, output: string): { ms: number; cpuSeconds: number } {
  const started = performance.now();
  // `-benchmark` prints its line at the info level: no `-v error` here.
  const result = spawnSync(ffmpeg.ffmpeg, ['-benchmark', '-nostats', '-hide_banner', '-y', '-i', input, '-map', '0:v:0', '-vf', 'scale=iw*4:ih*4:flags=neighbor', ...x264().args, output], { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`ffmpeg alone failed: ${result.stderr}`);
  const bench = /utime=([\d.]+)s stime=([\d.]+)s/.exec(result.stderr);
  return { ms, cpuSeconds: bench ? round(Number(bench[1]) + Number(bench[2])) : NaN };
}

/** (a) The transport at large frames: the trivial model's pipeline vs ffmpeg alone, same encode. */
async function transport() {
  const model = writeNearestX4(join(dir, 'nearest-x4.onnx'));
  const cases = [
    { size: '480x270', frames: 48 },
    { size: '960x540', frames: 24 },
  ];
  const results = [];
  for (const { size, frames } of cases) {
    const input = makeClip(dir, `transport-${size}.mp4`, { size, seconds: frames / 24 });
    const upframe: Awaited<ReturnType<typeof timedJob>>[] = [];
    const aloneRuns: ReturnType<typeof ffmpegAlone>[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      aloneRuns.push(ffmpegAlone(input, join(dir, `transport-${size}.ffmpeg.mp4`)));
      upframe.push(await timedJob(input, join(dir, `transport-${size}.upframe.mp4`), options({ model, tile: 0, ...x264().options })));
    }
    const alone = aloneRuns.map((a) => a.ms);
    const pick = (key: 'startupMs' | 'framesMs' | 'tailMs') => round(median(upframe.map((u) => u[key])));
    const ffmpegMs = median(alone);
    const upframeMs = median(upframe.map((u) => u.wallMs));
    const upframeCpu = upframe.at(-1)!.cpuSeconds;
    results.push({
      input: size, output: size.split('x').map((v) => Number(v) * 4).join('x'), frames, preset: PRESET, tile: 'whole frame',
      ffmpegAloneMs: round(ffmpegMs), upframeMs: round(upframeMs), ratio: round(ffmpegMs / upframeMs), goal: 0.85,
      upframe: { startupMs: pick('startupMs'), framesMs: pick('framesMs'), tailMs: pick('tailMs') },
      // Where the rest goes: CPU seconds per process of the last round, against ffmpeg alone's.
      cpuSeconds: { ffmpegAlone: aloneRuns.at(-1)!.cpuSeconds, upframe: upframeCpu },
      // The best ratio the pipeline's CPU work allows, spread perfectly over every core: a ratio close
      // to it is a pipeline that never waits on its pipes, limited by the work its processes do.
      cores: availableParallelism(), cpuBoundRatio: round(ffmpegMs / ((1000 * upframeCpu.total) / availableParallelism())),
      ffmpegAloneRuns: alone.map(round), upframeRuns: upframe.map((u) => round(u.wallMs)),
    });
  }
  return results;
}

/** (c) One chain of hosts for 10 segments: 480 frames with --chunk 48 vs one segment, alternating. */
async function chunks() {
  const model = writeNearestX4(join(dir, 'nearest-x4.onnx'));
  const input = makeClip(dir, 'chunks.mp4', { size: CHUNK_SIZE, seconds: 20 });
  const whole: Awaited<ReturnType<typeof timedJob>>[] = [];
  const chunked: Awaited<ReturnType<typeof timedJob>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    whole.push(await timedJob(input, join(dir, 'chunks-whole.mp4'), options({ model, tile: 0, ...x264().options })));
    chunked.push(await timedJob(input, join(dir, 'chunks-48.mp4'), options({ model, tile: 0, chunk: 48, ...x264().options })));
  }
  const wholeMs = median(whole.map((u) => u.wallMs));
  const chunkedMs = median(chunked.map((u) => u.wallMs));
  return {
    input: CHUNK_SIZE, frames: 480, chunk: 48, preset: PRESET,
    wholeMs: round(wholeMs), chunkedMs: round(chunkedMs), ratio: round(chunkedMs / wholeMs), goal: 1.05,
    // Less sensitive to other load on the machine than wall time: every process's CPU, last round.
    cpuSeconds: { whole: whole.at(-1)!.cpuSeconds, chunked: chunked.at(-1)!.cpuSeconds },
    wholeRuns: whole.map((u) => round(u.wallMs)), chunkedRuns: chunked.map((u) => round(u.wallMs)),
  };
}

function vmHwmMb(pid: number): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** The CLI as a user runs it, its peak RSS and its host's, sampled from /proc until it exits. */
function peakRssOfRun(input: string, output: string, extra: string[]): Promise<{ orchestratorMb: number; hostMb: number }> {
  const marker = `upframe-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', input, '-o', output, '--overwrite', '--json', '--temp-dir', tempRoot, ...extra], { stdio: 'ignore', env: { ...process.env, [RUN_MARKER_ENV]: marker } });
    const peaks = { orchestratorMb: 0, hostMb: 0 };
    const sample = () => {
      peaks.orchestratorMb = Math.max(peaks.orchestratorMb, vmHwmMb(child.pid!) ?? 0);
      for (const pid of markedProcesses(marker)) {
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        } catch {
          continue;
        }
        if (cmdline.includes('hosts/upscale.')) peaks.hostMb = Math.max(peaks.hostMb, vmHwmMb(pid) ?? 0);
      }
    };
    const timer = setInterval(sample, 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`run exited ${code}`));
      else resolve({ orchestratorMb: round(peaks.orchestratorMb), hostMb: round(peaks.hostMb) });
    });
  });
}

/** (d) 960×540 → 3840×2160: peak RSS with 256-pixel tiles (the default) and with the whole frame as one tile. */
async function rss4k() {
  const model = writeNearestX4(join(dir, 'nearest-x4.onnx'));
  const input = makeClip(dir, 'rss-960x540.mp4', { size: '960x540', seconds: 0.5 });
  const common = ['--model', model, '--codec', 'h264', '--preset', 'ultrafast'];
  const tiled = await peakRssOfRun(input, join(dir, 'rss-tiled.mp4'), [...common, '--tile', '256']);
  const whole = await peakRssOfRun(input, join(dir, 'rss-whole.mp4'), [...common, '--tile', '0']);
  return { input: '960x540', output: '3840x2160', frames: 12, tile256: tiled, wholeFrame: whole, frameMb: round((3840 * 2160 * 3) / 2 ** 20) };
}

const ONLY = args.get('only')?.split(',');
const sections: [string, () => Promise<unknown>][] = [
  ['throughput', pipelineVsBare],
  ['cancel', () => cancelLatency()],
  ['memory', orchestratorMemory],
  ['interpolate', interpolation],
  ['resume', resume],
  ['scenes', sceneDetection],
  ['batch', batchJobs],
  ['previews', previewPane],
  ['transport', transport],
  ['chunks', chunks],
  ['rss4k', rss4k],
  ['tempDisk', () => tempDisk()],
  ['endToEnd', () => endToEnd(dir, SIZE, Number(args.get('seconds') ?? 20), { options: ['--codec', 'h264', '--preset', PRESET, '--crf', '23'], args: x264().args })],
];
const results: Record<string, unknown> = {};
for (const [name, section] of sections) {
  if (ONLY && !ONLY.includes(name)) continue;
  log(`${name}…`);
  results[name] = await section();
}
process.stdout.write(`${JSON.stringify({ machine: { cpus: (await import('node:os')).cpus().length, node: process.version, ffmpeg: ffmpeg.source }, ...results }, null, 2)}\n`);
process.exit(0);
