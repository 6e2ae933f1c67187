import type { ErrorKind, JobError } from '../domain.js';

export interface UserErrorOptions {
  readonly kind?: ErrorKind;
  readonly file?: string;
  readonly tryMessage?: string;
  readonly cause?: unknown;
}

/** An error a person reads: what went wrong, which file, what to do next. Never printed with a stack. */
export class UserError extends Error {
  readonly kind: ErrorKind;
  readonly file?: string;
  readonly tryMessage?: string;

  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'UserError';
    this.kind = options.kind ?? 'input';
    this.file = options.file;
    this.tryMessage = options.tryMessage;
  }
}

export function toJobError(error: unknown): JobError {
  if (error instanceof UserError) return { kind: error.kind, message: formatUserError(error) };
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'runtime', message };
}

/** One line: `<what>: <file> (<what to do>)`. */
export function formatUserError(error: UserError): string {
  const file = error.file ? `: ${error.file}` : '';
  const next = error.tryMessage ? ` (${error.tryMessage})` : '';
  return `${error.message}${file}${next}`;
}

export function exitCodeFor(kind: ErrorKind): number {
  return kind === 'runtime' ? 1 : 2;
}
