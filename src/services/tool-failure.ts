import type { ErrorKind } from '../domain.js';
import { UserError } from './errors.js';
import { collectText, lastLine } from './streams.js';
import type { ExitInfo, OwnedProcess } from './supervisor.js';

/** How a child ended, in words: `killed by SIGKILL`, `exit code 1`. */
export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

export interface Ending {
  readonly exit: ExitInfo;
  readonly stderr: string;
}

/**
 * Its exit and its stderr text, read from the moment this is called: call it right after spawning,
 * so the text is collected while the child writes it, whenever the caller gets round to awaiting.
 */
export function endingOf(owned: OwnedProcess): Promise<Ending> {
  const stderr = collectText(owned.child.stderr);
  return owned.exited.then(async (exit) => ({ exit, stderr: await stderr }));
}

/**
 * One line for a tool that failed: what, which file, and the tool's own last word (or how it ended).
 * A tool killed by a signal failed at run time, whatever `kind` its own refusal would have been.
 */
export function toolFailure(message: string, tool: 'ffmpeg' | 'ffprobe', ending: Ending, options: { kind: ErrorKind; file?: string }): UserError {
  // A signal is the cause whatever the tool printed before it (a warning, a half line).
  if (ending.exit.signal) return new UserError(message, { kind: 'runtime', file: options.file, tryMessage: `${tool} was ${describeExit(ending.exit)}` });
  return new UserError(message, { kind: options.kind, file: options.file, tryMessage: `${tool} says: ${lastLine(ending.stderr) || describeExit(ending.exit)}` });
}
