/**
 * One `winnow score` run over a dataset, for any engine: the shard's valid rows are read in
 * blocks; rows the crash-safe score cache already has (a score, or a bound) are answered from
 * it; the others go to the engine once per distinct content, and every result the engine
 * delivers is appended to the cache (one write and fsync per delivery) before it counts as done.
 * Each block's rows are then written to the output in file order.
 *
 * So a run killed at any point (SIGKILL included) loses no delivered row: the next run finds them
 * in the cache and sends only the rest. Rows in error are not cached, so the next run retries
 * them. The cache is the extension's (same file, same keys: scorer key narrowed by the schema's
 * extraction scope, raw-line content hash), so scores made here show in the editor and back.
 */
import { scopedScorerKey, type ScoreCache } from '../core/askllm';
import type { ScoreStore } from '../worker/askllm/scoreStore';
import { extractionScope } from '../worker/askllm/scorerConfig';
import { rowBlocks, rowText, type CliDataset, type DatasetRow, type LineCounts } from './dataset';
import type { RowResult, ScoringEngine, ScoreDocument } from './engine';
import type { Progress } from './progress';
import type { OutputRecord, RecordSink } from './records';
import type { Shard } from './shard';

/** Rows per block: the unit of engine calls and output writes. */
export const SCORE_BLOCK_ROWS = 4096;

/** What a run did. */
export interface ScoreRunCounts extends LineCounts {
  /** This shard's valid rows (each written to the output). */
  rows: number;
  ok: number;
  bound: number;
  error: number;
  /** Rows answered from the cache at the start of the run. */
  cachedAtStart: number;
  /** Distinct contents the engine answered in this run (ok or bound). */
  newlyScored: number;
  /** The first failures, with their 1-based lines. */
  failures: { line: number; error: string }[];
  /** Milliseconds in the engine (and cache writes). */
  scoringMs: number;
}

export interface ScoreRunOptions {
  readonly ds: CliDataset;
  readonly shard: Shard;
  readonly engine: ScoringEngine;
  readonly store: ScoreStore;
  readonly sink: RecordSink;
  readonly progress: Progress;
  readonly signal: AbortSignal;
  readonly blockRows?: number;
}

/** What the cache holds for a row: a score or a bound. */
type Known = { status: 'ok' | 'bound'; record: OutputRecord };

/** The cache key of this run's rows. */
export function runKey(ds: CliDataset, engine: ScoringEngine): string {
  return scopedScorerKey(engine.facts.scorerKey, extractionScope(ds.schema));
}

function known(cache: ScoreCache, key: string, row: DatasetRow): Known | undefined {
  const s = cache.get(key, row.hash);
  if (s)
    return {
      status: 'ok',
      record: {
        askllm_score: s.pYes,
        askllm_status: 'ok',
        askllm_tokens: s.tokens > 0 ? s.tokens : null,
        askllm_truncated: s.tokens > 0 ? s.truncated : null,
      },
    };
  const b = cache.getBound(key, row.hash);
  if (b)
    return {
      status: 'bound',
      record: { askllm_score: null, askllm_status: 'bound', askllm_upper_bound: b.upperBound },
    };
  return undefined;
}

/** Counts the shard's rows and those already cached (for the progress total). */
async function survey(o: ScoreRunOptions, key: string): Promise<{ rows: number; cached: number }> {
  let rows = 0;
  let cached = 0;
  const cache = o.store.cache;
  for await (const block of rowBlocks(o.ds, o.shard, 65536)) {
    o.signal.throwIfAborted();
    rows += block.rows.length;
    for (const r of block.rows) if (cache.get(key, r.hash) || cache.getBound(key, r.hash)) cached++;
  }
  return { rows, cached };
}

function resultRecord(r: RowResult): OutputRecord {
  return {
    askllm_score: r.status === 'ok' ? r.score : null,
    askllm_status: r.status,
    askllm_upper_bound: r.status === 'bound' ? (r.upperBound ?? null) : null,
    askllm_error: r.status === 'error' ? (r.error ?? 'failed') : null,
    askllm_tokens: r.tokens ?? null,
    askllm_truncated: r.truncated ?? null,
  };
}

/** Appends an engine delivery to the cache; resolves once it is durable. */
function persist(
  cache: ScoreCache,
  key: string,
  engine: ScoringEngine,
  hashes: readonly string[],
  results: readonly RowResult[],
): Promise<unknown> {
  const { model, promptId } = engine.facts;
  const scores = [];
  const bounds = [];
  for (const r of results) {
    const hash = hashes[r.id];
    if (r.status === 'ok' && typeof r.score === 'number' && Number.isFinite(r.score))
      scores.push({
        hash,
        score: {
          pYes: r.score,
          pNo: r.pNo ?? Number.NaN,
          tokens: r.tokens ?? 0,
          truncated: r.truncated ?? false,
          modelId: model,
          promptId,
        },
      });
    else if (r.status === 'bound' && typeof r.upperBound === 'number')
      bounds.push({
        hash,
        bound: { upperBound: r.upperBound, pNo: r.pNo ?? Number.NaN, modelId: model, promptId },
      });
  }
  return Promise.all([cache.putMany(key, scores), cache.putBounds(key, bounds)]);
}

