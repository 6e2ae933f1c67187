/**
 * `npm run soak [-- --runs N] [--seed S] [--out file.json] [--only FAULT] [--keep] [--quiet]`
 *
 * N runs (default 200) of `upframe run --json` over small clips with random options (modes, chunk
 * sizes, interpolation, resume, batches of 1–3, --jobs 1|2), each hit at a random moment by one
 * fault: SIGINT, double SIGINT, SIGTERM, SIGHUP, SIGKILL of a child of a random role, SIGSTOP of a
 * child then SIGINT, or nothing. After each run: the exit code the contract gives, no process left,
 * the temp dir empty (or verified resume folders only), no partial file, every output complete.
 * Prints the JSON report on stdout (one line per run on stderr); exits 1 if any run broke the
 * contract. `--seed S --runs 1` replays the run a report lists under seed S.
 */
import { writeFileSync } from 'node:fs';
import { FAULTS, killLeftovers, runSoak, type Fault } from './soak/soak.js';

function usage(message: string): never {
  process.stderr.write(`soak: ${message}\nusage: soak [--runs N] [--seed S] [--out file.json] [--only ${FAULTS.join('|')}] [--keep] [--quiet]\n`);
  process.exit(2);
}

function parse(argv: string[]) {
  const options: { runs: number; seed: number; out?: string; only?: Fault; keep: boolean; quiet: boolean } = {
    runs: 200,
    seed: Date.now() % 2 ** 31,
    keep: false,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const integer = (min: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > 2 ** 32 - 1) usage(`${flag} expects an integer ≥ ${min}, got "${v}"`);
      return n;
    };
    if (flag === '--runs') options.runs = integer(1);
    else if (flag === '--seed') options.seed = integer(0);
    else if (flag === '--out') options.out = value();
    else if (flag === '--only') {
      const v = value();
      if (!(FAULTS as readonly string[]).includes(v)) usage(`--only expects one of ${FAULTS.join(', ')}, got "${v}"`);
      options.only = v as Fault;
    } else if (flag === '--keep') options.keep = true;
    else if (flag === '--quiet') options.quiet = true;
    else usage(`unknown argument "${flag}"`);
  }
  return options;
}

const options = parse(process.argv.slice(2));
// Stopped or killed, the soak still takes its runs' processes with it.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killLeftovers();
    process.exit(130);
  });
}
process.on('exit', () => killLeftovers());

const log = options.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
log?.(`soak: ${options.runs} runs, seed ${options.seed}${options.only ? `, only ${options.only}` : ''}`);
const report = await runSoak({ runs: options.runs, seed: options.seed, only: options.only, keep: options.keep, log });
const json = JSON.stringify(report, null, 2);
if (options.out) writeFileSync(options.out, `${json}\n`);
process.stdout.write(`${json}\n`);
process.exit(report.violations.length > 0 ? 1 : 0);
