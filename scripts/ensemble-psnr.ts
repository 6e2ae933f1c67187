/**
 * `node --import tsx scripts/ensemble-psnr.ts [--image=a.jpg,b.png] [--size=640x360] [--rounds=2] [--tile=256]`
 *
 * What self-ensemble buys and costs with the bundled x4v3: each clean picture (ffmpeg's testsrc2 at
 * --size, and every --image, cropped to a multiple of 4) is shrunk 4× (bicubic, antialiased, in RGB),
 * upscaled back with x4v3 alone and with --ensemble 2, 4 and 8 (the upscale host's own code, on the
 * CPU), and each result is compared with the original: PSNR over RGB, whole picture, and with a
 * 4-pixel border shaved as SR benchmarks do. Time is the median of --rounds upscales per setting,
 * the sessions loaded beforehand and the settings timed in turn, round by round. A bicubic upscale is the baseline. One JSON object per line on
 * stdout, a table on stderr.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { createUpscaler } from '../src/hosts/upscaler.js';
import { resolveModel } from '../src/services/models.js';
import { ffmpeg } from '../test/helpers/media.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SIZE = args.get('size') ?? '640x360';
const ROUNDS = Number(args.get('rounds') ?? 2);
const TILE = Number(args.get('tile') ?? 256);
const IMAGES = (args.get('image') ?? '').split(',').filter(Boolean);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** rgb24 bytes of a picture (first frame), cropped to a multiple of 4 each way: a PPM, whose header gives the size. */
function original(input: string[]): { rgb: Buffer; width: number; height: number } {
  const ppm = execFileSync(ffmpeg.ffmpeg, ['-v', 'error', ...input, '-frames:v', '1', '-vf', 'crop=trunc(iw/4)*4:trunc(ih/4)*4:0:0', '-f', 'image2pipe', '-c:v', 'ppm', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('ffmpeg gave no PPM');
  const [width, height] = [Number(header[1]), Number(header[2])];
  return { rgb: ppm.subarray(header[0].length), width, height };
}

/** rgb24 in, rgb24 out, through ffmpeg's scaler (bicubic; antialiased when shrinking). */
function rescale(rgb: Uint8Array, width: number, height: number, toWidth: number, toHeight: number): Buffer {
  return execFileSync(ffmpeg.ffmpeg, [
    '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-i', 'pipe:0',
    '-vf', `scale=${toWidth}:${toHeight}:flags=bicubic+accurate_rnd+full_chroma_int`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ], { input: rgb, maxBuffer: 1 << 28 });
}

function psnr(a: Uint8Array, b: Uint8Array, width: number, height: number, shave = 0): number {
  let sum = 0;
  let count = 0;
  for (let y = shave; y < height - shave; y++) {
    for (let x = shave; x < width - shave; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * width + x) * 3 + c;
        sum += (a[i] - b[i]) ** 2;
        count += 1;
      }
    }
  }
  return sum === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (sum / count));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const model = resolveModel(undefined);
  const sources: { name: string; input: string[] }[] = [
    { name: `testsrc2 ${SIZE}`, input: ['-f', 'lavfi', '-i', `testsrc2=size=${SIZE}:rate=1`] },
    ...IMAGES.map((image) => ({ name: image, input: ['-i', image] })),
  ];
  log(`x4v3 on the CPU (${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores), tile ${TILE}, median of ${ROUNDS}`);
  for (const source of sources) {
    const hr = original(source.input);
    const [w, h] = [hr.width / 4, hr.height / 4];
    const lr = rescale(hr.rgb, hr.width, hr.height, w, h);
    const bicubic = rescale(lr, w, h, hr.width, hr.height);
    const baseline = { source: source.name, size: `${hr.width}x${hr.height}`, input: `${w}x${h}` };
    process.stdout.write(`${JSON.stringify({ ...baseline, method: 'bicubic', psnr: round(psnr(bicubic, hr.rgb, hr.width, hr.height)), psnrShaved: round(psnr(bicubic, hr.rgb, hr.width, hr.height, 4)) })}\n`);
    log(`${source.name} (${hr.width}×${hr.height} from ${w}×${h})`);
    log(`  bicubic        PSNR ${psnr(bicubic, hr.rgb, hr.width, hr.height).toFixed(2)} dB`);
    // All four loaded first, then timed round by round in turn, so that a change of machine load
    // between settings does not pass for a cost of the ensemble.
    const sizes = [1, 2, 4, 8];
    const upscalers = await Promise.all(sizes.map((ensemble) => createUpscaler({ modelPath: model.path, device: 'cpu', tileSize: TILE, overlap: model.tile.overlap, scale: 4, ensemble })));
    const times: number[][] = sizes.map(() => []);
    const outputs: Uint8Array[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [k, upscaler] of upscalers.entries()) {
        const started = performance.now();
        outputs[k] = await upscaler.upscale(lr, w, h);
        times[k].push(performance.now() - started);
      }
    }
    await Promise.all(upscalers.map((upscaler) => upscaler.release()));
    const single = median(times[0]);
    for (const [k, ensemble] of sizes.entries()) {
      const ms = median(times[k]);
      const out = outputs[k];
      const result = {
        ...baseline, method: ensemble === 1 ? 'x4v3' : `x4v3 --ensemble ${ensemble}`, ensemble,
        psnr: round(psnr(out, hr.rgb, hr.width, hr.height)), psnrShaved: round(psnr(out, hr.rgb, hr.width, hr.height, 4)),
        ms: Math.round(ms), timeRatio: round(ms / single),
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
      log(`  ${result.method.padEnd(20)} PSNR ${result.psnr.toFixed(2)} dB (shaved ${result.psnrShaved.toFixed(2)})  ${result.ms} ms  ×${result.timeRatio.toFixed(2)}`);
    }
  }
}

await main();
