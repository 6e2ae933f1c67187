import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelAndExpectClean, invariantViolations, options, scratchDir, startRun, type Run } from '../helpers/app.js';
import { markedProcesses } from '../helpers/invariants.js';
import { frameMd5s, makeClip } from '../helpers/media.js';
import { blendModel, nearestModel, slowModel } from '../helpers/models.js';
import { resumeDir } from '../../src/services/checkpoints.js';
import { runMarker } from '../../src/services/supervisor.js';

const dir = scratchDir();
const tempRoot = join(dir, 'tmp');
const nearest = nearestModel(dir, 2);
const blend = blendModel(dir);
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 2, rate: '24' });
let run: Run | undefined;
let n = 0;

afterEach(() => run?.actor.stop());

/** Our live processes by role (from their command lines), polled until `until` settles. */
function watchProcesses(until: Promise<unknown>): Promise<Map<string, Set<number>>> {
  const seen = new Map<string, Set<number>>();
  const poll = () => {
    for (const pid of markedProcesses(runMarker())) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        continue;
      }
      const role = /hosts\/(upscale|interpolate)\./.exec(cmdline)?.[1] ?? (cmdline.includes('ffmpeg') ? 'ffmpeg' : 'other');
      if (!seen.has(role)) seen.set(role, new Set());
      seen.get(role)!.add(pid);
    }
  };
  const timer = setInterval(poll, 5);
  return until.then(() => (clearInterval(timer), seen));
}

function fifosUnder(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.fifo'));
  } catch {
    return [];
  }
}

describe('hosts live for the whole job', () => {
  it('and go as soon as they have written its last segment: the upscale host before a slower interpolation host', async () => {
    const output = join(dir, `early-${++n}.mkv`);
    // The real RIFE model at 128×96 takes a second or so for 47 pairs; the ×2 upscale, milliseconds a frame.
    run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, interpolate: 2, lossless: true }));
    const alive = (role: string) => markedProcesses(runMarker()).some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(`hosts/${role}.`);
      } catch {
        return false;
      }
    });
    let both = false;
    let upscaleGoneFirst = false;
    const timer = setInterval(() => {
      const [upscale, interpolate] = [alive('upscale'), alive('interpolate')];
      both ||= upscale && interpolate;
      if (both && !upscale && interpolate) upscaleGoneFirst = true;
    }, 5);
    const result = await run.ended;
    clearInterval(timer);
    expect(result.items[0].status, result.items[0].error?.message).toBe('done');
    expect(both).toBe(true);
    expect(upscaleGoneFirst).toBe(true);
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  });


  it('a job of 8 segments through upscale and interpolation starts each host once, and gives the frames of a whole run', async () => {
    const whole = join(dir, `whole-${++n}.mkv`);
    const wholeRun = startRun([{ input: clip, output: whole }], options(tempRoot, { model: nearest, interpolate: 2, interpolationModel: blend, lossless: true }));
    expect((await wholeRun.ended).items[0].status).toBe('done');
    wholeRun.actor.stop();

    const output = join(dir, `chunked-${++n}.mkv`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, interpolate: 2, interpolationModel: blend, chunk: 6, lossless: true }));
    const seen = watchProcesses(run.ended);
    const segments = new Set<number>();
    const sub = run.actor.subscribe((s) => {
      const segment = s.context.items[0]?.progress?.segment;
      if (segment !== undefined) segments.add(segment);
    });
    const result = await run.ended;
    sub.unsubscribe();
    expect(result.items[0].status, result.items[0].error?.message).toBe('done');
    expect(segments.size).toBeGreaterThanOrEqual(8);
    const processes = await seen;
    // The poll saw the per-segment ffmpegs come and go: it would have seen per-segment hosts too.
    expect(processes.get('ffmpeg')!.size).toBeGreaterThanOrEqual(8);
    expect(processes.get('upscale')?.size).toBe(1);
    expect(processes.get('interpolate')?.size).toBe(1);
    expect(frameMd5s(output)).toEqual(frameMd5s(whole));
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  });

  it('cancel in the middle of segment 2: hosts, ffmpegs, FIFOs and files all gone at once', async () => {
    const slow = slowModel(dir, 40);
    const output = join(dir, `cancel-${++n}.mp4`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: slow, chunk: 3 }));
    await run.when((item) => item.progress?.segment === 1 && (item.progress?.done ?? 0) >= 4);
    // One decoder feeds the run of 3-frame segments; segment 2's FIFO to its encoder, and segment 3's,
    // made ahead for its encoder.
    expect(fifosUnder(tempRoot).map((name) => name.replace(/.*\//, '')).sort()).toEqual(['run-0.decode.fifo', 'segment-1.0.fifo', 'segment-2.0.fifo']);
    await cancelAndExpectClean(run, tempRoot, output);
    expect(fifosUnder(tempRoot)).toEqual([]);
  });

  it('a host that dies after a segment, as it takes the next, fails the job at once, naming the host', async () => {
    const output = join(dir, `killed-${++n}.mp4`);
    run = startRun([{ input: clip, output }], options(tempRoot, { model: nearest, chunk: 8, resume: true }));
    const store = resumeDir(tempRoot, clip, output);
    // Segment 1 is stored once every host said `done` for it: the host is then on segment 2.
    let killed = 0;
    const timer = setInterval(() => {
      if (killed || !existsSync(join(store, 'segment-00000.nut'))) return;
      for (const pid of markedProcesses(runMarker())) {
        if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('hosts/upscale.')) {
          process.kill(pid, 'SIGKILL');
          killed = pid;
        }
      }
    }, 2);
    const started = performance.now();
    const result = await run.ended;
    clearInterval(timer);
    expect(killed).toBeGreaterThan(0);
    expect(result.items[0].status).toBe('failed');
    expect(result.items[0].error?.message).toMatch(/the upscale host stopped \(.*SIGKILL/);
    expect(performance.now() - started).toBeLessThan(10_000);
    // Segment 1 was whole and is kept: the host died after it.
    expect(readdirSync(store).filter((name) => name.endsWith('.nut'))).toContain('segment-00000.nut');
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  });

  it('a decoder that stops short in a later segment: the shortfall is named, nothing hangs', async () => {
    const input = join(dir, 'changing.mp4');
    renameSync(makeClip(dir, 'long.mp4', { size: '64x48', seconds: 2, rate: '24' }), input);
    const short = makeClip(dir, 'short.mp4', { size: '64x48', seconds: 1.75, rate: '24' });
    const output = join(dir, `short-${++n}.mp4`);
    // Context windows (12 frames and 2 of context each side): each segment has a decoder of its own.
    run = startRun([{ input, output }], options(tempRoot, { model: nearest, mode: 'context', window: 16, overlap: 2 }));
    // While segment 2 runs on the file it opened, the input becomes a 42-frame clip: segment 3's
    // decoder (started with segment 2, on either file) gets all its frames, segment 4's 8 of 14.
    await run.when((item) => item.progress?.segment === 1);
    renameSync(short, input);
    const result = await run.ended;
    expect(result.items[0].status).toBe('failed');
    expect(result.items[0].error?.message).toMatch(/the input gave 6 frames where 12 were planned for frames 36–47/);
    expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  });
});
