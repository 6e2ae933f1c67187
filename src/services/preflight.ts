import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { UserError } from './errors.js';
import { containerFor } from './ffmpeg/args.js';
import { checkCreatable } from './name-limits.js';
import { partialPath } from './workdir.js';

function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** The checks that need no subprocess; each failure names the file and what to do. */
export function checkPaths(input: string, output: string, overwrite: boolean, picture = false): void {
  if (!existsSync(input)) throw new UserError('input not found', { file: input, tryMessage: 'check the path' });
  const stat = statSync(input);
  if (!stat.isFile()) throw new UserError('input is not a file', { file: input, tryMessage: 'give a video file' });
  if (stat.size === 0) throw new UserError('input is empty (0 bytes)', { file: input, tryMessage: 'give a video that plays' });
  if (picture) checkPictureName(output);
  else containerFor(output);
  if (sameFile(input, output)) {
    throw new UserError('the output is the input', { kind: 'usage', file: output, tryMessage: 'choose another output path; inputs are never written' });
  }
  if (existsSync(output) && !overwrite) {
    throw new UserError('the output already exists', { kind: 'usage', file: output, tryMessage: 'pass --overwrite to replace it' });
  }
  const folder = dirname(output);
  if (!existsSync(folder)) {
    throw new UserError('the output folder does not exist', { kind: 'usage', file: folder, tryMessage: 'create it first' });
  }
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UserError('the output folder is not writable', { kind: 'usage', file: folder, tryMessage: 'choose a folder you can write to' });
  }
  checkOutputNames(output);
}

/**
 * Every name that writing the output creates in its folder, checked before any work: the output
 * itself and its partial file (the output lock was taken when the job started, so its name fits).
 */
function checkOutputNames(output: string): void {
  const folder = dirname(output);
  checkCreatable(folder, basename(output), 'output file');
  // The longest job id a partial's name carries (longer ones are hashed to 12 characters).
  checkCreatable(folder, basename(partialPath(output, 'x'.repeat(40))), 'partial file');
}

/** A preview (`upframe preview -o`) is a PNG picture. */
function checkPictureName(output: string): void {
  if (!/\.png$/i.test(output)) throw new UserError('a preview is written as PNG: unsupported extension for', { kind: 'usage', file: output, tryMessage: 'use -o <name>.png' });
}
