import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PreviewOptions, StartRequest } from '../domain.js';
import { jobOptions, newRunId, usage, type RunFlags } from './options.js';
import { runHeadless } from './run.js';
import { pickGraphics, renderPicture } from './show-image.js';

export interface PreviewFlags extends RunFlags {
  readonly at?: string;
  readonly frame?: string;
  readonly compare?: boolean;
}

/** `--at`: seconds (`83.5`), or `m:ss` / `h:mm:ss` with optional decimals (`1:23:45.5`). */
export function parseTime(text: string): number {
  const match = /^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!match) throw usage(`--at expects a time in seconds or h:mm:ss, got "${text}"`, 'e.g. --at 83.5 or --at 1:23.5');
  const [, hours = '0', minutes = '0', seconds] = match;
  if (match[2] !== undefined && Number(seconds) >= 60) throw usage(`--at ${text}: seconds past 59 after a colon`, 'e.g. --at 1:23.5');
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
}

/** Which frame, and whether beside its source: checked here as far as possible without the input. */
export function previewOptions(flags: PreviewFlags): PreviewOptions {
  if (flags.at !== undefined && flags.frame !== undefined) throw usage('--at and --frame both choose the frame', 'give one of them');
  const compare = flags.compare ?? false;
  if (flags.frame !== undefined) {
    const frame = Number(flags.frame);
    if (!/^\d+$/.test(flags.frame.trim()) || !Number.isSafeInteger(frame)) throw usage(`--frame expects an output frame number from 0, got "${flags.frame}"`, 'e.g. --frame 120');
    return { frame, compare };
  }
  if (flags.at !== undefined) return { atSec: parseTime(flags.at), compare };
  return { compare };
}

/**
 * The one-item request of `upframe preview`: the run's options plus the frame. Without -o the PNG
 * goes to the temp root, to be shown and removed.
 */
export function previewRequest(input: string, flags: PreviewFlags): { request: StartRequest; temporary: boolean } {
  const preview = previewOptions(flags);
  const options = { ...jobOptions(flags), preview };
  const runId = newRunId();
  const temporary = flags.output === undefined;
  if (temporary) mkdirSync(options.tempRoot, { recursive: true });
  const output = temporary ? join(options.tempRoot, `preview-${runId}.png`) : flags.output!;
  return { request: { runId, items: [{ input: resolve(input), output: resolve(output) }], options }, temporary, };
}

/**
 * `upframe preview IN [--at T | --frame N] [--compare] [run options] [-o FILE.png]`: a job like any
 * other (cancel, cleanup and errors as for a run), one frame long. Without -o the picture is shown in
 * the terminal and its file removed; where the terminal cannot show it (no TTY, NO_COLOR, --json) the
 * file stays and its path is printed.
 */
export async function previewCommand(input: string, flags: PreviewFlags): Promise<number> {
  const { request, temporary } = previewRequest(input, flags);
  const output = request.items[0].output;
  const code = await runHeadless(request, flags.json ? 'json' : 'plain', flags.trace, flags.inspect);
  if (code !== 0 || !temporary) return code;
  const graphics = flags.json ? 'text' : await pickGraphics(process.stdout);
  try {
    const drawn = await renderPicture(output, { columns: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24, graphics });
    if (flags.json) process.stderr.write(`preview: ${drawn}`);
    else process.stdout.write(drawn);
  } finally {
    if (graphics !== 'text') rmSync(output, { force: true });
  }
  return 0;
}
