/**
 * WebGPU for real, on SwiftShader (the software Vulkan driver of Debian's chromium-common, fetched
 * and cached by test/helpers/swiftshader.ts): onnxruntime-node's WebGPU provider runs the hosts'
 * models through Dawn and Vulkan on this CPU. Tiny frames and a tiny convolution model: SwiftShader
 * takes seconds where a GPU takes milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cancelAndExpectClean, options, scratchDir, startRun, type Run } from '../helpers/app.js';
import { cli, jsonEvents } from '../helpers/cli.js';
import { markedProcesses } from '../helpers/invariants.js';
import { ffmpeg, makeClip } from '../helpers/media.js';
import { swiftShaderEnv } from '../helpers/swiftshader.js';
import { FLOAT, encodeModel, floatTensor, node, tensorValueInfo } from '../../scripts/ncnn/onnx.js';
import { leaseHolders } from '../../src/services/gpu.js';
import { runMarker } from '../../src/services/supervisor.js';
import { psnr } from '../../scripts/convert-fp16.js';

const dir = scratchDir('upframe-webgpu-');
const clip = makeClip(dir, 'clip.mp4', { size: '24x16', seconds: 0.25 });
let env: Record<string, string>;

/** A ×2 convolutional upscaler (3→12 channels, 3×3, then DepthToSpace): real arithmetic for the GPU. */
function convModel(): string {
  const path = join(dir, 'conv-x2.onnx');
  const weights = Float32Array.from({ length: 12 * 3 * 3 * 3 }, (_, i) => Math.sin(i * 1.7) * 0.15 + (i % 28 === 13 ? 0.6 : 0));
  const bias = Float32Array.from({ length: 12 }, (_, i) => 0.02 * (i % 3));
  const nodes = [
    node('Conv', 'conv', ['input', 'w', 'b'], ['features'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    node('Relu', 'relu', ['features'], ['positive']),
    node('DepthToSpace', 'shuffle', ['positive'], ['output'], { blocksize: 2, mode: 'CRD' }),
  ];
  const initializers = [floatTensor('w', [12, 3, 3, 3], weights), floatTensor('b', [12], bias)];
  const inputs = [tensorValueInfo('input', FLOAT, [1, 3, 'height', 'width'])];
  const outputs = [tensorValueInfo('output', FLOAT, [1, 3, 'height_x2', 'width_x2'])];
  writeFileSync(path, encodeModel({ graphName: 'conv', docString: 'test', nodes, initializers, inputs, outputs }));
  return path;
}

/**
 * A ×2 nearest upscaler that burns about a second a run on SwiftShader: a chain of 256² matrix
 * products seeded from the input, multiplied by zero and added (test/helpers/models.ts `slowModel`
 * with smaller matrices: its 1024² ones take 5 s a product here).
 */
function gpuSlowModel(steps = 12): string {
  const path = join(dir, `gpu-slow-${steps}.onnx`);
  const n = 256;
  const nodes = [
    node('Resize', 'resize', ['input', '', 'scales'], ['up'], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
    node('ReduceMean', 'seed', ['input'], ['k'], { keepdims: 0 }),
    node('Mul', 'seeded', ['m', 'k'], ['m0']),
  ];
  for (let i = 0; i < steps; i++) nodes.push(node('MatMul', `mm${i}`, [i === 0 ? 'm0' : `p${i - 1}`, 'm'], [`p${i}`]));
  nodes.push(node('ReduceSum', 'sum', [`p${steps - 1}`], ['s'], { keepdims: 0 }), node('Mul', 'zeroed', ['s', 'zero'], ['z']), node('Add', 'add', ['up', 'z'], ['output']));
  const initializers = [floatTensor('scales', [4], new Float32Array([1, 1, 2, 2])), floatTensor('m', [n, n], new Float32Array(n * n).fill(1 / n)), floatTensor('zero', [1], new Float32Array([0]))];
  const inputs = [tensorValueInfo('input', FLOAT, [1, 3, 'height', 'width'])];
  const outputs = [tensorValueInfo('output', FLOAT, [1, 3, 'height_x2', 'width_x2'])];
  writeFileSync(path, encodeModel({ graphName: 'gpu_slow', docString: 'test', nodes, initializers, inputs, outputs }));
  return path;
}

function framesOf(video: string): Float32Array {
  const rgb = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', video, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  return Float32Array.from(rgb, (v) => v / 255);
}

beforeAll(() => {
  env = swiftShaderEnv();
});

describe('--device webgpu on SwiftShader', () => {
  it('upscales a clip end to end, matching a CPU run at ≥ 40 dB, and says it runs on a software adapter', async () => {
    const model = convModel();
    const outputs = { webgpu: join(dir, 'out-webgpu.mkv'), cpu: join(dir, 'out-cpu.mkv') };
    const runs = await Promise.all(
      (['webgpu', 'cpu'] as const).map((device) => cli(['run', clip, '-o', outputs[device], '--model', model, '--device', device, '--crf', '0', '--json', '--temp-dir', join(dir, 'tmp')], env).result),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const notices = jsonEvents(runs[0].stdout).filter((e) => e.type === 'notice').map((e) => e.message as string);
    expect(notices).toContain('model ×2 on webgpu');
    expect(notices.some((n) => /^WebGPU runs on SwiftShader, a software Vulkan driver: slower than --device cpu$/.test(n))).toBe(true);
    const [gpu, cpu] = [framesOf(outputs.webgpu), framesOf(outputs.cpu)];
    expect(gpu.length).toBe(cpu.length);
    expect(gpu.length).toBe(6 * 48 * 32 * 3);
    expect(psnr(gpu, cpu)).toBeGreaterThanOrEqual(40);
  });

  it('auto with only the software adapter visible takes the CPU and says why', async () => {
    const output = join(dir, 'out-auto.mkv');
    const run = await cli(['run', clip, '-o', output, '--model', convModel(), '--json', '--temp-dir', join(dir, 'tmp')], env).result;
    expect(run.code, run.stderr).toBe(0);
    const notices = jsonEvents(run.stdout).filter((e) => e.type === 'notice').map((e) => e.message as string);
    expect(notices).toContain('device auto: CPU (CUDA: provider library not installed; WebGPU: the only Vulkan adapter is SwiftShader, a software renderer slower than the CPU provider)');
    expect(notices).toContain('model ×2 on cpu');
  });

  it('with no Vulkan driver at all: one line naming what is missing, exit 2, nothing created', async () => {
    const tempRoot = join(dir, 'tmp-none');
    const output = join(dir, 'out-none.mkv');
    const run = await cli(['run', clip, '-o', output, '--device', 'webgpu', '--temp-dir', tempRoot], { ...env, VK_ICD_FILENAMES: join(dir, 'no-such-icd.json') }).result;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^upframe: --device webgpu cannot start: no Vulkan driver \(VK_ICD_FILENAMES\/VK_DRIVER_FILES=\S+no-such-icd\.json names no driver manifest\) \(install your GPU's Vulkan driver: .* or use --device auto\)\n$/);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(tempRoot)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('out-none'))).toEqual([]);
  });

  it('Ctrl-C while `upframe run` checks the device before it starts: exit 130, the check process gone with it', async () => {
    const tempRoot = join(dir, 'tmp-early');
    const output = join(dir, 'out-early.mkv');
    const run = cli(['run', clip, '-o', output, '--model', convModel(), '--device', 'webgpu', '--json', '--temp-dir', tempRoot], env);
    // Any process carrying the run's marker: the check runs before the app, outside the supervisor.
    const carrying = () =>
      readdirSync('/proc').flatMap((pid) => {
        try {
          if (!/^\d+$/.test(pid) || !readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`UPFRAME_RUN_MARKER=${run.marker}`)) return [];
          return [{ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'latin1') }];
        } catch {
          return []; // ended while we looked
        }
      });
    const checking = () => carrying().filter((p) => /device-check/.test(p.command));
    const started = Date.now();
    while (checking().length === 0 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 5));
    expect(checking().length).toBe(1);
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    await new Promise((r) => setTimeout(r, 200));
    expect(carrying()).toEqual([]);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(tempRoot)).toBe(false);
  });

  it('--device cuda without its provider library: one line with the install command, exit 2', async () => {
    const output = join(dir, 'out-cuda.mkv');
    const run = await cli(['run', clip, '-o', output, '--device', 'cuda', '--temp-dir', join(dir, 'tmp-cuda')]).result;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^upframe: --device cuda cannot start: onnxruntime's CUDA provider library is not installed \(install CUDA's provider library with ONNXRUNTIME_NODE_INSTALL=cuda12 node \S+install\.js, or use --device auto\)\n$/);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(join(dir, 'tmp-cuda'))).toBe(false);
  });
});

