/**
 * The worker's per-row score columns (docs/scores-api.md `winnow/getColumns`) as typed arrays: ASK-LLM
 * P(yes), prompt tokens and (when asked for) the normalised variant, and DENSITY score and rank,
 * with the metadata that says how they were made; and what they say about one row. Free of
 * `vscode`.
 */
import { sortedScores, standing } from '../../shared/format/scoreFormat';
import {
  TOKENS_TRUNCATED,
  type DensityColumnMeta,
  type DistilledColumnMeta,
  type GetColumnsResult,
  type ImportedScoresSource,
  type GetScorerColumnResult,
  type ScoreColumnMeta,
  type ScorerChoice,
} from '../../shared/protocol/worker';
import type { ImportedSourceView, RowScores, ScoreSourceView } from '../../shared/protocol/webview';

/** Score columns aligned with the physical lines of one version of the file. */
export interface ScoreColumns {
  readonly rowCount: number;
  readonly fileVersion: string;
  readonly askllm?: {
    /** P(yes), NaN = not scored. */
    readonly values: Float32Array;
    readonly scored: number;
    readonly meta: ScoreColumnMeta;
    /** Prompt tokens with the {@link TOKENS_TRUNCATED} flag, 0 = unknown (absent: none sent). */
    readonly tokens?: Uint32Array;
    /** P(yes) / (P(yes) + P(no)), NaN = none; sent only while the setting asks for it. */
    readonly normalized?: Float32Array;
    /** Rows the last run could not score → the reason (absent: none). */
    readonly failed?: ReadonlyMap<number, string>;
  };
  readonly density?: {
    readonly values: Float32Array;
    readonly ranks: Uint32Array;
    readonly meta: DensityColumnMeta;
    /** Rows the last run's embedder failed on → the reason (absent: none). */
    readonly failed?: ReadonlyMap<number, string>;
  };
  /** Judge A/B: the scorers the file was scored with (`winnow/getScorerColumn`). */
  readonly scorers?: readonly ScorerChoice[];
  /** Judge A/B: the second scorer's P(yes) column (NaN = not scored by it). */
  readonly compare?: {
    readonly id: string;
    readonly label: string;
    readonly values: Float32Array;
    readonly scored: number;
    readonly meta: ScoreColumnMeta;
  };
  /** The distilled scorer's scores (NaN = none): never the ASK-LLM column. */
  readonly distilled?: {
    readonly values: Float32Array;
    readonly scored: number;
    readonly meta: DistilledColumnMeta;
  };
  /** Near-duplicate groups (docs/map.md), once found for this file version. */
  readonly duplicates?: {
    /** Group id per row, −1 = in no group. */
    readonly groups: Int32Array;
    /** Rows per group. */
    readonly sizes: Uint32Array;
    readonly count: number;
    readonly groupedRows: number;
    readonly threshold: number;
  };
}

/** Decodes base64 of little-endian 32-bit values (copied: the result owns aligned memory). */
function decode(base64: string, rowCount: number, what: string): Uint8Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== rowCount * 4)
    throw new Error(`${what} has ${bytes.length / 4} values for ${rowCount} rows`);
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * Turns a `winnow/getColumns` result into typed arrays. Throws when a column's length does not
 * match its row count. (Every platform VS Code runs on is little-endian, as the wire format is.)
 */
