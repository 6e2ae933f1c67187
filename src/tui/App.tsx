import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import { useSelector } from '@xstate/react';
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import type { appMachine } from '../machines/app.js';
import type { batchMachine } from '../machines/batch.js';
import { jobDirPath, type StartRequest } from '../domain.js';
import { Form } from './Form.js';
import { JobView, currentItem } from './JobView.js';
import { KeyBar } from './KeyBar.js';
import { Log } from './Log.js';
import { Outcome } from './Outcome.js';
import { PreviewPane, type PanePair, type PreviewSource } from './PreviewPane.js';
import type { Picture } from './picture.js';
import { Statechart } from './Statechart.js';
import { cycleChoice, clearField, deleteBack, focusKindAt, moveFocus, typeInto, type FormValues } from './form-fields.js';
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
  /** Pictures (`v`): the running job's preview pane, the form's preview. Absent: no `v`. */
  readonly previews?: PreviewSource;
}

/** How often the pane looks for a newer picture pair (the pipeline writes one per half second of video). */
export const PANE_POLL_MS = 2000;

/** A preview of the form's settings: running as a job, then shown until `v` or a changed form. */
interface Still {
  readonly values: FormValues;
  readonly output: string;
  readonly state: 'running' | 'loading' | 'shown';
  readonly picture?: Picture;
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
export function App({ actor, initialForm, makeRequest, autoStart = false, exitOnIdle = false, onExit, log, showStatechart = false, previews }: AppProps) {
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
  const [paneOpen, setPaneOpen] = useState(false);
  const [pair, setPair] = useState<{ readonly jobDir: string; readonly pair: PanePair }>();
  const [still, setStill] = useState<Still>();
  /** The last preview job's output: its outcome line would name a temporary file, so it is not shown when done. */
  const previewOutput = useRef<string | undefined>(undefined);

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
      setStill(undefined);
      actor.send({ type: 'app.start', request: made });
    },
    [actor, makeRequest, updateForm],
  );

  /** `v`: while running, the pane opens or closes; in the form, a preview job for its settings (or, shown, `v` closes it). */
  const preview = (): void => {
    if (!previews) return;
    if (!actor.getSnapshot().matches('idle')) return setPaneOpen((open) => !open);
    const values = formRef.current.values;
    if (still?.state === 'shown' && sameForm(still.values, values)) return setStill(undefined);
    const made = previews.request(values);
    if ('error' in made) {
      const message = made.error;
      return updateForm((state) => ({ ...state, error: message }));
    }
    updateForm((state) => ({ ...state, error: undefined }));
    setStill({ values, output: made.items[0].output, state: 'running' });
    previewOutput.current = made.items[0].output;
    actor.send({ type: 'app.start', request: made });
  };

  const run = (command: KeyCommand): void => {
    switch (command.kind) {
      case 'preview':
        return preview();
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

  // The running job's picture pair, every PANE_POLL_MS: read while the pane is open; while it is
  // closed the older pictures are still removed, so the job folder keeps a handful of small files.
  // With --jobs N every running job's folder is pruned; the pane shows the oldest running one's.
  const tempRoot = snapshot.context.request?.options.tempRoot;
  const runningDirs = tempRoot === undefined ? '' : snapshot.context.items.filter((item) => item.status === 'running').map((item) => jobDirPath(tempRoot, item.id)).join('\n');
  const jobDir = runningDirs === '' ? undefined : runningDirs.split('\n')[0];
  useEffect(() => {
    if (!previews || runningDirs === '') return;
    const [shown, ...others] = runningDirs.split('\n');
    const poll = (): void => {
      void previews.running(shown, paneOpen).then((found) => {
        if (found) setPair({ jobDir: shown, pair: found });
      });
      for (const other of others) void previews.running(other, false);
    };
    poll();
    const timer = setInterval(poll, PANE_POLL_MS);
    return () => clearInterval(timer);
  }, [previews, runningDirs, paneOpen]);

  // The form's preview job has ended: its picture is read (and its file removed), or the outcome says why not.
  const lastResult = snapshot.context.lastResult;
  const previewEnded = still?.state === 'running' && mode.kind === 'idle' ? lastResult?.items.find((item) => item.output === still.output) : undefined;
  useEffect(() => {
    if (!previews || !still || !previewEnded) return;
    const output = still.output;
    if (previewEnded.status !== 'done') return setStill(undefined);
    setStill({ ...still, state: 'loading' });
    void previews.still(output).then((picture) => setStill((now) => (now?.output === output ? { ...now, state: 'shown', picture } : now)));
  }, [previews, still, previewEnded]);

  const idle = mode.kind === 'idle' || mode.kind === 'ended';
  const showingStill = idle && still !== undefined && still.state !== 'running';
  const previewDone = lastResult?.items.length === 1 && lastResult.items[0].status === 'done' && lastResult.items[0].output === previewOutput.current;
  const pane = previews ? { colour: previews.colour, maxWidth: previews.maxWidth, maxRows: previews.maxRows } : undefined;
  const shownPair = pair && pair.jobDir === jobDir ? pair.pair : undefined;
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
      {idle && !showingStill && !previewDone ? <Outcome result={snapshot.context.lastResult} /> : null}
      {showingStill && pane ? (
        <PreviewPane
          {...pane}
          maxWidth={pane.maxWidth * 2 + 2}
          pictures={still.picture ? [{ label: 'source (enlarged) | result', picture: still.picture }] : []}
          caption="the form's settings on the input's middle frame · v closes"
          waiting={still.state === 'loading' ? 'reading the picture…' : 'the picture could not be read'}
        />
      ) : null}
      {!idle && paneOpen && pane ? (
        <PreviewPane
          {...pane}
          pictures={shownPair ? [{ label: `source · frame ${shownPair.sourceFrame}`, picture: shownPair.source }, { label: `output · frame ${shownPair.frame}`, picture: shownPair.output }] : []}
          caption={shownPair ? `the latest finished frame (of ${shownPair.outputFrames}), beside its source · v closes` : ''}
          waiting="waiting for the first picture (one every half second of video)"
        />
      ) : null}
      {!idle && panels.statechart ? <Statechart appValue={snapshot.value} runCount={snapshot.context.runCount} batchRef={batchRef} /> : null}
      {!idle && panels.log ? <Log log={log} /> : null}
      <Box marginTop={1}>
        <KeyBar hints={keyHints(mode, { preview: Boolean(previews) })} />
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

function sameForm(a: FormValues, b: FormValues): boolean {
  return a.input === b.input && a.output === b.output && a.scale === b.scale && a.model === b.model && a.device === b.device;
}
