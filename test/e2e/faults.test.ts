import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { options, scratchDir, startRun } from '../helpers/app.js';
import { BIN, cli, jsonEvents, type CliRun } from '../helpers/cli.js';
import { jobDirs, markedProcesses, processState, waitUntil } from '../helpers/invariants.js';
import { frameMd5s, makeClip } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';
import { RUN_MARKER_ENV } from '../../src/services/supervisor.js';
import { resolveFfmpeg } from '../../src/services/ffmpeg/resolve.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-faults-tmp-'), 'tmp');
const clip = makeClip(dir, 'clip.mkv', { size: '64x48', seconds: 3, audio: true });
// Frames large enough to fill a pipe: the decoder and the encoder stay alive while frames stream.
const large = makeClip(dir, 'large.mkv', { size: '640x360', seconds: 4 });
const fast = nearestModel(dir);
/** The clip with a cover picture (MP4's cover art), as a film from a media library has one. */
const covered = join(dir, 'covered.mp4');
execFileSync(resolveFfmpeg().ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=32x32', '-frames:v', '1', '-y', join(dir, 'cover.jpg')]);
execFileSync(resolveFfmpeg().ffmpeg, ['-v', 'error', '-i', clip, '-i', join(dir, 'cover.jpg'), '-map', '0', '-map', '1', '-c', 'copy', '-disposition:v:1', 'attached_pic', '-y', covered]);
const slow = slowModel(dir, 200);
let n = 0;

/** The marked child whose command line matches: the decoder reads the input, the encoder writes a segment file. */
function childMatching(marker: string, pattern: RegExp): number | undefined {
  return markedProcesses(marker).find((pid) => {
    try {
      return pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' '));
    } catch {
      return false;
    }
  });
}

function expectNothingLeft(run: CliRun, output: string): void {
  expect(markedProcesses(run.marker)).toEqual([]);
  expect(jobDirs(tempRoot)).toEqual([]);
  expect(existsSync(output)).toBe(false);
  expect(readdirSync(dir).filter((name) => name.includes('upframe-partial'))).toEqual([]);
}

const ROLES = [
  { role: 'decode', input: large, model: fast, pattern: /rawvideo -pix_fmt rgb24 -y file:\S*\.fifo/, message: /^upframe: decoding failed for: .*large\.mkv \(ffmpeg was killed by SIGKILL\)$/m },
  { role: 'encode', input: large, model: fast, pattern: /-f nut -y file:\S*segment-\d+\.nut\.part/, message: /^upframe: encoding failed for: .*segment-\d+\.nut\.part \(ffmpeg was killed by SIGKILL\)$/m },
  { role: 'upscale host', input: clip, model: slow, pattern: /hosts\/upscale/, message: /^upframe: the upscale host stopped \(killed by SIGKILL\)/m },
];

describe('a child killed mid-run', () => {
  for (const { role, input, model, pattern, message } of ROLES) {
    it(`SIGKILL of the ${role}: exit 1, one line naming it and the signal, nothing left`, async () => {
      const output = join(dir, `killed-${++n}.mp4`);
      const run = cli(['run', input, '-o', output, '--model', model, '--temp-dir', tempRoot]);
      let pid: number | undefined;
      expect(await waitUntil(() => (pid = childMatching(run.marker, pattern)) !== undefined, 30_000)).toBe(true);
      process.kill(pid!, 'SIGKILL');
      const result = await run.result;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/write EPIPE|\n\s+at /);
      expectNothingLeft(run, output);
    });
  }
});

describe('signals and a closed stdout are cancels', () => {
  it('SIGHUP cancels, cleans up and exits 129', async () => {
    const output = join(dir, `hup-${++n}.mp4`);
    const run = cli(['run', clip, '-o', output, '--model', slow, '--json', '--temp-dir', tempRoot]);
    expect(await waitUntil(() => childMatching(run.marker, /hosts\/upscale/) !== undefined, 30_000)).toBe(true);
    run.child.kill('SIGHUP');
    const result = await run.result;
    expect(result.code).toBe(129);
    expect(jsonEvents(result.stdout).find((e) => e.type === 'job')).toMatchObject({ status: 'cancelled' });
    expectNothingLeft(run, output);
  });

  it('`run --json | head -c 300`: the closed pipe cancels, no stack trace, nothing left, exit 141', async () => {
    const output = join(dir, `epipe-${++n}.mp4`);
    const marker = `upframe-epipe-${process.pid}-${n}`;
    const shell = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" run "${clip}" -o "${output}" --model "${slow}" --json --temp-dir "${tempRoot}" 2>"${dir}/epipe.err" | head -c 300 >/dev/null`], {
      env: { ...process.env, [RUN_MARKER_ENV]: marker },
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((resolve) => shell.on('close', resolve));
    expect(code).toBe(141);
    expect(readFileSync(join(dir, 'epipe.err'), 'utf8')).not.toMatch(/EPIPE|\n\s+at /);
    expectNothingLeft({ marker } as CliRun, output);
  });
});

