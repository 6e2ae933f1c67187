/**
 * The per-pair cut check the interpolation host runs when no scene detection ran: ffmpeg's scene
 * score, computed on a sparse grid (about 64×36 samples). `mafd` is the mean absolute luma
 * difference in 0..255; the score is min(mafd, |mafd − previous mafd|) / 100, clipped to 1, so a
 * steady high-motion stretch does not read as a string of cuts while a sudden change does.
 */
export function meanLumaDifference(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
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
  return total / samples;
}

export function sceneScore(mafd: number, previousMafd: number): number {
  return Math.min(1, Math.min(mafd, Math.abs(mafd - previousMafd)) / 100);
}
