import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor, type Actor } from 'xstate';
import { liveAppMachine } from '../../src/app.js';
import { newRunId } from '../../src/cli/options.js';
import type { BatchItem } from '../../src/machines/batch.js';
import type { BatchOutput, JobOptions } from '../../src/domain.js';
import { leaseHolders } from '../../src/services/gpu.js';
import { runMarker } from '../../src/services/supervisor.js';
import { jobDirs, markedProcesses, partialFiles } from './invariants.js';

/** vitest is a devDependency: the bench imports these helpers on a GPU machine that carries only the runtime's modules. */
const vitest = () => import('vitest');

export type AppActor = Actor<typeof liveAppMachine>;

export function scratchDir(prefix = 'upframe-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function options(tempRoot: string, overrides: Partial<JobOptions> = {}): JobOptions {
  return { device: 'cpu', overwrite: false, tempRoot, ...overrides };
}

export interface Run {
  readonly actor: AppActor;
  /** Resolves with the batch result once the app is back in idle. */
  readonly ended: Promise<BatchOutput>;
  /** Sends app.cancel and returns the time it was sent. */
  cancel(): number;
  /** Resolves at the first app snapshot whose current item satisfies `predicate`. */
  when(predicate: (item: BatchItem) => boolean, timeoutMs?: number): Promise<BatchItem>;
}

export function startRun(items: { input: string; output: string }[], jobOptions: JobOptions): Run {
  const actor = createActor(liveAppMachine);
  actor.start();
  const ended = new Promise<BatchOutput>((resolve) => {
    actor.subscribe((snapshot) => {
      if (snapshot.matches('idle') && snapshot.context.lastResult) resolve(snapshot.context.lastResult);
    });
  });
  actor.send({ type: 'app.start', request: { runId: newRunId(), items, options: jobOptions } });
  return {
    actor,
    ended,
    cancel: () => {
      const at = performance.now();
      actor.send({ type: 'app.cancel' });
      return at;
    },
    when: (predicate, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const item = actor.getSnapshot().context.items.find((i) => i.status === 'running');
          if (item && predicate(item)) {
            subscription.unsubscribe();
            clearTimeout(timer);
            resolve(item);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          subscription.unsubscribe();
          reject(new Error(`condition not reached in ${timeoutMs} ms`));
        }, timeoutMs);
        const subscription = actor.subscribe(() => void check());
        check();
      }),
  };
}

/** The architecture's section 8, checked after a return to idle. */
export function invariantViolations(actor: AppActor, tempRoot: string, outputs: string[]): string[] {
  const problems: string[] = [];
  const live = markedProcesses(runMarker());
  if (live.length > 0) problems.push(`live processes: ${live.join(', ')}`);
  const dirs = jobDirs(tempRoot);
  if (dirs.length > 0) problems.push(`temp folders left: ${dirs.join(', ')}`);
  for (const output of outputs) {
    const partials = partialFiles(output);
    if (partials.length > 0) problems.push(`partial files: ${partials.join(', ')}`);
  }
  if (leaseHolders().size > 0) problems.push(`lease held by ${[...leaseHolders().values()].flat().join(', ')}`);
  const snapshot = actor.getSnapshot();
  if (!snapshot.matches('idle')) problems.push(`app is ${JSON.stringify(snapshot.value)}, not idle`);
  if (Object.keys(snapshot.children).length > 0) problems.push(`app still has children: ${Object.keys(snapshot.children).join(', ')}`);
  return problems;
}

/**
 * Cancel → idle, at most: a cancel SIGKILLs at once and waits only for the reaping (≈20 ms here);
 * the rest is room for a shared, noisy 2-core machine. The bench measures the real figures.
 */
export const CANCEL_BOUND_MS = 300;

/**
 * Cancels a run and checks the cancellation contract: the item cancelled, idle within
 * {@link CANCEL_BOUND_MS}, every invariant of section 8, no output. Resolves with the latency in ms.
 */
export async function cancelAndExpectClean(run: Run, tempRoot: string, output: string): Promise<number> {
  const sentAt = run.cancel();
  const result = await run.ended;
  const latency = performance.now() - sentAt;
  const { expect } = await vitest();
  expect(result.items[0].status).toBe('cancelled');
  expect(result.cancelled).toBe(true);
  expect(invariantViolations(run.actor, tempRoot, [output])).toEqual([]);
  expect(existsSync(output)).toBe(false);
  expect(latency).toBeLessThanOrEqual(CANCEL_BOUND_MS);
  return latency;
}

/** Runs one item to its end: it must be done with every invariant held. Resolves with its notices. */
export async function runDone(input: string, output: string, tempRoot: string, jobOptions: JobOptions): Promise<readonly string[]> {
  const current = startRun([{ input, output }], jobOptions);
  const result = await current.ended;
  const { expect } = await vitest();
  expect(result.items[0].status).toBe('done');
  expect(invariantViolations(current.actor, tempRoot, [output])).toEqual([]);
  const notices = current.actor.getSnapshot().context.items[0].notices ?? [];
  current.actor.stop();
  return notices;
}
