import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink-testing-library';
import { vi } from 'vitest';
import { App, type AppProps } from '../../src/tui/App.js';
import type { FormValues } from '../../src/tui/form-fields.js';
import type { JobOptions, StartRequest } from '../../src/domain.js';
import { createStubApp, FORM, flush, makeRequest, startApp, waitUntil, type AppActorOf, type StubApp, type StubOptions } from './stub-app.js';

export const KEYS = {
  enter: '\r',
  tab: '\t',
  shiftTab: '\u001B[Z',
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  backspace: '\u007F',
  escape: '\u001B',
  ctrlC: '\u0003',
} as const;

export interface MountOptions extends StubOptions {
  readonly form?: FormValues;
  /** Options the request builder puts in every request (e.g. --jobs). */
  readonly request?: Partial<JobOptions>;
  readonly makeRequest?: (form: FormValues) => StartRequest | { error: string };
  readonly props?: Partial<AppProps>;
}

export interface Mounted {
  readonly stub: StubApp;
  readonly actor: AppActorOf;
  readonly onExit: ReturnType<typeof vi.fn>;
  readonly requests: FormValues[];
  /** The last frame without colours. */
  frame(): string;
  /** Types keys one write at a time (as a person would), letting Ink and React run after each. */
  press(...keys: string[]): Promise<void>;
  /** Writes raw input with no pause after it (keys that land before React re-renders). */
  write(raw: string): void;
  /** Waits until the frame contains `text` (matches it, or the predicate holds). */
  waitFor(text: string | RegExp | ((frame: string) => boolean)): Promise<string>;
  unmount(): void;
}

export async function mount(options: MountOptions = {}): Promise<Mounted> {
  const stub = createStubApp(options);
  const actor = startApp(stub);
  const onExit = vi.fn();
  const requests: FormValues[] = [];
  const build = options.makeRequest ?? ((form: FormValues) => makeRequest(form, options.request));
  const instance = render(
    <App
      actor={actor}
      initialForm={options.form ?? FORM}
      makeRequest={(form) => {
        requests.push(form);
        return build(form);
      }}
      onExit={onExit}
      {...options.props}
    />,
  );
  const frame = (): string => stripVTControlCharacters(instance.lastFrame() ?? '');
  await flush();
  return {
    stub,
    actor,
    onExit,
    requests,
    frame,
    async press(...keys) {
      for (const key of keys) {
        instance.stdin.write(key);
        await flush(key === KEYS.escape ? 20 : 10);
      }
    },
    write: (raw) => {
      instance.stdin.write(raw);
    },
    waitFor: (text) =>
      typeof text === 'string'
        ? waitUntil(frame, (f) => f.includes(text), JSON.stringify(text))
        : text instanceof RegExp
          ? waitUntil(frame, (f) => text.test(f), String(text))
          : waitUntil(frame, text, 'frame'),
    unmount() {
      instance.unmount();
      instance.cleanup();
      if (actor.getSnapshot().status === 'active') actor.stop();
    },
  };
}

/** Splits a frame into the part above the key bar and the key bar (its last non-empty line). */
export function keyBar(frame: string): string {
  const lines = frame.split('\n').filter((line) => line.trim() !== '');
  return lines[lines.length - 1] ?? '';
}
