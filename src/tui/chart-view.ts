import type { AnyStateMachine, AnyStateNode, StateValue } from 'xstate';

/** One row of sibling states: the machine's top states, then the children of each active compound state. */
export interface ChartLevel {
  /** The machine's id for the top row, else the key of the compound state whose children these are. */
  readonly parent: string;
  readonly states: readonly { readonly key: string; readonly active: boolean; readonly final: boolean }[];
}

/** A transition that can leave the active state now, declared on it or on one of its ancestors. */
export interface ChartExit {
  readonly event: string;
  /** Target keys; absent for a transition that only runs actions. */
  readonly target?: string;
  readonly guard?: string;
  /** The key that ends up sending this event, if one does. */
  readonly keys?: string;
  /** The key of the state that declares it (`active` for the job's `job.cancel`). */
  readonly from: string;
}

export interface ChartView {
  readonly levels: readonly ChartLevel[];
  /** The innermost active state. */
  readonly active: { readonly key: string; readonly description?: string };
  /** Those a key sends first, then the others, innermost first. */
  readonly exits: readonly ChartExit[];
}

/** The active child of a compound node, read from the state value (the first region of a parallel one). */
function findActiveChild(node: AnyStateNode, value: StateValue): { readonly child: AnyStateNode; readonly rest?: StateValue } | undefined {
  const states = node.states as Record<string, AnyStateNode>;
  if (typeof value === 'string') return states[value] ? { child: states[value] } : undefined;
  const [key, rest] = Object.entries(value)[0] ?? [];
  return key !== undefined && states[key] ? { child: states[key], rest: rest as StateValue | undefined } : undefined;
}

/** Root first, the innermost active state last. */
function followActivePath(root: AnyStateNode, value: StateValue): AnyStateNode[] {
  const path = [root];
  let at: StateValue | undefined = value;
  while (at !== undefined) {
    const next = findActiveChild(path[path.length - 1], at);
    if (!next) break;
    path.push(next.child);
    at = next.rest;
  }
  return path;
}

function guardName(guard: unknown): string | undefined {
  if (!guard) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return 'guard';
}

/**
 * XState picks the innermost state that handles an event, so an ancestor's transition for an event
 * that a deeper active state handles without a guard never runs: it is left out. A transition
 * with no target is kept only when a key sends it (e.g. `p` → `job.pause`): the others are bookkeeping.
 */
function listExits(path: readonly AnyStateNode[], keysFor: (event: string) => string | undefined): ChartExit[] {
  const exits: ChartExit[] = [];
  const handled = new Set<string>();
  for (const node of [...path].reverse()) {
    const own = [...node.transitions].map(([event, definitions]) => [event, definitions] as const);
    if (node.always?.length) own.push(['always', node.always]);
    for (const [event, definitions] of own) {
      if (handled.has(event)) continue;
      const keys = keysFor(event);
      for (const definition of definitions) {
        const targets = (definition.target ?? []) as readonly AnyStateNode[];
        if (targets.length === 0 && !keys) continue;
        exits.push({
          event,
          target: targets.length ? targets.map((t) => t.key).join(', ') : undefined,
          guard: guardName(definition.guard),
          keys,
          from: node.key,
        });
      }
      if (definitions.some((definition) => !definition.guard)) handled.add(event);
    }
  }
  return [...exits.filter((exit) => exit.keys), ...exits.filter((exit) => !exit.keys)];
}

/** What the panel draws for one actor: its states along the active path, the active one and the ways out of it. */
export function viewChart(machine: AnyStateMachine, value: StateValue, keysFor: (event: string) => string | undefined): ChartView {
  const path = followActivePath(machine.root, value);
  const levels = path
    .filter((node) => Object.keys(node.states).length > 0)
    .map((node, n) => ({
      parent: n === 0 ? machine.id : node.key,
      states: Object.values(node.states as Record<string, AnyStateNode>).map((state) => ({
        key: state.key,
        active: path.includes(state),
        final: state.type === 'final',
      })),
    }));
  const leaf = path[path.length - 1];
  return { levels, active: { key: leaf.key, description: leaf.description }, exits: listExits(path, keysFor) };
}

/** `xstate.done.actor.process` → `done(process)`: XState's own event names are long for a panel. */
export function shortenEvent(event: string): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(event);
  return done ? `done(${done[1]})` : event;
}
