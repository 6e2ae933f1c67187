import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelAndExpectClean, invariantViolations, options, runDone, scratchDir, startRun, type Run } from '../helpers/app.js';
import { markedProcesses, processState } from '../helpers/invariants.js';
import { ffmpeg, frameMd5s, makeClip, videoStream } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';
import { resumeDir } from '../../src/services/checkpoints.js';
import { runMarker } from '../../src/services/supervisor.js';
import type { JobOptions } from '../../src/domain.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const nearest = nearestModel(dir, 2);
// 72 frames: with --chunk 18, four segments of 18, each long enough to share an encoder.
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 3, rate: '24' });
const lossless: Partial<JobOptions> = { lossless: true, codec: 'h264' };
let run: Run | undefined;
let n = 0;

afterEach(() => run?.actor.stop());

/** The command lines of the job's ffmpegs that match `pattern`, polled until `until` settles. */
function watchFfmpegs(until: Promise<unknown>, pattern: RegExp): Promise<Set<string>> {
  const seen = new Map<number, string>();
  const timer = setInterval(() => {
    for (const pid of markedProcesses(runMarker())) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
        if (cmdline.includes('ffmpeg') && pattern.test(cmdline)) seen.set(pid, cmdline);
      } catch {
        // gone
      }
    }
  }, 5);
  return until.then(() => (clearInterval(timer), new Set(seen.values())));
}

const watchRunEncoders = (until: Promise<unknown>) => watchFfmpegs(until, /-segment_frames/);
const DECODER = /-f rawvideo -pix_fmt rgb24 -y file:\S*\.fifo/;

function killWhere(pattern: RegExp): number | undefined {
  for (const pid of markedProcesses(runMarker())) {
    try {
      if (!pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' '))) continue;
      process.kill(pid, 'SIGKILL');
      return pid;
    } catch {
      // gone
    }
  }
  return undefined;
}

