/**
 * One panel's view of a dataset: the query (sort, filter, search), the row indices it selects
 * (a Uint32Array, or none for the file in line order), and the mapping from the webview's
 * positions to rows. Also resolves bulk decision targets (positions, the whole view, top k% by
 * ASK-LLM, a DENSITY sample) to rows. Free of `vscode`: unit-tested in Node against a real file.
 */
import { sampleByDensity } from '../density/sampling';
import { cachedCalibration } from './calibrationView';
import { cachedComparison, type ComparisonResult } from './comparisonView';
import type {
  DecisionTarget,
  Histogram,
  DecisionValue,
  ViewInfo,
  ViewQuery,
  ViewSearch,
} from '../../shared/protocol/webview';
import { DEFAULT_QUERY } from '../../shared/protocol/webview';
import type { DecisionColumn, DecisionRule } from './decisions';
import { float32Keys, smallestK } from './radixSort';
import type { RowFactColumns } from './rowColumns';
import { DuplicateGroups } from '../map/duplicateGroups';
import { scoreSources, type ScoreColumns } from './scoreColumns';
import {
  allRows,
  filterRows,
  hasFilter,
  sortRows,
  describeQuery,
  describeScope,
  histogram,
  isIdentity,
  needsScan,
  shortNumber,
  valueRange,
  type ViewColumns,
} from './viewEngine';

/** What a view is computed from: the document's columns and its search. */
export interface ViewSource {
  /** Rows indexed so far. */
  readonly rowCount: number;
  readonly indexed: boolean;
  readonly columns: RowFactColumns;
  readonly decisions: DecisionColumn;
  /** Score columns aligned with the file, if the worker has any. */
  readonly scores: ScoreColumns | undefined;
  /** Whether the row scan (lengths, errors, fields, hashes, saved decisions) is complete. */
  readonly scanComplete: boolean;
  /** Resolves once the scan is complete; `onProgress` reports rows scanned. */
  whenScanned(
    signal: AbortSignal,
    onProgress: (done: number, total: number) => void,
  ): Promise<void>;
  /** Searches the whole file (the document caches the last result). */
  search(
    search: ViewSearch,
    signal: AbortSignal,
    onProgress: (done: number, total: number, matches: number) => void,
  ): Promise<Uint8Array>;
  /** Whether decisions can be made (trusted workspace). */
  readonly editable: boolean;
  /** The rows of a map region registered under `id` (1 = inside), if the source still has it. */
  region?(id: number): Uint8Array | undefined;
  /** The calibration's target precision (`winnow.calibration.targetPrecision`, default 0.9). */
  readonly targetPrecision?: number;
}

/** Progress of a view computation, for the webview. */
export type ViewProgress = (label: string, done: number, total: number, matches?: number) => void;

/** A view: immutable once computed (a new query makes a new view). */
export class DatasetView {
  private static nextId = 1;
  readonly id: number;
  /** Rows in view order; null = every row in line order (grows while indexing). */
  readonly rows: Uint32Array | null;
  /** Whether the view's inputs changed since it was computed. */
  stale = false;
  private histogramCache:
    { scores: ScoreColumns | undefined; total: number; value: ViewInfo['histograms'] } | undefined;

  private constructor(
    private readonly source: ViewSource,
    readonly query: ViewQuery,
    rows: Uint32Array | null,
    /** Whether every row of the file was considered. */
    readonly complete: boolean,
  ) {
    this.id = DatasetView.nextId++;
    this.rows = rows;
  }

  /** The file itself, in line order. */
  static identity(source: ViewSource): DatasetView {
    return new DatasetView(source, DEFAULT_QUERY, null, true);
  }

  /**
   * Computes the view of `query`: waits for the row scan when the query needs it, runs the search
   * when there is one. Rejects with SearchCancelled when `signal` aborts.
   */
  static async compute(
    source: ViewSource,
    query: ViewQuery,
    signal: AbortSignal,
    progress: ViewProgress,
  ): Promise<DatasetView> {
    const q = normalizeQuery(query);
    if (isIdentity(q)) return DatasetView.identity(source);
    if (needsScan(q) && !source.scanComplete)
      await source.whenScanned(signal, (done, total) => progress('Reading rows', done, total));
    let matches: Uint8Array | undefined;
    if (q.search?.text)
      matches = await source.search(q.search, signal, (done, total, m) =>
        progress('Searching', done, total, m),
      );
    const region = q.filter?.region;
    const base = viewColumns(source, q);
    const cols = region ? { ...base, region: source.region?.(region.id) } : base;
    // The rows in line order first: histograms read the score columns in that order (a sorted
    // view would read them at random, several times slower on 10M rows), then the sort.
    const members =
      hasFilter(q.filter) || matches ? filterRows(cols, q.filter, matches) : undefined;
    const rows = sortRows(members ?? allRows(source.rowCount), cols, q);
    const view = new DatasetView(source, q, rows, source.indexed);
    view.histograms(source.scores, source.rowCount, members ?? null);
    return view;
  }

