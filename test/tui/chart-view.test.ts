import { describe, expect, test } from 'vitest';
import { createMachine } from 'xstate';
import { jobMachine } from '../../src/machines/job.js';
import { stageMachine } from '../../src/machines/stage.js';
import { viewChart, shortenEvent } from '../../src/tui/chart-view.js';
import { lookUpKeys } from '../../src/tui/keys.js';

const active = (view: ReturnType<typeof viewChart>) => view.levels.map((level) => level.states.filter((s) => s.active).map((s) => s.key));

describe('viewChart', () => {
  test('the job in processing: its top states, the children of active, each with the active one marked', () => {
    const view = viewChart(jobMachine, { active: 'processing' }, lookUpKeys);
    expect(view.levels.map((level) => [level.parent, level.states.map((s) => s.key)])).toEqual([
      ['job', ['active', 'committed', 'cancelling', 'failing', 'done', 'failed', 'cancelled']],
      ['active', ['probing', 'detecting', 'processing', 'assembling']],
    ]);
    expect(active(view)).toEqual([['active'], ['processing']]);
    expect(view.levels[0].states.filter((s) => s.final).map((s) => s.key)).toEqual(['done', 'failed', 'cancelled']);
    expect(view.active).toEqual({ key: 'processing', description: 'Segment by segment: decode → inference hosts → a segment file in the output codec.' });
  });

  test('the ways out include those inherited from active, keyed ones first; bookkeeping without a key is left out', () => {
    const view = viewChart(jobMachine, { active: 'processing' }, lookUpKeys);
    expect(view.exits).toEqual([
      { event: 'job.cancel', target: 'cancelling', guard: undefined, keys: 'c/Esc/s', from: 'active' },
      { event: 'job.pause', target: undefined, guard: undefined, keys: 'p', from: 'active' },
      { event: 'job.resume', target: undefined, guard: undefined, keys: 'p', from: 'active' },
      { event: 'xstate.done.actor.process', target: 'assembling', guard: 'stageDone', keys: undefined, from: 'processing' },
      { event: 'xstate.done.actor.process', target: 'failed', guard: undefined, keys: undefined, from: 'processing' },
      { event: 'workdir.failed', target: 'failing', guard: undefined, keys: undefined, from: 'active' },
      { event: 'stage.committed', target: 'committed', guard: undefined, keys: undefined, from: 'active' },
    ]);
  });

  test('a top-level state: one row, its own exits only', () => {
    const view = viewChart(jobMachine, 'cancelling', lookUpKeys);
    expect(view.levels).toHaveLength(1);
    expect(active(view)).toEqual([['cancelling']]);
    expect(view.exits.map((e) => `${e.event} → ${e.target}`)).toEqual(['xstate.done.actor.* → cancelled']);
  });

  test('the stage paused: p resumes it, and the stage.cancel it inherits is sent by c', () => {
    const view = viewChart(stageMachine, { active: 'paused' }, lookUpKeys);
    expect(active(view)).toEqual([['active'], ['paused']]);
    expect(view.exits.filter((e) => e.keys).map((e) => `${e.keys} ${e.event} → ${e.target}`)).toEqual(['p stage.resume → running', 'c/Esc/s stage.cancel → cancelling']);
    // `work.started` in paused only swallows a late report: no target, no key.
    expect(view.exits.some((e) => e.event === 'work.started')).toBe(false);
  });

  test('an event the active child handles hides the same event on its parent', () => {
    const machine = createMachine({
      id: 'm',
      initial: 'a',
      states: { a: { on: { go: 'c', stop: 'c' }, initial: 'b', states: { b: { on: { go: 'b2' } }, b2: {} } }, c: {} },
    });
    const view = viewChart(machine, { a: 'b' }, () => undefined);
    expect(view.exits.map((e) => `${e.from}: ${e.event} → ${e.target}`)).toEqual(['b: go → b2', 'a: stop → c']);
  });

  test('shortenEvent shortens only XState’s done events', () => {
    expect(shortenEvent('xstate.done.actor.process')).toBe('done(process)');
    expect(shortenEvent('xstate.done.actor.*')).toBe('done(*)');
    expect(shortenEvent('job.cancel')).toBe('job.cancel');
  });
});
