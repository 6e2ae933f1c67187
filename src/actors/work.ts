import { fromCallback, type CallbackActorLogic } from 'xstate';
import { toJobError } from '../services/errors.js';
import { acquireLease, type Lease } from '../services/gpu.js';
import { RateMeter } from '../services/rate.js';
import { staticBinaryEnv } from '../services/static-binary.js';
import { spawnOwned, type OwnedProcess, type SpawnRequest } from '../services/supervisor.js';
import type { WorkCommand, WorkEvent } from '../machines/types.js';

/** What a stage's work function may own. Everything acquired through it is released by it. */
export interface WorkScope {
  readonly owner: string;
  spawn(request: Omit<SpawnRequest, 'owner'>): OwnedProcess;
  lease(device: string, capacity?: number): Promise<Lease>;
  /** Runs on every ending (done, failed, stopped, torn down): synchronous, so it also runs in cleanup. */
  onRelease(release: () => void): void;
  /** The step after which the output is the user's: a cancel arriving later no longer undoes the job. */
  commit(step: () => void): void;
  started(): void;
  /** `runs`: for frames of several model runs, those done in the frame being computed and their count. */
  progress(done: number, total: number, segments?: { readonly segment: number; readonly segments: number }, runs?: { readonly step: number; readonly steps: number }): void;
  notice(message: string): void;
}

export type WorkFunction<Input, Result> = (input: Input, scope: WorkScope) => Promise<Result>;

class StoppedError extends Error {
  constructor() {
    super('stopped');
  }
}

/**
 * Turns an async work function into the stage's `work` actor. Cancel is by signals, never by
 * waiting for the function to reach a check: `work.stop` SIGKILLs every owned process group, and
 * `work.stopped` is reported once all of them are reaped and every release has run.
 */
// The stage machine's `work` slot takes any input: each stage passes its own shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkLogic = CallbackActorLogic<WorkCommand, any>;

export function defineWork<Input, Result>(name: string, run: WorkFunction<Input, Result>): WorkLogic {
  return fromCallback<WorkCommand, Input>(({ input, sendBack, receive, self }) => {
    const owner = `${name}:${self.id}:${self.sessionId}`;
    const processes: OwnedProcess[] = [];
    const releases: (() => void)[] = [];
    const abort = new AbortController();
    const meter = new RateMeter();
    let stopping = false;
    let paused = false;
    let committed = false;
    let finished = false;
    const report = (event: WorkEvent): void => {
      if (!finished) sendBack(event);
      if (event.type === 'work.done' || event.type === 'work.failed' || event.type === 'work.stopped') finished = true;
    };

    const killAll = (signal: NodeJS.Signals): void => {
      for (const owned of processes) if (owned.isAlive()) owned.kill(signal);
    };
    const releaseAll = (): void => {
      while (releases.length > 0) {
        try {
          releases.pop()!();
        } catch {
          // a release that fails must not keep the others from running
        }
      }
    };
    const settle = async (event: WorkEvent): Promise<void> => {
      await Promise.all(processes.map((owned) => owned.exited));
      releaseAll();
      report(event);
    };

    const scope: WorkScope = {
      owner,
      spawn: (request) => {
        if (stopping) throw new StoppedError();
        const owned = spawnOwned({ ...request, env: request.env ?? staticBinaryEnv(request.command), owner });
        processes.push(owned);
        if (paused) owned.kill('SIGSTOP');
        return owned;
      },
      lease: async (device, capacity) => {
        const lease = await acquireLease(device, owner, abort.signal, capacity);
        if (stopping) {
          lease.release();
          throw new StoppedError();
        }
        releases.push(() => lease.release());
        return lease;
      },
      onRelease: (release) => {
        releases.push(release);
      },
      commit: (step) => {
        if (stopping) throw new StoppedError();
        step();
        committed = true;
        report({ type: 'work.committed' });
      },
      started: () => report({ type: 'work.started' }),
      progress: (done, total, segments, runs) => report({ type: 'work.progress', progress: { ...meter.sample(done, total, runs), ...segments } }),
      notice: (message) => report({ type: 'work.notice', message }),
    };

    const outcome = run(input, scope);
    outcome.then(
      (result) => {
        if (stopping && !committed) return;
        void settle({ type: 'work.done', result });
      },
      (error: unknown) => {
        if (stopping) return;
        killAll('SIGKILL');
        void settle({ type: 'work.failed', error: toJobError(error) });
      },
    );

    receive((command) => {
      switch (command.type) {
        case 'work.stop':
          // Past the commit point the stage no longer sends a stop; a repeated one changes nothing.
          if (committed || stopping) return;
          stopping = true;
          abort.abort(new StoppedError());
          // Every process we own today produces output that a cancel throws away: SIGKILL at once.
          killAll('SIGKILL');
          void settle({ type: 'work.stopped' });
          return;
        case 'work.pause':
          paused = true;
          killAll('SIGSTOP');
          return;
        case 'work.resume':
          paused = false;
          killAll('SIGCONT');
          return;
      }
    });

    return () => {
      // Torn down without a cancel (the root was stopped): the synchronous safety net.
      stopping = true;
      abort.abort(new StoppedError());
      killAll('SIGKILL');
      releaseAll();
    };
  });
}