export function decodeColumns(result: GetColumnsResult): ScoreColumns {
  const n = result.rowCount;
  const a = result.askllm;
  const askllm = a
    ? {
        values: new Float32Array(decode(a.data, n, 'The ASK-LLM column').buffer),
        scored: a.scored,
        meta: a.meta,
        ...(a.tokens !== undefined
          ? { tokens: new Uint32Array(decode(a.tokens, n, 'The ASK-LLM token column').buffer) }
          : {}),
        ...(a.normalized !== undefined
          ? {
              normalized: new Float32Array(
                decode(a.normalized, n, 'The normalised-variant column').buffer,
              ),
            }
          : {}),
        ...(a.failed && a.failed.length > 0
          ? { failed: new Map(a.failed.map(f => [f.row, f.reason])) }
          : {}),
      }
    : undefined;
  const density = result.density
    ? {
        values: new Float32Array(decode(result.density.score, n, 'The density column').buffer),
        ranks: new Uint32Array(decode(result.density.rank, n, 'The density ranks').buffer),
        meta: result.density.meta,
        ...(result.density.failed && result.density.failed.length > 0
          ? { failed: new Map(result.density.failed.map(f => [f.row, f.reason])) }
          : {}),
      }
    : undefined;
  const duplicates = result.duplicates ? decodeDuplicates(result.duplicates, n) : undefined;
  const t = result.distilled;
  const distilled = t
    ? {
        values: new Float32Array(decode(t.data, n, 'The distilled column').buffer),
        scored: t.scored,
        meta: t.meta,
      }
    : undefined;
  return {
    ...(distilled ? { distilled } : {}),
    rowCount: n,
    fileVersion: result.fileVersion,
    ...(askllm ? { askllm } : {}),
    ...(density ? { density } : {}),
    ...(duplicates ? { duplicates } : {}),
  };
}

/**
 * Adds a `winnow/getScorerColumn` answer (the stored scorers, the second scorer's column) to the
 * columns. Throws when it describes other rows than the columns.
 */
export function withScorerColumn(cols: ScoreColumns, r: GetScorerColumnResult): ScoreColumns {
  if (r.rowCount !== cols.rowCount)
    throw new Error(`The scorer column has ${r.rowCount} rows, the columns ${cols.rowCount}`);
  const c = r.column;
  const choice = c ? r.scorers.find(x => x.id === c.scorer) : undefined;
  return {
    ...cols,
    scorers: r.scorers,
    ...(c && choice && !choice.current
      ? {
          compare: {
            id: c.scorer,
            label: choice.label,
            values: new Float32Array(decode(c.data, r.rowCount, 'The second scorer column').buffer),
            scored: c.scored,
            meta: c.meta,
          },
        }
      : {}),
  };
}

function decodeDuplicates(
  d: NonNullable<GetColumnsResult['duplicates']>,
  n: number,
): NonNullable<ScoreColumns['duplicates']> {
  const groups = new Int32Array(decode(d.group, n, 'The duplicate-group column').buffer);
  const sizes = new Uint32Array(d.count);
  for (const g of groups) {
    if (g >= d.count) throw new Error(`Duplicate group ${g} of ${d.count}`);
    if (g >= 0) sizes[g]++;
  }
  return { groups, sizes, count: d.count, groupedRows: d.groupedRows, threshold: d.threshold };
}

/** The provenance of imported scores the view shows (the dataset path of the CLI run is left out). */
function importedView(src: ImportedScoresSource): ImportedSourceView {
  const { sourcePath: _path, ...shown } = src;
  return shown;
}

/** What the webview shows about where the scores came from. */
export function scoreSources(cols: ScoreColumns | undefined): ScoreSourceView {
  const a = cols?.askllm;
  const d = cols?.density;
  const dup = cols?.duplicates;
  return {
    ...(dup
      ? {
          duplicates: {
            count: dup.count,
            groupedRows: dup.groupedRows,
            threshold: dup.threshold,
          },
        }
      : {}),
    ...(a
      ? {
          askllm: {
            model: a.meta.model,
            dtype: a.meta.dtype,
            promptName: a.meta.promptName,
            promptHash: a.meta.promptHash,
            answerTokens: a.meta.answerTokens,
            maxTokens: a.meta.maxTokens,
            variant: a.meta.variant,
            scored: a.scored,
            ...(a.failed ? { failed: a.failed.size } : {}),
            ...(a.meta.device ? { device: a.meta.device } : {}),
            ...(a.meta.health
              ? {
                  health: {
                    status: a.meta.health.status,
                    ...(a.meta.health.warning ? { warning: a.meta.health.warning } : {}),
                  },
                }
              : {}),
            ...(a.meta.imported ? { imported: importedView(a.meta.imported) } : {}),
          },
        }
      : {}),
    ...(cols?.compare
      ? { compare: { label: cols.compare.label, scored: cols.compare.scored } }
      : {}),
    ...(cols?.distilled ? { distilled: distilledSource(cols.distilled) } : {}),
    ...(d
      ? {
          density: {
            model: d.meta.model,
            buckets: d.meta.buckets,
            hashesPerRow: d.meta.hashesPerRow,
            bandwidth: d.meta.bandwidth,
            seed: d.meta.seed,
            rows: d.meta.rows,
            ...(d.meta.imported ? { imported: importedView(d.meta.imported) } : {}),
          },
        }
      : {}),
  };
}