  /** Rows in the view. */
  get count(): number {
    return this.rows ? this.rows.length : this.source.rowCount;
  }

  /** The row at `position` (no bounds check beyond the view). */
  rowAt(position: number): number {
    return this.rows ? this.rows[position] : position;
  }

  /** The judge A/B of the view's two scorers (its flips), once a second scorer is chosen. */
  get comparison(): ComparisonResult | undefined {
    return sourceComparison(this.source);
  }

  /** The position of `row` in the view, or -1. */
  positionOf(row: number): number {
    if (!this.rows) return row < this.source.rowCount ? row : -1;
    return this.rows.indexOf(row);
  }

  /** Whether the view's order or membership depends on decisions / scores. */
  dependsOn(what: 'decisions' | 'scores'): boolean {
    const f = this.query.filter;
    if (what === 'decisions')
      return !!f?.decisions && f.decisions.length > 0 && f.decisions.length < 3;
    return (
      this.query.sort === 'score' ||
      this.query.sort === 'density' ||
      this.query.sort === 'uncertain' ||
      !!f?.score ||
      !!f?.density ||
      !!f?.flips ||
      !!f?.duplicates
    );
  }

  /** Everything the webview shows about the view (counts, scope, histograms). */
  info(): ViewInfo {
    const source = this.source;
    const total = source.rowCount;
    const count = this.count;
    const complete = this.rows ? this.complete : source.indexed;
    const histograms = this.histograms(source.scores, total);
    const comparison = sourceComparison(source);
    const counts = source.decisions.counts;
    let scope = describeScope(count, total, this.query);
    if (!complete) scope += ' · still reading the file';
    return {
      viewId: this.id,
      query: this.query,
      count,
      total,
      complete,
      scope,
      histograms,
      decisions: {
        keep: counts.keep,
        drop: counts.drop,
        undecided: Math.max(0, total - counts.keep - counts.drop),
      },
      sources: scoreSources(source.scores),
      fields: [...source.columns.fieldNames],
      editable: source.editable,
      ...(this.stale ? { stale: true } : {}),
      ...(source.scores?.askllm
        ? { calibration: this.calibration(source.scores.askllm.values) }
        : {}),
      ...(source.scores?.scorers?.length ? { scorers: source.scores.scorers.map(choiceView) } : {}),
      ...(comparison ? { comparison: comparison.view } : {}),
    };
  }

  /** The judge's calibration against the labels (docs/judge.md#calibration), over the whole file. */
  calibration(values: Float32Array): NonNullable<ViewInfo['calibration']> {
    const s = this.source;
    return cachedCalibration(values, s.decisions, s.rowCount, s.targetPrecision ?? 0.9);
  }

  /**
   * Rows of the view that pass `test`, in line order, without sorting: a membership bitmap over
   * the file, then one pass in line order.
   */
  private memberRows(test: (row: number) => boolean): Uint32Array {
    const n = this.source.rowCount;
    let member: Uint8Array | undefined;
    if (this.rows) {
      member = new Uint8Array(n);
      for (let i = 0; i < this.rows.length; i++) member[this.rows[i]] = 1;
    }
    let count = 0;
    for (let r = 0; r < n; r++) if ((!member || member[r]) && test(r)) count++;
    const out = new Uint32Array(count);
    let k = 0;
    for (let r = 0; r < n && k < count; r++) if ((!member || member[r]) && test(r)) out[k++] = r;
    return out;
  }

  /**
   * The view's histograms, computed once per score columns (and row count): decisions do not
   * change them, and on 10M rows they cost a few hundred ms.
   */
  private histograms(
    scores: ScoreColumns | undefined,
    total: number,
    /** The view's rows in any order (line order reads fastest); null = every row. */
    members: Uint32Array | null = this.rows,
  ): ViewInfo['histograms'] {
    const cached = this.histogramCache;
    if (cached && cached.scores === scores && cached.total === total) return cached.value;
    if (members && members.length === total) members = null;
    const value: { score?: Histogram; density?: Histogram } = {};
    if (scores?.askllm) {
      // The scores' own range, not [0, 1]: a model whose P(yes) stays below 0.05 still gets 40
      // bins to pick a threshold from.
      const range = valueRange(scores.askllm.values, total);
      if (range)
        value.score = histogram(scores.askllm.values, total, members, range.min, range.max);
    }
    if (scores?.density) {
      const range = valueRange(scores.density.values, total);
      if (range)
        value.density = histogram(scores.density.values, total, members, range.min, range.max);
    }
    this.histogramCache = { scores, total, value };
    return value;
  }

