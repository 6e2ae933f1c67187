import type { Key } from 'ink';
import type { FocusKind } from './form-fields.js';
import type { KeyHint } from './KeyBar.js';

/** What the app is doing, as far as keys are concerned. */
export type KeyMode =
  | { readonly kind: 'idle'; readonly focus: FocusKind }
  | { readonly kind: 'active'; readonly paused: boolean }
  | { readonly kind: 'cancelling' }
  | { readonly kind: 'ended' };

export type Panel = 'statechart' | 'log';

export type KeyCommand =
  | { readonly kind: 'start' }
  | { readonly kind: 'quit' }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'pause' }
  | { readonly kind: 'skip' }
  | { readonly kind: 'toggle'; readonly panel: Panel }
  /** `v`: running, the preview pane opens or closes; in the form, a preview of its settings. */
  | { readonly kind: 'preview' }
  | { readonly kind: 'focus'; readonly step: 1 | -1 }
  | { readonly kind: 'cycle'; readonly step: 1 | -1 }
  | { readonly kind: 'type'; readonly text: string }
  | { readonly kind: 'backspace'; readonly count: number }
  | { readonly kind: 'clear' }
  | { readonly kind: 'none' };

type KeyFlags = Pick<Key, 'ctrl' | 'meta' | 'shift' | 'escape' | 'return' | 'tab' | 'backspace' | 'delete' | 'upArrow' | 'downArrow' | 'leftArrow' | 'rightArrow'>;

const NONE: KeyCommand = { kind: 'none' };

/**
 * One keypress → one command. In idle, printable characters are text for a focused text field, so
 * there only Enter, Tab, arrows, Backspace, Esc and Ctrl-C are keys; on a choice or the Start
 * button `q` quits too.
 */
export function commandFor(mode: KeyMode, input: string, key: KeyFlags): KeyCommand {
  const ctrlC = key.ctrl && input === 'c';
  switch (mode.kind) {
    case 'ended':
      return NONE;
    case 'idle':
      if (ctrlC || key.escape) return { kind: 'quit' };
      if (key.return) return { kind: 'start' };
      if (key.tab) return { kind: 'focus', step: key.shift ? -1 : 1 };
      if (key.downArrow) return { kind: 'focus', step: 1 };
      if (key.upArrow) return { kind: 'focus', step: -1 };
      if (key.rightArrow) return { kind: 'cycle', step: 1 };
      if (key.leftArrow) return { kind: 'cycle', step: -1 };
      // Ink reports the Backspace key of most terminals (DEL, 0x7f) as `delete`.
      if (key.backspace || key.delete) return { kind: 'backspace', count: 1 };
      // A held Backspace can reach us as several DEL bytes in one read.
      if (/^[\u007f\b]+$/.test(input)) return { kind: 'backspace', count: input.length };
      if (key.ctrl && input === 'u') return { kind: 'clear' };
      if (key.ctrl || key.meta || input === '') return NONE;
      if (input === 'q' && mode.focus !== 'text') return { kind: 'quit' };
      if (input === 'v' && mode.focus !== 'text') return { kind: 'preview' };
      return mode.focus === 'start' ? NONE : { kind: 'type', text: printable(input) };
    case 'active':
    case 'cancelling':
      if (ctrlC || key.escape) return { kind: 'cancel' };
      if (key.ctrl || key.meta) return NONE;
      switch (input) {
        case 'c':
          return { kind: 'cancel' };
        case 'q':
          return { kind: 'quit' };
        case 'i':
          return { kind: 'toggle', panel: 'statechart' };
        case 'l':
          return { kind: 'toggle', panel: 'log' };
        case 'v':
          return { kind: 'preview' };
        case 'p':
          return mode.kind === 'active' ? { kind: 'pause' } : NONE;
        case 's':
          return mode.kind === 'active' ? { kind: 'skip' } : NONE;
        default:
          return NONE;
      }
  }
}

/** Pasted text may carry line breaks or control bytes; the form keeps one line. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, '');
}

/** The key bar: only what a key does now (`preview`: the front end can show pictures). */
export function keyHints(mode: KeyMode, options: { readonly preview?: boolean } = {}): readonly KeyHint[] {
  const preview = options.preview ? [{ key: 'v', label: 'preview' }] : [];
  switch (mode.kind) {
    case 'ended':
      return [];
    case 'idle':
      return [
        { key: 'Enter', label: 'Start' },
        { key: 'Tab', label: 'next field' },
        ...(mode.focus === 'choice' ? [{ key: '←/→', label: 'change' }] : mode.focus === 'text' ? [{ key: 'Ctrl-U', label: 'clear' }] : []),
        ...(mode.focus === 'text' ? [] : preview),
        { key: mode.focus === 'text' ? 'Esc/Ctrl-C' : 'q/Esc', label: 'quit' },
      ];
    case 'active':
      return [
        { key: 'c', label: 'Cancel' },
        { key: 'p', label: 'Pause/Resume' },
        { key: 's', label: 'Skip' },
        { key: 'i', label: 'statechart' },
        { key: 'l', label: 'log' },
        ...preview,
        { key: 'q', label: 'quit' },
      ];
    case 'cancelling':
      return [
        { key: 'i', label: 'statechart' },
        { key: 'l', label: 'log' },
        ...preview,
        { key: 'q', label: 'quit' },
      ];
  }
}

/**
 * The key that ends up sending a machine event: each machine forwards it one level down
 * (`c` → app.cancel → batch.cancel → job.cancel → stage.cancel; `s` cancels the oldest job).
 */
const EVENT_KEYS: Readonly<Record<string, string>> = {
  'app.start': 'Enter',
  'app.cancel': 'c/Esc',
  'app.quit': 'q',
  'app.pause': 'p',
  'app.skip': 's',
  'batch.cancel': 'c/Esc',
  'batch.skip': 's',
  'batch.pause': 'p',
  'batch.resume': 'p',
  'job.cancel': 'c/Esc/s',
  'job.pause': 'p',
  'job.resume': 'p',
  'stage.cancel': 'c/Esc/s',
  'stage.pause': 'p',
  'stage.resume': 'p',
};

export function lookUpKeys(event: string): string | undefined {
  return EVENT_KEYS[event];
}
