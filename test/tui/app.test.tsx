import { afterEach, describe, expect, test } from 'vitest';
import { waitFor } from 'xstate';
import { KEYS, keyBar, mount, type Mounted, type MountOptions } from './harness.js';
import { FORM, flush } from './stub-app.js';

const mounted: Mounted[] = [];
async function open(options?: MountOptions): Promise<Mounted> {
  const ui = await mount(options);
  mounted.push(ui);
  return ui;
}
afterEach(() => {
  for (const ui of mounted.splice(0)) ui.unmount();
});

/** Idle as the architecture states it: the form, Start enabled, Cancel hidden. */
function expectIdleView(frame: string): void {
  for (const label of ['Input', 'Output', 'Scale', 'Model', 'Device']) expect(frame).toContain(label);
  expect(frame).toMatch(/\[ Start \](?! \(running\))/);
  expect(frame).not.toContain('(running)');
  expect(frame).not.toContain('Cancel');
  expect(keyBar(frame)).toContain('Enter Start');
  expect(keyBar(frame)).not.toContain('c Cancel');
}

function expectRunningView(frame: string): void {
  expect(frame).toContain('[ Start ] (running)');
  expect(frame).toContain('Cancel (c)');
  expect(frame).not.toContain('Input  ');
  expect(keyBar(frame)).toContain('c Cancel');
  expect(keyBar(frame)).not.toContain('Enter Start');
}