  /** Every row of the view (in view order). */
  allRows(): Uint32Array {
    return this.rows ?? allRows(this.source.rowCount);
  }

  /**
   * The rows a bulk decision applies to, and the rule to record. Throws an Error with a message
   * for the user when the target cannot apply (no scores, no density, bad numbers).
   */
  resolveTarget(target: DecisionTarget, decision: DecisionValue): ResolvedTarget {
    const at = new Date().toISOString();
    const scope = describeQuery(this.query).join(' · ') || 'all rows';
    const verb = decision === 'keep' ? 'Keep' : decision === 'drop' ? 'Drop' : 'Clear';
    switch (target.kind) {
      case 'positions':
        return this.positionTarget(target, decision, verb, at);
      case 'view': {
        const rows = this.allRows();
        return {
          rows,
          rule: { kind: 'view', decision, rows: rows.length, scope, at },
          label: `${verb} ${rows.length.toLocaleString('en-US')} matching rows`,
        };
      }
      case 'topPercent':
        return this.topPercentTarget(target, decision, verb, scope, at);
      case 'densitySample':
        return this.densitySampleTarget(target, decision, verb, scope, at);
      case 'lines':
        return this.linesTarget(target, decision, verb, at);
      case 'onePerGroup':
        return onePerGroupTarget(this.source.scores, target.keep, at);
      case 'calibratedThreshold':
        return this.calibratedTarget(decision, verb, scope, at);
    }
  }

  /** The view's scored rows at or above the calibrated threshold, but for the labelled ones. */
  private calibratedTarget(
    decision: DecisionValue,
    verb: string,
    scope: string,
    at: string,
  ): ResolvedTarget {
    const scores = this.source.scores?.askllm?.values;
    if (!scores)
      throw new Error('There are no ASK-LLM scores yet: run "Winnow: Score Current File" first.');
    const c = this.calibration(scores);
    const t = c.threshold;
    if (t === null)
      throw new Error(
        `There is no calibrated threshold yet: ${c.warnings[0] ?? 'label kept and dropped rows first.'}`,
      );
    // The user's own labels stay as they are: a row they dropped above the threshold stays dropped.
    const decisions = this.source.decisions;
    const rows = this.memberRows(r => scores[r] >= t && !decisions.isLabel(r));
    return {
      rows,
      rule: {
        kind: 'threshold',
        decision,
        rows: rows.length,
        scope,
        threshold: Number(t.toPrecision(6)),
        targetPrecision: c.targetPrecision,
        ...(c.auc !== null ? { auc: Number(c.auc.toPrecision(6)) } : {}),
        labels: { keep: c.keep, drop: c.drop },
        at,
      },
      label: `${verb} ${rows.length.toLocaleString('en-US')} rows at or above the calibrated threshold ${shortNumber(t)}`,
    };
  }

  /** Rows by line index (a map selection); lines past the file are an error. */
  private linesTarget(
    target: Extract<DecisionTarget, { kind: 'lines' }>,
    decision: DecisionValue,
    verb: string,
    at: string,
  ): ResolvedTarget {
    const total = this.source.rowCount;
    const rows = Uint32Array.from(new Set(target.lines)).sort();
    for (const r of rows)
      if (!Number.isInteger(r) || r >= total)
        throw new Error(`Line ${r + 1} is not in the file (it has ${total} lines).`);
    const n = rows.length;
    const label = `${verb} ${n === 1 ? `line ${rows[0] + 1}` : `${n.toLocaleString('en-US')} rows`} (map selection)`;
    return { rows, rule: { kind: 'rows', decision, rows: n, at }, label };
  }

  /** The rows at view positions in `target.ranges` (clamped to the view). */
  private positionTarget(
    target: Extract<DecisionTarget, { kind: 'positions' }>,
    decision: DecisionValue,
    verb: string,
    at: string,
  ): ResolvedTarget {
    const count = this.count;
    let n = 0;
    const ranges = target.ranges
      .map(([a, b]) => [Math.max(0, Math.min(a, b)), Math.min(count - 1, Math.max(a, b))] as const)
      .filter(([a, b]) => a <= b);
    for (const [a, b] of ranges) n += b - a + 1;
    const rows = new Uint32Array(n);
    let k = 0;
    for (const [a, b] of ranges) for (let p = a; p <= b; p++) rows[k++] = this.rowAt(p);
    const label = `${verb} ${n === 1 ? `line ${rows[0] + 1}` : `${n.toLocaleString('en-US')} rows`}`;
    return { rows, rule: { kind: 'rows', decision, rows: n, at }, label };
  }

