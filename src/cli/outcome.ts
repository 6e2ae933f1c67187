import { exitCodeFor } from '../services/errors.js';
import type { BatchOutput, JobStatus } from '../domain.js';

export const EXIT_CANCELLED = 130;
/** 128 + SIGHUP: the terminal went away and the run was cancelled. */
export const EXIT_HANGUP = 129;
/** 128 + SIGPIPE, as a shell reports a writer whose reader went away (`upframe run --json | head`). */
export const EXIT_OUTPUT_CLOSED = 141;

/** The exit code of a session: an interruption from outside wins over the run's own ending. */
export function sessionExitCode(result: BatchOutput | undefined, interruption: 'hangup' | 'output-closed' | undefined): number {
  if (interruption === 'hangup') return EXIT_HANGUP;
  if (interruption === 'output-closed') return EXIT_OUTPUT_CLOSED;
  return exitCodeOf(result);
}

/**
 * 0 all done, 130 cancelled, 2 when every item failed on bad usage or input (nothing could be done),
 * 1 when any item failed otherwise (a batch that did part of its work).
 */
export function exitCodeOf(result: BatchOutput | undefined): number {
  if (!result) return 0;
  if (result.cancelled) return EXIT_CANCELLED;
  const failed = result.items.filter((item) => item.status === 'failed');
  if (failed.length === 0) return result.items.some((item) => item.status === 'cancelled') ? EXIT_CANCELLED : 0;
  const allBadInput = failed.length === result.items.length && failed.every((item) => item.error && exitCodeFor(item.error.kind) === 2);
  return allBadInput ? 2 : 1;
}

export function countByStatus(result: BatchOutput): Record<JobStatus, number> {
  const counts: Record<JobStatus, number> = { done: 0, failed: 0, cancelled: 0, skipped: 0 };
  for (const item of result.items) counts[item.status] += 1;
  return counts;
}
