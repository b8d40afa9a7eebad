// Large generated datasets for the dataset-view tests, written in chunks so that a 1M-line file
// never exists as one string in memory. Deterministic: line i always has the same bytes.
import { open } from 'node:fs/promises';

/** Options for {@link writeLargeJsonl}. */
export interface LargeJsonlOptions {
  /** 0-based line indexes written as invalid JSON (a truncated object). */
  readonly invalidLines?: readonly number[];
}

const TOPICS = ['rivers', 'prime numbers', 'bread', 'volcanoes', 'sorting', 'tides', 'owls'];

/** The text of line `i` (without the newline), Alpaca-style. */
export function largeJsonlLine(i: number, invalid = false): string {
  const topic = TOPICS[i % TOPICS.length];
  if (invalid) return `{"instruction":"Explain ${topic}`;
  return JSON.stringify({
    instruction: `Line ${i + 1}: explain ${topic} in ${(i % 3) + 1} sentences.`,
    input: '',
    output: `Row ${i} is about ${topic}.`,
  });
}

/**
 * Writes `count` lines to `path` (newline-terminated); resolves to the byte size. Asynchronous,
 * in 20k-line chunks, so that it does not stall the extension host when a test runs there.
 */
export async function writeLargeJsonl(
  path: string,
  count: number,
  opts: LargeJsonlOptions = {},
): Promise<number> {
  const invalid = new Set(opts.invalidLines ?? []);
  const fh = await open(path, 'w');
  let bytes = 0;
  try {
    const chunk: string[] = [];
    for (let i = 0; i < count; i++) {
      chunk.push(largeJsonlLine(i, invalid.has(i)));
      if (chunk.length === 20_000 || i === count - 1) {
        const { bytesWritten } = await fh.write(chunk.join('\n') + '\n');
        bytes += bytesWritten;
        chunk.length = 0;
      }
    }
  } finally {
    await fh.close();
  }
  return bytes;
}
