import { afterEach, expect, test } from 'vitest';
import { KEYS, mount, type Mounted, type MountOptions } from './harness.js';

const mounted: Mounted[] = [];
async function open(options?: MountOptions): Promise<Mounted> {
  const ui = await mount(options);
  mounted.push(ui);
  return ui;
}
afterEach(() => {
  for (const ui of mounted.splice(0)) ui.unmount();
});

/** The panel: from its title to the key bar. */
function panel(frame: string): string {
  const from = frame.indexOf('Statechart');
  return from < 0 ? '' : frame.slice(from);
}

/** The lines of one machine's chart, from its title row to the next machine's (or the panel's end). */
function chartOf(frame: string, title: RegExp): string {
  const lines = panel(frame).split('\n');
  const start = lines.findIndex((line) => title.test(line));
  if (start < 0) return '';
  const end = lines.findIndex((line, n) => n > start && /^(job|stage) /.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

test('--inspect opens the panel: the job and its stage, the active state marked, described, and the ways out with their keys', async () => {
  const ui = await open({ props: { showStatechart: true } });
  await ui.press(KEYS.enter);
  const frame = await ui.waitFor('▶running');

  const job = chartOf(frame, /^job /);
  expect(job).toMatch(/^job +▶active +committed +cancelling +failing +done +failed +cancelled$/m);
  expect(job).toMatch(/^└ active +probing +detecting +▶processing +assembling$/m);
  expect(job).toContain('▶ processing Segment by segment: decode → inference hosts → a segment file in the output codec.');
  // job.cancel is declared once, on active, and shown here as a way out of processing.
  expect(job).toMatch(/^ {4}c\/Esc\/s job\.cancel → cancelling {2}p job\.pause {2}p job\.resume$/m);
  expect(job).toContain('done(process) [stageDone] → assembling');
  expect(job).toContain('workdir.failed → failing');
  expect(job).not.toContain('stage.progress');

  const stage = chartOf(frame, /^stage upscale /);
  expect(stage).toMatch(/^└ active +starting +▶running +paused$/m);
  expect(stage).toContain('▶ running Processes run; progress goes up to the job.');
  expect(stage).toContain('p stage.pause → paused');
  expect(stage).toContain('c/Esc/s stage.cancel → cancelling');
  // Only one state per row is marked.
  for (const line of panel(frame).split('\n').filter((l) => /^(job|stage|└)/.test(l))) expect(line.split('▶')).toHaveLength(2);
});

test('the panel follows the actors: pause moves the stage, a cancel moves the job and the stage', async () => {
  const ui = await open({ stopDelayMs: 300, props: { showStatechart: true } });
  await ui.press(KEYS.enter);
  await ui.waitFor('▶running');
  await ui.stub.whenUpscaling();

  await ui.press('p');
  let frame = await ui.waitFor(/└ active +starting +running +▶paused/);
  expect(chartOf(frame, /^stage /)).toContain('p stage.resume → running');
  expect(chartOf(frame, /^stage /)).toContain('▶ paused Every process group of the stage is stopped (SIGSTOP)');
  // Progress reports do not move the chart.
  ui.stub.tick();
  await ui.waitFor('frames 12/48');
  expect(chartOf(ui.frame(), /^job /)).toContain('▶processing');

  await ui.press('p');
  await ui.waitFor(/└ active +starting +▶running +paused/);

  await ui.press('c');
  frame = await ui.waitFor(/^job +active +committed +▶cancelling/m);
  const job = chartOf(frame, /^job /);
  expect(job).not.toContain('└ active');
  // Truncated to the terminal's width, never wrapped.
  expect(job).toMatch(/^  ▶ cancelling The current stage was told to cancel; waiting until it reports that nothing it owned…$/m);
  expect(job).toContain('done(*) → cancelled');
  const stage = chartOf(frame, /^stage /);
  expect(stage).toMatch(/^stage upscale +active +committed +▶cancelling +done/m);
  expect(stage).toContain('work.stopped → cancelled');
  expect(panel(frame)).toContain('app running.cancelling');

  await ui.waitFor('Last run: cancelled');
  expect(ui.frame()).not.toContain('Statechart');
});
