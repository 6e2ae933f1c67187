/**
 * A cheap cut check between two consecutive rgb24 frames: the mean absolute luma difference over a
 * sparse grid (about 64×36 samples), in 0..1. Motion stays well below the default threshold; a
 * change of shot lands above it.
 */
export function lumaDifference(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  const stepX = Math.max(1, Math.floor(width / 64));
  const stepY = Math.max(1, Math.floor(height / 36));
  let total = 0;
  let samples = 0;
  for (let y = 0; y < height; y += stepY) {
    for (let x = 0; x < width; x += stepX) {
      const i = (y * width + x) * 3;
      const la = 0.299 * a[i] + 0.587 * a[i + 1] + 0.114 * a[i + 2];
      const lb = 0.299 * b[i] + 0.587 * b[i + 1] + 0.114 * b[i + 2];
      total += Math.abs(la - lb);
      samples += 1;
    }
  }
  return total / samples / 255;
}

export const DEFAULT_SCENE_THRESHOLD = 0.12;
