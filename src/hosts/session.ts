import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { UserError } from '../services/errors.js';
import { cudaInstallCommand } from '../services/gpu.js';
import { adaptSpinning, BusyMeter, NO_SPINNING, SPINNING_WITHIN_RUNS, startsSpinning } from './spinning.js';

/** Where a session runs: onnxruntime's execution provider. */
export type Provider = 'cpu' | 'webgpu' | 'cuda';

/** A model by its file, or as bytes (a graph built from the file at load time); `path` names it in errors. */
export interface ModelSource {
  readonly path: string;
  readonly bytes?: Uint8Array;
}

async function createSession(model: ModelSource, provider: Provider, threads?: number, spinning = true): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // The CPU's threads; a GPU provider's host thread only feeds the device.
    ...(threads && provider === 'cpu' ? { intraOpNumThreads: threads } : {}),
    ...(spinning ? SPINNING_WITHIN_RUNS : NO_SPINNING),
  };
  return model.bytes ? ort.InferenceSession.create(model.bytes, options) : ort.InferenceSession.create(model.path, options);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // onnxruntime prefixes its source location and the failed condition: keep what it says after them.
  return (text.split('\n')[0] ?? '').replace(/^\/onnxruntime_src\/\S+ .*? was false\. /, '');
}

/**
 * The session on the device asked for. The processing stage resolves `auto` before it starts a host
 * (services/gpu.ts `chooseDevice`) and passes the device it took; `auto` here (a host started
 * directly) tries CUDA and falls back to the CPU, saying why. A GPU device that fails here (the
 * device check passed, this model did not) is a usage error naming the provider.
 */
export async function openSession(
  modelPath: string | ModelSource,
  device: Device,
  threads?: number,
): Promise<{ session: ort.InferenceSession; provider: Provider; fallbackReason?: string }> {
  const model = typeof modelPath === 'string' ? { path: modelPath } : modelPath;
  if (device === 'webgpu') {
    try {
      return { session: await createSession(model, 'webgpu'), provider: 'webgpu' };
    } catch (error) {
      throw new UserError(`WebGPU cannot run this model (${firstLine(error)})`, { kind: 'usage', file: model.path, tryMessage: 'use --device cpu, or --precision fp32' });
    }
  }
  if (device === 'cuda' || device === 'auto') {
    try {
      return { session: await createSession(model, 'cuda', threads), provider: 'cuda' };
    } catch (error) {
      const reason = firstLine(error);
      if (device === 'cuda') {
        throw new UserError('CUDA is not available to onnxruntime', {
          kind: 'usage',
          tryMessage: `use --device cpu or auto, or install CUDA's provider: ${cudaInstallCommand()} (${reason})`,
        });
      }
      return { session: await loadOnCpu(model, threads), provider: 'cpu', fallbackReason: `CUDA is not available, running on the CPU (${reason})` };
    }
  }
  return { session: await loadOnCpu(model, threads), provider: 'cpu' };
}

/** Every CPU session of this host process: they share its time, so they decide on spinning together. */
const hostMeter = new BusyMeter();

async function loadOnCpu(model: ModelSource, threads?: number): Promise<ort.InferenceSession> {
  try {
    const spinning = startsSpinning(threads);
    const session = await createSession(model, 'cpu', threads, spinning);
    return spinning ? adaptSpinning(session, () => createSession(model, 'cpu', threads, false), hostMeter).session : session;
  } catch (cause) {
    throw new UserError('not a valid ONNX model', { kind: 'input', file: model.path, tryMessage: 'pass a .onnx file exported for inference', cause });
  }
}
