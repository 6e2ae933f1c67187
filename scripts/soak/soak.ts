import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nearestModel } from '../../test/helpers/models.js';
import { makeClips } from './media.js';
import { FAULTS, planRun, type Fault } from './plan.js';
import { runSeeds } from './prng.js';
import { killMarked } from './procs.js';
import { executeRun, type RunReport, type SoakContext } from './run.js';

export { FAULTS, type Fault } from './plan.js';

export interface SoakOptions {
  readonly runs: number;
  readonly seed: number;
  /** Every run gets this fault (the other draws stay those of its seed). */
  readonly only?: Fault;
  /** Keep the scratch folder (clips, each run's temp and output folders). */
  readonly keep?: boolean;
  /** A run longer than this is reported as hung and killed (default 60 s). */
  readonly runTimeoutMs?: number;
  /** One line per run as it ends (the CLI prints them on stderr). */
  readonly log?: (line: string) => void;
  /** Stops the soak before its next run (a test that timed out). */
  readonly signal?: AbortSignal;
}

export interface Violation {
  readonly seed: number;
  readonly fault: Fault;
  readonly options: string;
  readonly exitCode: number | null;
  readonly signal?: string;
  readonly landed: boolean;
  readonly faultAfterMs?: number;
  readonly target?: RunReport['target'];
  readonly problems: string[];
  readonly replay: string;
}

export interface FaultCounts {
  runs: number;
  /** How many times the fault reached a live run (the rest: the run had ended, or the role never ran again). */
  landed: number;
  violations: number;
  /** Exit codes seen (`SIGx` for a CLI killed by a signal). */
  exitCodes: Record<string, number>;
}

export interface SoakReport {
  readonly runs: number;
  readonly seed: number;
  readonly only?: Fault;
  readonly durationSec: number;
  readonly secPerRun: number;
  readonly byFault: Record<string, FaultCounts>;
  readonly violations: Violation[];
}

/** The soak's own processes are found by this prefix, whatever happens to the soak. */
export function markerPrefix(): string {
  return `upframe-soak-${process.pid}-`;
}

/** The safety net: SIGKILL whatever any run of this soak process left, stopped children included. */
export function killLeftovers(): number {
  const prefix = markerPrefix();
  return killMarked((m) => m.startsWith(prefix));
}

/**
 * N runs of the real CLI over small clips with random options, each hit by a random fault at a random
 * moment, each checked against the contract. Sequential, so one run's load never times another's fault.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'upframe-soak-'));
  const byFault: Record<string, FaultCounts> = Object.fromEntries(FAULTS.map((f) => [f, { runs: 0, landed: 0, violations: 0, exitCodes: {} }]));
  const violations: Violation[] = [];
  try {
    const clipDir = join(scratch, 'clips');
    mkdirSync(clipDir);
    const ctx: SoakContext = {
      scratch,
      clips: makeClips(clipDir),
      model: nearestModel(scratch, 2),
      markerPrefix: markerPrefix(),
      runTimeoutMs: options.runTimeoutMs ?? 60_000,
      keep: options.keep ?? false,
    };
    const seeds = runSeeds(options.seed, options.runs);
    for (const [index, seed] of seeds.entries()) {
      if (options.signal?.aborted) break;
      const plan = planRun(seed, ctx.clips.length, options.only);
      const report = await executeRun(plan, ctx, index);
      const counts = byFault[plan.fault];
      counts.runs++;
      if (report.landed) counts.landed++;
      const code = report.signal ?? String(report.exitCode);
      counts.exitCodes[code] = (counts.exitCodes[code] ?? 0) + 1;
      if (report.problems.length > 0) {
        counts.violations++;
        violations.push({
          seed,
          fault: plan.fault,
          options: report.options,
          exitCode: report.exitCode,
          ...(report.signal ? { signal: report.signal } : {}),
          landed: report.landed,
          ...(report.faultAfterMs !== undefined ? { faultAfterMs: report.faultAfterMs } : {}),
          ...(report.target ? { target: report.target } : {}),
          problems: report.problems,
          replay: `node --import tsx scripts/soak.ts --seed ${seed} --runs 1${options.only ? ` --only ${options.only}` : ''}`,
        });
      }
      const target = report.target ? ` ${report.target.role}` : '';
      const when = report.faultAfterMs !== undefined ? ` @${report.faultAfterMs}ms` : report.landed ? '' : plan.fault === 'none' ? '' : ' (missed)';
      options.log?.(
        `run ${index + 1}/${seeds.length} seed ${seed} ${plan.fault}${target}${when}: ${code} in ${report.durationMs} ms` +
          (report.followUp ? `, resumed: ${report.followUp.exitCode} in ${report.followUp.durationMs} ms` : '') +
          (report.problems.length ? `\n  ✗ ${report.problems.join('\n  ✗ ')}` : ' ✓'),
      );
    }
  } finally {
    killLeftovers();
    if (!options.keep) rmSync(scratch, { recursive: true, force: true });
  }
  const durationSec = Math.round((Date.now() - started) / 100) / 10;
  return {
    runs: options.runs,
    seed: options.seed,
    ...(options.only ? { only: options.only } : {}),
    durationSec,
    secPerRun: options.runs > 0 ? Math.round((durationSec / options.runs) * 100) / 100 : 0,
    byFault,
    violations,
  };
}