describe('short or damaged frames never pass for success', () => {
  // Chunks: one decoder reads on through the segments, and meets the end early if it had not read that
  // far (a file larger than its read-ahead). Context windows: each segment's decoder opens the file anew.
  for (const { how, size, segmenting } of [
    { how: 'one decoder for the run', size: '640x360', segmenting: { chunk: 12 } },
    { how: 'a decoder per segment', size: '64x48', segmenting: { mode: 'context', window: 16, overlap: 2 } },
  ] as const) {
  it(`an input truncated while the job runs fails the job with a clear line, nothing left (${how})`, async () => {
    const input = makeClip(dir, `truncated-${++n}.mkv`, { size, seconds: 3 });
    const output = join(dir, `short-${++n}.mp4`);
    const run = startRun([{ input, output }], options(tempRoot, { model: fast, ...segmenting }));
    await run.when((item) => (item.progress?.segment ?? 0) >= 1 && item.stage === 'upscale');
    truncateSync(input, Math.floor(statSync(input).size * 0.5));
    const result = await run.ended;
    expect(result.items[0]).toMatchObject({ status: 'failed', error: { kind: 'runtime' } });
    expect(result.items[0].error!.message).toMatch(/^the input gave \d+ frames where 12 were planned for frames \d+–\d+: .*truncated-\d+\.mkv \(was it changed or truncated while upframe ran\?/);
    expect(existsSync(output)).toBe(false);
    expect(jobDirs(tempRoot)).toEqual([]);
    run.actor.stop();
  });
  }

  it('--resume redoes a kept segment that was truncated on disk, with a notice, and a cancel leaves no .part', async () => {
    const output = join(dir, `resume-${++n}.mp4`);
    const first = startRun([{ input: clip, output }], options(tempRoot, { model: fast, chunk: 12, resume: true }));
    await first.when((item) => (item.progress?.segment ?? 0) >= 3);
    first.cancel();
    await first.ended;
    first.actor.stop();
    const [resume] = readdirSync(tempRoot).filter((name) => name.startsWith('resume-'));
    const kept = readdirSync(join(tempRoot, resume));
    expect(kept.filter((name) => name.endsWith('.part'))).toEqual([]);
    const segment = join(tempRoot, resume, kept.filter((name) => name.endsWith('.nut')).sort()[0]);
    truncateSync(segment, Math.floor(statSync(segment).size / 2));

    const second = startRun([{ input: clip, output }], options(tempRoot, { model: fast, chunk: 12, resume: true }));
    const result = await second.ended;
    expect(result.items[0].status).toBe('done');
    expect(second.actor.getSnapshot().context.items[0].notices?.join('\n')).toMatch(/kept segment\(s\) 1 in .* changed on disk since they were finished: redoing them/);
    expect(frameMd5s(output)).toHaveLength(72);
    second.actor.stop();
  });
});

describe('a crashed tool is a run-time failure, never bad input', () => {
  it('ffprobe killed by a signal: exit 1 (not 2), one line naming it', async () => {
    const { ffmpegBinaries } = await import('../../src/services/ffmpeg/resolve.js');
    const crashing = join(dir, 'ffprobe-that-crashes');
    writeFileSync(crashing, '#!/bin/sh\nkill -KILL $$\n', { mode: 0o755 });
    const output = join(dir, `probe-${++n}.mp4`);
    const run = cli(['run', clip, '-o', output, '--model', fast, '--temp-dir', tempRoot], { UPFRAME_FFMPEG: ffmpegBinaries().ffmpeg, UPFRAME_FFPROBE: crashing });
    const result = await run.result;
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^upframe: not a readable video: .*clip\.mkv \(ffprobe was killed by SIGKILL\)$/m);
    expectNothingLeft(run, output);
  });
});

describe('a tool that hangs is cancelled like any other', () => {
  // The real ffmpeg, except that one run of it stops itself before it starts, as one stuck in a read
  // on a stalled drive would wait: the probe's trial mux of the sound (`-t 0.1 … /dev/null`), the
  // assembly's copy of the cover picture out of the source (`-f image2`, for a Matroska output).
  const HANGS = [
    { what: 'the probe\'s trial mux of the sound', args: "*'-t 0.1 '*/dev/null*", cmdline: /-t 0\.1 .*\/dev\/null/, output: 'mp4' },
    { what: 'the copy of the cover picture out of the source', args: "*'-f image2 '*", cmdline: /-f image2 /, output: 'mkv' },
  ];
  for (const hang of HANGS) {
    it(`SIGINT while ${hang.what} hangs: exit 130, nothing left`, async () => {
      const { ffmpegBinaries } = await import('../../src/services/ffmpeg/resolve.js');
      const hanging = join(dir, `ffmpeg-that-hangs-${++n}`);
      writeFileSync(hanging, `#!/bin/sh\ncase "$*" in ${hang.args}) kill -STOP $$ ;; esac\nexec '${ffmpegBinaries().ffmpeg}' "$@"\n`, { mode: 0o755 });
      const output = join(dir, `hang-${n}.${hang.output}`);
      const run = cli(['run', covered, '-o', output, '--model', fast, '--temp-dir', tempRoot], { UPFRAME_FFMPEG: hanging, UPFRAME_FFPROBE: ffmpegBinaries().ffprobe });
      const stopped = () => {
        const pid = childMatching(run.marker, hang.cmdline);
        return pid !== undefined && processState(pid) === 'T';
      };
      expect(await waitUntil(stopped, 20_000)).toBe(true);
      run.child.kill('SIGINT');
      const result = await run.result;
      expect(result.code).toBe(130);
      expectNothingLeft(run, output);
    });
  }
});
