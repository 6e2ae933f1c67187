import { describe, expect, test } from 'vitest';
import { bar, formatEta, formatFps, percent, statePath, stateValuePath } from '../../src/tui/format.js';
import { clearField, cycleChoice, deleteBack, focusKindAt, moveFocus, typeInto, type FormValues } from '../../src/tui/form-fields.js';
import { commandFor, keyHints } from '../../src/tui/keys.js';
import { summary, itemText } from '../../src/tui/Outcome.js';

const NO_KEY = { ctrl: false, meta: false, shift: false, escape: false, return: false, tab: false, backspace: false, delete: false, upArrow: false, downArrow: false, leftArrow: false, rightArrow: false };

describe('format', () => {
  test('formatEta', () => {
    expect(formatEta(undefined)).toBe('--:--');
    expect(formatEta(Number.NaN)).toBe('--:--');
    expect(formatEta(0)).toBe('00:00');
    expect(formatEta(14.4)).toBe('00:14');
    expect(formatEta(61)).toBe('01:01');
    expect(formatEta(3600 + 62)).toBe('1:01:02');
  });

  test('formatFps', () => {
    expect(formatFps(undefined)).toBe('–');
    expect(formatFps(3)).toBe('3.0');
    expect(formatFps(12.345)).toBe('12.3');
  });

  test('bar and percent', () => {
    expect(bar(10, 0, 0)).toBe('░'.repeat(10));
    expect(bar(10, 5, 10)).toBe('█'.repeat(5) + '░'.repeat(5));
    expect(bar(10, 20, 10)).toBe('█'.repeat(10));
    expect(bar(4, -1, 10)).toBe('░'.repeat(4));
    expect(percent(12, 48)).toBe(25);
    expect(percent(1, 0)).toBe(0);
  });

  test('statePath', () => {
    expect(stateValuePath('idle')).toBe('idle');
    expect(stateValuePath({ running: 'active' })).toBe('running.active');
    expect(stateValuePath({ a: { b: 'c' } })).toBe('a.b.c');
    expect(statePath({ running: 'active' }, { phase: 'probing', stage: 'probe' })).toBe('app.running.active › job probing › stage probe');
    expect(statePath('idle')).toBe('app.idle');
  });
});

describe('form', () => {
  const form: FormValues = { input: 'a', output: 'b', scale: '4', model: 'm', device: 'auto' };
  test('edits text fields, cycles choice fields', () => {
    expect(typeInto(form, 0, 'x').input).toBe('ax');
    expect(deleteBack(form, 1).output).toBe('');
    expect(deleteBack(form, 2)).toBe(form);
    expect(cycleChoice(form, 2, 1).scale).toBe('model');
    expect(cycleChoice(form, 2, -1).scale).toBe('2');
    expect(cycleChoice(form, 4, 1).device).toBe('cpu');
    expect(cycleChoice(form, 4, -1).device).toBe('cuda');
    expect(cycleChoice(form, 0, 1)).toBe(form);
    expect(typeInto(form, 4, 'c').device).toBe('cpu');
    expect(typeInto({ ...form, device: 'cpu' }, 4, 'c').device).toBe('cuda');
    expect(typeInto(form, 2, 'z')).toBe(form);
    // Five fields, then the Start button (stop 5), where letters, Backspace and arrows change nothing.
    expect(moveFocus(0, -1)).toBe(5);
    expect(moveFocus(4, 1)).toBe(5);
    expect(moveFocus(5, 1)).toBe(0);
    expect(focusKindAt(0)).toBe('text');
    expect(focusKindAt(2)).toBe('choice');
    expect(focusKindAt(5)).toBe('start');
    for (const change of [typeInto(form, 5, 'x'), deleteBack(form, 5), cycleChoice(form, 5, 1), clearField(form, 5)]) expect(change).toBe(form);
  });
});

