import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** A plain, serialisable view of a statechart, walked from `machine.root`: what every export is made from. */
export interface ChartNode {
  readonly id: string;
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly description?: string;
  /** Names of the entry and exit actions, in order. */
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  readonly initial?: string;
  readonly invoke: readonly string[];
  /** Only the transitions declared on this node: one on a parent applies to all its children and is listed once, there. */
  readonly transitions: readonly ChartTransition[];
  readonly states: readonly ChartNode[];
}

export interface ChartTransition {
  readonly event: string;
  /** Empty for a transition that only runs actions. */
  readonly targets: readonly string[];
  readonly guard?: string;
  readonly actions: readonly string[];
}

function guardName(guard: unknown): string | undefined {
  if (!guard) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return typeof guard === 'function' && guard.name ? guard.name : 'guard';
}

/** A named action (`'x'`, `{ type: 'x', params }`), a built-in (`assign` has a `type`), or an inline function. */
function nameAction(action: unknown): string {
  if (typeof action === 'string') return action;
  if (action && (typeof action === 'object' || typeof action === 'function') && 'type' in action && typeof action.type === 'string') return action.type;
  return typeof action === 'function' && action.name ? action.name : 'inline';
}

function readTransition(event: string, definition: { target?: readonly AnyStateNode[]; guard?: unknown; actions: readonly unknown[] }): ChartTransition {
  return {
    event,
    targets: (definition.target ?? []).map((t) => t.id),
    guard: guardName(definition.guard),
    actions: definition.actions.map(nameAction),
  };
}

function walk(node: AnyStateNode): ChartNode {
  const transitions: ChartTransition[] = [];
  for (const [event, definitions] of node.transitions) {
    for (const definition of definitions) transitions.push(readTransition(event, definition));
  }
  for (const definition of node.always ?? []) transitions.push(readTransition('always', definition));
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    description: node.description,
    entry: node.entry.map(nameAction),
    exit: node.exit.map(nameAction),
    initial: node.type === 'compound' ? node.initial?.target?.[0]?.id : undefined,
    invoke: node.invoke.map((i) => (typeof i.src === 'string' ? i.src : i.id)),
    transitions,
    states: Object.values(node.states as Record<string, AnyStateNode>).map(walk),
  };
}

export function chartOf(machine: AnyStateMachine): ChartNode {
  return walk(machine.root);
}

function describeTransition(t: ChartTransition): string {
  return `${t.event}${t.guard ? ` [${t.guard}]` : ''}`;
}

/** Which lines a note carries: SCXML has elements of its own for invokes and targetless transitions. */
interface NoteParts {
  readonly invoke: boolean;
  readonly internal: boolean;
}

/** What a state says about itself besides its edges: the description, then its named steps. */
function describeState(node: ChartNode, parts: NoteParts = { invoke: true, internal: true }): string[] {
  return [
    ...(node.description ? [node.description] : []),
    ...(node.entry.length ? [`entry / ${node.entry.join(', ')}`] : []),
    ...(node.exit.length ? [`exit / ${node.exit.join(', ')}`] : []),
    ...(parts.invoke && node.invoke.length ? [`invokes ${node.invoke.join(', ')}`] : []),
    // A transition with no target has no edge: it only runs its actions in this state.
    ...(parts.internal ? node.transitions.filter((t) => t.targets.length === 0) : []).map(
      (t) => `on ${describeTransition(t)}${t.actions.length ? ` / ${t.actions.join(', ')}` : ''}`,
    ),
  ];
}

const SCXML_NOTES: NoteParts = { invoke: false, internal: false };

/** Greedy word wrap; a word longer than `width` stays whole. */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}

function collectStates(node: ChartNode): ChartNode[] {
  return node.states.flatMap((child) => [child, ...collectStates(child)]);
}

function collectEdges(root: ChartNode): { readonly from: ChartNode; readonly to: string; readonly t: ChartTransition }[] {
  return collectStates(root).flatMap((from) => from.transitions.flatMap((t) => t.targets.map((to) => ({ from, to, t }))));
}

// ── mermaid ────────────────────────────────────────────────────────────────────────────────

