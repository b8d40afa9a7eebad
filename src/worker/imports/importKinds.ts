/**
 * The two kinds of Import Scores (see scoreImport.ts): ASK-LLM rows into the score cache under
 * the manifest's scorer, DENSITY rows into the dataset's stored DENSITY results.
 */
import type { CachedBound, CachedScore } from '../../core/askllm';
import type { DensityResults } from '../../core/embedStore';
import { CONTENT_HASH_VERSION } from '../../core/jsonl';
import { ScoreFileError, type ScoreRecord } from '../../core/scoreFiles/scoreFile';
import type { ImportSummary, ScoreColumnMeta } from '../../shared/protocol/worker';
import {
  importKey,
  importRecord,
  matchRows,
  sourceOf,
  type ImportContext,
  type MatchedRows,
  type ScoreFileInput,
} from './importRows';

type NewScore = { hash: string; score: Omit<CachedScore, 'time'> };
type NewBound = { hash: string; bound: Omit<CachedBound, 'time'> };

/** Cache entries are appended in blocks of this many (one write and fsync each). */
const WRITE_BLOCK = 4096;

/** The registry fingerprint of an imported scorer: imported scores are a scorer like any other. */
export function importFingerprint(scorerKey: string): string {
  return JSON.stringify(['import', scorerKey]);
}

function probability(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
}

/** The column meta of an imported scorer, from its manifest. */
function askLlmMeta(ctx: ImportContext): ScoreColumnMeta {
  const m = ctx.files[0].manifest;
  const prompt = (m.prompt ?? {}) as { name?: unknown; hash?: unknown };
  const answers = Array.isArray(m.answerTokens) ? (m.answerTokens as { token?: unknown }[]) : [];
  const str = (v: unknown, d: string) => (typeof v === 'string' && v !== '' ? v : d);
  return {
    model: str(m.model, 'unknown model'),
    dtype: str(m.dtype, str(m.engine, 'imported')),
    promptName: str(prompt.name, 'unknown prompt'),
    promptHash: str(prompt.hash, ''),
    answerTokens: answers.map(a => String(a.token)),
    maxTokens: typeof m.maxTokens === 'number' ? m.maxTokens : 0,
    variant: 'p-yes',
    ...(typeof m.device === 'string' ? { device: m.device } : {}),
    imported: sourceOf(ctx),
  };
}

/** One ASK-LLM row as a cache entry (or a bound); undefined for a row in error. */
function askLlmEntry(
  r: ScoreRecord,
  f: ScoreFileInput,
  row: number,
  names: { modelId: string; promptId: string },
): { score?: NewScore['score']; bound?: NewBound['bound'] } | undefined {
  const status = r.askllm_status;
  if (status === 'ok') {
    if (!probability(r.askllm_score))
      throw new ScoreFileError(
        `${f.path}: row ${row} has status ok but askllm_score ${String(r.askllm_score)}, not a probability`,
      );
    const tokens = typeof r.askllm_tokens === 'number' ? r.askllm_tokens : 0;
    return {
      score: {
        pYes: r.askllm_score,
        pNo: Number.NaN,
        tokens,
        truncated: r.askllm_truncated === true,
        ...names,
      },
    };
  }
  if (status === 'bound') {
    if (!probability(r.askllm_upper_bound))
      throw new ScoreFileError(`${f.path}: row ${row} has status bound but no askllm_upper_bound`);
    return { bound: { upperBound: r.askllm_upper_bound, pNo: Number.NaN, ...names } };
  }
  if (status === 'error') return undefined;
  throw new ScoreFileError(`${f.path}: row ${row} has askllm_status ${String(status)}`);
}

function summary(ctx: ImportContext, m: MatchedRows, linesScored: number): ImportSummary {
  return {
    kind: ctx.files[0].manifest.kind as ImportSummary['kind'],
    files: ctx.files.map(f => f.path),
    records: m.records,
    matched: m.matched,
    unmatched: m.unmatched,
    errors: m.errors,
    bounds: m.bounds,
    linesScored,
    model: String(ctx.files[0].manifest.model ?? 'unknown model'),
  };
}