describe('cancel during a WebGPU run', () => {
  let run: Run | undefined;
  const tempRoot = join(dir, 'tmp-cancel');
  afterEach(() => run?.actor.stop());

  const begin = (model: string) => {
    Object.assign(process.env, env);
    const output = join(dir, `cancel-${Date.now()}.mkv`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model, device: 'webgpu' }));
    return { run, output };
  };

  const hostsOf = (pattern: RegExp) => markedProcesses(runMarker()).filter((pid) => pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1')));

  it('while the device check runs (the job owns its process: killed and reaped like the others)', async () => {
    const { run, output } = begin(join(dir, 'conv-x2.onnx'));
    await run.when((item) => item.stage === 'upscale');
    const seen = await new Promise<boolean>((resolve) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (hostsOf(/device-check/).length > 0 || Date.now() - started > 5000) {
          clearInterval(poll);
          resolve(hostsOf(/device-check/).length > 0);
        }
      }, 5);
    });
    expect(seen).toBe(true);
    await cancelAndExpectClean(run, tempRoot, output);
  });

  it('mid-inference on the GPU: back to idle within the usual bound, nothing left', async () => {
    const { run, output } = begin(gpuSlowModel());
    await run.when((item) => item.progress !== undefined && item.stage === 'upscale', 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(run.actor.getSnapshot().context.items[0].progress?.done).toBe(0);
    expect(hostsOf(/hosts\/upscale\./).length).toBe(1);
    expect(run.actor.getSnapshot().context.items[0].notices).toContain('model ×2 on webgpu');
    // A WebGPU host holds the GPU lease: another job's GPU stage would wait for it.
    expect([...(leaseHolders().get('gpu') ?? [])]).toHaveLength(1);
    await cancelAndExpectClean(run, tempRoot, output);
  });
});
