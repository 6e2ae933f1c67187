import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { derivedOutput } from '../../src/cli/options.js';
import { resumeDir } from '../../src/services/checkpoints.js';
import { PACKAGE_ROOT } from '../../src/services/paths.js';
import { RUN_MARKER_ENV, type ProcessRole } from '../../src/services/supervisor.js';
import { probeMedia, type Clip } from './media.js';
import { planFlags, type Fault, type RunPlan } from './plan.js';
import { rng } from './prng.js';
import { isExiting, killMarked, markedProcesses, processState, signal, type MarkedProcess } from './procs.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'upframe.js');
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/** What every run shares: the clips, the model, where to work, how to mark processes. */
export interface SoakContext {
  readonly scratch: string;
  readonly clips: readonly Clip[];
  /** A fast ×2 model (`--model <file>`). */
  readonly model: string;
  /** Every run's marker starts with it, so the soak's safety net finds whatever any run left. */
  readonly markerPrefix: string;
  /** A run that takes longer is a hang: killed and reported. */
  readonly runTimeoutMs: number;
  /** Keep each run's folders (inputs are shared) instead of removing them. */
  readonly keep: boolean;
}

/** How the fault went: whether it reached the run, when, and at which child. */
export interface FaultRecord {
  landed: boolean;
  /** Date.now() when the (first) signal was sent. */
  sentAt?: number;
  /** ms from spawning the CLI to the (first) signal. */
  afterMs?: number;
  /** The `summary` event had already been read when the signal was sent: the run was over. */
  summaryBefore?: boolean;
  /** How many --json events had been read when the signal was sent (0: the CLI was still starting). */
  eventsBefore?: number;
  /** Every signal sent to the CLI itself, in order. */
  /** `caught`: upframe's handlers were in when it was sent (`upframeHandles`); Node's own start-up comes before them. */
  sends: { readonly signal: NodeJS.Signals; readonly afterMs: number; readonly eventsBefore: number; readonly summaryBefore: boolean; readonly caught: boolean }[];
  target?: { readonly pid: number; readonly role: string; readonly state: string };
  /** sigstop-sigint: whether the SIGINT followed (it does unless the CLI ended meanwhile). */
  interrupted?: boolean;
}

interface Invocation {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: Record<string, unknown>[];
  readonly badLines: string[];
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly fault: FaultRecord;
  /** Marked processes still alive 1 s after the CLI exited (then killed by the soak). */
  readonly leftovers: MarkedProcess[];
}

export interface RunReport {
  readonly seed: number;
  readonly fault: Fault;
  /** The command line after `upframe`, paths as they were. */
  readonly options: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly landed: boolean;
  readonly faultAfterMs?: number;
  readonly target?: { readonly pid: number; readonly role: string; readonly state: string };
  readonly durationMs: number;
  readonly problems: string[];
  readonly followUp?: { readonly exitCode: number | null; readonly durationMs: number };
}

/** A cancel's exit code is allowed to be 0 only when every job had committed before the signal (plus this much). */
const LATE_TOLERANCE_MS = 500;
const CANCEL_SIGNAL: Partial<Record<Fault, NodeJS.Signals>> = {
  sigint: 'SIGINT',
  'double-sigint': 'SIGINT',
  sigterm: 'SIGTERM',
  sighup: 'SIGHUP',
  'sigstop-sigint': 'SIGINT',
};
const CANCEL_CODE: Partial<Record<Fault, number>> = { sigint: 130, 'double-sigint': 130, sigterm: 130, 'sigstop-sigint': 130, sighup: 129 };
/** How a failure names each role (the message of the `job` event). */
const ROLE_WORDS: Record<ProcessRole, RegExp> = {
  ffprobe: /ffprobe/i,
  decode: /decod/i,
  encode: /encod/i,
  mux: /writing the output|\bmux/i,
  scenes: /scene/i,
  'upscale-host': /upscale host/i,
  'interpolate-host': /interpolat\w* host/i,
  'face-host': /face host/i,
  'device-check': /device check/i,
};
const ROLES = new Set<string>(Object.keys(ROLE_WORDS));
const STACK_TRACE = /\n\s+at \S/;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Item {
  readonly clip: Clip;
  readonly input: string;
  readonly output: string;
}

