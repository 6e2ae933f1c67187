import { mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobOptions, StartRequest } from '../domain.js';
import { UserError, formatUserError } from '../services/errors.js';
import { latestPanePair } from '../services/previews.js';
import type { FormValues } from '../tui/form-fields.js';
import type { PreviewSource } from '../tui/PreviewPane.js';
import { fitSize } from '../tui/picture.js';
import { formRequest, newRunId } from './options.js';
import { noColor, pngSize, scaledPixels } from './show-image.js';

/** The most rows a running picture takes: the pane sits under the job view in a usual terminal. */
const MAX_ROWS = 16;

/** Each picture's box in the pane: half the width, rows left under the job view (2 pixels a row). */
export function paneBox(columns: number, rows: number): { maxWidth: number; maxRows: number } {
  return { maxWidth: Math.max(8, Math.floor((columns - 2) / 2)), maxRows: Math.max(4, Math.min(MAX_ROWS, rows - 16)) };
}

/** A preview job for the form's settings: its input's middle frame, before | after, into a PNG in the temp root. */
export function formPreviewRequest(form: FormValues, base: JobOptions): StartRequest {
  const runId = newRunId();
  const output = join(base.tempRoot, `preview-${runId}.png`);
  const request = formRequest({ ...form, output }, base);
  if (request.items.length !== 1) throw new UserError('a preview is of one video', { kind: 'usage', tryMessage: 'give a file as input' });
  mkdirSync(base.tempRoot, { recursive: true });
  return { runId, items: request.items, options: { ...request.options, preview: { compare: true } } };
}

/**
 * What the TUI shows pictures with: the running job's pictures (written by its decoder and encoder
 * into its folder, read here every few seconds: a few kilobytes), the form's preview job and its PNG
 * read back through ffmpeg at the pane's size. `box`: what runs started from this TUI write.
 */
export function tuiPreviews(base: JobOptions, terminal: { columns?: number; rows?: number } = process.stdout): { source: PreviewSource; box: { width: number; height: number } } {
  const { maxWidth, maxRows } = paneBox(terminal.columns ?? 80, terminal.rows ?? 24);
  const source: PreviewSource = {
    colour: !noColor(),
    maxWidth,
    maxRows,
    running: (jobDir, read) => latestPanePair(jobDir, read),
    request: (form) => {
      try {
        return formPreviewRequest(form, base);
      } catch (error) {
        return { error: error instanceof UserError ? formatUserError(error) : String(error) };
      }
    },
    still: async (output) => {
      try {
        const size = pngSize(await readFile(output));
        if (!size) return undefined;
        const fitted = fitSize(size.width, size.height, maxWidth * 2 + 2, maxRows * 2);
        return await scaledPixels(output, fitted.width, fitted.height);
      } catch {
        return undefined;
      } finally {
        rmSync(output, { force: true });
      }
    },
  };
  return { source, box: { width: maxWidth, height: maxRows * 2 } };
}
