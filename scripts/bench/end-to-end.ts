/**
 * Issue #8's end-to-end number: a 20 s clip through `upframe run` (the CLI process, start-up, model
 * load, assembling: everything a user waits for) against what the work cannot do without: ffmpeg's
 * own decode of the clip to rgb24, onnxruntime's bare loop over the same frames (session creation
 * included, every tile converted beforehand), and ffmpeg's own encode of the upscaled frames with
 * the same encoder and settings. Ratio = that sum / upframe's wall time (1 is the limit).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { resolveModel } from '../../src/services/models.js';
import { extractTile, planTiles } from '../../src/hosts/tiles.js';
import { BIN } from '../../test/helpers/cli.js';
import { ffmpeg, makeClip } from '../../test/helpers/media.js';

const round = (n: number) => Math.round(n * 100) / 100;

function timed<T>(work: () => T): { ms: number; value: T } {
  const started = performance.now();
  const value = work();
  return { ms: performance.now() - started, value };
}

export async function endToEnd(dir: string, size: string, seconds: number, encode: { options: string[]; args: string[] }) {
  const input = makeClip(dir, 'e2e.mp4', { size, seconds });
  const output = join(dir, 'e2e.out.mp4');
  const [w, h] = size.split('x').map(Number);
  const model = resolveModel(undefined);
  const tile = model.tile.defaultSize;

  const run = timed(() => spawnSync(process.execPath, [BIN, 'run', input, '-o', output, '--device', 'cpu', '--tile', String(tile), '--overwrite', ...encode.options], { encoding: 'utf8' }));
  if (run.value.status !== 0) throw new Error(`upframe run failed: ${run.value.stderr}`);

  const decode = timed(() => execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', input, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 2 ** 31 - 1 }));
  const raw = decode.value;
  const frameBytes = w * h * 3;
  const frames = raw.length / frameBytes;
  const feeds = (session: ort.InferenceSession, i: number) =>
    planTiles(w, h, tile, model.tile.overlap).map((t) => ({ [session.inputNames[0]]: new ort.Tensor('float32', extractTile(raw.subarray(i * frameBytes, (i + 1) * frameBytes), w, t), [1, 3, t.padHeight, t.padWidth]) }));
  const created = performance.now();
  const session = await ort.InferenceSession.create(model.path, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  const createMs = performance.now() - created;
  const prepared = Array.from({ length: frames }, (_, i) => feeds(session, i));
  let runMs = 0;
  for (const frame of prepared) {
    const started = performance.now();
    for (const feed of frame) await session.run(feed);
    runMs += performance.now() - started;
  }
  await session.release();
  const bareMs = createMs + runMs;

  // The upscaled frames as the encoder gets them (upframe's own, decoded untimed), encoded alone.
  const upscaled = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-i', output, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 2 ** 31 - 1 });
  const encodeAlone = timed(() =>
    execFileSync(ffmpeg.ffmpeg, ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w * 4}x${h * 4}`, '-framerate', '24', '-i', 'pipe:0', ...encode.args, '-f', 'mp4', '-y', join(dir, 'e2e.alone.mp4')], { input: upscaled }),
  );

  const limitMs = decode.ms + bareMs + encodeAlone.ms;
  return {
    input: size, seconds, frames, tile,
    upframeMs: round(run.ms),
    alone: { decodeMs: round(decode.ms), onnxruntimeMs: round(bareMs), sessionCreateMs: round(createMs), encodeMs: round(encodeAlone.ms), totalMs: round(limitMs) },
    ratio: round(limitMs / run.ms),
  };
}