function mermaidId(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

/** `:` ends a note's text and `;` a statement; `#` starts an entity code; `<`, `>` and `&` are HTML to mermaid. */
function escapeMermaid(text: string): string {
  return text
    .replace(/:/g, ' —')
    .replace(/;/g, ',')
    .replace(/#/g, 'no. ')
    .replace(/\{/g, '(')
    .replace(/\}/g, ')')
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(/&/g, 'and')
    .replace(/"/g, "'")
    .replace(/%%/g, '%');
}

function formatMermaidNote(node: ChartNode): string {
  return describeState(node)
    .flatMap((line) => wrapWords(escapeMermaid(line), 48))
    .join('<br/>');
}

/**
 * States, notes and the `[*]` ends nest in their composite's block; every edge is written at the top,
 * after all states exist, since an edge in a block to a state not yet declared would create that
 * state inside the block.
 */
function writeMermaidStates(node: ChartNode, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const lines: string[] = [];
  if (node.initial) lines.push(`${pad}[*] --> ${mermaidId(node.initial)}`);
  for (const child of node.states) {
    const id = mermaidId(child.id);
    const name = `"${escapeMermaid(child.key)}" as ${id}`;
    if (child.states.length > 0) lines.push(`${pad}state ${name} {`, ...writeMermaidStates(child, depth + 1), `${pad}}`);
    else lines.push(`${pad}state ${name}`);
    const note = formatMermaidNote(child);
    if (note) lines.push(`${pad}note right of ${id} : ${note}`);
    if (child.type === 'final') lines.push(`${pad}${id} --> [*]`);
  }
  return lines;
}

export function toMermaid(machine: AnyStateMachine): string {
  const root = chartOf(machine);
  return [
    'stateDiagram-v2',
    `  %% machine ${root.id}`,
    // The root has no box of its own to carry a note.
    ...describeState(root).map((line) => `  %% ${line.replace(/\s+/g, ' ')}`),
    ...root.transitions.filter((t) => t.targets.length > 0).map((t) => `  %% in any state ${describeTransition(t)} → ${t.targets.join(', ')}`),
    ...writeMermaidStates(root, 1),
    ...collectEdges(root).map(({ from, to, t }) => `  ${mermaidId(from.id)} --> ${mermaidId(to)} : ${escapeMermaid(describeTransition(t))}`),
  ].join('\n');
}

// ── Graphviz dot ───────────────────────────────────────────────────────────────────────────

function quoteDot(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** For XML, and for Graphviz's HTML-like labels. */
function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The key in bold, what the state says about itself below it in a smaller grey font. */
function formatDotLabel(node: ChartNode): string {
  const small = describeState(node).flatMap((line) => wrapWords(line, 36)).map(escapeMarkup);
  const notes = small.length ? `<br/><font point-size="9" color="#555555">${small.join('<br/>')}</font>` : '';
  return `<<b>${escapeMarkup(node.key)}</b>${notes}>`;
}

const nameInitialPoint = (id: string): string => quoteDot(`${id}.[*]`);
const nameCluster = (id: string): string => `cluster_${mermaidId(id)}`;

/**
 * A compound state is a cluster, and a cluster is not a node: its edges attach to the cluster's
 * initial point and are clipped at its border with `ltail`/`lhead`.
 */
function attachDotEnd(byId: ReadonlyMap<string, ChartNode>, id: string, side: 'ltail' | 'lhead'): { readonly node: string; readonly clip?: string } {
  const node = byId.get(id);
  if (!node || node.states.length === 0) return { node: quoteDot(id) };
  return { node: nameInitialPoint(id), clip: `${side}=${nameCluster(id)}` };
}

function writeDotStates(node: ChartNode, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const lines: string[] = [];
  if (node.initial) {
    lines.push(`${pad}${nameInitialPoint(node.id)} [shape=point, width=0.12, label=""];`);
  }
  for (const child of node.states) {
    if (child.states.length > 0) {
      lines.push(
        `${pad}subgraph ${nameCluster(child.id)} {`,
        `${pad}  label=${formatDotLabel(child)};`,
        `${pad}  tooltip=${quoteDot(child.description ?? child.key)};`,
        ...writeDotStates(child, depth + 1),
        `${pad}}`,
      );
    } else {
      const final = child.type === 'final' ? ', peripheries=2' : '';
      lines.push(`${pad}${quoteDot(child.id)} [label=${formatDotLabel(child)}, tooltip=${quoteDot(child.description ?? child.key)}${final}];`);
    }
  }
  return lines;
}

function writeDotEdges(root: ChartNode): string[] {
  const byId = new Map([root, ...collectStates(root)].map((node) => [node.id, node]));
  const initials = [root, ...collectStates(root)]
    .filter((node) => node.initial)
    .map((node) => {
      const head = attachDotEnd(byId, node.initial!, 'lhead');
      return `  ${nameInitialPoint(node.id)} -> ${head.node}${head.clip ? ` [${head.clip}]` : ''};`;
    });
  const edges = collectEdges(root).map(({ from, to, t }) => {
    const tail = attachDotEnd(byId, from.id, 'ltail');
    const head = attachDotEnd(byId, to, 'lhead');
    const attributes = [`label=${quoteDot(describeTransition(t))}`, tail.clip, head.clip].filter(Boolean).join(', ');
    return `  ${tail.node} -> ${head.node} [${attributes}];`;
  });
  return [...initials, ...edges];
}

export function toDot(machine: AnyStateMachine): string {
  const root = chartOf(machine);
  return [
    `digraph ${quoteDot(root.id)} {`,
    '  compound=true;',
    '  labelloc=t;',
    `  label=${formatDotLabel(root)};`,
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
    '  graph [style=rounded, fontname="Helvetica", fontsize=11];',
    ...writeDotStates(root, 1),
    ...writeDotEdges(root),
    '}',
  ].join('\n');
}

// ── SCXML ──────────────────────────────────────────────────────────────────────────────────

/** XML forbids `--` inside a comment and a `-` at its end. */
function writeXmlComment(text: string): string {
  return `<!-- ${text.replace(/-(?=-)/g, '- ').replace(/-$/, '- ')} -->`;
}

function writeScxmlTransition(t: ChartTransition): string {
  const attributes = [
    t.event === 'always' ? '' : ` event="${escapeMarkup(t.event)}"`,
    t.targets.length ? ` target="${escapeMarkup(t.targets.join(' '))}"` : '',
    t.guard ? ` cond="${escapeMarkup(t.guard)}"` : '',
  ].join('');
  return `<transition${attributes}/>`;
}

function writeScxmlState(node: ChartNode, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const tag = node.type === 'final' ? 'final' : node.type === 'parallel' ? 'parallel' : 'state';
  const initial = node.initial ? ` initial="${escapeMarkup(node.initial)}"` : '';
  const body = [
    ...describeState(node, SCXML_NOTES).map((line) => `${pad}  ${writeXmlComment(line)}`),
    ...node.invoke.map((src) => `${pad}  <invoke type="xstate" src="${escapeMarkup(src)}"/>`),
    ...node.transitions.map((t) => `${pad}  ${writeScxmlTransition(t)}`),
    ...node.states.flatMap((child) => writeScxmlState(child, depth + 1)),
  ];
  return [`${pad}<${tag} id="${escapeMarkup(node.id)}"${initial}>`, ...body, `${pad}</${tag}>`];
}

export function toScxml(machine: AnyStateMachine): string {
  const root = chartOf(machine);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="${escapeMarkup(root.id)}"${root.initial ? ` initial="${escapeMarkup(root.initial)}"` : ''}>`,
    ...describeState(root, SCXML_NOTES).map((line) => `  ${writeXmlComment(line)}`),
    // <scxml> itself takes neither invokes nor transitions.
    ...root.invoke.map((src) => `  ${writeXmlComment(`invokes ${src}`)}`),
    ...root.transitions.map((t) => `  ${writeXmlComment(`in any state: ${describeTransition(t)}${t.targets.length ? ` → ${t.targets.join(' ')}` : ''}`)}`),
    ...root.states.flatMap((child) => writeScxmlState(child, 1)),
    '</scxml>',
  ].join('\n');
}
