import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { UserError } from '../services/errors.js';
import { cudaInstallCommand } from '../services/gpu.js';

/** A model by its file, or as bytes (a graph built from the file at load time); `path` names it in errors. */
export interface ModelSource {
  readonly path: string;
  readonly bytes?: Uint8Array;
}

async function createSession(model: ModelSource, provider: 'cpu' | 'cuda', threads?: number): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: [provider], graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) };
  return model.bytes ? ort.InferenceSession.create(model.bytes, options) : ort.InferenceSession.create(model.path, options);
}

/** The session on the device asked for: `auto` tries CUDA and falls back to the CPU, saying why. */
export async function openSession(
  modelPath: string | ModelSource,
  device: Device,
  threads?: number,
): Promise<{ session: ort.InferenceSession; provider: 'cpu' | 'cuda'; fallbackReason?: string }> {
  const model = typeof modelPath === 'string' ? { path: modelPath } : modelPath;
  if (device !== 'cpu') {
    try {
      return { session: await createSession(model, 'cuda', threads), provider: 'cuda' };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      if (device === 'cuda') {
        throw new UserError('CUDA is not available to onnxruntime', {
          kind: 'usage',
          tryMessage: `use --device cpu or auto, or install CUDA's provider: ${cudaInstallCommand()} (${reason})`,
        });
      }
      return { session: await loadOnCpu(model, threads), provider: 'cpu', fallbackReason: reason };
    }
  }
  return { session: await loadOnCpu(model, threads), provider: 'cpu' };
}

async function loadOnCpu(model: ModelSource, threads?: number): Promise<ort.InferenceSession> {
  try {
    return await createSession(model, 'cpu', threads);
  } catch (cause) {
    throw new UserError('not a valid ONNX model', { kind: 'input', file: model.path, tryMessage: 'pass a .onnx file exported for inference', cause });
  }
}
