import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_MARKER_ENV } from '../../src/services/supervisor.js';
import { scratchDir } from '../helpers/app.js';
import { BIN } from '../helpers/cli.js';
import { jobDirs, markedProcesses, partialFiles, processState, waitUntil } from '../helpers/invariants.js';
import { makeClip } from '../helpers/media.js';
import { nearestModel, slowModel } from '../helpers/models.js';
import { paneBox } from '../../src/cli/tui-previews.js';
import { fitSize } from '../../src/tui/picture.js';

const dir = scratchDir();
const tempRoot = join(scratchDir('upframe-tmux-tmp-'), 'tmp');
const clip = makeClip(dir, 'clip.mp4', { size: '64x48', seconds: 2 });
const slow = slowModel(dir);
const fast = nearestModel(dir);
const session = `upframe-e2e-${process.pid}`;
const marker = `upframe-tmux-${process.pid}`;

/**
 * A tmux server of this file's own, kept up between sessions: on the shared default server, a
 * session started while the server exits after the last one ended fails ('server exited unexpectedly').
 */
const SOCKET = `upframe-e2e-${process.pid}`;
execFileSync('tmux', ['-L', SOCKET, 'start-server', ';', 'set-option', '-g', 'exit-empty', 'off']);
const socketPath = execFileSync('tmux', ['-L', SOCKET, 'display-message', '-p', '#{socket_path}'], { encoding: 'utf8' }).trim();
afterAll(() => {
  execFileSync('tmux', ['-L', SOCKET, 'kill-server'], { stdio: 'ignore' });
  rmSync(socketPath, { force: true });
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
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

function focusedLine(): string {
  return screen().split('\n').find((line) => line.startsWith('› ')) ?? '';
}

/**
 * Tabs to the field and replaces its text, each key seen on screen before the next is sent: keys
 * that reach the app in one read are one chunk, and a Tab or Ctrl-U glued to other keys is no key.
 */
async function replaceField(label: string, text: string): Promise<void> {
  for (let stop = 0; stop < 6 && !focusedLine().startsWith(`› ${label} `); stop++) {
    const before = focusedLine();
    await press('Tab');
    expect(await waitUntil(() => focusedLine() !== before, 5000)).toBe(true);
  }
  expect(focusedLine()).toMatch(new RegExp(`^› ${label} `));
  await press('C-u');
  await see(new RegExp(`^› ${label} +▏$`, 'm'));
  await typeText(text);
  await see(new RegExp(`^› ${label} +${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}▏$`, 'm'));
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
    execFileSync('tmux', ['-L', SOCKET, 'kill-session', '-t', session], { stdio: 'ignore' });
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

    // The statechart panel: the job's states with the active one marked, the way out that c takes.
    await press('i');
    const chart = await see(/└ active +probing +detecting +▶processing/);
    expect(chart).toMatch(/^job +▶active +committed +cancelling/m);
    expect(chart).toMatch(/▶ processing Segment by segment/);
    expect(chart).toMatch(/c\/Esc\/s job\.cancel → cancelling/);
    expect(chart).toMatch(/^stage upscale +▶active/m);

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
    // Replace the slow model with a fast one.
    await replaceField('Model', fast);
    await see(new RegExp(`Model\\s+${fast.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    await press('Enter');
    const done = await see(/Last run: done/, 30_000);
    expect(done).toMatch(/\[ Start \]/);
    expect(existsSync(output)).toBe(true);
    expect(childrenOfRun()).toEqual([]);
  });

  it('q while running cancels first, then quits', async () => {
    await replaceField('Model', slow);
    // The output exists now: write elsewhere.
    await replaceField('Output', join(dir, 'out.again.mp4'));
    await press('Enter');
    await see(/stage upscale/);
    const pid = orchestratorPid();
    await press('q');
    // A zombie has exited: its reaping is tmux's business (a server kept up reaps it lazily).
    const alive = (target: number): boolean => {
      const state = processState(target);
      return state !== undefined && state !== 'Z';
    };
    expect(pid).toBeGreaterThan(0);
    const gone = await waitUntil(() => markedProcesses(marker).length === 0 && !alive(pid), 5000);
    expect(gone).toBe(true);
    expect(markedProcesses(marker)).toEqual([]);
    expect(jobDirs(tempRoot)).toEqual([]);
  });

  it('q on the Start button quits with exit code 0; in a text field it is a letter', async () => {
    const codeFile = join(dir, 'tui-exit-code');
    try {
      execFileSync('tmux', ['-L', SOCKET, 'kill-session', '-t', session], { stdio: 'ignore' });
    } catch {
      // gone with the app the last test quit
    }
    const command = ['env', '-u', 'CI', process.execPath, BIN, 'tui', '--temp-dir', tempRoot].map((part) => `'${part}'`).join(' ');
    tmux('new-session', '-d', '-s', session, '-x', '110', '-y', '32', `${command}; echo $? > '${codeFile}'`);
    await see(/Enter Start/);
    await press('q');
    await see(/Input +q/);
    // Shift-Tab from the first field wraps round to the Start button.
    await press('BTab');
    const onStart = await see(/› \[ Start \]/);
    expect(onStart).toMatch(/q\/Esc quit/);
    await press('q');
    expect(await waitUntil(() => existsSync(codeFile), 10_000)).toBe(true);
    expect(readFileSync(codeFile, 'utf8').trim()).toBe('0');
  });
});

describe('the preview pane (v) in a real terminal (tmux)', () => {
  const pane = `${session}-pane`;
  const paneMarker = `${marker}-pane`;
  // 4 fps: a picture every 2 frames; the model takes about a second a frame, so pictures keep coming.
  const slowClip = makeClip(dir, 'slow4.mp4', { size: '64x48', seconds: 30, rate: '4' });
  const steadyModel = slowModel(dir, 60);
  const paneScreen = (colours = false): string => tmux('capture-pane', '-p', ...(colours ? ['-e'] : []), '-t', pane);
  const pictureRows = (text: string): string[] => text.split('\n').filter((line) => line.includes('▀'));
  // Ink erases its last frame and writes the next top to bottom, the key bar last: a capture taken
  // while tmux takes in a frame of pictures (tens of KB of colour) shows its top half. A frame is
  // whole when its key bar (it ends in "quit", running or idle) is on screen.
  const wholePaneScreen = (colours = false): string | undefined => {
    const screen = paneScreen(colours);
    return /quit/.test(screen) ? screen : undefined;
  };
  const seeOnPane = async (pattern: RegExp, timeoutMs = 30_000): Promise<string> => {
    let matched: string | undefined;
    const seen = await waitUntil(() => {
      const screen = wholePaneScreen();
      if (screen !== undefined && pattern.test(screen)) matched = screen;
      return matched !== undefined;
    }, timeoutMs, 50);
    if (!seen) throw new Error(`never saw ${pattern} on screen:\n${paneScreen()}`);
    return matched!;
  };

  afterAll(() => {
    try {
      execFileSync('tmux', ['-L', SOCKET, 'kill-session', '-t', pane], { stdio: 'ignore' });
    } catch {
      // gone
    }
  });

  it('v shows source and output as half-block rows of the right size within 2 s, they change while the job runs, v closes them', async () => {
    const command = [
      'exec', 'env', '-u', 'CI', '-u', 'NO_COLOR', `${RUN_MARKER_ENV}=${paneMarker}`, process.execPath, BIN, 'tui', slowClip, '-o', join(dir, 'pane.mp4'),
      '--model', steadyModel, '--temp-dir', tempRoot, '--start',
    ].map((part) => `'${part}'`).join(' ');
    tmux('new-session', '-d', '-s', pane, '-x', '110', '-y', '32', command);
    await seeOnPane(/frames [1-9]\d*\/120/);
    await new Promise((r) => setTimeout(r, 200));
    const opened = Date.now();
    tmux('send-keys', '-t', pane, 'v');
    const shown = await seeOnPane(/▀/, 2000);
    expect(Date.now() - opened).toBeLessThan(2000);
    // 110 columns: each picture in 54 cells by 16 rows; 64×48 (and its ×2 output) fits as 42×32 pixels: 16 rows of 42.
    const { maxWidth, maxRows } = paneBox(110, 32);
    const size = fitSize(64, 48, maxWidth, maxRows * 2);
    const rows = pictureRows(shown);
    expect(rows).toHaveLength(Math.ceil(size.height / 2));
    for (const row of rows) expect(row).toMatch(new RegExp(`^▀{${size.width}}  ▀{${size.width}}\\s*$`));
    expect(shown).toMatch(/source · frame \d+ +output · frame \d+/);
    expect(shown).toMatch(/v preview/);

    // With colours (-e): the pictures' cells differ by colour only.
    let whole: string | undefined;
    expect(await waitUntil(() => (whole = wholePaneScreen(true)) !== undefined, 2000)).toBe(true);
    const first = pictureRows(whole!).join('\n');
    const changed = await waitUntil(() => {
      const screen = wholePaneScreen(true);
      return screen !== undefined && pictureRows(screen).join('\n') !== first;
    }, 20_000, 200);
    expect(changed).toBe(true);
    expect(await waitUntil(() => /c Cancel/.test(wholePaneScreen() ?? ''), 2000)).toBe(true);

    tmux('send-keys', '-t', pane, 'v');
    expect(await waitUntil(() => pictureRows(paneScreen()).length === 0, 2000)).toBe(true);
    expect(await waitUntil(() => /c Cancel/.test(paneScreen()), 2000)).toBe(true);
  });

  it('cancel with the pane open: as fast and clean as without it', async () => {
    tmux('send-keys', '-t', pane, 'v');
    await seeOnPane(/▀/, 2000);
    const before = Date.now();
    tmux('send-keys', '-t', pane, 'c');
    const after = await seeOnPane(/Last run: cancelled/, 5000);
    expect(Date.now() - before).toBeLessThan(3000);
    expect(pictureRows(after)).toEqual([]);
    expect(after).toMatch(/Enter Start/);
    expect(describeProcesses(markedProcesses(paneMarker))).toBe('');
    expect(jobDirs(tempRoot)).toEqual([]);
    expect(partialFiles(join(dir, 'pane.mp4'))).toEqual([]);
    tmux('send-keys', '-t', pane, 'Escape');
  });
});