  /** The view's top `target.percent` % of scored rows by ASK-LLM score. */
  private topPercentTarget(
    target: Extract<DecisionTarget, { kind: 'topPercent' }>,
    decision: DecisionValue,
    verb: string,
    scope: string,
    at: string,
  ): ResolvedTarget {
    const scores = this.source.scores?.askllm?.values;
    if (!scores)
      throw new Error('There are no ASK-LLM scores yet: run "Winnow: Score Current File" first.');
    const pct = target.percent;
    if (!(pct > 0 && pct <= 100))
      throw new Error(`The percentage must be between 0 and 100, got ${pct}.`);
    const candidates = this.memberRows(r => scores[r] === scores[r]);
    const scored = candidates.length;
    if (scored === 0) throw new Error('No row in this view has an ASK-LLM score yet.');
    const take = Math.max(1, Math.round((scored * pct) / 100));
    const rows = smallestK(candidates, float32Keys(scores, candidates, true), take);
    let threshold = Infinity;
    for (let i = 0; i < rows.length; i++)
      if (scores[rows[i]] < threshold) threshold = scores[rows[i]];
    return {
      rows,
      rule: {
        kind: 'topPercent',
        decision,
        rows: take,
        scope,
        percent: pct,
        threshold: Number(threshold.toPrecision(6)),
        at,
      },
      label: `${verb} top ${shortNumber(pct)}% by ASK-LLM (${take.toLocaleString('en-US')} rows, score ≥ ${shortNumber(threshold)})`,
    };
  }

  /** An inverse-propensity sample of `target.count` of the view's rows with a DENSITY score. */
  private densitySampleTarget(
    target: Extract<DecisionTarget, { kind: 'densitySample' }>,
    decision: DecisionValue,
    verb: string,
    scope: string,
    at: string,
  ): ResolvedTarget {
    const density = this.source.scores?.density;
    if (!density)
      throw new Error('There are no DENSITY scores yet: compute DENSITY for this file first.');
    const candidates = this.memberRows(r => {
      const v = density.values[r];
      return Number.isFinite(v) && v >= 0;
    });
    const n = target.count;
    if (!(Number.isInteger(n) && n > 0 && n <= candidates.length))
      throw new Error(
        `The sample size must be a whole number between 1 and ${candidates.length.toLocaleString('en-US')} (rows in this view with a DENSITY score).`,
      );
    const seed = target.seed ?? density.meta.seed;
    const values = Float64Array.from(candidates, r => density.values[r]);
    const sample = sampleByDensity(values, { count: n }, seed >>> 0);
    const rows = Uint32Array.from(sample.indices, i => candidates[i]);
    return {
      rows,
      rule: { kind: 'densitySample', decision, rows: n, scope, count: n, seed: seed >>> 0, at },
      label: `${verb} a DENSITY sample of ${n.toLocaleString('en-US')} rows (seed ${seed >>> 0})`,
    };
  }
}

/** What a bulk decision applies to: the rows, the rule to record, and a label for the user. */
export interface ResolvedTarget {
  rows: Uint32Array;
  rule: DecisionRule;
  label: string;
  /** Set when rows get different decisions: `keep` are kept and `drop` dropped, in one edit. */
  mixed?: { keep: Uint32Array; drop: Uint32Array };
}

/**
 * "Keep one per group": per near-duplicate group the row with the highest ASK-LLM score (or the
 * first row) is kept and the others dropped. Throws when no groups have been found.
 */
function onePerGroupTarget(
  scores: ScoreColumns | undefined,
  keepRule: 'best' | 'first',
  at: string,
): ResolvedTarget {
  const dup = scores?.duplicates;
  if (!dup || dup.count === 0)
    throw new Error(
      dup
        ? 'There are no near-duplicate groups in this file.'
        : 'Near-duplicates have not been found yet: use "Find near-duplicates" first.',
    );
  if (keepRule === 'best' && !scores?.askllm)
    throw new Error('There are no ASK-LLM scores yet: keep the first row of each group instead.');
  const groups = DuplicateGroups.fromRowGroups(dup.groups, dup.count);
  const { keep, drop, rule, label } = keepOnePerGroup(
    groups,
    dup.threshold,
    keepRule,
    scores?.askllm?.values,
    at,
  );
  return {
    rows: Uint32Array.from([...keep, ...drop]),
    mixed: { keep: Uint32Array.from(keep), drop: Uint32Array.from(drop) },
    rule,
    label,
  };
}

