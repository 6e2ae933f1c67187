/**
 * Face restoration of one frame: detect, then per face align, warp, restore and paste back. A frame
 * with no face (of the minimum size) is returned as it came, after only the detection.
 */
import type { FaceHostConfig } from './protocol.js';
import { alignFace, pasteCrop, warpCrop } from './face-align.js';
import { createFaceDetector } from './face-detect.js';
import { createFaceRestorer } from './face-restorer.js';

export const DEFAULT_FACE_STRENGTH = 1;
export const DEFAULT_FACE_MIN_SIZE = 48;

export interface FaceRestoration {
  readonly provider: 'cpu' | 'webgpu' | 'cuda';
  readonly fallbackReason?: string;
  /** The restorer's crop side and whether it takes a fidelity weight, for the notice. */
  readonly cropSize: number;
  readonly fidelity: boolean;
  /**
   * The frame with its faces restored (a new buffer when any face was found, else the same one) and
   * how many faces were. `onFace` is awaited after each face, between model runs.
   */
  restoreFrame(frame: Uint8Array, width: number, height: number, onFace?: (face: number, faces: number) => Promise<void> | void): Promise<{ frame: Uint8Array; faces: number }>;
  release(): Promise<void>;
}

export type FaceRestorationOptions = Pick<FaceHostConfig, 'restorerPath' | 'detectorPath' | 'device' | 'threads' | 'strength' | 'minSize' | 'fidelity'>;

export async function createFaceRestoration(options: FaceRestorationOptions): Promise<FaceRestoration> {
  const detector = await createFaceDetector(options.detectorPath, options.device, options.threads);
  const restorer = await createFaceRestorer({ modelPath: options.restorerPath, device: options.device, threads: options.threads, fidelity: options.fidelity });
  const size = restorer.layout.size;
  const strength = options.strength ?? DEFAULT_FACE_STRENGTH;
  const minSize = options.minSize ?? DEFAULT_FACE_MIN_SIZE;
  const crop = new Float32Array(3 * size * size);
  return {
    provider: restorer.provider,
    fallbackReason: restorer.fallbackReason ?? detector.fallbackReason,
    cropSize: size,
    fidelity: Boolean(restorer.layout.fidelity),
    async restoreFrame(frame, width, height, onFace) {
      const faces = await detector.detect(frame, width, height, minSize);
      if (faces.length === 0 || strength === 0) return { frame, faces: faces.length };
      const out = Uint8Array.from(frame);
      for (const [n, face] of faces.entries()) {
        const toCrop = alignFace(face.keypoints, size);
        // Each face is cut from the original frame, so an overlapping neighbour's paste never feeds it.
        warpCrop(frame, width, height, toCrop, size, crop);
        pasteCrop(out, width, height, toCrop, await restorer.restore(crop), size, strength);
        await onFace?.(n + 1, faces.length);
      }
      return { frame: out, faces: faces.length };
    },
    async release() {
      await detector.release();
      await restorer.release();
    },
  };
}
