import * as ort from 'onnxruntime-node';
import type { Device } from '../domain.js';
import { UserError } from '../services/errors.js';
import { cudaInstallCommand } from '../services/gpu.js';

async function createSession(modelPath: string, provider: 'cpu' | 'cuda', threads?: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, { executionProviders: [provider], graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
}

/** The session on the device asked for: `auto` tries CUDA and falls back to the CPU, saying why. */
export async function openSession(
  modelPath: string,
  device: Device,
  threads?: number,
): Promise<{ session: ort.InferenceSession; provider: 'cpu' | 'cuda'; fallbackReason?: string }> {
  if (device !== 'cpu') {
    try {
      return { session: await createSession(modelPath, 'cuda', threads), provider: 'cuda' };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      if (device === 'cuda') {
        throw new UserError('CUDA is not available to onnxruntime', {
          kind: 'usage',
          tryMessage: `use --device cpu or auto, or install CUDA's provider: ${cudaInstallCommand()} (${reason})`,
        });
      }
      return { session: await loadOnCpu(modelPath, threads), provider: 'cpu', fallbackReason: reason };
    }
  }
  return { session: await loadOnCpu(modelPath, threads), provider: 'cpu' };
}

async function loadOnCpu(modelPath: string, threads?: number): Promise<ort.InferenceSession> {
  try {
    return await createSession(modelPath, 'cpu', threads);
  } catch (cause) {
    throw new UserError('not a valid ONNX model', { kind: 'input', file: modelPath, tryMessage: 'pass a .onnx file exported for inference', cause });
  }
}
