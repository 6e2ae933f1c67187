import { useCallback, useRef, useSyncExternalStore } from 'react';
import { Box, Text } from 'ink';
import type { LogStore } from './log-store.js';

export interface LogProps {
  readonly log?: LogStore;
  readonly rows?: number;
}

const EMPTY: readonly string[] = [];

/** The last `rows` log lines, read from an external store. */
export function Log({ log, rows = 10 }: LogProps) {
  const lines = useLogLines(log);
  const shown = lines.slice(-rows);
  return (
    <Box flexDirection="column" borderStyle="single" borderDimColor paddingX={1}>
      <Text bold>Log</Text>
      {shown.length === 0 ? <Text dimColor>(no log lines)</Text> : null}
      {shown.map((line, n) => (
        <Text key={lines.length - shown.length + n} wrap="truncate-end">
          {line}
        </Text>
      ))}
    </Box>
  );
}

/** useSyncExternalStore needs a stable snapshot: keep the last array while its lines are the same. */
function useLogLines(log: LogStore | undefined): readonly string[] {
  const cache = useRef<readonly string[]>(EMPTY);
  const getSnapshot = useCallback(() => {
    const next = log ? log.lines() : EMPTY;
    const prev = cache.current;
    if (next !== prev && !(next.length === prev.length && next.every((line, n) => line === prev[n]))) cache.current = next;
    return cache.current;
  }, [log]);
  const subscribe = useCallback((onChange: () => void) => (log ? log.subscribe(onChange) : () => undefined), [log]);
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}
