import { render } from 'ink';
import { basename, dirname, extname, join } from 'node:path';
import type { JobOptions, StartRequest } from '../machines/types.js';
import { startRequest } from '../cli/options.js';
import { exitCodeOf } from '../cli/outcome.js';
import { openSession } from '../cli/session.js';
import { UserError, formatUserError } from '../services/errors.js';
import { formatRate } from '../services/rational.js';
import { App } from './App.js';
import { createLogStore } from './log-store.js';
import { watchItems } from '../cli/reporters.js';
import type { FormValues } from './form.js';

export interface TuiOptions {
  readonly request?: StartRequest;
  readonly options?: JobOptions;
  readonly form?: { readonly input?: string; readonly output?: string };
  readonly trace?: string;
  readonly inspect?: boolean;
  /** Start the request at once. */
  readonly start: boolean;
  /** Leave when the first run ends (`upframe run` in a terminal). */
  readonly exitOnIdle: boolean;
}

function defaultOutput(input: string): string {
  return input ? join(dirname(input), `${basename(input, extname(input))}.upscaled.mp4`) : '';
}

function initialForm(options: TuiOptions): FormValues {
  const item = options.request?.items[0];
  const input = item?.input ?? options.form?.input ?? '';
  const jobOptions = options.request?.options ?? options.options;
  return {
    input,
    output: item?.output ?? options.form?.output ?? defaultOutput(input),
    scale: jobOptions?.scale === undefined ? 'model' : (String(jobOptions.scale) as FormValues['scale']),
    model: jobOptions?.model ?? '',
    device: jobOptions?.device ?? 'auto',
  };
}

/** The Ink front end over the same app actor the headless runs use; resolves to the exit code. */
export async function runTui(options: TuiOptions): Promise<number> {
  const session = openSession({ trace: options.trace, handleSignals: true });
  const base = options.request?.options ?? options.options;
  const makeRequest = (form: FormValues): StartRequest | { error: string } => {
    try {
      // Several inputs from the command line stay several while the form still shows the first.
      if (options.request && options.request.items.length > 1 && form.input === options.request.items[0]?.input) return options.request;
      return startRequest([form.input].filter(Boolean), {
        output: form.output || undefined,
        model: form.model || undefined,
        scale: form.scale === 'model' ? undefined : form.scale,
        device: form.device,
        tile: base?.tile === undefined ? undefined : String(base.tile),
        crf: base?.crf === undefined ? undefined : String(base.crf),
        overwrite: base?.overwrite,
        tempDir: base?.tempRoot,
        grace: base === undefined ? undefined : String(base.graceMs),
        interpolate: base?.interpolate === undefined ? undefined : String(base.interpolate),
        fps: base?.fps === undefined ? undefined : formatRate(base.fps),
        order: base?.order,
        interpolationModel: base?.interpolationModel,
        sceneThreshold: base?.sceneThreshold === undefined ? undefined : String(base.sceneThreshold),
        scenes: base?.scenes,
        minScene: base?.minScene === undefined ? undefined : String(base.minScene),
        failFast: base?.failFast,
        mode: base?.mode,
        chunk: base?.chunk === undefined ? undefined : String(base.chunk),
        window: base?.window === undefined ? undefined : String(base.window),
        overlap: base?.overlap === undefined ? undefined : String(base.overlap),
        resume: base?.resume,
        jobs: base?.jobs === undefined ? undefined : String(base.jobs),
      });
    } catch (error) {
      return { error: error instanceof UserError ? formatUserError(error) : String(error) };
    }
  };
  const log = createLogStore();
  const stopLog = watchItems(session.actor, Number.POSITIVE_INFINITY, {
    phase: (item) => log.push(`${item.phase} ${item.input}`),
    notice: (_item, message) => log.push(message),
    progress: () => undefined,
    ended: (item) => log.push(`${item.status}${item.error ? `: ${item.error.message}` : ''}`),
  });
  session.actor.start();
  let resolveExit: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => (resolveExit = resolve));
  let failure: unknown;
  // An error in the actor system ends the UI; the CLI reports it in one line.
  const errors = session.actor.subscribe({
    error: (error) => {
      failure = error;
      resolveExit();
    },
  });
  const ink = render(
    <App
      actor={session.actor}
      initialForm={initialForm(options)}
      makeRequest={makeRequest}
      autoStart={options.start}
      exitOnIdle={options.exitOnIdle}
      onExit={resolveExit}
      log={log}
      showStatechart={options.inspect}
    />,
    { exitOnCtrlC: false },
  );
  await Promise.race([exited, ink.waitUntilExit()]);
  ink.unmount();
  stopLog();
  errors.unsubscribe();
  if (failure !== undefined) {
    session.close();
    throw failure instanceof Error ? new Error(`internal error: ${failure.message}`, { cause: failure }) : failure;
  }
  const code = exitCodeOf(session.actor.getSnapshot().context.lastResult);
  session.actor.stop();
  session.close();
  return code;
}
