import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import { useSelector } from '@xstate/react';
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import type { appMachine } from '../machines/app.js';
import type { batchMachine } from '../machines/batch.js';
import type { StartRequest } from '../domain.js';
import { Form } from './Form.js';
import { JobView, currentItem } from './JobView.js';
import { KeyBar } from './KeyBar.js';
import { Log } from './Log.js';
import { Outcome } from './Outcome.js';
import { Statechart } from './Statechart.js';
import { cycleChoice, clearField, deleteBack, focusKindAt, moveFocus, typeInto, type FormValues } from './form.js';
import { statePath } from './format.js';
import { commandFor, keyHints, type KeyCommand, type KeyMode, type Panel } from './keys.js';
import type { LogStore } from './log-store.js';

export type AppActor = ActorRefFrom<typeof appMachine>;
type AppSnapshot = SnapshotFrom<typeof appMachine>;

export interface AppProps {
  readonly actor: AppActor;
  readonly initialForm: FormValues;
  /** Turns the form into a request, or says in one line what is wrong with it. */
  readonly makeRequest: (form: FormValues) => StartRequest | { readonly error: string };
  /** Start with `initialForm` on mount, as Enter would. */
  readonly autoStart?: boolean;
  /** Exit once a run has ended and the app is idle again (`upframe run` in a TTY). */
  readonly exitOnIdle?: boolean;
  /** Called once, when the app actor reaches `quit` or (with exitOnIdle) after a run. */
  readonly onExit?: () => void;
  readonly log?: LogStore;
  /** `--inspect`: the statechart panel open from the start. */
  readonly showStatechart?: boolean;
}

interface FormState {
  readonly values: FormValues;
  readonly focus: number;
  readonly error?: string;
}

/**
 * The TUI: reads the app actor's state and sends it events. It never spawns or does I/O; every
 * decision about what a key means at machine level (cancel in idle, a second cancel) is the machine's.
 */
export function App({ actor, initialForm, makeRequest, autoStart = false, exitOnIdle = false, onExit, log, showStatechart = false }: AppProps) {
  const { exit } = useApp();
  const snapshot = useSelector(actor, (s) => s);

  // The form lives in a ref as well as in state: keys that arrive before React re-renders
  // (a fast typist, a paste split in chunks) must build on each other, not on the last render.
  const formRef = useRef<FormState>({ values: initialForm, focus: 0 });
  const [form, setForm] = useState<FormState>(formRef.current);
  const updateForm = useCallback((next: (state: FormState) => FormState) => {
    formRef.current = next(formRef.current);
    setForm(formRef.current);
  }, []);

  const mode = keyModeOf(snapshot, form.focus);
  const [panels, setPanels] = useState<Readonly<Record<Panel, boolean>>>({ statechart: showStatechart, log: false });

  const start = useCallback(
    (values: FormValues) => {
      let made: StartRequest | { readonly error: string };
      try {
        made = makeRequest(values);
      } catch (error) {
        made = { error: error instanceof Error ? error.message : String(error) };
      }
      if ('error' in made) {
        const message = made.error;
        updateForm((state) => ({ ...state, error: message }));
        return;
      }
      updateForm((state) => ({ ...state, error: undefined }));
      actor.send({ type: 'app.start', request: made });
    },
    [actor, makeRequest, updateForm],
  );

  const run = (command: KeyCommand): void => {
    switch (command.kind) {
      case 'start':
        return start(formRef.current.values);
      case 'quit':
        return actor.send({ type: 'app.quit' });
      case 'cancel':
        return actor.send({ type: 'app.cancel' });
      case 'pause':
        return actor.send({ type: 'app.pause' });
      case 'skip':
        return actor.send({ type: 'app.skip' });
      case 'toggle':
        return setPanels((shown) => ({ ...shown, [command.panel]: !shown[command.panel] }));
      case 'focus':
        return updateForm((state) => ({ ...state, focus: moveFocus(state.focus, command.step) }));
      case 'cycle':
        return updateForm((state) => ({ ...state, error: undefined, values: cycleChoice(state.values, state.focus, command.step) }));
      case 'type':
        return updateForm((state) => ({ ...state, error: undefined, values: typeInto(state.values, state.focus, command.text) }));
      case 'backspace':
        return updateForm((state) => {
          let values = state.values;
          for (let i = 0; i < command.count; i++) values = deleteBack(values, state.focus);
          return { ...state, error: undefined, values };
        });
      case 'clear':
        return updateForm((state) => ({ ...state, error: undefined, values: clearField(state.values, state.focus) }));
      case 'none':
        return;
    }
  };

  // The mode is read from the actor and the form at the time of the key, not from the last render.
  useInput((input, key) => run(commandFor(keyModeOf(actor.getSnapshot(), formRef.current.focus), input, key)), { isActive: mode.kind !== 'ended' });

  const started = useRef(false);
  useEffect(() => {
    if (!autoStart || started.current) return;
    started.current = true;
    if (actor.getSnapshot().matches('idle')) start(initialForm);
  }, [autoStart, actor, start, initialForm]);

  const exited = useRef(false);
  const firstRunCount = useRef(snapshot.context.runCount);
  const finished = snapshot.status === 'done' || (exitOnIdle && mode.kind === 'idle' && snapshot.context.runCount > firstRunCount.current);
  useEffect(() => {
    if (!finished || exited.current) return;
    exited.current = true;
    onExit?.();
    exit();
  }, [finished, onExit, exit]);

  const idle = mode.kind === 'idle' || mode.kind === 'ended';
  const batchRef = snapshot.children.batch as ActorRefFrom<typeof batchMachine> | undefined;
  return (
    <Box flexDirection="column">
      <Text bold>upframe</Text>
      {mode.kind === 'ended' ? (
        <Text dimColor>Quit.</Text>
      ) : idle ? (
        <Form values={form.values} focus={form.focus} error={form.error} />
      ) : (
        <JobView
          items={snapshot.context.items}
          path={statePath(snapshot.value, currentItem(snapshot.context.items))}
          cancelling={mode.kind === 'cancelling'}
          paused={snapshot.context.paused}
        />
      )}
      {idle ? <Outcome result={snapshot.context.lastResult} /> : null}
      {!idle && panels.statechart ? <Statechart appValue={snapshot.value} runCount={snapshot.context.runCount} batchRef={batchRef} /> : null}
      {!idle && panels.log ? <Log log={log} /> : null}
      <Box marginTop={1}>
        <KeyBar hints={keyHints(mode)} />
      </Box>
    </Box>
  );
}

function keyModeOf(snapshot: AppSnapshot, focus: number): KeyMode {
  if (snapshot.status !== 'active') return { kind: 'ended' };
  if (snapshot.matches('idle')) return { kind: 'idle', focus: focusKindAt(focus) };
  if (snapshot.matches({ running: 'cancelling' })) return { kind: 'cancelling' };
  return { kind: 'active', paused: snapshot.context.paused };
}
