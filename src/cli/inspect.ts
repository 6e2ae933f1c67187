import type { AnyStateMachine } from 'xstate';
import { appMachine } from '../machines/app.js';
import { batchMachine } from '../machines/batch.js';
import { jobMachine } from '../machines/job.js';
import { stageMachine } from '../machines/stage.js';
import { UserError } from '../services/errors.js';
import { chartOf, toMermaid, toScxml } from '../services/statechart.js';

const MACHINES: Record<string, AnyStateMachine> = { app: appMachine, batch: batchMachine, job: jobMachine, stage: stageMachine };

export function inspectCommand(options: { format?: string; machine?: string }): number {
  const format = options.format ?? 'mermaid';
  const names = options.machine ? [options.machine] : Object.keys(MACHINES);
  for (const name of names) {
    if (!MACHINES[name]) throw new UserError(`unknown machine "${name}"`, { kind: 'usage', tryMessage: `one of ${Object.keys(MACHINES).join(', ')}` });
  }
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(Object.fromEntries(names.map((n) => [n, chartOf(MACHINES[n])])), null, 2)}\n`);
  } else if (format === 'mermaid') {
    process.stdout.write(names.map((n) => `%% ${n}\n${toMermaid(MACHINES[n])}\n`).join('\n'));
  } else if (format === 'scxml') {
    process.stdout.write(names.map((n) => `${toScxml(MACHINES[n])}\n`).join('\n'));
  } else {
    throw new UserError(`--format expects mermaid, scxml or json, got "${format}"`, { kind: 'usage', tryMessage: 'e.g. --format mermaid' });
  }
  return 0;
}
