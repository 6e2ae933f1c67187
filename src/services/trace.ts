import { closeSync, openSync, writeSync } from 'node:fs';
import type { InspectionEvent, StateValue } from 'xstate';
import type { Progress } from '../domain.js';

export interface Transition {
  readonly seq: number;
  readonly time: number;
  readonly actor: string;
  readonly from: string | null;
  readonly to: string;
  readonly event: string;
  /**
   * The actor's progress when it changed state, for frames of several model runs (self-ensemble, a
   * steps model): a stage entering `cancelling` says which frame and step were running.
   */
  readonly progress?: Progress;
}

export function statePath(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) => (child === undefined || (typeof child === 'object' && Object.keys(child).length === 0) ? key : `${key}.${statePath(child as StateValue)}`))
    .join(',');
}

/** Turns XState's inspection stream into one record per state change of any machine in the system. */
export function observeTransitions(onTransition: (transition: Transition) => void): (event: InspectionEvent) => void {
  const last = new Map<string, string>();
  let seq = 0;
  return (inspection) => {
    if (inspection.type !== '@xstate.snapshot') return;
    const snapshot = inspection.snapshot as { value?: StateValue; context?: { progress?: Progress } };
    if (snapshot.value === undefined) return;
    const to = statePath(snapshot.value);
    const key = inspection.actorRef.sessionId;
    const from = last.get(key) ?? null;
    if (from === to) return;
    last.set(key, to);
    const id = (inspection.actorRef as { id?: string }).id ?? key;
    const progress = snapshot.context?.progress;
    onTransition({
      seq: ++seq,
      time: Date.now(),
      actor: key === inspection.rootId ? 'app' : id,
      from,
      to,
      event: inspection.event.type,
      ...(progress?.steps !== undefined && progress.steps > 1 ? { progress } : {}),
    });
  };
}

export interface TraceFile {
  write(transition: Transition): void;
  close(): void;
}

/** JSON lines, written synchronously so a trace survives the process being killed right after. */
export function openTraceFile(path: string): TraceFile {
  const fd = openSync(path, 'w');
  return {
    write: (transition) => writeSync(fd, `${JSON.stringify(transition)}\n`),
    close: () => closeSync(fd),
  };
}
