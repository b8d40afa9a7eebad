/**
 * Where ASK-LLM scores live: the crash-safe append-only `ScoreCache` (src/core/askllm) in the
 * extension's global storage, plus a small registry that remembers, for each scorer
 * configuration the user has run (model, dtype, prompt, answer words, max tokens), the exact
 * scorer key its scores are stored under. The registry is what lets a reopened file show its
 * scores at once, before any model is loaded: the key needs the answer-token ids, which only
 * the tokenizer knows.
 */
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScoreCache } from '../../core/askllm';
import type { ScoreColumnMeta } from '../../shared/protocol/worker';
import type { Logger } from '../logger';

/** A scorer configuration the user has run: its cache key and how it is described. */
export interface StoredScorer {
  /** `AskLlmScorer.info.scorerKey`. */
  scorerKey: string;
  meta: ScoreColumnMeta;
}

/** The score cache and the scorer registry of one storage folder. */
export class ScoreStore {
  private constructor(
    readonly cache: ScoreCache,
    private readonly registryPath: string,
    private readonly scorers: Map<string, StoredScorer>,
    private readonly logger: Logger,
  ) {}

  /**
   * Opens the store under `storagePath/askllm/`. Without a storage path (a client that passes
   * none) scores go to a temporary folder and do not outlive the process.
   */
  static async open(storagePath: string | undefined, logger: Logger): Promise<ScoreStore> {
    let dir: string;
    if (storagePath) dir = join(storagePath, 'askllm');
    else {
      dir = mkdtempSync(join(tmpdir(), 'winnow-scores-'));
      logger.warn(`No storage folder was given: ASK-LLM scores are kept in ${dir} only.`);
    }
    await mkdir(dir, { recursive: true });
    const cache = await ScoreCache.open(join(dir, 'scores.log'));
    const r = cache.loadReport;
    logger.info(
      `Score cache ${cache.path}: ${r.records} records` +
        (r.corrupt > 0 ? `, ${r.corrupt} corrupt lines skipped` : '') +
        (r.tornBytes > 0 ? `, a torn last record (${r.tornBytes} bytes) cut off` : ''),
    );
    const registryPath = join(dir, 'scorers.json');
    const scorers = new Map<string, StoredScorer>();
    try {
      const raw = JSON.parse(await readFile(registryPath, 'utf8')) as Record<string, StoredScorer>;
      for (const [k, v] of Object.entries(raw))
        if (typeof v?.scorerKey === 'string' && v.meta) scorers.set(k, v);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        logger.warn(`Ignoring an unreadable scorer registry ${registryPath}: ${String(e)}`);
    }
    return new ScoreStore(cache, registryPath, scorers, logger);
  }

  /** The scorer last run under a configuration fingerprint, if any. */
  scorer(fingerprint: string): StoredScorer | undefined {
    return this.scorers.get(fingerprint);
  }

  /** Every remembered scorer, by fingerprint. */
  list(): [string, StoredScorer][] {
    return [...this.scorers.entries()];
  }

  /** Records the scorer of a fingerprint (atomically rewrites the small registry file). */
  async remember(fingerprint: string, scorer: StoredScorer): Promise<void> {
    const old = this.scorers.get(fingerprint);
    if (old && JSON.stringify(old) === JSON.stringify(scorer)) return;
    this.scorers.set(fingerprint, scorer);
    const text = `${JSON.stringify(Object.fromEntries(this.scorers), null, 2)}\n`;
    const tmp = `${this.registryPath}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, text);
      await rename(tmp, this.registryPath);
    } catch (e) {
      this.logger.warn(`Could not save the scorer registry ${this.registryPath}: ${String(e)}`);
    }
  }

  async close(): Promise<void> {
    await this.cache.close();
  }
}
