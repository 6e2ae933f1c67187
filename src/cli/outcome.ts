import { exitCodeFor } from '../services/errors.js';
import type { BatchOutput, JobStatus } from '../domain.js';

export const EXIT_CANCELLED = 130;

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