describe('keys', () => {
  const idle = { kind: 'idle', focus: 'text' } as const;
  const onChoice = { kind: 'idle', focus: 'choice' } as const;
  const onStart = { kind: 'idle', focus: 'start' } as const;
  const active = { kind: 'active', paused: false } as const;
  const cancelling = { kind: 'cancelling' } as const;

  test('idle: letters are text; Enter starts; Esc and Ctrl-C quit', () => {
    for (const letter of ['c', 'p', 's', 'q', 'i', 'l']) expect(commandFor(idle, letter, NO_KEY)).toEqual({ kind: 'type', text: letter });
    expect(commandFor(idle, '', { ...NO_KEY, return: true })).toEqual({ kind: 'start' });
    expect(commandFor(idle, '', { ...NO_KEY, escape: true, meta: true })).toEqual({ kind: 'quit' });
    expect(commandFor(idle, 'c', { ...NO_KEY, ctrl: true })).toEqual({ kind: 'quit' });
    expect(commandFor(idle, '\u007f\u007f\u007f', NO_KEY)).toEqual({ kind: 'backspace', count: 3 });
    expect(commandFor(idle, 'u', { ...NO_KEY, ctrl: true })).toEqual({ kind: 'clear' });
    expect(commandFor(idle, 'x', { ...NO_KEY, ctrl: true })).toEqual({ kind: 'none' });
    expect(commandFor(idle, 'a\r\nb', NO_KEY)).toEqual({ kind: 'type', text: 'ab' });
  });

  test('idle: q quits on a choice field and on Start; other letters pick a choice there, or do nothing on Start', () => {
    for (const mode of [onChoice, onStart]) {
      expect(commandFor(mode, 'q', NO_KEY)).toEqual({ kind: 'quit' });
      expect(commandFor(mode, '', { ...NO_KEY, return: true })).toEqual({ kind: 'start' });
      expect(commandFor(mode, '', { ...NO_KEY, escape: true })).toEqual({ kind: 'quit' });
    }
    expect(commandFor(onChoice, 'c', NO_KEY)).toEqual({ kind: 'type', text: 'c' });
    expect(commandFor(onStart, 'c', NO_KEY)).toEqual({ kind: 'none' });
    expect(commandFor(onStart, '', { ...NO_KEY, tab: true })).toEqual({ kind: 'focus', step: 1 });
  });

  test('running: c/Esc/Ctrl-C cancel, q quits, p and s only while active', () => {
    for (const mode of [active, cancelling]) {
      expect(commandFor(mode, 'c', NO_KEY)).toEqual({ kind: 'cancel' });
      expect(commandFor(mode, '', { ...NO_KEY, escape: true })).toEqual({ kind: 'cancel' });
      expect(commandFor(mode, 'c', { ...NO_KEY, ctrl: true })).toEqual({ kind: 'cancel' });
      expect(commandFor(mode, 'q', NO_KEY)).toEqual({ kind: 'quit' });
      expect(commandFor(mode, 'i', NO_KEY)).toEqual({ kind: 'toggle', panel: 'statechart' });
      expect(commandFor(mode, 'l', NO_KEY)).toEqual({ kind: 'toggle', panel: 'log' });
      expect(commandFor(mode, '', { ...NO_KEY, return: true })).toEqual({ kind: 'none' });
    }
    expect(commandFor(active, 'p', NO_KEY)).toEqual({ kind: 'pause' });
    expect(commandFor(active, 's', NO_KEY)).toEqual({ kind: 'skip' });
    expect(commandFor(cancelling, 'p', NO_KEY)).toEqual({ kind: 'none' });
    expect(commandFor(cancelling, 's', NO_KEY)).toEqual({ kind: 'none' });
  });

  test('hints list only what works now', () => {
    const text = (hints: ReturnType<typeof keyHints>) => hints.map((h) => `${h.key} ${h.label}`).join('  ');
    expect(text(keyHints(idle))).toBe('Enter Start  Tab next field  Ctrl-U clear  Esc/Ctrl-C quit');
    expect(text(keyHints(onChoice))).toBe('Enter Start  Tab next field  ←/→ change  q/Esc quit');
    expect(text(keyHints(onStart))).toBe('Enter Start  Tab next field  q/Esc quit');
    expect(text(keyHints(active))).toBe('c Cancel  p Pause/Resume  s Skip  i statechart  l log  q quit');
    expect(text(keyHints(cancelling))).toBe('i statechart  l log  q quit');
    expect(keyHints({ kind: 'ended' })).toEqual([]);
  });
});

describe('outcome text', () => {
  test('one item and several', () => {
    expect(itemText({ id: '1', input: 'a', output: 'out.mp4', status: 'done', frames: 48 })).toBe('done — out.mp4 (48 frames)');
    expect(itemText({ id: '1', input: 'a', output: 'o', status: 'failed', error: { kind: 'runtime', message: 'boom' } })).toBe('failed — boom');
    expect(itemText({ id: '1', input: 'a', output: 'o', status: 'skipped' })).toBe('skipped');
    const items = [
      { id: '1', input: 'a', output: 'o', status: 'done' as const },
      { id: '2', input: 'b', output: 'o', status: 'skipped' as const },
      { id: '3', input: 'c', output: 'o', status: 'skipped' as const },
    ];
    expect(summary({ cancelled: true, items })).toBe('cancelled — 1 done, 2 skipped');
    expect(summary({ cancelled: false, items })).toBe('1 done, 2 skipped');
  });
});
