import type { Readable } from 'node:stream';

/** Collects a child's small text output (probe JSON, error lines), keeping at most `limit` bytes. */
export function collectText(stream: Readable | null | undefined, limit = 1 << 20): Promise<string> {
  return new Promise((resolve) => {
    if (!stream) return resolve('');
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      if (size >= limit) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
