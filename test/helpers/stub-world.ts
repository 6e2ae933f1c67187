import { fromCallback } from 'xstate';
import { appMachine } from '../../src/machines/app.js';
import { batchMachine } from '../../src/machines/batch.js';
import { jobMachine, type JobEvent } from '../../src/machines/job.js';
import { stageMachine } from '../../src/machines/stage.js';
import type { StageName } from '../../src/domain.js';
import type { WorkCommand, WorkEvent } from '../../src/machines/types.js';

/** A stage's work as the stubs see it: live until it reports an ending. */
export interface StubWork {
  readonly stage: StageName;
  readonly jobDir: string;
  ended: boolean;
  stopRequested: boolean;
  committed: boolean;
  report(event: WorkEvent): void;
}

/**
 * The real machines with stage work under the test's control, owning pretend resources. A stop
 * releases them after `stopDelayMs` (a process being reaped). Work folders are removed only by the
 * job's named `removeWorkdir` step, so the tests see that step run.
 */
export interface StubWorldOptions {
  readonly stopDelayMs?: number;
  readonly failWorkdir?: boolean;
  /** Stages that finish by themselves on the next macrotask. */
  readonly autoComplete?: readonly StageName[];
  /** Frames the pretend input and output have. */
  readonly frames?: number;
}

export function createStubWorld(options: StubWorldOptions = {}) {
  const live: StubWork[] = [];
  const frames = options.frames ?? 10;
  const results: Partial<Record<StageName, unknown>> = {
    probe: { media: { frameCount: frames, width: 8, height: 8 }, steps: ['upscale'], model: { name: 'stub' } },
    scenes: { scenes: [{ start: 0, end: frames }] },
    upscale: { video: 'video.mkv', frames },
    assemble: { output: 'out.mp4' },
  };
  const workdirs = new Set<string>();
  const log: string[] = [];
  let assembled = 0;

  const finish = (work: StubWork, event: WorkEvent): void => {
    if (work.ended) return;
    work.ended = true;
    live.splice(live.indexOf(work), 1);
    work.report(event);
  };

  const workFor = (stage: StageName) =>
    fromCallback<WorkCommand, unknown>(({ sendBack, receive, input }) => {
      const work: StubWork = { stage, jobDir: (input as { jobDir?: string } | undefined)?.jobDir ?? '', ended: false, stopRequested: false, committed: false, report: (e) => sendBack(e) };
      live.push(work);
      sendBack({ type: 'work.started' });
      // Like the real work actor, a work told to stop never reports done.
      if (options.autoComplete?.includes(stage)) setTimeout(() => work.stopRequested || finish(work, { type: 'work.done', result: results[stage] }), 0);
      receive((command) => {
        log.push(`${stage}:${command.type}`);
        if (command.type !== 'work.stop') return;
        if (work.committed) return;
        work.stopRequested = true;
        setTimeout(() => finish(work, { type: 'work.stopped' }), options.stopDelayMs ?? 0);
      });
      return () => {
        if (!work.ended) log.push(`${stage}:torn-down-while-live`);
        work.ended = true;
        const at = live.indexOf(work);
        if (at >= 0) live.splice(at, 1);
      };
    });

  const workdir = fromCallback<{ type: 'never' }, { jobDir: string; output: string }>(({ input, sendBack }) => {
    if (options.failWorkdir) {
      sendBack({ type: 'workdir.failed', error: { kind: 'usage', message: 'cannot create the work folder' } } satisfies JobEvent);
      return undefined;
    }
    workdirs.add(input.jobDir);
    return undefined;
  });

  const stage = (name: StageName) => stageMachine.provide({ actors: { work: workFor(name) } });
  const job = jobMachine.provide({
    actors: { probe: stage('probe'), scenes: stage('scenes'), process: stage('upscale'), assemble: stage('assemble'), workdir },
    actions: { removeWorkdir: ({ context }) => void workdirs.delete(context.jobDir) },
  });
  const machine = appMachine.provide({ actors: { batch: batchMachine.provide({ actors: { job } }) } });

  const commitWork = (work: StubWork): void => {
    work.committed = true;
    work.report({ type: 'work.committed' });
  };

  const current = (): StubWork | undefined => live.find((w) => !w.ended && !w.stopRequested);

  return {
    machine,
    job,
    live,
    workdirs,
    log,
    /** Assemble stages that finished (each one a job's output in place). */
    assembled: () => assembled,
    current,
    finish,
    /** The current stage finishes its work (assemble: after committing the output). */
    complete(): boolean {
      const work = current();
      if (!work) return false;
      if (work.stage === 'assemble') {
        commitWork(work);
        assembled += 1;
      }
      finish(work, { type: 'work.done', result: results[work.stage] });
      return true;
    },
    /** The assemble stage commits (renames) but has not yet reported done. */
    commit(): boolean {
      const work = current();
      if (!work || work.stage !== 'assemble') return false;
      commitWork(work);
      return true;
    },
    fail(message = 'boom'): boolean {
      const work = current();
      if (!work) return false;
      finish(work, { type: 'work.failed', error: { kind: 'runtime', message } });
      return true;
    },
    progress(done: number): boolean {
      const work = current();
      if (!work) return false;
      work.report({ type: 'work.progress', progress: { done, total: 10 } });
      return true;
    },
    /** Finish a committed work that was told to stop (its run resolves after the rename). */
    settleCommitted(): void {
      for (const work of [...live]) {
        if (!work.committed) continue;
        assembled += 1;
        finish(work, { type: 'work.done', result: results[work.stage] });
      }
    },
  };
}

export type StubWorld = ReturnType<typeof createStubWorld>;
