/**
 * Generated datasets for DENSITY tests: rows in three topic clusters of fixture-vocabulary words
 * (so the tiny-bert fixture embeds them in three groups), a block of planted near-duplicates
 * (same text, different ids, so different lines with identical embeddings), a few isolated rows
 * and optionally invalid lines. Deterministic for a seed.
 */
import { writeFileSync } from 'node:fs';
import { Rng } from './fixtures/rng';
import { COMMON_WORDS, POSITIVE_WORDS, SPAM_WORDS } from './fixtures/words';

/** What was written where. */
export interface DensityDataset {
  path: string;
  lines: string[];
  /** The text of each line (undefined for invalid lines). */
  texts: (string | undefined)[];
  /** Lines holding the planted duplicate text. */
  duplicates: number[];
  /** Lines that are invalid JSON. */
  invalid: number[];
}

/** Options for {@link writeDensityDataset}. */
export interface DensityDatasetOptions {
  /** Clustered rows (default 300). */
  rows?: number;
  /** Planted duplicates (default 25). */
  duplicates?: number;
  /** Invalid lines (default 2). */
  invalid?: number;
  seed?: number;
}

const POOLS: readonly (readonly string[])[] = [
  POSITIVE_WORDS,
  SPAM_WORDS,
  COMMON_WORDS.slice(0, 120).filter(w => /^[a-z]+$/.test(w)),
];

/** Writes the dataset to `path` (one JSON object per line, `{"id", "text"}`). */
export function writeDensityDataset(
  path: string,
  options: DensityDatasetOptions = {},
): DensityDataset {
  const rng = new Rng(options.seed ?? 42);
  const rows = options.rows ?? 300;
  const dupCount = options.duplicates ?? 25;
  const invalidCount = options.invalid ?? 2;
  const total = rows + dupCount + invalidCount;
  // Positions of the planted and invalid lines, spread through the file.
  const kinds = new Array<'row' | 'dup' | 'bad'>(total).fill('row');
  let placed = 0;
  while (placed < dupCount + invalidCount) {
    const i = rng.int(total);
    if (kinds[i] !== 'row') continue;
    kinds[i] = placed < dupCount ? 'dup' : 'bad';
    placed++;
  }
  const duplicateText =
    'science knowledge theorem physics biology chemistry proof energy evidence theory';
  const lines: string[] = [];
  const texts: (string | undefined)[] = [];
  const duplicates: number[] = [];
  const invalid: number[] = [];
  kinds.forEach((kind, i) => {
    if (kind === 'bad') {
      lines.push(`{"id": ${i}, "text": "broken`);
      texts.push(undefined);
      invalid.push(i);
      return;
    }
    let text: string;
    if (kind === 'dup') {
      text = duplicateText;
      duplicates.push(i);
    } else {
      const pool = POOLS[rng.int(POOLS.length)];
      const words: string[] = [];
      for (let k = 0; k < 6 + rng.int(8); k++) words.push(pool[rng.int(pool.length)]);
      text = words.join(' ');
    }
    lines.push(JSON.stringify({ id: i, text }));
    texts.push(text);
  });
  writeFileSync(path, lines.join('\n') + '\n');
  return { path, lines, texts, duplicates, invalid };
}