/** ASK-LLM: validates every row, then appends the new scores and bounds to the cache. */
export async function importAskLlm(ctx: ImportContext): Promise<ImportSummary> {
  const manifest = ctx.files[0].manifest;
  const scorerKey = manifest.scorerKey as string;
  const key = importKey(ctx.dataset, scorerKey);
  const names = {
    modelId: String(manifest.model ?? ''),
    promptId: String((manifest.prompt as { id?: unknown } | undefined)?.id ?? ''),
  };
  const scores = new Map<string, NewScore>();
  const bounds = new Map<string, NewBound>();
  let errors = 0;
  const matched = await matchRows(ctx.dataset, 'askllm', ctx.files, (r, f, row) => {
    const hash = r.content_hash as string;
    const e = askLlmEntry(r, f, row, names);
    if (!e) errors++;
    else if (e.score) scores.set(hash, { hash, score: e.score });
    else if (e?.bound && !scores.has(hash)) bounds.set(hash, { hash, bound: e.bound });
  });
  for (const h of scores.keys()) bounds.delete(h);
  matched.bounds = bounds.size;
  matched.errors = errors;
  const cache = ctx.store.cache;
  // Scores the cache already holds with the same value are not written again (a re-import).
  const fresh = [...scores.values()].filter(s => cache.get(key, s.hash)?.pYes !== s.score.pYes);
  const freshBounds = [...bounds.values()].filter(
    b => cache.getBound(key, b.hash)?.upperBound !== b.bound.upperBound,
  );
  for (let i = 0; i < fresh.length; i += WRITE_BLOCK)
    await cache.putMany(key, fresh.slice(i, i + WRITE_BLOCK));
  for (let i = 0; i < freshBounds.length; i += WRITE_BLOCK)
    await cache.putBounds(key, freshBounds.slice(i, i + WRITE_BLOCK));
  const fingerprint = importFingerprint(scorerKey);
  const meta = askLlmMeta(ctx);
  await ctx.store.remember(fingerprint, { scorerKey, meta });
  await ctx.store.rememberImport(ctx.dataset.file.path, 'askllm', importRecord(ctx, fingerprint));
  let linesScored = 0;
  for (const h of scores.keys()) linesScored += matched.lines.get(h) ?? 0;
  return {
    ...summary(ctx, matched, linesScored),
    engine: meta.imported?.engine,
    promptName: meta.promptName,
    promptHash: meta.promptHash,
    scorerKey,
  };
}

/** DENSITY: the matched rows' scores become the dataset's stored DENSITY results. */
export async function importDensity(ctx: ImportContext): Promise<ImportSummary> {
  const scores = new Map<string, number>();
  let errors = 0;
  const matched = await matchRows(ctx.dataset, 'density', ctx.files, (r, f, row) => {
    if (r.density_status === 'error') {
      errors++;
      return;
    }
    const s = r.density_score;
    if (r.density_status !== 'ok' || typeof s !== 'number' || !Number.isFinite(s) || s < 0)
      throw new ScoreFileError(
        `${f.path}: row ${row} has density_status ${String(r.density_status)} and density_score ${String(s)}`,
      );
    scores.set(r.content_hash as string, s);
  });
  matched.errors = errors;
  const { replaced } = await ctx.density.importResults(ctx.dataset, {
    meta: densityMeta(ctx),
    scores,
  });
  let linesScored = 0;
  for (const h of scores.keys()) linesScored += matched.lines.get(h) ?? 0;
  await ctx.store.rememberImport(ctx.dataset.file.path, 'density', importRecord(ctx));
  return { ...summary(ctx, matched, linesScored), replacedComputed: replaced };
}

/** The stored results' meta of imported DENSITY scores, from the manifest. */
function densityMeta(ctx: ImportContext): DensityResults['meta'] {
  const m = ctx.files[0].manifest;
  const sketch = (m.sketch ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const counts = (m.counts ?? {}) as { truncated?: unknown };
  const src = sourceOf(ctx);
  return {
    model: String(m.model ?? 'unknown model'),
    pipeline: String(m.pipeline ?? ''),
    dtype: String(m.dtype ?? ''),
    maxTokens: num(m.maxTokens),
    truncatedRows: num(counts.truncated),
    textMode: String(m.textMode ?? ''),
    dim: num(m.dim),
    rows: num(sketch.rows),
    buckets: num(sketch.buckets),
    hashesPerRow: num(sketch.hashesPerRow),
    bandwidth: num(sketch.bandwidth),
    seed: num(sketch.seed),
    points: num(sketch.points),
    shardSketches: [],
    device: String(m.device ?? ''),
    sketchFile: '',
    embeddingFile: '',
    dataset: ctx.dataset.file.path,
    computedAt: typeof m.createdAt === 'string' ? m.createdAt : ctx.importedAt,
    contentHashVersion: CONTENT_HASH_VERSION,
    imported: {
      files: src.files,
      importedAt: src.importedAt,
      ...(src.createdAt ? { createdAt: src.createdAt } : {}),
      ...(src.shards ? { shards: src.shards } : {}),
      ...(src.sourcePath ? { sourcePath: src.sourcePath } : {}),
    },
  };
}
