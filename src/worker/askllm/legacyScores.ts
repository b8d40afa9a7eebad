/**
 * Migration of ASK-LLM scores stored under content hash version 1 (SHA-256) to version 2: the
 * rows of an open dataset are hashed both ways, once per file version, in the background, and
 * every score found under a row's old hash is copied under its new one (`ScoreCache.rekeyLegacy`).
 * A cache without version-1 records costs nothing here.
 */
import type { ScoreCache } from '../../core/askllm';
import { contentHash, legacyContentHash } from '../../core/jsonl';
import type { Dataset } from '../dataset/dataset';

/** Re-keys the version-1 scores of `dataset`'s rows; resolves to the number of scores copied. */
export async function rekeyLegacyScores(dataset: Dataset, cache: ScoreCache): Promise<number> {
  if (cache.legacyHashes === 0) return 0;
  const pairs: { legacy: string; hash: string }[] = [];
  for await (const batch of dataset.file.iterateRows(0)) {
    for (const row of batch) {
      const legacy = legacyContentHash(row.bytes);
      if (cache.hasLegacy(legacy)) pairs.push({ legacy, hash: contentHash(row.bytes) });
    }
    // Hashing is slow (SHA-256): let hovers and requests in between batches.
    await new Promise<void>(resolve => setImmediate(resolve));
  }
  return cache.rekeyLegacy(pairs);
}

/** Runs {@link rekeyLegacyScores} once per dataset version and reports scores it copied. */
export class LegacyScoreMigration {
  /** Dataset uri → the `rebuilds` count it was checked at. */
  private readonly checked = new Map<string, number>();

  constructor(
    private readonly onCopied: (dataset: Dataset, copied: number) => void,
    private readonly onError: (dataset: Dataset, error: unknown) => void,
  ) {}

  /** Starts the migration of `dataset`'s rows unless it ran for this version of the file. */
  check(dataset: Dataset, cache: ScoreCache | undefined): void {
    if (!cache || cache.legacyHashes === 0) return;
    if (this.checked.get(dataset.uri) === dataset.rebuilds) return;
    this.checked.set(dataset.uri, dataset.rebuilds);
    rekeyLegacyScores(dataset, cache).then(
      copied => copied > 0 && this.onCopied(dataset, copied),
      e => {
        // A rewrite during the pass: the next version of the file is checked again.
        this.checked.delete(dataset.uri);
        this.onError(dataset, e);
      },
    );
  }
}
