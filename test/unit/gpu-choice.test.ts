import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { convertToFp16, fp16Psnr, halfToFloat, toHalf } from '../../scripts/convert-fp16.js';
import { startRequest } from '../../src/cli/options.js';
import { encoderOpenArgs, nvencThatOpen, ownedTool, precisionPlan, tileFor, type DeviceChoice } from '../../src/services/gpu.js';
import { ffmpegBinaries } from '../../src/services/ffmpeg/resolve.js';
import { runMarker, spawnOwned } from '../../src/services/supervisor.js';
import { markedProcesses } from '../helpers/invariants.js';
import { MODELS_DIR } from '../../src/services/paths.js';
import { likelyAdapter, vulkanMissing, vulkanView } from '../../src/services/vulkan.js';
import { scratchDir } from '../helpers/app.js';

const { onnx } = onnxProto;
const X4V3 = join(MODELS_DIR, 'realesr-general-x4v3.onnx');
const X4V3_FP16 = join(MODELS_DIR, 'realesr-general-x4v3-fp16.onnx');

describe('Vulkan drivers, read as the loader reads them', () => {
  const dir = scratchDir('upframe-vulkan-');
  const icd = (name: string, library: string) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: library, api_version: '1.3.0' } }));
    return path;
  };
  const swiftshader = icd('vk_swiftshader_icd.json', './libvk_swiftshader.so');
  const lavapipe = icd('lvp_icd.x86_64.json', '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so');
  const radeon = icd('radeon_icd.x86_64.json', '/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so');
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', 'libvulkan.so.1'), '');

  it('names software drivers, and takes a software adapter only when no hardware one has its device here', () => {
    const view = vulkanView({ VK_ICD_FILENAMES: [swiftshader, lavapipe].join(':'), LD_LIBRARY_PATH: join(dir, 'lib') });
    expect(view.loader).toBe(join(dir, 'lib', 'libvulkan.so.1'));
    expect(view.drivers.map((d) => [d.name, d.software])).toEqual([['SwiftShader', true], ['lavapipe (llvmpipe)', true]]);
    expect(view.drivers[0].library).toBe(join(dir, 'libvk_swiftshader.so'));
    expect(likelyAdapter(view)?.name).toBe('SwiftShader');
    expect(vulkanMissing(view)).toBeUndefined();
    // Mesa installs the AMD driver's manifest on every machine: without an AMD card it is no adapter.
    const withRadeon = vulkanView({ VK_ICD_FILENAMES: [radeon, swiftshader].join(':'), LD_LIBRARY_PATH: join(dir, 'lib') });
    expect(withRadeon.drivers[0]).toMatchObject({ name: 'AMD', software: false });
    expect(likelyAdapter(withRadeon)?.name).toBe(withRadeon.drivers[0].devicePresent ? 'AMD' : 'SwiftShader');
  });

  it('says what is missing: a driver manifest', () => {
    expect(vulkanMissing(vulkanView({ VK_ICD_FILENAMES: join(dir, 'nothing.json'), LD_LIBRARY_PATH: join(dir, 'lib') }))?.what).toBe(`no Vulkan driver (VK_ICD_FILENAMES/VK_DRIVER_FILES=${join(dir, 'nothing.json')} names no driver manifest)`);
  });
});

describe('precision and tile from the device', () => {
  const gpu: DeviceChoice = { device: 'webgpu', fp16: true, adapter: 'NVIDIA H100 80GB HBM3', memoryBytes: 80 * 2 ** 30, notices: [] };
  const cpu: DeviceChoice = { device: 'cpu', fp16: false, notices: [] };

  it('fp16 by default where the device runs it and the model has a copy; fp32 on the CPU, with a word when asked', () => {
    expect(precisionPlan(gpu, X4V3, undefined)).toEqual({ fp16: true });
    expect(precisionPlan(gpu, X4V3, 'fp32')).toEqual({ fp16: false });
    expect(precisionPlan(cpu, X4V3, undefined)).toEqual({ fp16: false });
    expect(precisionPlan(cpu, X4V3, 'fp16').notice).toMatch(/^--precision fp16 is for GPU providers/);
    expect(precisionPlan({ ...gpu, fp16: false, adapter: 'SwiftShader' }, X4V3, 'fp16').notice).toBe('--precision fp16: SwiftShader does not run float16 shaders here: running fp32');
    expect(precisionPlan(gpu, join(MODELS_DIR, 'rife-v4.6.onnx'), 'fp16').notice).toMatch(/has no fp16 copy/);
  });

  it('--device and --precision are parsed, one line for a wrong value', () => {
    expect(startRequest(['a.mp4'], { output: 'o.mp4', device: 'webgpu', precision: 'fp16' }).options).toMatchObject({ device: 'webgpu', precision: 'fp16' });
    expect(startRequest(['a.mp4'], { output: 'o.mp4' }).options.precision).toBeUndefined();
    expect(() => startRequest(['a.mp4'], { output: 'o.mp4', precision: 'fp8' })).toThrow(/^--precision expects fp16 or fp32, got "fp8"$/);
  });

  it("a GPU's memory sets the tile; without it, the model's default", () => {
    const model = { path: X4V3, tile: { multiple: 1, minSize: 8, defaultSize: 256, overlap: 8 } };
    expect(tileFor('cpu', model, undefined)).toBe(256);
    // Unresolved devices (nothing asked the check host in this process) keep the default too.
    expect(tileFor('cuda', model, undefined)).toBe(256);
  });
});

