import type { ErrorKind } from '../domain.js';
import { UserError } from './errors.js';
import { ffmpegBinaries } from './ffmpeg/resolve.js';
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
 * A crash of the npm-shipped static build: a system ffmpeg, used when present, may read the input
 * (its ffprobe crashed on every MPEG-TS file until static builds ran without the system's charset
 * modules, services/static-binary.ts).
 */
function crashHint(exit: ExitInfo): string {
  return exit.signal === 'SIGSEGV' && ffmpegBinaries().source === 'bundled' ? ': the npm-shipped static build crashed on this input; install ffmpeg (apt install ffmpeg) and upframe uses it' : '';
}

/**
 * One line for a tool that failed: what, which file, and the tool's own last word (or how it ended).
 * A tool killed by a signal failed at run time, whatever `kind` its own refusal would have been.
 */
export function toolFailure(message: string, tool: 'ffmpeg' | 'ffprobe', ending: Ending, options: { kind: ErrorKind; file?: string }): UserError {
  // A signal is the cause whatever the tool printed before it (a warning, a half line).
  if (ending.exit.signal) return new UserError(message, { kind: 'runtime', file: options.file, tryMessage: `${tool} was ${describeExit(ending.exit)}${crashHint(ending.exit)}` });
  return new UserError(message, { kind: options.kind, file: options.file, tryMessage: `${tool} says: ${lastLine(ending.stderr) || describeExit(ending.exit)}` });
}