function ptsSteps(file: string): number[] {
  const pts = execFileSync(ffmpeg.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', file], { encoding: 'utf8' })
    .trim().split('\n').map(Number).sort((a, b) => a - b);
  return [...new Set(pts.slice(1).map((value, k) => value - pts[k]))];
}

describe('consecutive segments through one encoder', () => {
  it('one encoder cuts the four segment files at forced keyframes: the frames of a whole run, bit for bit', async () => {
    const whole = join(dir, `whole-${++n}.mkv`);
    await runDone(clip, whole, tempRoot, options(tempRoot, { model: nearest, ...lossless }));
    const output = join(dir, `run-${++n}.mkv`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, chunk: 18, ...lossless }));
    const encoders = watchRunEncoders(run.ended);
    const decoders = watchFfmpegs(run.ended, DECODER);
    // Progress goes on through a run while its encoder has yet to name a file; it never goes back.
    const progress: { done: number; segment: number }[] = [];
    run.actor.subscribe((s) => {
      const p = s.context.items[0]?.progress;
      if (p && s.context.items[0].phase === 'processing') progress.push({ done: p.done, segment: p.segment ?? 0 });
    });
    expect((await run.ended).items[0].status).toBe('done');
    for (const [k, p] of progress.entries()) if (k > 0) expect([p.done >= progress[k - 1].done, p.segment >= progress[k - 1].segment]).toEqual([true, true]);
    expect(progress.at(-1)).toEqual({ done: 72, segment: 4 });
    const seen = [...(await encoders)];
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/-segment_frames 18,36,54 /);
    // One decoder too: the segments' frames follow on, and the host reads each one's 18 by count.
    expect([...(await decoders)]).toEqual([expect.stringMatching(/trim=start_frame=0:end_frame=72 /)]);
    expect(frameMd5s(output)).toEqual(frameMd5s(whole));
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  });

  it('with the preview pane\'s pictures on, a run writes the same frames', async () => {
    const whole = join(dir, `whole-${++n}.mkv`);
    await runDone(clip, whole, tempRoot, options(tempRoot, { model: nearest, ...lossless }));
    const output = join(dir, `pane-${++n}.mkv`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, chunk: 18, previews: { width: 32, height: 24 }, ...lossless }));
    const encoders = watchRunEncoders(run.ended);
    expect((await run.ended).items[0].status).toBe('done');
    expect([...(await encoders)][0]).toMatch(/out-%d\.ppm/);
    expect(frameMd5s(output)).toEqual(frameMd5s(whole));
  });

  for (const { codec, ext, flags } of [
    { codec: 'h265', ext: 'mp4', flags: { codec: 'h265', preset: 'ultrafast' } },
    { codec: 'vp9', ext: 'webm', flags: { preset: '8' } },
    { codec: 'h264', ext: 'mov', flags: { preset: 'veryfast' } },
  ] as const) {
    it(`${codec}: every frame once, in order, one frame apart`, async () => {
      const output = join(dir, `run-${++n}.${ext}`);
      run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, chunk: 18, ...flags }));
      const encoders = watchRunEncoders(run.ended);
      expect((await run.ended).items[0].status).toBe('done');
      expect(await encoders).toHaveProperty('size', 1);
      expect(frameMd5s(output)).toHaveLength(72);
      // One step, or two a tick apart where the container's clock is coarser than the frame rate (WebM's ms).
      const steps = ptsSteps(output);
      expect(Math.max(...steps) - Math.min(...steps)).toBeLessThanOrEqual(1);
      expect(Math.min(...steps)).toBeGreaterThan(0);
      expect(videoStream(output)).toMatchObject({ codec_name: codec === 'h265' ? 'hevc' : codec, width: 128, height: 96 });
    });
  }

  it('cancel in the middle of a run: its encoder, hosts, FIFOs and files gone at once', async () => {
    const output = join(dir, `cancel-${++n}.mp4`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: slowModel(dir, 10), chunk: 18 }));
    await run.when((item) => (item.progress?.segment ?? 0) >= 1);
    const fifos = readdirSync(tempRoot, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.fifo')).map((name) => name.replace(/.*\//, ''));
    expect(fifos.sort()).toEqual(['run-0.decode.fifo', 'run-0.encode.fifo']);
    await cancelAndExpectClean(run, tempRoot, output);
  });

  // The encoder names a file some 50 frames after its end (x264 medium's lookahead here): the decoder,
  // 9 frames ahead of the host, is gone by then, so it is killed as the host works on segment 2.
  for (const { who, pattern, message, moment, kept } of [
    { who: 'a host', pattern: /hosts\/upscale\./, message: /the upscale host stopped \(.*SIGKILL/, moment: 'stored', kept: 1 },
    { who: 'the encoder', pattern: /-segment_frames/, message: /^encoding failed for: .*segment-0000[1-3]\.nut\.part \(ffmpeg was killed by SIGKILL\)$/, moment: 'stored', kept: 1 },
    { who: 'the decoder', pattern: DECODER, message: /^decoding failed for: .*clip\.mp4 \(ffmpeg was killed by SIGKILL\)$/, moment: 'fed', kept: 0 },
  ] as const) {
    it(`${who} killed in the middle of a run fails the job at once, naming it; the segments kept stay whole`, async () => {
      const output = join(dir, `killed-${++n}.mp4`);
      run = startRun([{ input: clip, output }], options(tempRoot, { model: slowModel(dir, 10), chunk: 18, resume: true }));
      await run.when((item) => (moment === 'stored' ? (item.progress?.segment ?? 0) >= 1 : (item.progress?.done ?? 0) >= 24));
      expect(killWhere(pattern)).toBeGreaterThan(0);
      const started = performance.now();
      const result = await run.ended;
      expect(result.items[0].status).toBe('failed');
      expect(result.items[0].error?.message).toMatch(message);
      expect(performance.now() - started).toBeLessThan(5000);
      const store = resumeDir(tempRoot, clip, output);
      expect(readdirSync(store).filter((name) => name.endsWith('.nut')).length).toBeGreaterThanOrEqual(kept);
      expect(readdirSync(store).filter((name) => name.endsWith('.part'))).toEqual([]);
      expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
    });
  }

  it('pause in the middle of a run stops its decoder, host and encoder; resumed, the run gives the frames of a whole run; a cancel while paused leaves nothing', async () => {
    const whole = join(dir, `whole-${++n}.mkv`);
    await runDone(clip, whole, tempRoot, options(tempRoot, { model: nearest, ...lossless }));
    const slow = slowModel(dir, 10);
    const states = () => markedProcesses(runMarker()).map(processState).filter((state) => state !== undefined && state !== 'Z');
    for (const after of ['resume', 'cancel'] as const) {
      const output = join(dir, `paused-${++n}.mkv`);
      run = startRun([{ input: clip, output }], options(tempRoot, { model: slow, chunk: 18, ...lossless }));
      await run.when((item) => (item.progress?.done ?? 0) >= 24);
      run.actor.send({ type: 'app.pause' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const done = run.actor.getSnapshot().context.items[0].progress?.done;
      // The host, the run's decoder (unless it has written the whole run) and its encoder, all stopped.
      expect(states().length).toBeGreaterThanOrEqual(2);
      expect(new Set(states())).toEqual(new Set(['T']));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(run.actor.getSnapshot().context.items[0].progress?.done).toBe(done);
      if (after === 'cancel') {
        await cancelAndExpectClean(run, tempRoot, output);
        continue;
      }
      run.actor.send({ type: 'app.pause' });
      expect((await run.ended).items[0].status).toBe('done');
      expect(frameMd5s(output)).toEqual(frameMd5s(whole));
      expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
      run.actor.stop();
    }
  });

  it('--resume after a cancel in a run reuses the finished segments and gives the frames of a whole run', async () => {
    const whole = join(dir, `whole-${++n}.mkv`);
    await runDone(clip, whole, tempRoot, options(tempRoot, { model: nearest, ...lossless }));
    const output = join(dir, `resumed-${++n}.mkv`);
    const slow = slowModel(dir, 10);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: slow, chunk: 18, resume: true, ...lossless }));
    await run.when((item) => (item.progress?.segment ?? 0) >= 2);
    await cancelAndExpectClean(run, tempRoot, output);
    run.actor.stop();
    const kept = readdirSync(resumeDir(tempRoot, clip, output)).filter((name) => name.endsWith('.nut')).length;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(4);
    const notices = await runDone(clip, output, tempRoot, options(tempRoot, { model: slow, chunk: 18, resume: true, ...lossless }));
    expect(notices).toContain(`resuming: ${kept} of 4 segments reused`);
    expect(frameMd5s(output)).toEqual(frameMd5s(whole));
  });
});
