import { Box, Text } from 'ink';
import { FIELDS, focusKindAt, type FormValues } from './form-fields.js';

export interface FormProps {
  readonly values: FormValues;
  readonly focus: number;
  readonly error?: string;
}

/** The idle form: five fields, the Start button (the last focus stop) and a one-line error. */
export function Form({ values, focus, error }: FormProps) {
  return (
    <Box flexDirection="column">
      {FIELDS.map((field, n) => (
        <FieldRow key={field.name} label={field.label} value={values[field.name]} focused={n === focus} choice={field.choices !== undefined} />
      ))}
      <Box>
        <Text color="cyan">{focusKindAt(focus) === 'start' ? '› ' : '  '}</Text>
        <StartButton running={false} focused={focusKindAt(focus) === 'start'} />
      </Box>
      {error ? <Text color="red">✗ {error}</Text> : null}
    </Box>
  );
}

function FieldRow({ label, value, focused, choice }: { readonly label: string; readonly value: string; readonly focused: boolean; readonly choice: boolean }) {
  const shown = choice ? (focused ? `‹ ${value} ›` : value) : `${value}${focused ? '▏' : ''}`;
  return (
    <Box>
      <Text color={focused ? 'cyan' : undefined} bold={focused}>
        {focused ? '› ' : '  '}
        {label.padEnd(7)}
      </Text>
      <Text wrap="truncate-middle">{shown}</Text>
    </Box>
  );
}

/** Enabled in idle (inverse when focused); dimmed while a run is on. */
export function StartButton({ running, focused = false }: { readonly running: boolean; readonly focused?: boolean }) {
  return running ? (
    <Text dimColor>[ Start ] (running)</Text>
  ) : (
    <Text bold color="green" inverse={focused}>
      [ Start ]
    </Text>
  );
}
