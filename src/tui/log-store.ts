/**
 * What the log panel reads. `lines()` should return the same array until something changes
 * (the panel copes with a fresh array each call, but a stable one saves work).
 */
export interface LogStore {
  lines(): readonly string[];
  subscribe(onChange: () => void): () => void;
}

/** A bounded in-memory log for the composition root: `push` lines, hand the store to `<App log>`. */
export function createLogStore(max = 200): LogStore & { push(line: string): void } {
  let lines: readonly string[] = [];
  const listeners = new Set<() => void>();
  return {
    lines: () => lines,
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    push(line) {
      lines = [...lines, line].slice(-max);
      for (const listener of listeners) listener();
    },
  };
}
