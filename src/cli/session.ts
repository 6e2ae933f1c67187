import { createActor, type Actor, type InspectionEvent } from 'xstate';
import { liveAppMachine } from '../app.js';
import { observeTransitions, openTraceFile, type Transition } from '../services/trace.js';

export type AppActor = Actor<typeof liveAppMachine>;

export interface Session {
  readonly actor: AppActor;
  /** Called with every state change of every machine in the run (trace, --json). */
  onTransition(listener: (transition: Transition) => void): void;
  close(): void;
}

/**
 * The app actor (not yet started, so listeners see its first state) with its trace and its signal
 * handling: SIGINT/SIGTERM = cancel (again: accepted, nothing more); in idle, quit.
 */
export function openSession(options: { trace?: string; handleSignals: boolean }): Session {
  const listeners: ((transition: Transition) => void)[] = [];
  const trace = options.trace ? openTraceFile(options.trace) : undefined;
  if (trace) listeners.push(trace.write);
  const inspect: (event: InspectionEvent) => void = observeTransitions((t) => listeners.forEach((l) => l(t)));
  const actor = createActor(liveAppMachine, { inspect });
  const cancel = (): void => {
    const snapshot = actor.getSnapshot();
    if (snapshot.matches('idle')) actor.send({ type: 'app.quit' });
    else actor.send({ type: 'app.cancel' });
  };
  if (options.handleSignals) {
    process.on('SIGINT', cancel);
    process.on('SIGTERM', cancel);
  }
  return {
    actor,
    onTransition: (listener) => listeners.push(listener),
    close: () => {
      process.off('SIGINT', cancel);
      process.off('SIGTERM', cancel);
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
