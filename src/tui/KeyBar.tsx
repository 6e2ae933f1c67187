import { Box, Text } from 'ink';

export interface KeyHint {
  readonly key: string;
  readonly label: string;
}

export interface KeyBarProps {
  readonly hints: readonly KeyHint[];
}

/** The bottom line: only the keys that do something now. */
export function KeyBar({ hints }: KeyBarProps) {
  return (
    <Box>
      {hints.map((hint, n) => (
        <Text key={hint.key}>
          {n > 0 ? '  ' : ''}
          <Text bold color="cyan">
            {hint.key}
          </Text>{' '}
          {hint.label}
        </Text>
      ))}
    </Box>
  );
}
