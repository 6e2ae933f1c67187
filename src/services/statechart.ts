import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** A plain, serialisable view of a statechart, walked from `machine.root`: what every export is made from. */
export interface ChartNode {
  readonly id: string;
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly initial?: string;
  readonly invoke: readonly string[];
  readonly transitions: readonly ChartTransition[];
  readonly states: readonly ChartNode[];
}

export interface ChartTransition {
  readonly event: string;
  readonly targets: readonly string[];
  readonly guard?: string;
}

function guardName(guard: unknown): string | undefined {
  if (!guard) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'guard';
}

function walk(node: AnyStateNode): ChartNode {
  const transitions: ChartTransition[] = [];
  for (const [event, definitions] of node.transitions) {
    for (const definition of definitions) {
      transitions.push({ event, targets: (definition.target ?? []).map((t: AnyStateNode) => t.id), guard: guardName(definition.guard) });
    }
  }
  for (const definition of node.always ?? []) {
    transitions.push({ event: 'always', targets: (definition.target ?? []).map((t: AnyStateNode) => t.id), guard: guardName(definition.guard) });
  }
  const initialTarget = node.type === 'compound' ? node.initial?.target?.[0]?.id : undefined;
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    initial: initialTarget,
    invoke: node.invoke.map((i) => (typeof i.src === 'string' ? i.src : i.id)),
    transitions,
    states: Object.values(node.states as Record<string, AnyStateNode>).map(walk),
  };
}

export function chartOf(machine: AnyStateMachine): ChartNode {
  return walk(machine.root);
}

function mermaidId(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

function mermaidLines(node: ChartNode, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const lines: string[] = [];
  for (const child of node.states) {
    const id = mermaidId(child.id);
    if (child.states.length > 0) {
      lines.push(`${pad}state ${child.key} as ${id} {`, ...mermaidLines(child, depth + 1), `${pad}}`);
    } else {
      lines.push(`${pad}state "${child.key}" as ${id}`);
    }
    if (child.type === 'final') lines.push(`${pad}${id} --> [*]`);
    if (child.invoke.length > 0) lines.push(`${pad}note right of ${id}: invokes ${child.invoke.join(', ')}`);
  }
  if (node.initial) lines.push(`${pad}[*] --> ${mermaidId(node.initial)}`);
  for (const child of node.states) {
    for (const t of child.transitions) {
      for (const target of t.targets) {
        lines.push(`${pad}${mermaidId(child.id)} --> ${mermaidId(target)} : ${t.event}${t.guard ? ` [${t.guard}]` : ''}`);
      }
    }
  }
  return lines;
}

/** A root transition applies in every top-level state that is not final and has no handler of its own. */
function inheritedEdges(root: ChartNode): string[] {
  const edges: string[] = [];
  for (const t of root.transitions.filter((r) => r.targets.length > 0)) {
    for (const state of root.states) {
      if (state.type === 'final' || state.transitions.some((own) => own.event === t.event)) continue;
      for (const target of t.targets) edges.push(`  ${mermaidId(state.id)} --> ${mermaidId(target)} : ${t.event}`);
    }
  }
  return edges;
}

export function toMermaid(machine: AnyStateMachine): string {
  const root = chartOf(machine);
  return [
    'stateDiagram-v2',
    `  %% machine: ${root.id}${root.invoke.length ? ` (invokes ${root.invoke.join(', ')})` : ''}`,
    ...mermaidLines(root, 1),
    ...inheritedEdges(root),
  ].join('\n');
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function scxmlNode(node: ChartNode, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const tag = node.type === 'final' ? 'final' : node.type === 'parallel' ? 'parallel' : 'state';
  const initial = node.initial ? ` initial="${xml(node.initial)}"` : '';
  const body = [
    ...node.invoke.map((src) => `${pad}  <invoke type="xstate" src="${xml(src)}"/>`),
    ...node.transitions.map(
      (t) => `${pad}  <transition event="${xml(t.event === 'always' ? '' : t.event)}" target="${xml(t.targets.join(' '))}"${t.guard ? ` cond="${xml(t.guard)}"` : ''}/>`,
    ),
    ...node.states.flatMap((child) => scxmlNode(child, depth + 1)),
  ];
  return [`${pad}<${tag} id="${xml(node.id)}"${initial}>`, ...body, `${pad}</${tag}>`];
}

export function toScxml(machine: AnyStateMachine): string {
  const root = chartOf(machine);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="${xml(root.id)}"${root.initial ? ` initial="${xml(root.initial)}"` : ''}>`,
    ...root.invoke.map((src) => `  <!-- root invokes ${xml(src)} -->`),
    ...root.transitions.map((t) => `  <!-- any state: ${xml(t.event)} -->`),
    ...root.states.flatMap((child) => scxmlNode(child, 1)),
    '</scxml>',
  ].join('\n');
}