describe('idle', () => {
  test('shows the form with Start enabled, no Cancel, and only the idle keys', async () => {
    const ui = await open();
    const frame = ui.frame();
    expectIdleView(frame);
    expect(frame).toContain('clip.mp4');
    expect(frame).toContain('out.mp4');
    expect(frame).not.toContain('Last run');
    expect(keyBar(frame)).toContain('Esc/Ctrl-C quit');
    expect(keyBar(frame)).not.toMatch(/\bs Skip\b|\bp Pause/);
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
  });

  test('typing edits the focused field; Tab, Shift-Tab and arrows move focus; ←/→ cycle a choice', async () => {
    const ui = await open();
    await ui.press(KEYS.backspace, KEYS.backspace, KEYS.backspace, 'm', 'k', 'v');
    await ui.waitFor('clip.mkv');
    await ui.press(KEYS.tab, 'x');
    await ui.waitFor('out.mp4x');
    await ui.press(KEYS.down);
    expect(keyBar(await ui.waitFor('←/→ change'))).toContain('←/→ change');
    await ui.press(KEYS.left);
    await ui.waitFor(/Scale\s+‹ 2 ›/);
    await ui.press(KEYS.shiftTab, KEYS.backspace, KEYS.up, 'a');
    await ui.waitFor('clip.mkva');
    await ui.waitFor(/Output\s+out\.mp4$/m);
    // Up from the first field wraps to the last stop, the Start button, then to device.
    await ui.press(KEYS.up);
    expect(keyBar(await ui.waitFor('› [ Start ]'))).toBe('Enter Start  Tab next field  q/Esc quit');
    await ui.press(KEYS.up, KEYS.left);
    await ui.waitFor(/Device\s+‹ cuda ›/);
    await ui.press(KEYS.enter);
    expect(ui.requests.at(-1)).toEqual({ input: 'clip.mkva', output: 'out.mp4', scale: '2', model: 'realesr-general-x4v3', device: 'cuda' });
    await ui.waitFor('Cancel (c)');
  });

  test('keys that arrive before a re-render build on each other', async () => {
    const ui = await open();
    ui.write('a');
    ui.write('b');
    ui.write(KEYS.backspace);
    ui.write('c');
    ui.write(KEYS.tab);
    ui.write('d');
    ui.write(KEYS.enter);
    await ui.waitFor('Cancel (c)');
    expect(ui.requests).toEqual([{ ...FORM, input: 'clip.mp4ac', output: 'out.mp4d' }]);
  });

  test('makeRequest returning an error shows it on one line and stays idle', async () => {
    const ui = await open({ form: { input: '', output: 'out.mp4', scale: '4', model: 'm', device: 'auto' } });
    await ui.press(KEYS.enter);
    const frame = await ui.waitFor('Input: give a video file');
    expectIdleView(frame);
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
    expect(ui.actor.getSnapshot().context.runCount).toBe(0);
    // Editing clears the error; a valid form then starts.
    await ui.press('a.mp4');
    expect(await ui.waitFor(/Input\s+a\.mp4/)).not.toContain('give a video file');
    await ui.press(KEYS.enter);
    await ui.waitFor('Cancel (c)');
  });

  test('a makeRequest that throws is shown as an error too', async () => {
    const ui = await open({
      makeRequest: () => {
        throw new Error('model not found: foo');
      },
    });
    await ui.press(KEYS.enter);
    await ui.waitFor('model not found: foo');
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
  });

  test('c in idle is text for the focused field; app.cancel in idle is a no-op', async () => {
    const ui = await open();
    await ui.press('c', 'p', 's', 'q', 'l', 'i');
    await ui.waitFor('clip.mp4cpsqli');
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
    ui.actor.send({ type: 'app.cancel' });
    await flush();
    expect(ui.actor.getSnapshot().status).toBe('active');
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
    expectIdleView(ui.frame());
    expect(ui.onExit).not.toHaveBeenCalled();
  });

  test('Tab reaches the Start button; Enter there starts', async () => {
    const ui = await open();
    await ui.press(KEYS.tab, KEYS.tab, KEYS.tab, KEYS.tab, KEYS.tab);
    expect(keyBar(await ui.waitFor('› [ Start ]'))).toContain('q/Esc quit');
    await ui.press('x', KEYS.backspace);
    expect(ui.requests).toEqual([]);
    await ui.press(KEYS.enter);
    await ui.waitFor('Cancel (c)');
    expect(ui.requests).toEqual([FORM]);
  });

  test('q on the Start button quits: the actor reaches quit and onExit is called', async () => {
    const ui = await open();
    await ui.press(KEYS.shiftTab);
    await ui.waitFor('› [ Start ]');
    await ui.press('q');
    await waitFor(ui.actor, (s) => s.status === 'done', { timeout: 1000 });
    await ui.waitFor(() => ui.onExit.mock.calls.length === 1);
    expect(ui.actor.getSnapshot().value).toBe('quit');
    expect(ui.actor.getSnapshot().context.runCount).toBe(0);
  });

  test('q on a choice field quits; in a text field it is a letter, and the key bar says which', async () => {
    const ui = await open();
    expect(keyBar(ui.frame())).toBe('Enter Start  Tab next field  Ctrl-U clear  Esc/Ctrl-C quit');
    await ui.press('q');
    await ui.waitFor('clip.mp4q');
    await ui.press(KEYS.tab, 'q');
    await ui.waitFor('out.mp4q');
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
    await ui.press(KEYS.tab);
    expect(keyBar(await ui.waitFor(/Scale\s+‹ 4 ›/))).toBe('Enter Start  Tab next field  ←/→ change  q/Esc quit');
    await ui.press('q');
    await waitFor(ui.actor, (s) => s.status === 'done', { timeout: 1000 });
    await ui.waitFor(() => ui.onExit.mock.calls.length === 1);
    expect(ui.requests).toEqual([]);
  });

  test('Esc in idle quits: the actor reaches quit and onExit is called', async () => {
    const ui = await open();
    await ui.press(KEYS.escape);
    await waitFor(ui.actor, (s) => s.status === 'done', { timeout: 1000 });
    await ui.waitFor(() => ui.onExit.mock.calls.length === 1);
    expect(ui.actor.getSnapshot().value).toBe('quit');
  });

  test('Ctrl-C in idle quits', async () => {
    const ui = await open();
    await ui.press(KEYS.ctrlC);
    await waitFor(ui.actor, (s) => s.status === 'done', { timeout: 1000 });
    await ui.waitFor(() => ui.onExit.mock.calls.length === 1);
  });
});

