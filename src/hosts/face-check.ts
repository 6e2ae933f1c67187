/**
 * `upframe models import`'s load check, run as a child (the orchestrator never loads onnxruntime):
 * opens the model given as argv[3] on the CPU as the kind argv[2] names, checks its layout (a face
 * restorer also runs once when its file does not fix its output's shape), and prints one JSON line,
 * {@link FaceCheckResult}, on stdout.
 */
import { toJobError } from '../services/errors.js';
import type { ErrorKind } from '../domain.js';
import { createFaceDetector } from './face-detect.js';
import { createFaceRestorer } from './face-restorer.js';

export type FaceCheckResult =
  | { readonly type: 'face-check'; readonly ok: true; readonly size: number; readonly fidelity: boolean }
  | { readonly type: 'face-check'; readonly ok: false; readonly kind: ErrorKind; readonly error: string };

async function main(): Promise<FaceCheckResult> {
  const [kind, path] = process.argv.slice(2);
  if (kind === 'face-detect') {
    const detector = await createFaceDetector(path, 'cpu', 1);
    await detector.release();
    return { type: 'face-check', ok: true, size: detector.inputSize, fidelity: false };
  }
  const restorer = await createFaceRestorer({ modelPath: path, device: 'cpu', threads: 1 });
  await restorer.release();
  return { type: 'face-check', ok: true, size: restorer.layout.size, fidelity: Boolean(restorer.layout.fidelity) };
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    const { kind, message } = toJobError(error);
    const result: FaceCheckResult = { type: 'face-check', ok: false, kind, error: message };
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(1));
  },
);
