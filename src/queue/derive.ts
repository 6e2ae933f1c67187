import type { JobError } from '../domain.js';
import type { ItemPatch } from './remote-batch.js';
import { CANCELLED_REASON, PROTOCOL_VERSION, STALLED_REASON, isCancelledReason, type ItemReport, type ItemResult } from './protocol.js';

/**
 * How a submitter turns what BullMQ says about a job (its events, or its state when it looks again)
 * and the worker's reports into the item a local batch would show. Pure: the submitter keeps one
 * track per item and applies the patches.
 */
export interface ItemTrack {
  /** `<worker>#<attempt>` of the report last seen: notices start over with each attempt. */
  readonly attemptKey?: string;
  /** Notices of the current attempt already taken. */
  readonly seen: number;
  /** Every notice shown so far, across attempts: only ever appended to (the reporters count them). */
  readonly notices: readonly string[];
  readonly lastReport?: ItemReport;
  /** It has run at least once: a later `waiting` is a retry or a hand-back. */
  readonly ran: boolean;
  readonly ended: boolean;
}

export const newTrack = (): ItemTrack => ({ seen: 0, notices: [], ran: false, ended: false });

export interface Derived {
  readonly track: ItemTrack;
  readonly patch?: ItemPatch['patch'];
}

/** A worker's report: phase, stage, progress, notices (with "on worker X" at each new attempt). */
export function fromReport(track: ItemTrack, data: unknown): Derived {
  const report = data as ItemReport | undefined;
  if (!report || typeof report !== 'object' || report.v !== PROTOCOL_VERSION || track.ended) return { track };
  const attemptKey = `${report.worker}#${report.attempt}`;
  const fresh = attemptKey !== track.attemptKey;
  const notices = [...track.notices];
  if (fresh) notices.push(report.attempt > 1 ? `on worker ${report.worker} (start ${report.attempt})` : `on worker ${report.worker}`);
  const seen = fresh ? 0 : track.seen;
  notices.push(...report.notices.slice(seen));
  const next: ItemTrack = { ...track, attemptKey, seen: Math.max(seen, report.notices.length), notices, lastReport: report, ran: true };
  return {
    track: next,
    patch: {
      ...(report.status === 'running' ? { status: 'running' as const } : {}),
      phase: report.phase,
      stage: report.stage,
      progress: report.progress,
      scenes: report.scenes,
      notices,
    },
  };
}

/** BullMQ says a worker holds it (a follower looking again): running, though no report may have come yet. */
export function started(track: ItemTrack): Derived {
  if (track.ended) return { track };
  return { track, patch: { status: 'running' } };
}

/** Back in the queue after running: a retry after a failed attempt, a hand-back, or a dead worker's item. */
export function requeued(track: ItemTrack, why?: string): Derived {
  if (track.ended || !track.ran) return { track };
  const last = track.lastReport;
  const reason =
    why ??
    (last?.status === 'failed'
      ? `failed on worker ${last.worker}: ${last.error?.message ?? 'failed'}; trying again`
      : last
        ? `back in the queue (from worker ${last.worker})`
        : 'back in the queue');
  const notices = [...track.notices, reason];
  return { track: { ...track, notices }, patch: { status: 'pending', phase: 'queued', progress: undefined, notices } };
}

export function completed(track: ItemTrack, result: unknown): Derived {
  if (track.ended) return { track };
  const value = result as Partial<ItemResult> | undefined;
  return { track: { ...track, ended: true }, patch: { status: 'done', frames: value?.frames } };
}

/** The job's final failure: cancelled (or skipped, when it never started), or failed with the worker's error. */
export function failed(track: ItemTrack, failedReason: string | undefined): Derived {
  if (track.ended) return { track };
  const ended = { ...track, ended: true };
  if (isCancelledReason(failedReason)) {
    return { track: ended, patch: { status: failedReason === `${CANCELLED_REASON}: not started` ? 'skipped' : 'cancelled' } };
  }
  const report = track.lastReport;
  let error: JobError;
  if (failedReason === STALLED_REASON) {
    error = { kind: 'runtime', message: 'its workers stopped answering twice while running it (killed?): not tried again' };
  } else if (report?.status === 'failed' && report.error) {
    error = report.error;
  } else {
    error = { kind: 'runtime', message: failedReason || 'failed on a worker' };
  }
  return { track: ended, patch: { status: 'failed', error } };
}

/** Taken off the queue before it ran (a cancel, --fail-fast, or someone removing it). */
export function removed(track: ItemTrack): Derived {
  if (track.ended) return { track };
  return { track: { ...track, ended: true }, patch: { status: 'skipped' } };
}

/** The job is gone without a removal: Redis lost it. */
export function lost(track: ItemTrack): Derived {
  if (track.ended) return { track };
  return {
    track: { ...track, ended: true },
    patch: { status: 'failed', error: { kind: 'runtime', message: 'the queue lost this item (did Redis restart without persistence?)' } },
  };
}

/** Cancelled while its worker was dead (its lock gone): taken off the queue by the submitter. */
export function abandoned(track: ItemTrack): Derived {
  if (track.ended) return { track };
  const notices = [...track.notices, 'its worker was gone: taken off the queue'];
  return { track: { ...track, ended: true, notices }, patch: { status: 'cancelled', notices } };
}
