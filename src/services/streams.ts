import type { Readable } from 'node:stream';

/**
 * Collects a child's small text output (probe JSON, error lines), keeping at most `limit` bytes.
 * Always settles: on end, close or error, and at once for a stream that has already ended.
 */
export function collectText(stream: Readable | null | undefined, limit = 1 << 20): Promise<string> {
  return new Promise((resolve) => {
    if (!stream || stream.readableEnded || stream.destroyed) return resolve('');
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    stream.on('data', (chunk: Buffer) => {
      if (size >= limit) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    stream.once('end', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}

/**
 * A child's output line by line, as the lines come. Read as latin1, each byte a character: a chunk
 * may end inside a UTF-8 sequence, and the newlines and ASCII a caller looks for come through whole.
 */
export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}

/** Terminal escapes (colours, cursor moves) that a child wrote for a terminal, not for our one-line messages. */
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/** Text as one line, without terminal escapes: for quoting a child's words in our one-line messages. */
export function oneLine(text: string): string {
  return text.replace(ESCAPES, '').replace(/\s*\n\s*/g, ' ').trim();
}

/** The last non-empty line, without terminal escapes. */
export function lastLine(text: string): string {
  const lines = text.replace(ESCAPES, '').trim().split('\n').map((line) => line.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
