/**
 * Whether onnxruntime can open a session on a GPU provider here, run as a child process (the
 * orchestrator never loads onnxruntime): for each provider named in argv (`cuda`, `webgpu`), a
 * session on a tiny built-in model (input² + 1, 1×3×8×8), one run checked against the expected
 * values, then released. Prints one JSON line (`DeviceCheckResult`) on stdout.
 */
import * as ort from 'onnxruntime-node';
import type { DeviceCheckResult, ProviderCheck } from '../services/gpu.js';

// scripts/ncnn/onnx.ts `encodeModel` of Mul(input, input) + 1: small enough to carry here.
const TINY_MODEL = Buffer.from(
  'CAgSD3VwZnJhbWUtY29udmVydBoBMTIMZGV2aWNlIGNoZWNrOqcBCh4KBWlucHV0CgVpbnB1dBIBbRoGc3F1YXJlIgNNdWwKGwoBbQoDb25lEgZvdXRwdXQaBHBsdXMiA0FkZBIFY2hlY2sqEAoBARABQgNvbmVKBAAAgD9SDGRldmljZSBjaGVja1ofCgVpbnB1dBIWChQIARIQCgIIAQoCCAMKAggICgIICGIgCgZvdXRwdXQSFgoUCAESEAoCCAEKAggDCgIICAoCCAhCBAoAEBE=',
  'base64',
);
// The same through scripts/convert-fp16.ts: float16 inside, Casts at the float32 boundaries.
const TINY_MODEL_FP16 = Buffer.from(
  'CAgSD3VwZnJhbWUtY29udmVydBoBMTJnZGV2aWNlIGNoZWNrIGZwMTYgY29weSBieSB1cGZyYW1lIHNjcmlwdHMvY29udmVydC1mcDE2LnRzIChmbG9hdDMyIGlucHV0cyBhbmQgb3V0cHV0cywgZmxvYXQxNiBpbnNpZGUpLjqrAgo4CgVpbnB1dBIKaW5wdXRfZnAxNhoSY2FzdF9pbnB1dF90b19mcDE2IgRDYXN0KgkKAnRvGAqgAQIKKAoKaW5wdXRfZnAxNgoKaW5wdXRfZnAxNhIBbRoGc3F1YXJlIgNNdWwKIAoBbQoDb25lEgtvdXRwdXRfZnAxNhoEcGx1cyIDQWRkCjsKC291dHB1dF9mcDE2EgZvdXRwdXQaE2Nhc3Rfb3V0cHV0X3RvX2ZwMzIiBENhc3QqCQoCdG8YAaABAhIFY2hlY2sqDgoBARAKQgNvbmVKAgA8UgxkZXZpY2UgY2hlY2taHwoFaW5wdXQSFgoUCAESEAoCCAEKAggDCgIICAoCCAhiIAoGb3V0cHV0EhYKFAgBEhAKAggBCgIIAwoCCAgKAggIQgQKABAR',
  'base64',
);

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
  // onnxruntime prefixes its source location and the failed condition: keep what it says after them.
  return line
    .replace(/^\/onnxruntime_src\/\S+ .*? was false\. /, '')
    .replace(/^.*Status Message: /, '')
    .replace(/^\S+\.cc:\d+ \S+ /, '');
}

/** One session and run; undefined when it ran right, else what went wrong. */
async function tryRun(provider: 'cuda' | 'webgpu', model: Uint8Array, tolerance: number): Promise<{ loadMs: number; runMs: number } | { error: string }> {
  const started = performance.now();
  try {
    const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
    try {
      const loadMs = Math.round(performance.now() - started);
      const values = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => (i % 7) / 7);
      const ran = performance.now();
      const out = await session.run({ input: new ort.Tensor('float32', values, [1, 3, 8, 8]) });
      const runMs = Math.round(performance.now() - ran);
      const data = out.output.data as Float32Array;
      const wrong = data.findIndex((v, i) => Math.abs(v - (values[i] * values[i] + 1)) > tolerance);
      if (wrong >= 0) return { error: `a test run on ${provider} gave a wrong value (${data[wrong]} at ${wrong})` };
      return { loadMs, runMs };
    } finally {
      await session.release();
    }
  } catch (error) {
    return { error: firstLine(error) };
  }
}

async function check(provider: 'cuda' | 'webgpu'): Promise<ProviderCheck> {
  const fp32 = await tryRun(provider, TINY_MODEL, 1e-4);
  if ('error' in fp32) return { ok: false, error: fp32.error };
  // WebGPU runs float16 only where the adapter has shader-f16 (SwiftShader has not).
  const fp16 = await tryRun(provider, TINY_MODEL_FP16, 1e-2);
  return { ok: true, ...fp32, fp16: !('error' in fp16), ...('error' in fp16 ? { fp16Error: fp16.error } : {}) };
}

async function main(): Promise<DeviceCheckResult> {
  const providers = process.argv.slice(2).filter((p): p is 'cuda' | 'webgpu' => p === 'cuda' || p === 'webgpu');
  const results: DeviceCheckResult['providers'] = {};
  for (const provider of providers) results[provider] = await check(provider);
  return { type: 'device-check', version: ort.env.versions.node ?? ort.env.versions.common, providers: results };
}

void main().then((result) => process.stdout.write(`${JSON.stringify(result)}\n`));
