import { createActor, type Actor, type InspectionEvent } from 'xstate';
import { liveAppMachine } from '../app.js';
import { observeTransitions, openTraceFile, type Transition } from '../services/trace.js';

export type AppActor = Actor<typeof liveAppMachine>;

/** Why the session ended the run from outside: the terminal went away, or nobody reads stdout any more. */
export type Interruption = 'hangup' | 'output-closed';

export interface Session {
  readonly actor: AppActor;
  /** Called with every state change of every machine in the run (trace, --json). */
  onTransition(listener: (transition: Transition) => void): void;
  /** Set once a SIGHUP or a closed stdout/stderr ended the session. */
  interruption(): Interruption | undefined;
  close(): void;
}

/** A signal once the session is closed: the exit code is already decided. */
const settled = (): void => undefined;

/**
 * The app actor (not yet started, so listeners see its first state) with its trace and its signal
 * handling: SIGINT/SIGTERM = cancel (again: accepted, nothing more); in idle, quit. SIGHUP and a
 * closed stdout or stderr (EPIPE) mean nobody is there any more: quit, which cancels first.
 */
export function openSession(options: { trace?: string; handleSignals: boolean; machine?: typeof liveAppMachine }): Session {
  const listeners: ((transition: Transition) => void)[] = [];
  const trace = options.trace ? openTraceFile(options.trace) : undefined;
  if (trace) listeners.push(trace.write);
  const inspect: (event: InspectionEvent) => void = observeTransitions((t) => listeners.forEach((l) => l(t)));
  // `machine`: the app machine with another batch (a queued run, a worker); the local one by default.
  const actor = createActor(options.machine ?? liveAppMachine, { inspect });
  let interruption: Interruption | undefined;
  const cancel = (): void => {
    const snapshot = actor.getSnapshot();
    if (snapshot.matches('idle')) actor.send({ type: 'app.quit' });
    else actor.send({ type: 'app.cancel' });
  };
  const leave = (why: Interruption): void => {
    interruption ??= why;
    if (actor.getSnapshot().status === 'active') actor.send({ type: 'app.quit' });
  };
  const hangup = (): void => leave('hangup');
  const outputError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') leave('output-closed');
  };
  if (options.handleSignals) {
    process.on('SIGINT', cancel);
    process.on('SIGTERM', cancel);
    process.on('SIGHUP', hangup);
    // bin/upframe.js exits at once on a signal while nothing has started; from here a signal cancels.
    (globalThis as { upframeEarlySignals?: () => void }).upframeEarlySignals?.();
  }
  process.stdout.on('error', outputError);
  process.stderr.on('error', outputError);
  return {
    actor,
    onTransition: (listener) => listeners.push(listener),
    interruption: () => interruption,
    close: () => {
      process.off('SIGINT', cancel);
      process.off('SIGTERM', cancel);
      process.off('SIGHUP', hangup);
      // The run is over and its exit code decided: the CLI exits with it next. A signal in between
      // changes nothing; unheard, Node would end the process by it (a shell seeing 143 for a run that
      // finished).
      if (options.handleSignals) for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, settled);
      // Still listening: a write that fails after the session must not become a stack trace.
      trace?.close();
    },
  };
}

/**
 * Resolves when the run that has started is over and the app is back to idle (or quit); rejects
 * if the actor system fails, so the CLI reports one line instead of XState rethrowing it.
 */
export function untilRunEnds(actor: AppActor): Promise<void> {
  return new Promise((resolve, reject) => {
    const startedRuns = actor.getSnapshot().context.runCount;
    const subscription = actor.subscribe({
      next: (snapshot) => {
        const over = snapshot.status === 'done' || (snapshot.matches('idle') && snapshot.context.runCount >= startedRuns);
        if (!over) return;
        subscription.unsubscribe();
        resolve();
      },
      error: (error) => {
        subscription.unsubscribe();
        reject(error instanceof Error ? new Error(`internal error: ${error.message}`, { cause: error }) : error);
      },
    });
  });
}
