import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_MARKER_ENV } from '../../src/services/supervisor.js';
import { scratchDir } from '../helpers/app.js';
import { BIN } from '../helpers/cli.js';
import { jobDirs, markedProcesses, partialFiles, waitUntil } from '../helpers/invariants.js';
import { makeClip } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-tmux-tmp-'), 'tmp');
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 2 });
const slow = slowModel(dir);
const fast = nearestModel(dir);
const session = `upframe-e2e-${process.pid}`;
const marker = `upframe-tmux-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-t', session);
}

async function see(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const seen = await waitUntil(() => pattern.test(screen()), timeoutMs, 50);
  const text = screen();
  if (!seen) throw new Error(`never saw ${pattern} on screen:\n${text}`);
  return text;
}

/** One key at a time, as a person types: keys sent together reach the app as one chunk. */
async function press(...keys: string[]): Promise<void> {
  for (const key of keys) {
    tmux('send-keys', '-t', session, key);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function typeText(text: string): Promise<void> {
  tmux('send-keys', '-t', session, '-l', '--', text);
  await new Promise((r) => setTimeout(r, 25));
}

async function replaceField(tabs: number, text: string): Promise<void> {
  await press(...Array<string>(tabs).fill('Tab'), 'C-u');
  await typeText(text);
}

function describeProcesses(pids: number[]): string {
  return pids.map((pid) => {
    try {
      return `${pid}: ${execFileSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'latin1' }).replace(/\0/g, ' ')}`;
    } catch {
      return `${pid}: gone`;
    }
  }).join('\n');
}

function orchestratorPid(): number {
  return Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
}

function childrenOfRun(): number[] {
  return markedProcesses(marker);
}

afterAll(() => {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    // already gone: the last test quits the app
  }
});

describe('the TUI in a real terminal (tmux)', () => {
  const output = join(dir, 'out.mp4');

  it('starts, cancels with c, and is back at a ready idle form with nothing left', async () => {
    const command = [
      // Ink draws only the last frame when it sees CI set: a person's terminal has no CI variable.
      'exec', 'env', '-u', 'CI', `${RUN_MARKER_ENV}=${marker}`, process.execPath, BIN, 'tui', clip, '-o', output, '--model', slow, '--temp-dir', tempRoot,
    ].map((part) => `'${part}'`).join(' ');
    tmux('new-session', '-d', '-s', session, '-x', '110', '-y', '32', command);
    const idle = await see(/Enter Start/);
    expect(idle).toMatch(/\[ Start \]/);
    expect(idle).not.toMatch(/Cancel/);

    await press('Enter');
    const running = await see(/c Cancel/);
    expect(running).toMatch(/\[ Start \] \(running\)/);
    expect(running).not.toMatch(/Enter Start/);
    await see(/stage upscale/);
    expect(await waitUntil(() => childrenOfRun().length >= 1, 10_000)).toBe(true);

    const before = Date.now();
    await press('c');
    const after = await see(/Last run: cancelled/, 5000);
    expect(Date.now() - before).toBeLessThan(3000);
    expect(after).toMatch(/\[ Start \]/);
    expect(after).not.toMatch(/\(running\)|Cancel \(c\)|c Cancel/);
    expect(after).toMatch(/Enter Start/);
    expect(describeProcesses(childrenOfRun())).toBe('');
    expect(jobDirs(tempRoot)).toEqual([]);
    expect(partialFiles(output)).toEqual([]);
    expect(existsSync(output)).toBe(false);
  });

  it('runs again from the same form to done', async () => {
    // Tab to the model field (input → output → scale → model) and replace the slow model with a fast one.
    await replaceField(3, fast);
    await see(new RegExp(`Model\\s+${fast.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    await press('Enter');
    const done = await see(/Last run: done/, 30_000);
    expect(done).toMatch(/\[ Start \]/);
    expect(existsSync(output)).toBe(true);
    expect(childrenOfRun()).toEqual([]);
  });

  it('q while running cancels first, then quits', async () => {
    // Focus is still on the model field.
    await replaceField(0, slow);
    // The output exists now: write elsewhere (model → device → input → output).
    await replaceField(3, join(dir, 'out.again.mp4'));
    await press('Enter');
    await see(/stage upscale/);
    const pid = orchestratorPid();
    await press('q');
    const alive = (target: number): boolean => {
      try {
        process.kill(target, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(pid).toBeGreaterThan(0);
    const gone = await waitUntil(() => markedProcesses(marker).length === 0 && !alive(pid), 5000);
    expect(gone).toBe(true);
    expect(markedProcesses(marker)).toEqual([]);
    expect(jobDirs(tempRoot)).toEqual([]);
  });
});