/** Checks a delivered result against the interface's rules (an engine bug is a clear error). */
function checkResult(r: RowResult, count: number, seen: Uint8Array): void {
  if (!Number.isInteger(r.id) || r.id < 0 || r.id >= count)
    throw new Error(`the engine answered an unknown document id ${r.id}`);
  if (seen[r.id]) throw new Error(`the engine answered document ${r.id} twice`);
  if (r.status === 'ok' && !(typeof r.score === 'number' && r.score >= 0 && r.score <= 1))
    throw new Error(`the engine gave document ${r.id} the score ${String(r.score)}`);
  if (r.status === 'bound' && typeof r.upperBound !== 'number')
    throw new Error(`the engine marked document ${r.id} bound without an upper bound`);
  seen[r.id] = 1;
}

/** Runs the engine over a block's rows that the cache does not know; returns their results. */
async function scoreBlock(
  o: ScoreRunOptions,
  key: string,
  pending: Map<string, DatasetRow[]>,
  onDurable: (rows: number) => void,
): Promise<Map<string, RowResult>> {
  const hashes = [...pending.keys()];
  const docs: ScoreDocument[] = hashes.map((h, id) => ({
    id,
    text: rowText(o.ds, pending.get(h)![0]),
  }));
  const results = new Map<string, RowResult>();
  const writes: Promise<unknown>[] = [];
  const seen = new Uint8Array(docs.length);
  if (docs.length === 0) return results;
  await o.engine.score(docs, {
    signal: o.signal,
    onResults: delivered => {
      for (const r of delivered) checkResult(r, docs.length, seen);
      const write = persist(o.store.cache, key, o.engine, hashes, delivered).then(() => {
        let rows = 0;
        for (const r of delivered) {
          results.set(hashes[r.id], r);
          rows += pending.get(hashes[r.id])!.length;
        }
        onDurable(rows);
      });
      writes.push(write);
    },
  });
  await Promise.all(writes);
  return results;
}

/** Scores the shard's rows into `sink`. Throws the signal's reason when it aborts. */
export async function runScore(o: ScoreRunOptions): Promise<ScoreRunCounts> {
  const key = runKey(o.ds, o.engine);
  const cache = o.store.cache;
  const { rows: total, cached: cachedAtStart } = await survey(o, key);
  const c: ScoreRunCounts = {
    lines: 0,
    valid: 0,
    blank: 0,
    invalid: 0,
    otherShards: 0,
    rows: 0,
    ok: 0,
    bound: 0,
    error: 0,
    cachedAtStart,
    newlyScored: 0,
    failures: [],
    scoringMs: 0,
  };
  let done = 0;
  o.progress.phase('scoring', total);
  for await (const block of rowBlocks(o.ds, o.shard, o.blockRows ?? SCORE_BLOCK_ROWS)) {
    o.signal.throwIfAborted();
    const pending = new Map<string, DatasetRow[]>();
    const knownRows = new Map<string, Known>();
    for (const row of block.rows) {
      const k = knownRows.get(row.hash) ?? known(cache, key, row);
      if (k) {
        knownRows.set(row.hash, k);
        done++;
      } else {
        const list = pending.get(row.hash);
        if (list) list.push(row);
        else pending.set(row.hash, [row]);
      }
    }
    o.progress.update({ done, cached: cachedAtStart });
    const t0 = performance.now();
    const results = await scoreBlock(o, key, pending, rows => {
      done += rows;
      o.progress.update({ done, cached: cachedAtStart });
    });
    c.scoringMs += performance.now() - t0;
    o.signal.throwIfAborted();
    for (const r of results.values()) if (r.status !== 'error') c.newlyScored++;
    await writeBlock(o, block.rows, knownRows, results, c);
    Object.assign(c, block.counts);
  }
  o.progress.end();
  return c;
}

/** Writes a block's rows in file order and counts their statuses. */
async function writeBlock(
  o: ScoreRunOptions,
  rows: readonly DatasetRow[],
  knownRows: ReadonlyMap<string, Known>,
  results: ReadonlyMap<string, RowResult>,
  c: ScoreRunCounts,
): Promise<void> {
  for (const row of rows) {
    const k = knownRows.get(row.hash);
    const r = results.get(row.hash);
    // A row the engine never answered (it stopped early) is an error this run: retried next run.
    const fields = k
      ? k.record
      : r
        ? resultRecord(r)
        : resultRecord({ id: 0, status: 'error', score: null, error: 'the engine gave no result' });
    const status = fields.askllm_status as 'ok' | 'bound' | 'error';
    c[status]++;
    c.rows++;
    if (status === 'error' && c.failures.length < 20)
      c.failures.push({ line: row.index + 1, error: String(fields.askllm_error) });
    await o.sink.add({ line: row.index + 1, content_hash: row.hash, ...fields });
  }
}
