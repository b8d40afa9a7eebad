/**
 * How ASK-LLM scores are placed and written, shared by the worker's hover and the dataset view
 * (host and webview), so both state the same facts the same way: the probability with 6
 * significant digits, its standing (rank and percentile) among the file's scored rows, and
 * ordinals. Pure: no Node, DOM or vscode.
 */

/**
 * A probability with 6 significant digits (`0.114235`, `0.000213457`, `1.23457e-7`): enough to
 * compare with a reference to 1e-6 relative, short enough to read.
 */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p === 0) return '0';
  if (p >= 1e-6) return trimZeros(p.toPrecision(6));
  return p.toExponential(5).replace(/\.?0+e/, 'e');
}

/** `0.1142350` → `0.114235`; exponent forms stay as they are. */
export function trimZeros(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Where a score stands among the scored rows of its file. */
export interface ScoreStanding {
  /** 1 = the highest score. Ties share the best rank. */
  rank: number;
  /** Scored rows compared against. */
  of: number;
  /** Percentile rank 0–100: the share of scored rows below it, ties counted half. */
  percentile: number;
}

/** Ascending scores of a column without the unscored (NaN) rows. */
export function sortedScores(values: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) n++;
  const out = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) out[k++] = values[i];
  return out.sort();
}

/** The standing of `value` (a member of the column) among `sorted` (ascending). */
export function standing(sorted: Float32Array, value: number): ScoreStanding {
  const v = Math.fround(value);
  const below = lowerBound(sorted, v);
  const upTo = upperBound(sorted, v);
  const n = sorted.length;
  const equal = upTo - below;
  return {
    rank: n - upTo + 1,
    of: n,
    percentile: n === 0 ? 0 : (100 * (below + equal / 2)) / n,
  };
}

function lowerBound(a: Float32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** "1st", "2nd", "23rd", "87th". */
export function ordinal(n: number): string {
  const r = Math.round(n);
  const mod100 = r % 100;
  const suffix = mod100 >= 11 && mod100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][r % 10] ?? 'th');
  return `${r}${suffix}`;
}

/**
 * Where a score stands, in words: "87th percentile in this file (rank 4 of 30 scored rows)".
 * The percentile is rounded down (capped at 100th), as the text-editor hover writes it.
 */
export function standingText(st: ScoreStanding): string {
  const count = (n: number) => n.toLocaleString('en-US');
  return (
    `${ordinal(Math.min(100, Math.floor(st.percentile)))} percentile in this file ` +
    `(rank ${count(st.rank)} of ${count(st.of)} scored rows)`
  );
}

/**
 * The rows a run could not score, for its summary: the count and the first row's line and
 * reason (every failed row is logged by the worker and shown in the hover and the dataset view).
 */
export function failedSummary(result: {
  readonly failed?: number;
  readonly failures?: readonly { line: number; reason: string }[];
}): string {
  const failed = result.failed ?? 0;
  if (failed === 0) return '';
  const first = result.failures?.[0];
  return (
    `; ${failed.toLocaleString('en-US')} row${failed === 1 ? '' : 's'} could not be scored` +
    (first ? ` (line ${first.line.toLocaleString('en-US')}: ${first.reason})` : '')
  );
}

/** The last part of a path, `/` or `\` separated (no Node here). */
function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * Where imported scores came from, in words: "imported from train.scores.jsonl · vllm at
 * http://gpu:8000/v1, exact · 4 shards · scored 2026-12-07T10:00:00Z". The fields are those of
 * `ImportedScoresSource` (src/shared/protocol/worker.ts).
 */
export function importedText(src: {
  readonly files: readonly string[];
  readonly engine?: string;
  readonly endpoint?: string;
  readonly mode?: string;
  readonly topK?: number;
  readonly shards?: number;
  readonly createdAt?: string;
}): string {
  const files =
    src.files.length <= 2
      ? src.files.map(fileName).join(', ')
      : `${fileName(src.files[0])} and ${src.files.length - 1} more files`;
  const engine = src.engine
    ? `${src.engine}${src.endpoint ? ` at ${src.endpoint}` : ''}` +
      (src.mode ? `, ${src.mode === 'top-k' && src.topK ? `top-${src.topK}` : src.mode}` : '')
    : undefined;
  return [
    `imported from ${files}`,
    engine,
    src.shards && src.shards > 1 ? `${src.shards} shards` : undefined,
    src.createdAt ? `scored ${src.createdAt.replace(/\.\d+Z$/, 'Z')}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
}

/**
 * What an import did, in one sentence for a notification: "Imported ASK-LLM scores for 998 of
 * 1,000 lines of train.jsonl from train.scores.jsonl (vllm · Qwen/Qwen2.5-7B · prompt paper).
 * 2 rows of the files match no line and were not imported."
 */
export function importSummaryText(
  datasetName: string,
  lines: number,
  s: {
    readonly kind: 'askllm' | 'density';
    readonly files: readonly string[];
    readonly linesScored: number;
    readonly unmatched: number;
    readonly errors: number;
    readonly bounds: number;
    readonly model: string;
    readonly engine?: string;
    readonly promptName?: string;
    readonly replacedComputed?: boolean;
  },
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const files =
    s.files.length <= 2
      ? s.files.map(fileName).join(' and ')
      : `${s.files.length} files (${fileName(s.files[0])}, …)`;
  const by = [s.engine, s.model, s.promptName ? `prompt ${s.promptName}` : undefined]
    .filter(Boolean)
    .join(' · ');
  const parts = [
    `Imported ${s.kind === 'askllm' ? 'ASK-LLM' : 'DENSITY'} scores for ${n(s.linesScored)} of ` +
      `${n(lines)} lines of ${datasetName} from ${files} (${by}).`,
  ];
  if (s.bounds > 0) parts.push(`${n(s.bounds)} rows have only an upper bound (no score).`);
  if (s.errors > 0) parts.push(`${n(s.errors)} rows were in error in the run (no score).`);
  if (s.unmatched > 0)
    parts.push(
      `${n(s.unmatched)} ${s.unmatched === 1 ? 'row' : 'rows'} of the files match no line of ` +
        `${datasetName} and ${s.unmatched === 1 ? 'was' : 'were'} not imported.`,
    );
  if (s.replacedComputed)
    parts.push(
      `They replace the DENSITY computed here for ${datasetName} (Compute Density computes it ` +
        'here again).',
    );
  return parts.join(' ');
}
