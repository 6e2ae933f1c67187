import { afterEach, expect, test } from 'vitest';
import { createLogStore } from '../../src/tui/log-store.js';
import { KEYS, keyBar, mount, type Mounted, type MountOptions } from './harness.js';
import { flush } from './stub-app.js';

const mounted: Mounted[] = [];
async function open(options?: MountOptions): Promise<Mounted> {
  const ui = await mount(options);
  mounted.push(ui);
  return ui;
}
afterEach(() => {
  for (const ui of mounted.splice(0)) ui.unmount();
});

test('l toggles the log panel, which shows the last 10 lines and follows new ones', async () => {
  const log = createLogStore();
  for (let n = 1; n <= 12; n++) log.push(`line ${n}`);
  const ui = await open({ props: { log } });
  await ui.press(KEYS.enter);
  await ui.waitFor('stage upscale');
  expect(ui.frame()).not.toContain('line 12');

  await ui.press('l');
  let frame = await ui.waitFor('line 12');
  expect(frame).toContain('line 3');
  expect(frame).not.toMatch(/line 2\b/);

  // Let React run the panel's effects first, so only the store's own notification can show the line.
  await flush(50);
  log.push('probe: 48 frames at 640x360');
  frame = await ui.waitFor('probe: 48 frames at 640x360');
  expect(frame).not.toMatch(/line 3\b/);

  await ui.press('l');
  await ui.waitFor((f) => !f.includes('line 12'));
});

test('a log store that hands out a fresh array each call does not loop', async () => {
  const lines = ['only line'];
  const log = { lines: () => [...lines], subscribe: () => () => undefined };
  const ui = await open({ props: { log } });
  await ui.press(KEYS.enter, 'l');
  await ui.waitFor('only line');
});

test('panels are not shown in idle, where i and l are text', async () => {
  const ui = await open({ props: { log: createLogStore() } });
  await ui.press(KEYS.enter);
  await ui.waitFor('stage upscale');
  await ui.press('i', 'l');
  await ui.waitFor('Statechart');
  await ui.press('c');
  const frame = await ui.waitFor('Last run: cancelled');
  expect(frame).not.toContain('Statechart');
  expect(frame).not.toContain('Log');
  await ui.press('i');
  await ui.waitFor('clip.mp4i');
});

test('autoStart starts with the initial form; exitOnIdle exits once the run is over', async () => {
  const ui = await open({ props: { autoStart: true, exitOnIdle: true } });
  await ui.waitFor('stage upscale');
  expect(ui.requests).toHaveLength(1);
  expect(ui.onExit).not.toHaveBeenCalled();
  await ui.stub.whenUpscaling();
  for (let n = 0; n < 4; n++) ui.stub.tick();
  await ui.waitFor(() => ui.onExit.mock.calls.length === 1);
  const snapshot = ui.actor.getSnapshot();
  expect(snapshot.matches('idle')).toBe(true);
  expect(snapshot.context.lastResult?.items[0]?.status).toBe('done');
  await flush();
  expect(ui.onExit).toHaveBeenCalledTimes(1);
});

test('autoStart with a request error stays idle and shows it; exitOnIdle does not exit before a run', async () => {
  const ui = await open({ form: { input: '', output: 'o.mp4', scale: '2', model: 'm', device: 'cpu' }, props: { autoStart: true, exitOnIdle: true } });
  const frame = await ui.waitFor('Input: give a video file');
  expect(keyBar(frame)).toContain('Enter Start');
  await flush(50);
  expect(ui.onExit).not.toHaveBeenCalled();
  expect(ui.actor.getSnapshot().context.runCount).toBe(0);
});

test('without exitOnIdle, a finished run stays in the TUI', async () => {
  const ui = await open();
  await ui.press(KEYS.enter);
  await ui.stub.whenUpscaling();
  for (let n = 0; n < 4; n++) ui.stub.tick();
  await ui.waitFor('Last run: done');
  await flush(50);
  expect(ui.onExit).not.toHaveBeenCalled();
});