/**
 * "Keep one per group" over near-duplicate groups (the view's and `winnow dedup --keep`): the
 * rows to keep (one per group) and drop, the rule recorded with them, and its label.
 * @param scores Per row ASK-LLM score (NaN: not scored); needed for `best`.
 */
export function keepOnePerGroup(
  groups: DuplicateGroups,
  threshold: number,
  keepRule: 'best' | 'first',
  scores: ArrayLike<number> | undefined,
  at: string,
): { keep: number[]; drop: number[]; rule: DecisionRule; label: string } {
  const { keep, drop } = groups.keepOne(keepRule, scores);
  const fmt = (n: number) => n.toLocaleString('en-US');
  const how = keepRule === 'best' ? 'the highest ASK-LLM score' : 'the first row';
  return {
    keep,
    drop,
    rule: {
      kind: 'duplicates',
      decision: 'drop',
      rows: keep.length + drop.length,
      keep: keepRule,
      groups: groups.count,
      threshold,
      at,
    },
    label: `Keep one per group (${how}): keep ${fmt(keep.length)}, drop ${fmt(drop.length)} of ${fmt(groups.count)} near-duplicate groups`,
  };
}

/** The columns of a source as the view engine reads them. */
export function viewColumns(source: ViewSource, query?: ViewQuery): ViewColumns {
  const flips = query?.filter?.flips ? sourceComparison(source)?.flipMask : undefined;
  return {
    rowCount: source.rowCount,
    rows: source.columns,
    decisions: source.decisions,
    ...(source.scores?.askllm ? { score: source.scores.askllm.values } : {}),
    ...(source.scores?.density ? { density: source.scores.density.values } : {}),
    ...(source.scores?.distilled ? { distilled: source.scores.distilled.values } : {}),
    ...(flips ? { flips } : {}),
    ...(source.scores?.duplicates ? { duplicates: source.scores.duplicates.groups } : {}),
  };
}

function choiceView(c: {
  id: string;
  label: string;
  scored: number;
  current: boolean;
}): ComparisonResult['view']['scorerA'] {
  return { id: c.id, label: c.label, scored: c.scored, current: c.current };
}

/** The judge A/B of the source's two scorers (docs/judge.md#judge-ab), once a second is chosen. */
export function sourceComparison(source: ViewSource): ComparisonResult | undefined {
  const s = source.scores;
  const a = s?.askllm;
  const b = s?.compare;
  if (!a || !b) return undefined;
  const current = s.scorers?.find(c => c.current);
  const scorerA = current
    ? choiceView(current)
    : { id: '', label: a.meta.model, scored: a.scored, current: true };
  const scorerB = { id: b.id, label: b.label, scored: b.scored, current: false };
  return cachedComparison(
    a.values,
    b.values,
    source.decisions,
    source.rowCount,
    { a: scorerA, b: scorerB },
    source.targetPrecision ?? 0.9,
  );
}

/** Drops empty parts of a query (an empty search, an empty decision list). */
export function normalizeQuery(q: ViewQuery): ViewQuery {
  const sortKeys: ViewQuery['sort'][] = ['line', 'score', 'density', 'length', 'uncertain'];
  const sort = sortKeys.includes(q.sort) ? q.sort : 'line';
  const search = q.search && q.search.text ? q.search : undefined;
  const f = q.filter;
  const filter = f
    ? {
        ...(f.score && (Number.isFinite(f.score.min) || Number.isFinite(f.score.max))
          ? { score: f.score }
          : {}),
        ...(f.density && (Number.isFinite(f.density.min) || Number.isFinite(f.density.max))
          ? { density: f.density }
          : {}),
        ...(f.decisions && f.decisions.length > 0 && f.decisions.length < 3
          ? { decisions: f.decisions }
          : {}),
        ...(f.errors ? { errors: f.errors } : {}),
        ...(f.field?.name ? { field: f.field } : {}),
        ...(f.flips ? { flips: true } : {}),
        ...(f.duplicates === 'grouped' || f.duplicates === 'ungrouped'
          ? { duplicates: f.duplicates }
          : {}),
        ...(f.region && Number.isInteger(f.region.id) ? { region: f.region } : {}),
      }
    : undefined;
  return {
    sort,
    descending: !!q.descending,
    ...(sort === 'uncertain' ? { threshold: q.threshold ?? 0.5 } : {}),
    ...(filter && Object.keys(filter).length ? { filter } : {}),
    ...(search ? { search } : {}),
  };
}
