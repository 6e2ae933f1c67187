import type { ProcessRole } from '../../src/services/supervisor.js';
import { rng } from './prng.js';

export const FAULTS = ['none', 'sigint', 'double-sigint', 'sigterm', 'sighup', 'sigkill-child', 'sigstop-sigint'] as const;
export type Fault = (typeof FAULTS)[number];

export type Trigger =
  /** ms after the CLI was spawned. */
  | { readonly kind: 'time'; readonly ms: number }
  /** after the `count`-th `progress` event of the --json stream, plus `delayMs`. */
  | { readonly kind: 'progress'; readonly count: number; readonly delayMs: number };

export type Segmenting =
  | { readonly mode: 'whole' }
  | { readonly mode: 'chunked'; readonly chunk: number }
  | { readonly mode: 'context'; readonly window: number; readonly overlap: number };

/** Everything about one run that a seed decides. Timing itself cannot be replayed; the plan can. */
export interface RunPlan {
  readonly seed: number;
  readonly fault: Fault;
  /** Indices into the clip pool, distinct; more than one → `-o <dir>/`. */
  readonly clips: readonly number[];
  /** The output's container when there is one input. */
  readonly container: 'mp4' | 'mkv';
  readonly segmenting: Segmenting;
  readonly scenes: boolean;
  readonly interpolate: boolean;
  readonly resume: boolean;
  readonly jobs: 1 | 2;
  readonly trigger: Trigger;
  /** sigkill-child: the role whose next live process is killed. */
  readonly role?: ProcessRole;
  /** sigstop-sigint: how long the child stays stopped before the SIGINT. */
  readonly stopMs?: number;
  /** With --resume: when a run leaves resume folders, run again without a fault and check it all. */
  readonly followUp: boolean;
}

/**
 * The plan of a run from its seed. The draws come in a fixed order and `only` replaces the drawn
 * fault without changing any other draw, so a seed gives the same run with or without `--only`.
 */
export function planRun(seed: number, poolSize: number, only?: Fault): RunPlan {
  const r = rng(seed);
  const drawnFault = r.pick(FAULTS);
  const fault = only ?? drawnFault;
  const count = r.pick([1, 1, 2, 3] as const);
  const order = Array.from({ length: poolSize }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const clips = order.slice(0, Math.min(count, poolSize));
  const container = r.pick(['mp4', 'mkv'] as const);
  const modeKind = r.pick(['whole', 'chunked', 'chunked', 'context'] as const);
  const chunkDraw = r.pick([8, 12, 16, 24, 40]);
  const windowDraw = r.int(10, 24);
  const overlapDraw = r.next();
  const scenes = r.chance(0.25);
  const interpolate = r.chance(0.2);
  // Each segment starts its hosts anew (≈0.35 s here, ≈1 s with RIFE): keeping segments at 8 frames
  // or more (16 with interpolation) keeps a run to 1–3 s.
  let segmenting: Segmenting;
  if (modeKind === 'chunked') segmenting = { mode: 'chunked', chunk: interpolate ? Math.max(16, chunkDraw) : chunkDraw };
  else if (modeKind === 'context') {
    const window = interpolate ? Math.max(20, windowDraw) : windowDraw;
    const most = Math.min(3, Math.floor((window - (interpolate ? 16 : 8)) / 2));
    segmenting = { mode: 'context', window, overlap: Math.floor(overlapDraw * (most + 1)) };
  } else segmenting = { mode: 'whole' };
  const resume = r.chance(0.35);
  const jobs = r.pick([1, 2] as const);
  const trigger: Trigger = r.chance(0.5)
    ? { kind: 'time', ms: r.int(0, 1500) }
    : { kind: 'progress', count: r.int(1, 4), delayMs: r.int(0, 150) };
  const roles: ProcessRole[] = ['ffprobe', 'decode', 'encode', 'mux', 'upscale-host'];
  if (scenes) roles.push('scenes');
  if (interpolate) roles.push('interpolate-host');
  const role = r.pick(roles);
  const stopMs = r.int(20, 300);
  const followUp = r.chance(0.5);
  return {
    seed,
    fault,
    clips,
    container,
    segmenting,
    scenes,
    interpolate,
    resume,
    jobs,
    trigger,
    ...(fault === 'sigkill-child' ? { role } : {}),
    ...(fault === 'sigstop-sigint' ? { stopMs } : {}),
    followUp: resume && followUp,
  };
}

/** The CLI's options for a plan (inputs and output not included), as a user would type them. */
export function planFlags(plan: RunPlan): string[] {
  const flags: string[] = [];
  const s = plan.segmenting;
  if (s.mode === 'chunked') flags.push('--mode', 'chunked', '--chunk', String(s.chunk));
  if (s.mode === 'context') flags.push('--mode', 'context', '--window', String(s.window), '--overlap', String(s.overlap));
  if (plan.scenes) flags.push('--scenes');
  if (plan.interpolate) flags.push('--interpolate', '2');
  if (plan.resume) flags.push('--resume');
  flags.push('--jobs', String(plan.jobs));
  return flags;
}
