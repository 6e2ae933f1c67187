import type { Actor } from 'xstate';
import type { appMachine } from '../machines/app.js';
import type { BatchItem } from '../machines/batch.js';
import type { Progress } from '../domain.js';
import type { Transition } from '../services/trace.js';
import { countByStatus, exitCodeOf } from './outcome.js';

type AppActor = Actor<typeof appMachine>;

export interface Reporter {
  transition(transition: Transition): void;
  finish(): void;
}

const TERMINAL = new Set(['done', 'failed', 'cancelled', 'skipped']);

function clock(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** `12/72`, or for frames of several model runs `frame 13/72 · step 5/8` (the frame being computed). */
export function countText(progress: Progress): string {
  if (progress.steps === undefined || progress.steps <= 1 || progress.done >= progress.total) return `${progress.done}/${progress.total}`;
  return `frame ${progress.done + 1}/${progress.total} · step ${progress.step ?? 0}/${progress.steps}`;
}

function progressText(progress: Progress): string {
  const fps = progress.fps === undefined ? '' : ` ${progress.fps.toFixed(1)} fps`;
  return `${countText(progress)}${fps} ETA ${clock(progress.etaSec)}`;
}

/** The last progress an item reported, with its stage: what was running when it ended. */
export type LastProgress = Progress & { readonly stage?: string };

/**
 * Watches the app actor's items and calls back on what a reporter prints: a phase entered, a
 * progress sample (at most every `intervalMs` per item, but always a stage's first sample and the one
 * that reaches its total, so every stage's last word is its end), an item ending.
 */
export interface ItemWatcher {
  phase(item: BatchItem): void;
  progress(item: BatchItem): void;
  ended(item: BatchItem, last?: LastProgress): void;
  notice(item: BatchItem, message: string): void;
  scenes?(item: BatchItem): void;
}

/**
 * `everyStep`: a sample that finishes a model run of a multi-run frame (step ≥ 1) is always passed on,
 * whatever the interval: one per step, in order.
 */
export function watchItems(actor: AppActor, intervalMs: number, on: ItemWatcher, everyStep = false): () => void {
  const seen = new Map<string, { phase?: string; status: string; printedAt: number; printed?: string; notices: number; scenes?: unknown; last?: LastProgress }>();
  const subscription = actor.subscribe((snapshot) => {
    for (const item of snapshot.context.items) {
      const before = seen.get(`${snapshot.context.runCount}:${item.id}`) ?? { status: 'pending', printedAt: 0, notices: 0 };
      const now = Date.now();
      const after = { ...before, phase: item.phase, status: item.status, notices: item.notices?.length ?? 0, scenes: item.scenes };
      if (item.scenes && item.scenes !== before.scenes) on.scenes?.(item);
      for (const message of item.notices?.slice(before.notices) ?? []) on.notice(item, message);
      if (item.phase && item.phase !== before.phase && !TERMINAL.has(item.status)) on.phase(item);
      if (item.progress && item.status === 'running') {
        // A phase change clears the item's progress (a cancel too): keep the last one seen.
        after.last = { stage: item.stage, ...item.progress };
        const runs = item.progress.steps !== undefined && item.progress.steps > 1 ? ` ${item.progress.step ?? 0}/${item.progress.steps}` : '';
        const sample = `${item.stage} ${item.progress.done}/${item.progress.total}${runs}`;
        const stageStarts = !before.printed?.startsWith(`${item.stage} `);
        const stageEnds = item.progress.total > 0 && item.progress.done >= item.progress.total;
        const stepEnds = everyStep && runs !== '' && (item.progress.step ?? 0) > 0;
        if (sample !== before.printed && (stageStarts || stageEnds || stepEnds || now - before.printedAt >= intervalMs)) {
          on.progress(item);
          after.printedAt = now;
          after.printed = sample;
        }
      }
      if (TERMINAL.has(item.status) && !TERMINAL.has(before.status)) on.ended(item, after.last);
      seen.set(`${snapshot.context.runCount}:${item.id}`, after);
    }
  });
  return () => subscription.unsubscribe();
}

/** Plain lines for pipes and logs: human text, on stderr. */
export function plainReporter(actor: AppActor, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Reporter {
  const stop = watchItems(actor, 1000, {
    phase: (item) => write(`${item.input}: ${item.phase}`),
    notice: (item, message) => write(`${item.input}: ${message}`),
    scenes: (item) => write(`${item.input}: ${item.scenes!.length} scenes${item.scenes!.length > 1 ? `, cuts at frames ${item.scenes!.slice(1).map((s) => s.start).join(', ')}` : ''}`),
    progress: (item) => write(`${item.input}: ${item.stage} ${progressText(item.progress!)}`),
    ended: (item) =>
      write(item.status === 'failed' ? `upframe: ${item.error?.message ?? 'failed'}` : `${item.input}: ${item.status}${item.status === 'done' ? ` → ${item.output}` : ''}`),
  });
  return {
    transition: () => undefined,
    finish: () => {
      stop();
      const result = actor.getSnapshot().context.lastResult;
      if (!result) return;
      const counts = countByStatus(result);
      write(`summary: ${counts.done} done, ${counts.failed} failed, ${counts.cancelled} cancelled, ${counts.skipped} skipped`);
    },
  };
}

/** `step`, `steps` only for frames of several model runs: other consumers see no change. */
function stepFields(progress: Progress): { step?: number; steps?: number } {
  return progress.steps !== undefined && progress.steps > 1 ? { step: progress.step ?? 0, steps: progress.steps } : {};
}

function progressFields(progress: LastProgress): Record<string, unknown> {
  return { ...(progress.stage ? { stage: progress.stage } : {}), done: progress.done, total: progress.total, ...stepFields(progress) };
}

/** The `--json` contract: one object per line on stdout, each with `type`. */
export function jsonReporter(actor: AppActor, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Reporter {
  const emit = (event: Record<string, unknown>): void => write(JSON.stringify(event));
  const jobEvent = (item: { id: string; input: string; output: string; status: string; error?: { message: string; kind: string } }, last?: LastProgress) =>
    emit({
      type: 'job', id: item.id, input: item.input, output: item.output, status: item.status, error: item.error?.message, errorKind: item.error?.kind,
      // A cancelled or failed item says where it was: stage, frames, and the step of a multi-run frame.
      ...(last && (item.status === 'cancelled' || item.status === 'failed') ? { progress: progressFields(last) } : {}),
    });
  const stop = watchItems(actor, 250, {
    phase: () => undefined,
    notice: (item, message) => emit({ type: 'notice', job: item.id, stage: item.stage, message }),
    scenes: (item) => item.scenes!.forEach((scene, index) => emit({ type: 'scene', job: item.id, index, start: scene.start, end: scene.end })),
    progress: (item) =>
      emit({
        type: 'progress', job: item.id, stage: item.stage, done: item.progress!.done, total: item.progress!.total,
        fps: item.progress!.fps ?? null, eta: item.progress!.etaSec ?? null,
        ...(item.progress!.segments === undefined ? {} : { segment: item.progress!.segment, segments: item.progress!.segments }),
        ...stepFields(item.progress!),
      }),
    ended: jobEvent,
  }, true);
  return {
    transition: (t) => emit({ type: 'state', actor: t.actor, path: t.to, from: t.from, event: t.event, time: t.time, ...(t.progress ? { progress: progressFields(t.progress) } : {}) }),
    finish: () => {
      stop();
      const result = actor.getSnapshot().context.lastResult;
      if (!result) return;
      emit({ type: 'summary', ...countByStatus(result), exitCode: exitCodeOf(result) });
    },
  };
}
