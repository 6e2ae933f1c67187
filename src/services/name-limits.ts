import { lstatSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './errors.js';

/** Linux's limits, in bytes: one name, and a whole path with its terminating NUL. */
export const NAME_MAX = 255;
export const PATH_MAX = 4096;

/**
 * `prefix + suffix` within {@link NAME_MAX} bytes: the prefix is cut (never inside a character) so
 * that the suffix, which carries the meaning, is always whole.
 */
export function fitName(prefix: string, suffix: string): string {
  const room = NAME_MAX - Buffer.byteLength(suffix);
  const kept = Array.from(prefix);
  while (kept.length > 0 && Buffer.byteLength(kept.join('')) > room) kept.pop();
  return `${kept.join('')}${suffix}`;
}

/**
 * Refuses, before any work, a name that `folder` cannot hold: longer than NAME_MAX, a path past
 * PATH_MAX once the folder's real path is spelled out, or one the folder's own file system rejects
 * (asked by looking the name up there, which creates nothing).
 */
export function checkCreatable(folder: string, name: string, what: string): void {
  const path = join(folder, name);
  const bytes = Buffer.byteLength(name);
  const tooLong = (limit: string): UserError =>
    new UserError(`the ${what} name is too long (${limit})`, { kind: 'usage', file: path, tryMessage: 'choose a shorter name or folder' });
  if (bytes > NAME_MAX) throw tooLong(`${bytes} bytes, at most ${NAME_MAX}`);
  let real = folder;
  try {
    real = realpathSync(folder);
  } catch {
    // the folder's own checks report a folder that is missing
  }
  const full = Buffer.byteLength(join(real, name)) + 1;
  if (full > PATH_MAX) throw tooLong(`a path of ${full} bytes, at most ${PATH_MAX}`);
  try {
    lstatSync(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENAMETOOLONG') throw tooLong('for its folder\'s file system');
  }
}
