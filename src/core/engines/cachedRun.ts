/**
 * A remote scoring run over the crash-safe score cache (src/core/askllm/scoreCache.ts), the same
 * store local scoring and the extension use (docs/engines.md#resume):
 *
 * - rows the cache already has (a score, or a bound) are not sent again;
 * - every finished request's rows go to the cache as they arrive, group-committed: one append +
 *   fsync at a time, taking everything that finished while the previous one was on its way, so
 *   a fast engine does not wait for one fsync per request;
 * - rows are handed to `onRows` only once they are durable, so a caller that writes them out
 *   never shows a row a SIGKILL could still lose;
 * - `error` rows are not cached: the next run sends them again.
 */
import { type ScoreCache, contentHash, scopedScorerKey } from '../askllm/scoreCache';
import type { RemoteScorer } from './backend';
import type { RemoteRowResult } from './types';

export interface CachedRemoteRunOptions {
  cache: ScoreCache;
  /** Cache keys of the rows (default: `contentHash` of each document). Equal keys are sent once. */
  hashes?: readonly string[];
  /** Mixed into the scorer key, e.g. the text-extraction config of the dataset. */
  cacheScope?: string;
  signal?: AbortSignal;
  /** Durable rows, cache hits first (indices into the documents). */
  onRows?: (rows: readonly { index: number; result: RemoteRowResult; cached: boolean }[]) => void;
}

export interface CachedRemoteRunResult {
  rows: RemoteRowResult[];
  /** Rows answered from the cache. */
  cached: number;
  /** Rows sent to the engine (distinct contents). */
  sent: number;
}

/** Group commit: writes queue up while one append + fsync is on its way. */
class CacheWriter {
  private ok: Parameters<ScoreCache['putMany']>[1][number][] = [];
  private bounds: Parameters<ScoreCache['putBounds']>[1][number][] = [];
  private waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly cache: ScoreCache,
    private readonly key: string,
    private readonly ids: { modelId: string; promptId: string },
  ) {}

  /** Queues results; resolves once they are durable. */
  add(entries: readonly { hash: string; result: RemoteRowResult }[]): Promise<void> {
    for (const { hash, result } of entries) {
      const pNo = result.pNo ?? Number.NaN;
      if (result.status === 'ok')
        this.ok.push({
          hash,
          score: {
            pYes: result.score as number,
            pNo,
            tokens: result.tokens ?? 0,
            truncated: result.truncated ?? false,
            ...this.ids,
          },
        });
      else if (result.status === 'bound')
        this.bounds.push({
          hash,
          bound: { upperBound: result.upperBound as number, pNo, ...this.ids },
        });
    }
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.running ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const [ok, bounds, waiting] = [this.ok, this.bounds, this.waiting];
      this.ok = [];
      this.bounds = [];
      this.waiting = [];
      try {
        await Promise.all([
          this.cache.putMany(this.key, ok),
          this.cache.putBounds(this.key, bounds),
        ]);
        for (const w of waiting) w.resolve();
      } catch (e) {
        for (const w of waiting) w.reject(e);
      }
    }
    this.running = undefined;
  }
}

/** The cached result of a row, if the cache has one under `key`. */
function cachedResult(cache: ScoreCache, key: string, hash: string): RemoteRowResult | undefined {
  const s = cache.get(key, hash);
  if (s)
    return {
      status: 'ok',
      score: s.pYes,
      ...(Number.isFinite(s.pNo) ? { pNo: s.pNo } : {}),
      ...(s.tokens > 0 ? { tokens: s.tokens, truncated: s.truncated } : {}),
    };
  const b = cache.getBound(key, hash);
  if (b)
    return {
      status: 'bound',
      score: null,
      upperBound: b.upperBound,
      ...(Number.isFinite(b.pNo) ? { pNo: b.pNo } : {}),
    };
  return undefined;
}

/**
 * Scores `documents` through `scorer`, answering what the cache holds and storing what the
 * engine returns. A killed run loses no row that `onRows` was given; the next run sends only the
 * rows the cache lacks (and the `error` rows).
 */
export async function scoreRemoteCached(
  scorer: RemoteScorer,
  documents: readonly string[],
  options: CachedRemoteRunOptions,
): Promise<CachedRemoteRunResult> {
  const { cache } = options;
  const hashes = options.hashes ?? documents.map(d => contentHash(d));
  if (hashes.length !== documents.length)
    throw new Error(`${hashes.length} hashes for ${documents.length} documents`);
  const key = options.cacheScope
    ? scopedScorerKey(scorer.scorerKey, options.cacheScope)
    : scorer.scorerKey;
  const rows: RemoteRowResult[] = new Array(documents.length);
  const pending = new Map<string, number[]>();
  const hits: { index: number; result: RemoteRowResult; cached: boolean }[] = [];
  hashes.forEach((h, i) => {
    const c = cachedResult(cache, key, h);
    if (c) {
      rows[i] = c;
      hits.push({ index: i, result: c, cached: true });
    } else {
      const list = pending.get(h);
      if (list) list.push(i);
      else pending.set(h, [i]);
    }
  });
  if (hits.length > 0) options.onRows?.(hits);
  const unique = [...pending.values()].map(list => list[0]);
  const writer = new CacheWriter(cache, key, {
    modelId: scorer.identity.modelId,
    promptId: scorer.identity.promptId,
  });
  const writes: Promise<void>[] = [];
  const results = await scorer.score(
    unique.map(i => documents[i]),
    {
      signal: options.signal,
      onRows: done => {
        const entries = done.map(d => ({ hash: hashes[unique[d.index]], result: d.result }));
        const out = done.flatMap(d =>
          (pending.get(hashes[unique[d.index]]) ?? []).map(index => ({
            index,
            result: d.result,
            cached: false,
          })),
        );
        writes.push(writer.add(entries).then(() => options.onRows?.(out)));
      },
    },
  );
  await Promise.all(writes);
  results.forEach((r, j) => {
    for (const i of pending.get(hashes[unique[j]]) ?? []) rows[i] = r;
  });
  return { rows, cached: hits.length, sent: unique.length };
}
