import type { liveAppMachine } from '../app.js';
import type { StartRequest } from '../domain.js';
import { resolveDeviceUpFront } from '../services/gpu.js';
import { startRequest, type RunFlags } from './options.js';
import { sessionExitCode } from './outcome.js';
import { jsonReporter, plainReporter } from './reporters.js';
import { openSession, untilRunEnds } from './session.js';

export type FrontEnd = 'tui' | 'plain' | 'json';

export function pickFrontEnd(flags: { json?: boolean }): FrontEnd {
  if (flags.json) return 'json';
  return process.stdout.isTTY && process.stdin.isTTY ? 'tui' : 'plain';
}

/** One-shot run without the TUI: plain lines or NDJSON; resolves to the exit code. `machine`: another app machine (a queued run, a worker). */
export async function runHeadless(request: StartRequest, front: 'plain' | 'json', trace?: string, inspect = false, machine?: typeof liveAppMachine): Promise<number> {
  const session = openSession({ trace, handleSignals: true, machine });
  const reporter = front === 'json' ? jsonReporter(session.actor) : plainReporter(session.actor);
  session.onTransition(reporter.transition);
  if (inspect) session.onTransition((t) => process.stderr.write(`[inspect] ${t.actor}: ${t.from ?? '∅'} → ${t.to} (${t.event})\n`));
  session.actor.start();
  session.actor.send({ type: 'app.start', request });
  await untilRunEnds(session.actor);
  reporter.finish();
  const code = sessionExitCode(session.actor.getSnapshot().context.lastResult, session.interruption());
  session.actor.stop();
  session.close();
  return code;
}

export async function runCommand(inputs: string[], flags: RunFlags): Promise<number> {
  const request = startRequest(inputs, flags);
  // A GPU device that cannot start is a usage error before anything is created.
  await resolveDeviceUpFront(request.options.device);
  const front = pickFrontEnd(flags);
  if (front === 'tui') {
    const { runTui } = await import('./tui.js');
    return runTui({ request, trace: flags.trace, inspect: flags.inspect, start: true, exitOnIdle: true });
  }
  return runHeadless(request, front, flags.trace, flags.inspect);
}
