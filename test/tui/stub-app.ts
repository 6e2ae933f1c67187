import { createActor, type Actor } from 'xstate';
import type { appMachine } from '../../src/machines/app.js';
import type { FormValues } from '../../src/tui/form-fields.js';
import type { JobOptions, StartRequest } from '../../src/domain.js';
import { createStubWorld, type StubWork } from '../helpers/stub-world.js';

/**
 * The real app/batch/job/stage machines with stub work actors: no processes, no files.
 * probe and assemble finish by themselves (next macrotask); upscale reports progress only when
 * the test calls `tick()` and finishes after `ticks` of them, or fails on `fail()`.
 * On `work.stop` a stub stops after `stopDelayMs` (0: the next macrotask), as processes that are
 * SIGKILLed and then reaped.
 */
export interface StubOptions {
  readonly frames?: number;
  readonly ticks?: number;
  /** How long a stub takes to report `work.stopped` once told to stop. */
  readonly stopDelayMs?: number;
}

export interface StubApp {
  readonly machine: typeof appMachine;
  /** Every command any stub work actor received, in order, e.g. `upscale:work.stop`. */
  readonly commands: string[];
  /** One progress report from the live upscale work; the last one of `ticks` finishes it. */
  tick(): void;
  /** The live upscale work fails with this message. */
  fail(message: string): void;
  /** Whether an upscale work actor is live (started and not ended). */
  upscaling(): boolean;
  /** Resolves once an upscale work actor is live. */
  whenUpscaling(): Promise<void>;
}

export function createStubApp(options: StubOptions = {}): StubApp {
  const frames = options.frames ?? 48;
  const ticks = options.ticks ?? 4;
  const world = createStubWorld({ ...options, frames, autoComplete: ['probe', 'assemble'] });
  const ticked = new WeakMap<StubWork, number>();
  const upscale = (): StubWork | undefined => world.live.find((work) => work.stage === 'upscale' && !work.ended);
  const liveUpscale = (): StubWork => {
    const work = upscale();
    if (!work) throw new Error('no upscale work is live');
    return work;
  };

  return {
    machine: world.machine,
    commands: world.log,
    tick() {
      const work = liveUpscale();
      const count = (ticked.get(work) ?? 0) + 1;
      ticked.set(work, count);
      const done = Math.round((frames * count) / ticks);
      const fps = 2.5 * count;
      work.report({ type: 'work.progress', progress: { done, total: frames, fps, etaSec: (frames - done) / fps } });
      if (count >= ticks) world.finish(work, { type: 'work.done', result: { video: 'video.mkv', frames } });
    },
    fail(message) {
      world.finish(liveUpscale(), { type: 'work.failed', error: { kind: 'runtime', message } });
    },
    upscaling: () => upscale() !== undefined,
    whenUpscaling: async () => {
      await waitUntil(() => upscale() !== undefined, Boolean, 'upscale work');
    },
  };
}

export type AppActorOf = Actor<typeof appMachine>;

export function startApp(stub: StubApp): AppActorOf {
  return createActor(stub.machine).start();
}

export const OPTIONS: JobOptions = { scale: 4, device: 'cpu', overwrite: false, tempRoot: '/tmp/upframe-tui-test' };

export const FORM: FormValues = { input: 'clip.mp4', output: 'out.mp4', scale: '4', model: 'realesr-general-x4v3', device: 'auto' };

/** The test's request builder: inputs separated by commas; an empty input is an error. */
export function makeRequest(form: FormValues, options: Partial<JobOptions> = {}): StartRequest | { error: string } {
  const inputs = form.input
    .split(',')
    .map((input) => input.trim())
    .filter((input) => input !== '');
  if (inputs.length === 0) return { error: 'Input: give a video file' };
  if (form.output.trim() === '') return { error: 'Output: give a file name' };
  const items = inputs.map((input, n) => ({ input, output: inputs.length === 1 ? form.output : `${n + 1}-${form.output}` }));
  return { items, options: { ...OPTIONS, ...options, scale: form.scale === 'model' ? undefined : (Number(form.scale) as 1 | 2 | 4), device: form.device, model: form.model } };
}

/** Lets timers, Ink's input handling and React's commit run. */
export function flush(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `read()` until `predicate` holds; fails with the last value seen. */
export async function waitUntil<T>(read: () => T, predicate: (value: T) => boolean, what = 'condition', timeoutMs = 2000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (predicate(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last:\n${String(value)}`);
    await flush(5);
  }
}
