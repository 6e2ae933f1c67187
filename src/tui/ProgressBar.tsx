import { Box, Text } from 'ink';
import type { Progress } from '../domain.js';
import { bar, formatEta, formatFps, percent } from './format.js';

export interface ProgressBarProps {
  readonly progress?: Progress;
  readonly width?: number;
}

/** `████░░░░ 25%  frames 12/48  fps 3.2  ETA 00:12`; `frames 12/48 · step 5/8` when a frame takes several model runs. */
export function ProgressBar({ progress, width = 30 }: ProgressBarProps) {
  const done = progress?.done ?? 0;
  const total = progress?.total ?? 0;
  return (
    <Box>
      <Text color="green">{bar(width, done, total)}</Text>
      <Text> {String(percent(done, total)).padStart(3)}%</Text>
      <Text>  frames {done}/{total > 0 ? total : '?'}</Text>
      {progress?.steps !== undefined && progress.steps > 1 && done < total ? <Text> · step {progress.step ?? 0}/{progress.steps}</Text> : null}
      <Text>  fps {formatFps(progress?.fps)}</Text>
      <Text>  ETA {formatEta(progress?.etaSec)}</Text>
    </Box>
  );
}
