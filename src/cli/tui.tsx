import { render } from 'ink';
import { basename, dirname, extname, join } from 'node:path';
import type { liveAppMachine } from '../app.js';
import type { JobOptions, StartRequest } from '../domain.js';
import { UserError, formatUserError } from '../services/errors.js';
import { App } from '../tui/App.js';
import type { FormValues } from '../tui/form-fields.js';
import { createLogStore } from '../tui/log-store.js';
import { formRequest, jobOptions } from './options.js';
import { exitCodeOf, sessionExitCode } from './outcome.js';
import { watchItems } from './reporters.js';
import { openSession } from './session.js';
import { tuiPreviews } from './tui-previews.js';

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
  /** Another app machine (a queued run, a worker); the local one by default. */
  readonly machine?: typeof liveAppMachine;
  /** Turns the form into a request instead of the default (a worker's run, a batch followed again). */
  readonly makeRequest?: (form: FormValues, base: JobOptions) => StartRequest;
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
  const session = openSession({ trace: options.trace, handleSignals: true, machine: options.machine });
  const base = options.request?.options ?? options.options ?? jobOptions({});
  // Pictures (`v`) for runs on this machine: their job folders are here to read.
  const pictures = options.machine ? undefined : tuiPreviews(base);
  const withPictures = (request: StartRequest): StartRequest => (pictures ? { ...request, options: { ...request.options, previews: pictures.box } } : request);
  const makeRequest = (form: FormValues): StartRequest | { error: string } => {
    try {
      return withPictures(options.makeRequest ? options.makeRequest(form, base) : formRequest(form, base, options.request));
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
      previews={pictures?.source}
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
  // `upframe run` in a terminal exits with its run's code; quitting the interactive TUI is a success.
  const result = session.actor.getSnapshot().context.lastResult;
  const code = session.interruption() ? sessionExitCode(result, session.interruption()) : options.exitOnIdle ? exitCodeOf(result) : 0;
  session.actor.stop();
  session.close();
  return code;
}
