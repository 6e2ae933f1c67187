import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { appMachine } from '../../src/machines/app.js';
import { batchMachine } from '../../src/machines/batch.js';
import { jobMachine } from '../../src/machines/job.js';
import { stageMachine } from '../../src/machines/stage.js';
import { chartOf, toDot, toMermaid, toScxml, type ChartNode } from '../../src/services/statechart.js';

const MACHINES: Record<string, AnyStateMachine> = { app: appMachine, batch: batchMachine, job: jobMachine, stage: stageMachine };

function statesOf(node: ChartNode): ChartNode[] {
  return node.states.flatMap((child) => [child, ...statesOf(child)]);
}

const mermaidId = (id: string): string => id.replace(/[^A-Za-z0-9_]/g, '_');
/** The words of a text, whatever punctuation an exporter had to replace. */
const words = (text: string): string => (text.match(/[A-Za-z0-9]+/g) ?? []).join(' ');

/** The text of `note right of <id> : …`, its `<br/>` wraps joined back into one line. */
function mermaidNote(mermaid: string, id: string): string | undefined {
  const line = mermaid.split('\n').find((l) => l.trim().startsWith(`note right of ${mermaidId(id)} : `));
  return line?.slice(line.indexOf(' : ') + 3).replace(/<br\/>/g, ' ');
}

function hasDot(): boolean {
  return spawnSync('dot', ['-V']).status === 0;
}

describe('chartOf (the JSON export)', () => {
  it('carries every state’s description and the names of its entry actions', () => {
    for (const machine of Object.values(MACHINES)) {
      const root = chartOf(machine);
      expect(root.description, root.id).toBeTruthy();
      for (const state of statesOf(root)) expect(state.description, state.id).toBeTruthy();
    }
    const job = chartOf(jobMachine);
    const byKey = new Map(statesOf(job).map((s) => [s.key, s]));
    expect(byKey.get('done')!.entry).toEqual(['recordDone', 'removeWorkdir']);
    expect(byKey.get('cancelled')!.entry).toEqual(['recordCancelled', 'removeWorkdir']);
    expect(byKey.get('probing')!.entry).toEqual(['spawnProbe', 'carryPauseToStage', 'reportPhase']);
    expect(byKey.get('committed')!.entry).toEqual([]);
    expect(chartOf(stageMachine).states[0].states.find((s) => s.key === 'paused')!.exit).toEqual(['resumeWork']);
  });

  it('lists a transition once, on the state that declares it, with its guard by name', () => {
    const job = chartOf(jobMachine);
    const cancels = statesOf(job).flatMap((state) => state.transitions.filter((t) => t.event === 'job.cancel').map(() => state.key));
    expect(cancels).toEqual(['active']);
    const probing = job.states[0].states[0];
    expect(probing.transitions.map((t) => t.guard)).toEqual(['stageDoneAndScenesWanted', 'stageDone', undefined]);
    expect(job.states[0].transitions.find((t) => t.event === 'job.pause')).toEqual({ event: 'job.pause', targets: [], actions: ['markPaused', 'pauseStage'], guard: undefined });
  });
});