describe('scripts/convert-fp16.ts', () => {
  it('rounds to float16 to nearest even, subnormals and infinities included', () => {
    for (const [value, bits] of [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0.1, 0x2e66]] as const) {
      expect(toHalf(value), String(value)).toBe(bits);
    }
    for (let bits = 0; bits < 0x7c00; bits += 37) expect(toHalf(halfToFloat(bits))).toBe(bits);
  });

  it('makes the bundled fp16 copy, byte for byte: float16 inside, float32 in and out', () => {
    const bytes = convertToFp16(readFileSync(X4V3));
    const manifest = JSON.parse(readFileSync(join(MODELS_DIR, 'models.json'), 'utf8')) as { models: { name: string; sha256: string }[] };
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(sha).toBe(manifest.models.find((m) => m.name === 'realesr-general-x4v3-fp16')?.sha256);
    expect(createHash('sha256').update(readFileSync(X4V3_FP16)).digest('hex')).toBe(sha);
    const graph = onnx.ModelProto.decode(bytes).graph!;
    const T = onnx.TensorProto.DataType;
    expect([...graph.input!, ...graph.output!].map((v) => v.type?.tensorType?.elemType)).toEqual([T.FLOAT, T.FLOAT]);
    expect([graph.node![0].opType, graph.node!.at(-1)!.opType]).toEqual(['Cast', 'Cast']);
    expect(new Set(graph.initializer!.filter((t) => t.name !== 'Resize_68.scales').map((t) => t.dataType))).toEqual(new Set([T.FLOAT16]));
  });

  it('is within 40 dB of fp32 on the test frames (float16 rounding of every activation emulated on the CPU)', async () => {
    const values = await fp16Psnr(X4V3, X4V3_FP16, 'cpu', 48, 32);
    expect(values).toHaveLength(3);
    for (const value of values) expect(value).toBeGreaterThanOrEqual(40);
    // Not a no-op: float16 rounding shows.
    for (const value of values) expect(value).toBeLessThan(90);
  });
});

describe('tools a job asks about the GPU (nvidia-smi) run as processes the job owns', () => {
  const run = ownedTool((request) => spawnOwned({ ...request, owner: 'gpu-choice-test' }));

  it('NVENC counts only where it opens: this ffmpeg fails to open one it claims (no NVIDIA driver here)', async () => {
    const tried: string[] = [];
    const recording: typeof run = async (command, args) => (tried.push(args[args.indexOf('-c:v') + 1]), run(command, args));
    expect(await nvencThatOpen(recording, new Set(['libx264', 'h264_nvenc', 'av1_nvenc']))).toEqual([]);
    // Only the NVENC encoders ffmpeg lists are tried, each with one frame.
    expect(tried).toEqual(['h264_nvenc', 'av1_nvenc']);
    // The same open of a software encoder succeeds: a failure above is the encoder's, not the command's.
    expect(await run(ffmpegBinaries().ffmpeg, encoderOpenArgs('libx264'))).toBe('');
  });

  it('gives the tool’s output, and nothing when it fails or is missing', async () => {
    expect(await run(process.execPath, ['-e', 'process.stdout.write("NVIDIA H100, 81559, 0")'])).toBe('NVIDIA H100, 81559, 0');
    expect(await run(process.execPath, ['-e', 'process.exit(3)'])).toBeUndefined();
    expect(await run('upframe-no-such-tool', [])).toBeUndefined();
  });

  it('the tool is a supervised process of the run (the marker the invariant checks look for)', async () => {
    const seen = run(process.execPath, ['-e', 'setTimeout(() => {}, 300)']);
    await new Promise((r) => setTimeout(r, 150));
    expect(markedProcesses(runMarker()).length).toBeGreaterThan(0);
    await seen;
  });
});
