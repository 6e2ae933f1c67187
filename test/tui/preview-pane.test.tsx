import { afterEach, expect, test } from 'vitest';
import type { FormValues } from '../../src/tui/form-fields.js';
import type { PanePair, PreviewSource } from '../../src/tui/PreviewPane.js';
import type { Picture } from '../../src/tui/picture.js';
import { halfBlockRows } from '../../src/tui/picture.js';
import { KEYS, keyBar, mount, type Mounted } from './harness.js';
import { makeRequest } from './stub-app.js';

const mounted: Mounted[] = [];
afterEach(() => {
  for (const ui of mounted.splice(0)) ui.unmount();
});

function solid(width: number, height: number, rgb: [number, number, number]): Picture {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

/** A front end's picture source with no files: pairs and stills made up, calls recorded. */
function stubSource(): PreviewSource & { calls: string[]; pair?: PanePair } {
  const source: PreviewSource & { calls: string[]; pair?: PanePair } = {
    calls: [],
    colour: true,
    maxWidth: 20,
    maxRows: 3,
    running: async (jobDir, read) => {
      source.calls.push(`running ${read ? 'read' : 'prune'}`);
      return read ? source.pair : undefined;
    },
    request: (form: FormValues) => {
      source.calls.push(`request ${form.input}`);
      const made = makeRequest({ ...form, output: 'preview-1.png' });
      return 'error' in made ? made : { ...made, options: { ...made.options, preview: { compare: true } } };
    },
    still: async (output) => {
      source.calls.push(`still ${output}`);
      return solid(16, 6, [0, 0, 255]);
    },
  };
  return source;
}

test('half blocks: the upper pixel is the foreground, the lower the background, a colour written where it changes', () => {
  const picture: Picture = { width: 2, height: 3, data: new Uint8Array([255, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 1, 2, 3, 1, 2, 3]) };
  expect(halfBlockRows(picture)).toEqual(['\u001B[38;2;255;0;0;48;2;0;255;0m▀▀\u001B[0m', '\u001B[38;2;1;2;3;49m▀▀\u001B[0m']);
});

test('v while running opens the pane with the source and output pictures side by side; v closes it', async () => {
  const source = stubSource();
  source.pair = { frame: 24, sourceFrame: 24, outputFrames: 48, source: solid(8, 6, [255, 0, 0]), output: solid(16, 12, [0, 255, 0]) };
  const ui = await mount({ props: { previews: source } });
  mounted.push(ui);
  await ui.press(KEYS.enter);
  await ui.waitFor('stage upscale');
  expect(keyBar(ui.frame())).toContain('v preview');
  // Closed, the pictures are only pruned.
  expect(source.calls).toContain('running prune');
  await ui.press('v');
  const frame = await ui.waitFor('▀');
  // Each fits 20 cells by 3 rows: 8×6 pixels and 16×12 → 8 cells by 3 rows (the output resampled),
  // in columns as wide as their labels (17).
  const rows = frame.split('\n').filter((line) => line.includes('▀'));
  expect(rows.map((row) => row.trimEnd())).toEqual(Array(3).fill(`▀▀▀▀▀▀▀▀${' '.repeat(11)}▀▀▀▀▀▀▀▀`));
  expect(frame).toMatch(/source · frame 24 +output · frame 24/);
  expect(source.calls).toContain('running read');
  await ui.press('v');
  await ui.waitFor((f) => !f.includes('▀'));
});

test('v on the Start button previews the form\'s settings as a job and shows it; v again closes it', async () => {
  const source = stubSource();
  const ui = await mount({ props: { previews: source }, ticks: 1 });
  mounted.push(ui);
  await ui.press(KEYS.shiftTab);
  expect(keyBar(await ui.waitFor('› [ Start ]'))).toBe('Enter Start  Tab next field  v preview  q/Esc quit');
  await ui.press('v');
  await ui.waitFor('stage upscale');
  ui.stub.tick();
  const frame = await ui.waitFor('▀');
  expect(source.calls).toEqual(expect.arrayContaining(['request clip.mp4', 'still preview-1.png']));
  expect(frame).toContain("the form's settings on the input's middle frame");
  expect(frame).not.toContain('Last run');
  await ui.press('v');
  await ui.waitFor((f) => !f.includes('▀'));
});

test('without a picture source there is no v: in a text field it is a letter', async () => {
  const ui = await mount();
  mounted.push(ui);
  expect(keyBar(ui.frame())).not.toContain('preview');
  await ui.press('v');
  await ui.waitFor(/Input +clip\.mp4v/);
});