describe('mermaid', () => {
  it('every state of every machine has a note with its description, in text mermaid accepts', () => {
    for (const [name, machine] of Object.entries(MACHINES)) {
      const mermaid = toMermaid(machine);
      for (const state of statesOf(chartOf(machine))) {
        const note = mermaidNote(mermaid, state.id);
        expect(note, `${name}: ${state.id}`).toBeDefined();
        expect(words(note!), state.id).toContain(words(state.description!));
        // `:` would end the note, `;` the statement, `#` start an entity; braces open blocks.
        expect(note, state.id).not.toMatch(/[:;#{}<>]/);
      }
    }
  });

  it('notes name the entry actions: the job’s endings remove the work folder', () => {
    const mermaid = toMermaid(jobMachine);
    for (const ending of ['done', 'failed', 'cancelled']) expect(mermaidNote(mermaid, `job.${ending}`)).toMatch(/entry \/ record\w+, removeWorkdir$/);
    expect(mermaidNote(mermaid, 'job.active')).toContain('on job.pause / markPaused, pauseStage');
  });

  it('a transition declared on a parent is drawn once, from the parent: no fan-out to its children', () => {
    const mermaid = toMermaid(jobMachine);
    const cancels = mermaid.split('\n').filter((line) => /-->.*: job\.cancel$/.test(line));
    expect(cancels).toEqual(['  job_active --> job_cancelling : job.cancel']);
    expect(mermaid).toContain('  job_active --> job_committed : stage.committed');
    expect(toMermaid(stageMachine).split('\n').filter((line) => / : stage\.cancel$/.test(line))).toEqual(['  stage_active --> stage_cancelling : stage.cancel']);
  });

  it('guards show as [name]; edges are written after every state exists, outside the composite blocks', () => {
    const mermaid = toMermaid(jobMachine);
    expect(mermaid).toContain('  job_active_probing --> job_active_detecting : xstate.done.actor.probe [stageDoneAndScenesWanted]');
    expect(mermaid).toContain('  job_active_probing --> job_failed : xstate.done.actor.probe\n');
    expect(toMermaid(batchMachine)).toContain('  batch_running --> batch_finished : always [allDone]');
    // Inside a block only the `[*]` ends appear: an edge there to a state declared later would create it in the block.
    let depth = 0;
    for (const line of mermaid.split('\n')) {
      if (line.trim() === '}') depth -= 1;
      if (depth > 0 && line.includes('-->')) expect(line, line).toMatch(/\[\*\]/);
      if (line.endsWith('{')) depth += 1;
    }
    expect(depth).toBe(0);
    expect(mermaid).toMatch(/^ {2}state "active" as job_active \{$/m);
  });
});

describe('dot', () => {
  it('compound states are clusters, initial states points, final states double; one edge per declared transition', () => {
    for (const [name, machine] of Object.entries(MACHINES)) {
      const dot = toDot(machine);
      const root = chartOf(machine);
      expect(dot.startsWith(`digraph "${name}" {\n`)).toBe(true);
      expect(dot.endsWith('\n}')).toBe(true);
      expect(dot.split('{').length).toBe(dot.split('}').length);
      expect(dot).toContain(`"${name}.[*]" [shape=point`);
      for (const state of statesOf(root)) {
        if (state.states.length > 0) {
          expect(dot).toContain(`subgraph cluster_${mermaidId(state.id)} {`);
          expect(dot).toContain(`"${state.id}.[*]" [shape=point`);
        } else {
          const line = dot.split('\n').find((l) => l.trim().startsWith(`"${state.id}" [label=<<b>${state.key}</b>`));
          expect(line, state.id).toBeDefined();
          expect(line).toContain(`tooltip="${state.description!.replace(/"/g, '\\"')}"`);
          expect(line!.includes('peripheries=2'), state.id).toBe(state.type === 'final');
        }
      }
      const declared = statesOf(root).flatMap((s) => s.transitions.flatMap((t) => t.targets));
      expect(dot.split('\n').filter((l) => / -> .*\[label=/.test(l))).toHaveLength(declared.length);
    }
  });

  it('the job’s cancel leaves the active cluster once, clipped at its border; guards label edges', () => {
    const dot = toDot(jobMachine);
    const cancels = dot.split('\n').filter((l) => l.includes('label="job.cancel"'));
    expect(cancels).toEqual(['  "job.active.[*]" -> "job.cancelling" [label="job.cancel", ltail=cluster_job_active];']);
    expect(dot).toContain('"job.[*]" -> "job.active.[*]" [lhead=cluster_job_active];');
    expect(dot).toContain('"job.active.processing" -> "job.active.assembling" [label="xstate.done.actor.process [stageDone]"];');
    expect(dot).toContain('entry / recordDone, removeWorkdir');
  });

  it.skipIf(!hasDot())('Graphviz renders every machine (dot -Tsvg)', () => {
    for (const [name, machine] of Object.entries(MACHINES)) {
      const run = spawnSync('dot', ['-Tsvg'], { input: toDot(machine), encoding: 'utf8' });
      expect(run.stderr, name).toBe('');
      expect(run.status, name).toBe(0);
      expect(run.stdout).toContain('<svg');
      for (const state of statesOf(chartOf(machine))) expect(run.stdout, state.id).toContain(`>${state.key}</text>`);
    }
  });
});

describe('scxml', () => {
  /** Well-formed enough to trust: tags balance, and no comment holds `--` or ends with `-`. */
  function expectWellFormed(xml: string): void {
    const stack: string[] = [];
    const body = xml.replace(/^<\?xml[^?]*\?>/, '');
    for (const comment of body.match(/<!--[\s\S]*?-->/g) ?? []) expect(comment.slice(4, -3), comment).not.toMatch(/--|-$/);
    for (const [, close, tag, selfClosing] of body.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<(\/?)([\w:]+)[^>]*?(\/?)>/g)) {
      if (selfClosing) continue;
      if (close) expect(stack.pop()).toBe(tag);
      else stack.push(tag);
    }
    expect(stack).toEqual([]);
    expect(body.replace(/<!--[\s\S]*?-->/g, '').replace(/<[^>]*>/g, '').trim()).toBe('');
  }

  it('keeps the descriptions and entry actions in comments and stays valid XML', () => {
    for (const machine of Object.values(MACHINES)) {
      const xml = toScxml(machine);
      expectWellFormed(xml);
      for (const state of statesOf(chartOf(machine))) {
        const at = xml.indexOf(`id="${state.id}"`);
        expect(at, state.id).toBeGreaterThan(0);
        const comment = /<!-- ([^]*?) -->/.exec(xml.slice(at))![1];
        expect(words(comment)).toBe(words(state.description!));
      }
    }
    const job = toScxml(jobMachine);
    expect(job).toContain('<!-- - -scenes: one ffmpeg pass finds the cuts; each scene becomes a segment. -->');
    expect(job).toContain('<!-- entry / recordDone, removeWorkdir -->');
    expect(job).toContain('<transition event="job.pause"/>');
    expect(job.match(/event="job\.cancel"/g)).toHaveLength(1);
  });
});
