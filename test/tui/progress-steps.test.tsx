import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/tui/ProgressBar.js';

describe('ProgressBar with frames of several model runs', () => {
  it('shows the step within the frame being computed', () => {
    const { lastFrame } = render(<ProgressBar progress={{ done: 11, total: 72, step: 5, steps: 8, fps: 0.4, etaSec: 150 }} width={10} />);
    expect(lastFrame()).toMatch(/frames 11\/72 · step 5\/8 {2}fps 0\.4 {2}ETA 02:30/);
  });

  it('shows no step for one run a frame, nor once every frame is done', () => {
    expect(render(<ProgressBar progress={{ done: 3, total: 72 }} width={10} />).lastFrame()).not.toMatch(/step/);
    expect(render(<ProgressBar progress={{ done: 72, total: 72, step: 0, steps: 8 }} width={10} />).lastFrame()).not.toMatch(/step/);
  });
});
