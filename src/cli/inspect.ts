import type { AnyStateMachine } from 'xstate';
import { appMachine } from '../machines/app.js';
import { batchMachine } from '../machines/batch.js';
import { jobMachine } from '../machines/job.js';
import { stageMachine } from '../machines/stage.js';
import { UserError } from '../services/errors.js';
import { chartOf, toDot, toMermaid, toScxml } from '../services/statechart.js';

const MACHINES: Record<string, AnyStateMachine> = { app: appMachine, batch: batchMachine, job: jobMachine, stage: stageMachine };

/** One document per machine; JSON is one object keyed by machine name. */
const WRITERS: Record<string, (names: readonly string[]) => string> = {
  mermaid: (names) => names.map((n) => `%% ${n}\n${toMermaid(MACHINES[n])}\n`).join('\n'),
  dot: (names) => names.map((n) => `// ${n}\n${toDot(MACHINES[n])}\n`).join('\n'),
  scxml: (names) => names.map((n) => `${toScxml(MACHINES[n])}\n`).join('\n'),
  json: (names) => `${JSON.stringify(Object.fromEntries(names.map((n) => [n, chartOf(MACHINES[n])])), null, 2)}\n`,
};

const INSPECT_FORMATS = Object.keys(WRITERS);

export function inspectCommand(options: { format?: string; machine?: string }): number {
  const format = options.format ?? 'mermaid';
  const names = options.machine ? [options.machine] : Object.keys(MACHINES);
  for (const name of names) {
    if (!MACHINES[name]) throw new UserError(`unknown machine "${name}"`, { kind: 'usage', tryMessage: `one of ${Object.keys(MACHINES).join(', ')}` });
  }
  const write = WRITERS[format];
  if (!write) throw new UserError(`--format expects ${INSPECT_FORMATS.join(', ')}, got "${format}"`, { kind: 'usage', tryMessage: 'e.g. --format mermaid' });
  process.stdout.write(write(names));
  return 0;
}
