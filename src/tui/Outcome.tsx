import { Box, Text } from 'ink';
import type { BatchOutput, JobOutput } from '../domain.js';

export interface OutcomeProps {
  readonly result?: BatchOutput;
}

const COLORS: Record<JobOutput['status'], string> = { done: 'green', failed: 'red', cancelled: 'yellow', skipped: 'yellow' };

/** The last run's outcome in the idle view: one line for one item, a summary and a line each for several. */
export function Outcome({ result }: OutcomeProps) {
  if (!result || result.items.length === 0) return null;
  if (result.items.length === 1) {
    const item = result.items[0];
    return (
      <Text color={COLORS[item.status]} wrap="truncate-middle">
        Last run: {itemText(item)}
      </Text>
    );
  }
  return (
    <Box flexDirection="column">
      <Text color={result.cancelled ? 'yellow' : undefined}>Last run: {summary(result)}</Text>
      {result.items.map((item) => (
        <Text key={item.id} color={COLORS[item.status]} wrap="truncate-middle">
          {'  '}
          {item.input}: {itemText(item)}
        </Text>
      ))}
    </Box>
  );
}

/** `done — out.mp4 (48 frames)`, `failed — <message>`, `cancelled`, `skipped`. */
export function itemText(item: JobOutput): string {
  switch (item.status) {
    case 'done':
      return `done — ${item.output}${item.frames !== undefined ? ` (${item.frames} frames)` : ''}`;
    case 'failed':
      return `failed — ${item.error?.message ?? 'unknown error'}`;
    default:
      return item.status;
  }
}

/** `cancelled — 1 done, 2 skipped` or `2 done, 1 failed`. */
export function summary(result: BatchOutput): string {
  const order: JobOutput['status'][] = ['done', 'failed', 'cancelled', 'skipped'];
  const counts = order
    .map((status) => [status, result.items.filter((item) => item.status === status).length] as const)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  return result.cancelled ? `cancelled — ${counts}` : counts;
}