function itemsOf(plan: RunPlan, ctx: SoakContext, outDir: string): { items: Item[]; outArg: string } {
  const clips = plan.clips.map((i) => ctx.clips[i]);
  if (clips.length === 1) {
    const output = join(outDir, `out.${plan.container}`);
    return { items: [{ clip: clips[0], input: resolve(clips[0].path), output }], outArg: output };
  }
  return { items: clips.map((clip) => ({ clip, input: resolve(clip.path), output: resolve(derivedOutput(clip.path, outDir)) })), outArg: `${outDir}/` };
}

/**
 * Runs the CLI once in its own process group with a marker, drives the fault (if any) at its
 * moment, waits for the exit, then gives leftovers 1 s to go before it records and kills them.
 */
async function invoke(args: string[], marker: string, plan: RunPlan | undefined, timeoutMs: number): Promise<Invocation> {
  const startedAt = Date.now();
  // Under `setpriv --pdeathsig KILL` when there is one: should the soak die, its CLI dies with it (and
  // the CLI's children with the CLI), stopped children included.
  const [command, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  const child = spawn(command, argv, {
    env: { ...process.env, [RUN_MARKER_ENV]: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  const events: Record<string, unknown>[] = [];
  const badLines: string[] = [];
  let progressCount = 0;
  let summarySeen = false;
  let onEvent: () => void = () => undefined;
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line) continue;
      try {
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        if (event.type === 'progress') progressCount++;
        if (event.type === 'summary') summarySeen = true;
      } catch {
        badLines.push(line);
      }
      onEvent();
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((r) => child.once('exit', (code, sig) => ((exitInfo = { code, signal: sig }), r())));
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  const alive = () => exitInfo === undefined && child.exitCode === null && child.signalCode === null;
  /** Resolves true after `ms`, false as soon as the CLI exits. */
  const wait = (ms: number) => Promise.race([sleep(ms).then(() => alive()), exited.then(() => false)]);

  const fault: FaultRecord = { landed: false, sends: [] };
  const send = (sig: NodeJS.Signals): boolean => {
    if (!alive() || child.pid === undefined) return false;
    const caught = upframeHandles(child.pid);
    const ok = signal(child.pid, sig);
    if (ok) fault.sends.push({ signal: sig, afterMs: Date.now() - startedAt, eventsBefore: events.length, summaryBefore: summarySeen, caught });
    if (ok && fault.sentAt === undefined) {
      fault.sentAt = Date.now();
      fault.afterMs = fault.sentAt - startedAt;
      fault.summaryBefore = summarySeen;
      fault.eventsBefore = events.length;
    }
    return ok;
  };
  /** The run's live children that `accept` takes, polled every 5 ms until there is one or the CLI exits. */
  const findChildren = async (accept: (p: MarkedProcess) => boolean): Promise<MarkedProcess[]> => {
    while (alive()) {
      const found = markedProcesses((m) => m === marker).filter((p) => p.supervised && ROLES.has(p.role) && p.state !== 'T' && accept(p));
      if (found.length > 0) return found.sort((a, b) => a.pid - b.pid);
      if (!(await wait(5))) return [];
    }
    return [];
  };

  const drive = async (): Promise<void> => {
    if (!plan || plan.fault === 'none') return;
    const t = plan.trigger;
    if (t.kind === 'time') {
      if (!(await wait(Math.max(0, startedAt + t.ms - Date.now())))) return;
    } else {
      const reached = new Promise<void>((r) => {
        onEvent = () => progressCount >= t.count && r();
        onEvent();
      });
      const ok = await Promise.race([reached.then(() => true), exited.then(() => false)]);
      if (!ok || !(await wait(t.delayMs))) return;
    }
    switch (plan.fault) {
      case 'sigint':
      case 'sigterm':
      case 'sighup':
        fault.landed = send(CANCEL_SIGNAL[plan.fault]!);
        return;
      case 'double-sigint':
        fault.landed = send('SIGINT');
        if (fault.landed && (await wait(50))) send('SIGINT');
        return;
      case 'sigkill-child': {
        const [target] = await findChildren((p) => p.role === plan.role);
        if (!target) return;
        const state = processState(target.pid);
        // One already exiting ends with its own status whatever is sent: the kill would not land.
        if (state === '' || state === 'Z' || isExiting(target.pid) || !alive()) return;
        fault.landed = signal(target.pid, 'SIGKILL');
        if (fault.landed) {
          fault.sentAt = Date.now();
          fault.afterMs = fault.sentAt - startedAt;
          fault.summaryBefore = summarySeen;
          fault.target = { pid: target.pid, role: target.role, state };
        }
        return;
      }
      case 'sigstop-sigint': {
        const live = await findChildren(() => true);
        const target = live.length > 0 ? rng(plan.seed ^ 0x5f3759df).pick(live) : undefined;
        if (target) {
          const state = processState(target.pid);
          if (state !== '' && state !== 'Z' && signal(target.pid, 'SIGSTOP')) fault.target = { pid: target.pid, role: target.role, state };
          if (!(await wait(plan.stopMs ?? 100))) return;
        }
        fault.landed = send('SIGINT');
        fault.interrupted = fault.landed;
        return;
      }
    }
  };

  const driving = drive();
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
  const timedOut = (await Promise.race([exited.then(() => 'exit' as const), timer])) === 'timeout';
  if (timedOut) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
  await driving;
  await Promise.race([closed, sleep(2000)]);
  const durationMs = Date.now() - startedAt;
  const mine = (m: string) => m === marker;
  const deadline = Date.now() + 1000;
  let leftovers = markedProcesses(mine);
  while (leftovers.length > 0 && Date.now() < deadline) {
    await sleep(20);
    leftovers = markedProcesses(mine);
  }
  if (leftovers.length > 0) {
    killMarked(mine);
    for (let i = 0; i < 50 && markedProcesses(mine).length > 0; i++) await sleep(20);
  }
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is gone, as it should be
  }
  child.stdout!.destroy();
  child.stderr!.destroy();
  return { code: exitInfo!.code, signal: exitInfo!.signal, stdout, stderr, events, badLines, durationMs, timedOut, fault, leftovers };
}

type JobEvent = { id: string; input: string; output: string; status: string; error?: string };

/**
 * Whether upframe's own signal handlers are in (bin/upframe.js installs them first thing, SIGHUP with
 * SIGINT and SIGTERM): seen by SIGHUP in the process's SigCgt mask, as Node itself catches SIGINT and
 * SIGTERM from its own start (to restore the terminal, then die by them) and SIGHUP only for upframe.
 */
function upframeHandles(pid: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
    return mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(osConstants.signals.SIGHUP - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function jobEvents(events: Record<string, unknown>[]): JobEvent[] {
  return events.filter((e) => e.type === 'job') as unknown as JobEvent[];
}

/** When each job reached `committed` (Date.now() of the CLI), from the `state` events. */
function commitTimes(events: Record<string, unknown>[]): Map<string, number> {
  const times = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'state' && e.path === 'committed' && typeof e.actor === 'string' && e.actor.startsWith('job-')) times.set(e.actor.slice(4), Number(e.time));
  }
  return times;
}

/** The exit code and job outcomes against the contract, given how the fault went. */
function judgeOutcome(plan: RunPlan | undefined, inv: Invocation, items: Item[], problems: string[]): void {
  const jobs = jobEvents(inv.events);
  const statusOf = (item: Item) => jobs.filter((j) => j.input === item.input || j.output === item.output).at(-1)?.status;
  const allDone = items.every((item) => statusOf(item) === 'done');
  const fault: Fault = plan && inv.fault.landed ? plan.fault : 'none';
  const commits = commitTimes(inv.events);
  const committedBeforeFault =
    inv.fault.sentAt !== undefined && jobs.length === items.length && jobs.every((j) => (commits.get(j.id) ?? Infinity) <= inv.fault.sentAt! + LATE_TOLERANCE_MS);
  const finishedFirst = allDone && committedBeforeFault;

  if (inv.timedOut) {
    problems.push(`still running after ${Math.round(inv.durationMs / 1000)} s: hung (killed by the soak)`);
    return;
  }
  if (inv.signal) {
    // Killed by a signal it was sent (the last one of that kind, when there were two): acceptable
    // only where a shell sees what the contract says and nothing could be left undone: the CLI was
    // still starting (nothing printed, so nothing started; 128 + SIGINT = 130, 128 + SIGHUP = 129,
    // not SIGTERM's 143, unless upframe's handlers were not in yet: Node's own start-up and the
    // loading of bin/upframe.js, some 55 ms here, end by the signal), or the run was over (the
    // summary was out) and ended as the signal says.
    const killer = inv.fault.sends.filter((s) => s.signal === inv.signal).at(-1);
    const shell = 128 + (osConstants.signals[inv.signal] ?? 0);
    const expected = CANCEL_CODE[fault] ?? 0;
    const summary = inv.events.find((e) => e.type === 'summary');
    const starting = killer !== undefined && killer.eventsBefore === 0 && inv.events.length === 0;
    const over = killer !== undefined && killer.summaryBefore && ((allDone && committedBeforeFault) || summary?.exitCode === shell);
    if (!killer || !((starting && (shell === expected || !killer.caught)) || over)) {
      const sends = inv.fault.sends.map((s) => `${s.signal} at ${s.afterMs} ms (${s.eventsBefore} events read${s.summaryBefore ? ', summary read' : ''}${s.caught ? '' : ', not caught yet'})`).join(', ');
      const when = starting ? 'while it was starting (nothing printed yet)' : summary ? 'after its summary' : 'before its summary';
      problems.push(`the CLI was killed by ${inv.signal} ${when} instead of exiting ${expected} (a shell sees ${shell}); sent: ${sends || 'nothing'}`);
    }
    return;
  }
  const code = inv.code;
  const failed = jobs.filter((j) => j.status === 'failed');
  const where = (j: JobEvent) => `${basename(j.input)}: ${j.error ?? '(no message)'}`;
  if (fault === 'none') {
    if (code !== 0) problems.push(`exit ${code}, expected 0 (${plan && plan.fault !== 'none' ? `the ${plan.fault} did not reach the run` : 'no fault'})${failed.length ? `; failed: ${failed.map(where).join(' | ')}` : ''}`);
  } else if (fault === 'sigkill-child') {
    const role = inv.fault.target?.role as ProcessRole;
    if (code !== 1) problems.push(`exit ${code} after SIGKILL of the ${role} (pid ${inv.fault.target?.pid}, ${inv.fault.afterMs} ms in), expected 1`);
    if (code === 1 || code === 2) {
      if (failed.length !== 1) problems.push(`${failed.length} jobs failed after one child was killed: ${failed.map(where).join(' | ')}`);
      for (const j of failed) {
        const message = j.error ?? '';
        if (!/SIGKILL/.test(message) || !ROLE_WORDS[role]?.test(message) || message.includes('\n')) {
          problems.push(`the failure does not say in one line that the ${role} was killed by SIGKILL: ${JSON.stringify(message)}`);
        }
      }
      for (const item of items) {
        const status = statusOf(item);
        if (status !== 'done' && status !== 'failed') problems.push(`${basename(item.input)} ended ${status ?? 'without a job event'} in a run that was not cancelled`);
      }
    }
  } else {
    const expected = CANCEL_CODE[fault]!;
    if (code === 0) {
      if (!finishedFirst) problems.push(`exit 0 after ${fault} sent ${inv.fault.afterMs} ms in, expected ${expected} (not every job had committed by then)`);
    } else if (code !== expected) {
      problems.push(`exit ${code} after ${fault} (${inv.fault.afterMs} ms in), expected ${expected}${failed.length ? `; failed: ${failed.map(where).join(' | ')}` : ''}`);
    } else if (failed.length > 0) {
      problems.push(`a cancel made jobs fail: ${failed.map(where).join(' | ')}`);
    }
  }
  if (code === 0 && !allDone) problems.push(`exit 0 but not every job is done: ${items.map((i) => `${basename(i.input)} ${statusOf(i) ?? 'no job event'}`).join(', ')}`);
  // A signal that lands while the CLI is still loading finds nothing started: it exits with the
  // cancel's code at once and prints nothing (bin/upframe.js), so no job event is owed.
  const exitedWhileStarting = code !== null && code === CANCEL_CODE[fault] && inv.events.length === 0 && inv.stdout.trim() === '';
  if (code !== null && !exitedWhileStarting) {
    for (const item of items) {
      if (jobs.filter((j) => j.input === item.input).length !== 1) problems.push(`${jobs.filter((j) => j.input === item.input).length} job events for ${basename(item.input)}, expected 1`);
    }
  }
}

function checkOutputs(inv: Invocation, items: Item[], outDir: string, interpolate: boolean, problems: string[]): void {
  const jobs = jobEvents(inv.events);
  const expected = new Set(items.map((i) => basename(i.output)));
  for (const name of existsSync(outDir) ? readdirSync(outDir) : []) {
    if (!expected.has(name)) problems.push(`${name.includes('upframe-partial') ? 'partial file' : 'stray file'} left in the output folder: ${name}`);
  }
  for (const item of items) {
    const status = jobs.filter((j) => j.input === item.input).at(-1)?.status;
    const present = existsSync(item.output);
    if (status === 'done' && !present) problems.push(`${basename(item.input)} is done but ${basename(item.output)} is missing`);
    if (status !== undefined && status !== 'done' && present) problems.push(`${basename(item.input)} ended ${status} but its output ${basename(item.output)} exists`);
    if (!present) continue;
    const frames = item.clip.frames * (interpolate ? 2 : 1);
    const probed = probeMedia(item.output);
    if (!probed.ok) {
      problems.push(`output ${basename(item.output)} does not decode: ${probed.error}`);
      continue;
    }
    if (probed.frames !== frames) problems.push(`output ${basename(item.output)} has ${probed.frames} frames, planned ${frames}`);
    if (probed.width !== item.clip.width * 2 || probed.height !== item.clip.height * 2) {
      problems.push(`output ${basename(item.output)} is ${probed.width}x${probed.height}, planned ${item.clip.width * 2}x${item.clip.height * 2}`);
    }
    if (item.clip.audio && !probed.audio) problems.push(`output ${basename(item.output)} lost the input's audio`);
  }
}

/**
 * Temp root: empty, or (with --resume, after a run that did not finish) verified resume folders
 * only, each one of an item whose output is not in place (the folder goes with the commit).
 */
function checkTemp(tempRoot: string, resumeAllowed: boolean, items: Item[], problems: string[]): string[] {
  const kept: string[] = [];
  const owners = new Map(items.map((item) => [basename(resumeDir(tempRoot, item.input, item.output)), item]));
  for (const name of existsSync(tempRoot) ? readdirSync(tempRoot) : []) {
    const path = join(tempRoot, name);
    if (!(resumeAllowed && name.startsWith('resume-') && statSync(path).isDirectory())) {
      problems.push(`left in the temp dir: ${name}${statSync(path).isDirectory() ? `/ (${readdirSync(path).join(', ') || 'empty'})` : ''}`);
      continue;
    }
    const owner = owners.get(name);
    if (!owner) problems.push(`resume folder ${name} belongs to no item of the run`);
    else if (existsSync(owner.output)) problems.push(`resume folder ${name} kept although ${basename(owner.output)} is in place`);
    kept.push(name);
    let manifest: { segments?: Record<string, { frames?: number }> } | undefined;
    try {
      manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as typeof manifest;
    } catch {
      // judged below only through the segment files
    }
    for (const file of readdirSync(path)) {
      if (file.endsWith('.part')) problems.push(`unfinished file in ${name}: ${file}`);
      const match = /^segment-(\d+)\.nut$/.exec(file);
      if (!match) continue;
      const probed = probeMedia(join(path, file));
      if (!probed.ok || probed.frames === 0) {
        problems.push(`kept segment ${name}/${file} is not complete: ${probed.ok ? '0 frames' : probed.error}`);
        continue;
      }
      const recorded = manifest?.segments?.[String(Number(match[1]))]?.frames ?? manifest?.segments?.[match[1]]?.frames;
      if (recorded !== undefined && recorded !== probed.frames) problems.push(`kept segment ${name}/${file} has ${probed.frames} frames, its manifest says ${recorded}`);
    }
  }
  return kept;
}

function checkStreams(inv: Invocation, problems: string[]): void {
  if (STACK_TRACE.test(`\n${inv.stderr}`)) problems.push(`stack trace on stderr: ${inv.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
  if (inv.badLines.length > 0) problems.push(`stdout is not NDJSON: ${JSON.stringify(inv.badLines[0].slice(0, 120))}`);
  for (const p of inv.leftovers) problems.push(`still running 1 s after the exit: ${p.role} pid ${p.pid} (state ${p.state}) ${p.cmdline.slice(0, 100)}`);
}

/** One planned run: the CLI hit by its fault, then every check; with a follow-up, the resumed run too. */
export async function executeRun(plan: RunPlan, ctx: SoakContext, index: number): Promise<RunReport> {
  const dir = join(ctx.scratch, `run-${index}-${plan.seed}`);
  const tempRoot = join(dir, 'tmp');
  const outDir = join(dir, 'out');
  mkdirSync(tempRoot, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const { items, outArg } = itemsOf(plan, ctx, outDir);
  const args = ['run', ...items.map((i) => i.input), '-o', outArg, '--model', ctx.model, '--device', 'cpu', '--json', '--temp-dir', tempRoot, ...planFlags(plan)];
  const options = [...args.slice(1).map((a) => a.replace(ctx.scratch, '$SOAK'))].join(' ');
  const problems: string[] = [];
  const marker = `${ctx.markerPrefix}${index}-${plan.seed}`;
  let inv: Invocation | undefined;
  let followUp: RunReport['followUp'];
  try {
    inv = await invoke(args, marker, plan, ctx.runTimeoutMs);
    judgeOutcome(plan, inv, items, problems);
    checkStreams(inv, problems);
    checkOutputs(inv, items, outDir, plan.interpolate, problems);
    const kept = checkTemp(tempRoot, plan.resume && inv.code !== 0, items, problems);
    const rest = items.filter((item) => !existsSync(item.output));
    if (plan.followUp && kept.length > 0 && rest.length > 0 && problems.length === 0) {
      // What was kept must serve: the same command for the items not done, no fault, completes them.
      const againArgs = ['run', ...rest.map((i) => i.input), ...args.slice(1 + items.length)];
      const again = await invoke(againArgs, `${marker}-again`, undefined, ctx.runTimeoutMs);
      const later: string[] = [];
      judgeOutcome(undefined, again, rest, later);
      checkStreams(again, later);
      checkOutputs(again, items, outDir, plan.interpolate, later);
      checkTemp(tempRoot, false, items, later);
      problems.push(...later.map((p) => `resumed run: ${p}`));
      followUp = { exitCode: again.code, durationMs: again.durationMs };
    }
  } catch (error) {
    problems.push(`the soak itself failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  } finally {
    killMarked((m) => m.startsWith(marker));
    if (!ctx.keep) rmSync(dir, { recursive: true, force: true });
  }
  return {
    seed: plan.seed,
    fault: plan.fault,
    options,
    exitCode: inv?.code ?? null,
    signal: inv?.signal ?? null,
    landed: inv?.fault.landed ?? false,
    ...(inv?.fault.afterMs !== undefined ? { faultAfterMs: inv.fault.afterMs } : {}),
    ...(inv?.fault.target ? { target: inv.fault.target } : {}),
    durationMs: inv?.durationMs ?? 0,
    problems,
    ...(followUp ? { followUp } : {}),
  };
}