/** "fit on 3,000 judge scores, Spearman ρ=0.93": what every label of distilled scores says. */
export function distilledProvenance(m: DistilledColumnMeta): string {
  const rho = m.heldOutSpearman === null ? '—' : m.heldOutSpearman.toFixed(2);
  return `fit on ${m.sample.toLocaleString('en-US')} judge scores, Spearman ρ=${rho}`;
}

function distilledSource(
  d: NonNullable<ScoreColumns['distilled']>,
): NonNullable<ScoreSourceView['distilled']> {
  return {
    provenance: distilledProvenance(d.meta),
    scorerKey: d.meta.scorerKey,
    judgeModel: d.meta.judge.model,
    embedder: d.meta.embedder,
    scored: d.scored,
    sample: d.meta.sample,
    heldOutSpearman: d.meta.heldOutSpearman,
    auc: d.meta.auc,
  };
}

/** Ascending scored values of each P(yes) column, computed once per column (columns never change). */
const sortedCache = new WeakMap<Float32Array, Float32Array>();

/**
 * What the columns say about row `i`: P(yes) with its standing among the file's scored rows
 * (as the text editor's hover computes it), the normalised variant when it was sent, the prompt
 * tokens, and DENSITY score and rank. Unknown facts are left out.
 */
export function rowScores(cols: ScoreColumns | undefined, i: number): RowScores {
  const a = cols?.askllm;
  const d = cols?.density;
  const out: { -readonly [K in keyof RowScores]: RowScores[K] } = {};
  const score = a && i < a.values.length ? a.values[i] : NaN;
  if (a && score === score) {
    out.score = score;
    let sorted = sortedCache.get(a.values);
    if (!sorted) sortedCache.set(a.values, (sorted = sortedScores(a.values)));
    const st = standing(sorted, score);
    out.scoreRank = st.rank;
    out.scorePercentile = st.percentile;
    const v = a.normalized && i < a.normalized.length ? a.normalized[i] : NaN;
    if (v === v) out.normalized = v;
  }
  const failed = a?.failed?.get(i);
  if (failed !== undefined && score !== score) out.scoreFailed = failed;
  const packed = a?.tokens && i < a.tokens.length ? a.tokens[i] : 0;
  if (packed !== 0) {
    out.tokens = (packed & ~TOKENS_TRUNCATED) >>> 0;
    if ((packed & TOKENS_TRUNCATED) !== 0) out.tokensTruncated = true;
  }
  const t = cols?.distilled;
  const dv = t && i < t.values.length ? t.values[i] : NaN;
  if (dv === dv) out.distilled = dv;
  const b = cols?.compare;
  const other = b && i < b.values.length ? b.values[i] : NaN;
  if (other === other) out.compareScore = other;
  const density = d && i < d.values.length ? d.values[i] : NaN;
  if (density === density) out.density = density;
  const rank = d && i < d.ranks.length ? d.ranks[i] : 0;
  if (rank > 0) out.densityRank = rank;
  const densityFailed = d?.failed?.get(i);
  if (densityFailed !== undefined && density !== density) out.densityFailed = densityFailed;
  const dup = cols?.duplicates;
  const group = dup && i < dup.groups.length ? dup.groups[i] : -1;
  if (dup && group >= 0) {
    out.duplicateGroup = group;
    out.duplicateCount = dup.sizes[group];
  }
  return out;
}

/** Encodes a Float32Array as the wire format (for tests and tools that produce columns). */
export function encodeFloat32(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** Encodes a Uint32Array as the wire format. */
export function encodeUint32(values: Uint32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}