describe('running', () => {
  test('Enter starts: Start disabled, Cancel shown, running keys; progress appears after a tick', async () => {
    const ui = await open();
    await ui.press(KEYS.enter);
    let frame = await ui.waitFor('stage upscale');
    expectRunningView(frame);
    expect(ui.actor.getSnapshot().matches({ running: 'active' })).toBe(true);
    expect(keyBar(frame)).toBe('c Cancel  p Pause/Resume  s Skip  i statechart  l log  q quit');
    expect(frame).toContain('clip.mp4 → out.mp4');
    expect(frame).toContain('app.running.active › job processing › stage upscale');
    expect(frame).not.toContain('frames 12/48');

    await ui.stub.whenUpscaling();
    ui.stub.tick();
    frame = await ui.waitFor('frames 12/48');
    expect(frame).toContain('fps 2.5');
    expect(frame).toContain('ETA 00:14');
    expect(frame).toContain('25%');
    expect(frame).toMatch(/█{8}░{22}/);
    expectRunningView(frame);
  });

  test('c while running cancels back to idle: form, Start enabled, Cancel hidden, outcome cancelled', async () => {
    const ui = await open({ stopDelayMs: 150 });
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    await ui.stub.whenUpscaling();
    ui.stub.tick();
    await ui.waitFor('frames 12/48');

    await ui.press('c');
    let frame = await ui.waitFor('Cancelling…');
    expect(ui.actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    expect(keyBar(frame)).not.toMatch(/c Force|s Skip|p Pause/);

    // The stub is reaped 150 ms after its stop.
    frame = await ui.waitFor('Last run: cancelled');
    expectIdleView(frame);
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
    expect(ui.stub.commands).toEqual(['upscale:work.stop']);
    expect(ui.stub.upscaling()).toBe(false);
  });

  test('a second c while cancelling is accepted and changes nothing; the app still ends idle', async () => {
    const ui = await open({ stopDelayMs: 300 });
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    await ui.press('c');
    await ui.waitFor('Cancelling…');
    expect(ui.stub.commands).toEqual(['upscale:work.stop']);

    await ui.press('c');
    await flush(50);
    expect(ui.actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    const frame = await ui.waitFor('Last run: cancelled');
    expect(ui.stub.commands).toEqual(['upscale:work.stop']);
    expectIdleView(frame);
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);

    // Back in idle, c is text again and nothing breaks.
    await ui.press('c');
    await ui.waitFor('clip.mp4c');
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
  });

  test('Esc cancels too; while cancelling, c is no longer offered and q still is', async () => {
    // Work that takes a while to be reaped after its SIGKILL.
    const ui = await open({ stopDelayMs: 150 });
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    await ui.press(KEYS.escape);
    const frame = await ui.waitFor('Cancelling…');
    await ui.press(KEYS.escape);
    expect(keyBar(frame)).not.toMatch(/\bc (Force|Cancel)/);
    expect(keyBar(frame)).toContain('q quit');
    await ui.waitFor('Last run: cancelled');
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
  });

  test('Ctrl-C while running cancels (it does not quit)', async () => {
    const ui = await open();
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    await ui.press(KEYS.ctrlC);
    await ui.waitFor('Last run: cancelled');
    expect(ui.actor.getSnapshot().matches('idle')).toBe(true);
    expect(ui.onExit).not.toHaveBeenCalled();
  });

  test('a failed run shows failed and its message; a done run shows done; Start runs again', async () => {
    const ui = await open();
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    await ui.stub.whenUpscaling();
    ui.stub.fail('decoder crashed at frame 7');
    let frame = await ui.waitFor('Last run: failed — decoder crashed at frame 7');
    expectIdleView(frame);

    await ui.press(KEYS.enter);
    frame = await ui.waitFor('stage upscale');
    expectRunningView(frame);
    expect(frame).not.toContain('Last run');
    await ui.stub.whenUpscaling();
    for (let n = 0; n < 4; n++) ui.stub.tick();
    frame = await ui.waitFor('Last run: done — out.mp4 (48 frames)');
    expectIdleView(frame);
    expect(frame).not.toContain('failed');

    await ui.press(KEYS.enter);
    frame = await ui.waitFor('stage upscale');
    expectRunningView(frame);
    expect(ui.actor.getSnapshot().context.runCount).toBe(3);
  });

  test('q while running cancels first, then the actor reaches quit and onExit is called', async () => {
    const ui = await open({ stopDelayMs: 100 });
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    await ui.press('q');
    await ui.waitFor('Cancelling…');
    expect(ui.onExit).not.toHaveBeenCalled();
    expect(ui.actor.getSnapshot().status).toBe('active');

    await waitFor(ui.actor, (s) => s.status === 'done', { timeout: 2000 });
    expect(ui.actor.getSnapshot().value).toBe('quit');
    expect(ui.actor.getSnapshot().context.lastResult?.items[0]?.status).toBe('cancelled');
    expect(ui.stub.commands).toEqual(['upscale:work.stop']);
    await ui.waitFor(() => ui.onExit.mock.calls.length === 1);
    await ui.press('x');
    expect(ui.onExit).toHaveBeenCalledTimes(1);
  });

  test('p pauses and resumes the stage', async () => {
    const ui = await open();
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    await ui.press('p');
    await ui.waitFor('Paused');
    expect(ui.actor.getSnapshot().context.paused).toBe(true);
    expect(ui.stub.commands).toEqual(['upscale:work.pause']);
    await ui.press('p');
    await ui.waitFor((f) => !f.includes('Paused'));
    expect(ui.stub.commands).toEqual(['upscale:work.pause', 'upscale:work.resume']);
  });

  test('several items are listed with their statuses; s skips the current one', async () => {
    const ui = await open({ form: { input: 'a.mp4, b.mp4, c.mp4', output: 'out.mp4', scale: '4', model: 'm', device: 'auto' } });
    await ui.press(KEYS.enter);
    let frame = await ui.waitFor('stage upscale');
    expect(frame).toContain('1. a.mp4 running');
    expect(frame).toContain('2. b.mp4 pending');
    expect(frame).toContain('3. c.mp4 pending');

    await ui.press('s');
    frame = await ui.waitFor('2. b.mp4 running');
    expect(frame).toContain('1. a.mp4 cancelled');
    expect(frame).toContain('b.mp4 → 2-out.mp4');

    await ui.stub.whenUpscaling();
    for (let n = 0; n < 4; n++) ui.stub.tick();
    await ui.waitFor('3. c.mp4 running');
    await ui.press('c');
    frame = await ui.waitFor('Last run:');
    expect(frame).toContain('Last run: cancelled — 1 done, 2 cancelled');
    expect(frame).toContain('b.mp4: done — 2-out.mp4 (48 frames)');
  });

  test('i toggles the statechart panel: the job and its stage, the active states marked', async () => {
    const ui = await open();
    await ui.press(KEYS.enter);
    await ui.waitFor('stage upscale');
    expect(ui.frame()).not.toContain('Statechart');
    await ui.press('i');
    const frame = await ui.waitFor('Statechart');
    expect(frame).toContain('Statechart app running.active (run 1) · batch running (item 1/1)');
    expect(frame).toMatch(/^job +▶active +committed +cancelling +failing +done +failed +cancelled$/m);
    expect(frame).toMatch(/^└ active +probing +detecting +▶processing +assembling$/m);
    expect(frame).toMatch(/^stage upscale +▶active +committed/m);
    expect(frame).toContain('c/Esc/s job.cancel → cancelling');
    await ui.press('i');
    await ui.waitFor((f) => !f.includes('Statechart'));
  });
});
