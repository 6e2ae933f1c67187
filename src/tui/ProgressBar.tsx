import { Box, Text } from 'ink';
import type { Progress } from '../domain.js';
import { bar, formatEta, formatFps, percent } from './format.js';

export interface ProgressBarProps {
  readonly progress?: Progress;
  readonly width?: number;
}

/** `████░░░░ 25%  frames 12/48  fps 3.2  ETA 00:12` */
export function ProgressBar({ progress, width = 30 }: ProgressBarProps) {
  const done = progress?.done ?? 0;
  const total = progress?.total ?? 0;
  return (
    <Box>
      <Text color="green">{bar(width, done, total)}</Text>
      <Text> {String(percent(done, total)).padStart(3)}%</Text>
      <Text>  frames {done}/{total > 0 ? total : '?'}</Text>
      <Text>  fps {formatFps(progress?.fps)}</Text>
      <Text>  ETA {formatEta(progress?.etaSec)}</Text>
    </Box>
  );
}
