/** What the idle form holds: text as typed, turned into a StartRequest by the caller's `makeRequest`. */
export interface FormValues {
  readonly input: string;
  readonly output: string;
  /** `model`: the model's own scale. */
  readonly scale: 'model' | '1' | '2' | '4';
  readonly model: string;
  readonly device: 'auto' | 'cpu' | 'webgpu' | 'cuda';
}

export type FieldName = keyof FormValues;

export interface FieldSpec {
  readonly name: FieldName;
  readonly label: string;
  /** Choice fields cycle with ←/→; the others are edited as text. */
  readonly choices?: readonly string[];
}

export const FIELDS: readonly FieldSpec[] = [
  { name: 'input', label: 'Input' },
  { name: 'output', label: 'Output' },
  { name: 'scale', label: 'Scale', choices: ['model', '1', '2', '4'] },
  { name: 'model', label: 'Model' },
  { name: 'device', label: 'Device', choices: ['auto', 'cpu', 'webgpu', 'cuda'] },
];

/** The form's focus stops: each field, then the Start button. */
type FocusTarget = { readonly kind: 'field'; readonly field: FieldSpec } | { readonly kind: 'start' };

/** What keys mean there: letters are text only in a text field. */
export type FocusKind = 'text' | 'choice' | 'start';

const STOPS = FIELDS.length + 1;

function focusAt(index: number): FocusTarget {
  const at = ((index % STOPS) + STOPS) % STOPS;
  return at < FIELDS.length ? { kind: 'field', field: FIELDS[at] } : { kind: 'start' };
}

export function focusKindAt(index: number): FocusKind {
  const target = focusAt(index);
  if (target.kind === 'start') return 'start';
  return target.field.choices ? 'choice' : 'text';
}

function fieldAt(index: number): FieldSpec | undefined {
  const target = focusAt(index);
  return target.kind === 'field' ? target.field : undefined;
}

/** Focus moves round the fields and the Start button: +1 next, -1 previous. */
export function moveFocus(index: number, step: 1 | -1): number {
  return (index + step + STOPS) % STOPS;
}

/** Typed text goes to a text field; on a choice field a typed first letter selects. */
export function typeInto(form: FormValues, index: number, text: string): FormValues {
  const field = fieldAt(index);
  if (!field) return form;
  if (field.choices) {
    // A first letter picks the choice that starts with it (again: the next one that does).
    const matches = field.choices.filter((choice) => choice.startsWith(text.slice(-1)));
    if (matches.length === 0) return form;
    const next = matches[(matches.indexOf(form[field.name]) + 1) % matches.length];
    return { ...form, [field.name]: next } as FormValues;
  }
  return { ...form, [field.name]: form[field.name] + text };
}

export function deleteBack(form: FormValues, index: number): FormValues {
  const field = fieldAt(index);
  if (!field || field.choices) return form;
  return { ...form, [field.name]: form[field.name].slice(0, -1) };
}

/** Ctrl-U, as in a shell: empties a text field. */
export function clearField(form: FormValues, index: number): FormValues {
  const field = fieldAt(index);
  return !field || field.choices ? form : { ...form, [field.name]: '' };
}

/** ←/→ on a choice field; no change on a text field. */
export function cycleChoice(form: FormValues, index: number, step: 1 | -1): FormValues {
  const field = fieldAt(index);
  if (!field?.choices) return form;
  const at = field.choices.indexOf(form[field.name]);
  const next = field.choices[(at + step + field.choices.length) % field.choices.length];
  return { ...form, [field.name]: next } as FormValues;
}
