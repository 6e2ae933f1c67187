import { availableParallelism } from 'node:os';
import type * as ort from 'onnxruntime-node';

/**
 * onnxruntime's CPU threads spin while they wait for work (the session option `allow_spinning`).
 * That buys a compute-bound host a few percent (x4v3: 6 % on 2 cores), but a host that mostly waits
 * on its pipes spins for nothing and takes the cores its encoder needs: on 16 cores a trivial
 * model's host burned 28 CPU-seconds instead of 1.8 for 48 frames, and a 480-frame run took 8.1 s
 * instead of 4.6. So a host starts spinning, measures the share of its time spent inside
 * `session.run`, and below {@link SPIN_SHARE} reopens its CPU sessions without spinning, once.
 * Between runs the workers sleep either way ({@link SPINNING_WITHIN_RUNS}); within a run, a trivial
 * model's mostly single-threaded ops leave them spinning for nothing too.
 * Inside runs, not the thread's whole busy time (event-loop utilization): the pool's workers can only
 * gain from spinning while a run is in flight; between runs, in the host's own JavaScript too, they
 * only burn. Measured on 2 cores in the pipeline: the trivial ×4 model 0.56–0.61, x4v3 0.97; its
 * event-loop utilization was 0.79–0.85 for the trivial model, too close to call.
 */
export const SPIN_SHARE = 0.75;
/** The session options of a quiet session: its pool's workers sleep while they wait. */
export const NO_SPINNING: ort.InferenceSession.SessionOptions = { extra: { session: { intra_op: { allow_spinning: '0' } } } };
/**
 * The session options of a spinning session: its workers spin only while a run is in flight and stop
 * the moment it returns (`force_spinning_stop`), so a host waiting on its pipes between frames burns
 * nothing. Measured with the trivial ×4 model and a 10 ms wait between runs: 32 CPU-ms a frame
 * spinning throughout, 18 spinning within runs, 12 quiet.
 */
export const SPINNING_WITHIN_RUNS: ort.InferenceSession.SessionOptions = { extra: { session: { force_spinning_stop: '1' } } };
/**
 * Whether a CPU session starts with spinning threads (then adapts, `adaptSpinning`): not with one
 * thread (no pool to spin), nor with more threads than cores, where a spinning worker only keeps a
 * core from one that has work to do.
 */
export function startsSpinning(threads: number | undefined, cores = availableParallelism()): boolean {
  return threads === undefined || (threads > 1 && threads <= cores);
}

/** Runs not measured: the model's first runs (a shape probe, the first frame) pay its warm-up. */
export const WARMUP_RUNS = 2;
/** The measurement ends after this many runs and at least this long. */
export const MEASURED_RUNS = 8;
export const MEASURED_MS = 500;

/** How much of the process's time some session run is in flight, from the first measured run on. */
export class BusyMeter {
  private runs = 0;
  private inFlight = 0;
  private from: number | undefined;
  private busyMs = 0;
  private busySince = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  begin(): void {
    this.runs++;
    if (this.runs <= WARMUP_RUNS) return;
    const at = this.now();
    this.from ??= at;
    if (this.inFlight++ === 0) this.busySince = at;
  }

  end(): void {
    if (this.from === undefined || this.inFlight === 0) return;
    if (--this.inFlight === 0) this.busyMs += this.now() - this.busySince;
  }

  /** The busy share, once {@link MEASURED_RUNS} runs over {@link MEASURED_MS} are measured; else undefined. */
  share(): number | undefined {
    if (this.from === undefined || this.runs - WARMUP_RUNS < MEASURED_RUNS) return undefined;
    const at = this.now();
    const wallMs = at - this.from;
    if (wallMs < MEASURED_MS) return undefined;
    return (this.busyMs + (this.inFlight > 0 ? at - this.busySince : 0)) / wallMs;
  }
}

/** undefined while measuring; then whether the host is busy enough for spinning to pay. */
export function spinningPays(meter: BusyMeter): boolean | undefined {
  const share = meter.share();
  return share === undefined ? undefined : share >= SPIN_SHARE;
}

interface Live {
  readonly session: ort.InferenceSession;
  inFlight: number;
  retired: boolean;
  released?: Promise<void>;
}

export interface AdaptiveSession {
  /** Stands in for the session everywhere; its runs go to whichever session is current. */
  readonly session: ort.InferenceSession;
  /** Whether the current session's threads spin. */
  spinning(): boolean;
}

/**
 * Wraps a spinning CPU session: its runs are metered, and once {@link spinningPays} says no, `reopen`
 * makes the same session without spinning in the background; runs go on meanwhile, and the first
 * session is released after its last run. If reopening fails the first session stays.
 */
export function adaptSpinning(first: ort.InferenceSession, reopen: () => Promise<ort.InferenceSession>, meter: BusyMeter): AdaptiveSession {
  let live: Live = { session: first, inFlight: 0, retired: false };
  let measuring = true;
  let reopening: Promise<void> | undefined;
  const settle = (l: Live): Promise<void> | undefined => {
    if (l.retired && l.inFlight === 0) l.released ??= l.session.release();
    return l.released;
  };
  const swap = async () => {
    try {
      const quiet = await reopen();
      const old = live;
      live = { session: quiet, inFlight: 0, retired: false };
      old.retired = true;
      // Handled here so that no failed release is left unheard; `release` still awaits it.
      settle(old)?.catch(() => undefined);
    } catch {
      // The spinning session still works: keep it.
    }
  };
  // Whichever overload the caller used, its arguments go on as they came.
  const run = async (...args: unknown[]): Promise<ort.InferenceSession.ReturnType> => {
    if (measuring) {
      const pays = spinningPays(meter);
      if (pays !== undefined) measuring = false;
      if (pays === false) reopening = swap();
    }
    const l = live;
    l.inFlight++;
    meter.begin();
    try {
      return await (l.session.run as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>).apply(l.session, args);
    } finally {
      meter.end();
      l.inFlight--;
      settle(l)?.catch(() => undefined);
    }
  };
  const release = async () => {
    await reopening;
    live.retired = true;
    await settle(live);
  };
  const session = new Proxy(first, {
    get(_target, prop) {
      if (prop === 'run') return run;
      if (prop === 'release') return release;
      const value = Reflect.get(live.session, prop) as unknown;
      return typeof value === 'function' ? value.bind(live.session) : value;
    },
  });
  return { session, spinning: () => live.session === first };
}
