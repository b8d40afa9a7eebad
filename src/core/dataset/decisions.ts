/**
 * Keep/drop decisions of one dataset: a byte per row (0 undecided, 1 keep, 2 drop) with running
 * counts, undoable edits that record what they replaced, and the mapping from the sidecar's
 * content hashes onto rows. Free of `vscode`: unit-tested in Node. The document owns one
 * {@link DecisionColumn} and turns each {@link DecisionEdit} into a VS Code custom-document edit.
 */
import type { Decision, DecisionValue } from '../../shared/protocol/webview';

/**
 * The content hashes of rows that saved decisions are matched with: the worker's `RowColumns`,
 * optionally with version-1 hashes kept beside them.
 */
export interface RowHashColumns {
  /** Rows hashed, from the top of the file. */
  readonly scanned: number;
  /** The first 4 bytes of row `i`'s hash as an unsigned integer. */
  hashPrefix(i: number): number;
  /** Row `i`'s content hash (32 hex digits). */
  hashHex(i: number): string;
  /** Whether version-1 hashes are known for the rows matched. */
  readonly hasLegacyHashes: boolean;
  /** Row `i`'s version-1 content hash (32 hex digits), where {@link hasLegacyHashes}. */
  legacyHashHex(i: number): string;
}

export const UNDECIDED = 0;
export const KEEP = 1;
export const DROP = 2;

/** Byte code of a decision value. */
export function decisionCode(d: DecisionValue): number {
  return d === 'keep' ? KEEP : d === 'drop' ? DROP : UNDECIDED;
}

/** Decision of a byte code (undefined for undecided). */
export function decisionOf(code: number): Decision | undefined {
  return code === KEEP ? 'keep' : code === DROP ? 'drop' : undefined;
}

/** How a bulk decision chose its rows: recorded with the edit, the sidecar and the export manifest. */
export interface DecisionRule {
  readonly kind: 'rows' | 'view' | 'topPercent' | 'densitySample' | 'threshold' | 'duplicates';
  readonly decision: DecisionValue;
  /** Rows the rule selected. */
  readonly rows: number;
  /** The view's filter, search and sort when the rule ran, in words. */
  readonly scope?: string;
  /** `topPercent`: the percentage and the lowest ASK-LLM score kept. `threshold`: the calibrated threshold. */
  readonly percent?: number;
  readonly threshold?: number;
  /** `threshold`: the target precision, the AUC and the labels the calibration rested on. */
  readonly targetPrecision?: number;
  readonly auc?: number;
  readonly labels?: { readonly keep: number; readonly drop: number };
  /** `densitySample`: sample size and seed. */
  readonly count?: number;
  readonly seed?: number;
  /** `duplicates`: which row each group kept (`best` ASK-LLM score or `first`) and how many groups. */
  readonly keep?: 'best' | 'first';
  readonly groups?: number;
  /** ISO time the rule was applied. */
  readonly at: string;
}

/** One undoable change: `rows` got `after`; `before` holds what each had. */
export interface DecisionEdit {
  readonly rows: Uint32Array;
  readonly before: Uint8Array;
  readonly after: number;
  /** Per row, the code it got, when rows got different decisions (then `after` is unused). */
  readonly afterCodes?: Uint8Array;
  /**
   * Whether `before` of each row came from a bulk rule (absent: none did). The calibration
   * leaves rows decided by bulk rules out of its labels (docs/judge.md#calibration).
   */
  readonly beforeBulk?: Uint8Array;
  /** Shown in the Edit menu ("Undo Keep 3 rows"). */
  readonly label: string;
  /** The file version the row indices refer to; an edit of an older version is void. */
  readonly generation: number;
  readonly rule?: DecisionRule;
}

/** Whether an edit's rule is a bulk rule (anything but rows decided one by one or as a selection). */
export function isBulkRule(rule: DecisionRule | undefined): boolean {
  return !!rule && rule.kind !== 'rows';
}

/** Decisions of every row of one version of the file. */
export class DecisionColumn {
  private values = new Uint8Array(0);
  /**
   * 1 where the row's decision came from a bulk rule in this session (a threshold, a sample, a
   * whole view): such rows are decisions but not labels. Rows decided by hand, and decisions
   * read from the sidecar, have 0 (the sidecar does not record how a row was decided).
   */
  private bulk = new Uint8Array(0);
  private _rows = 0;
  private _keep = 0;
  private _drop = 0;
  private _version = 0;

  /** Bumped on every change: caches of figures over the decisions key on it. */
  get version(): number {
    return this._version;
  }

  /** Whether row `row` is a label: decided, and not by a bulk rule. */
  isLabel(row: number): boolean {
    return row < this._rows && this.values[row] !== UNDECIDED && this.bulk[row] === 0;
  }

  /** Rows covered (the others count as undecided). */
  get rows(): number {
    return this._rows;
  }

  get counts(): { keep: number; drop: number; undecided: number } {
    return { keep: this._keep, drop: this._drop, undecided: this._rows - this._keep - this._drop };
  }

  /** The raw codes (for filters over many rows); index < rows. */
  get codes(): Uint8Array {
    return this.values;
  }

  /** Covers `n` rows; new rows are undecided. */
  resize(n: number): void {
    if (n > this.values.length) {
      const size = Math.max(n, Math.ceil(this.values.length * 1.5), 1024);
      const next = new Uint8Array(size);
      next.set(this.values.subarray(0, this._rows));
      this.values = next;
      const bulk = new Uint8Array(size);
      bulk.set(this.bulk.subarray(0, this._rows));
      this.bulk = bulk;
    } else if (n < this._rows) {
      for (let i = n; i < this._rows; i++) this.count(this.values[i], -1);
      this.values.fill(0, n, this._rows);
      this.bulk.fill(0, n, this._rows);
    }
    this._rows = n;
    this._version++;
  }

  /** Lets go of the room beyond the rows covered (once the row count is final). */
  trim(): void {
    if (this.values.length > this._rows) this.values = this.values.slice(0, this._rows);
  }

  get(row: number): number {
    return row < this._rows ? this.values[row] : UNDECIDED;
  }

  /** Sets one row, keeping the counts right; `bulk`: the decision comes from a bulk rule. */
  set(row: number, code: number, bulk = false): void {
    this.bulk[row] = bulk && code !== UNDECIDED ? 1 : 0;
    this._version++;
    const old = this.values[row];
    if (old === code) return;
    this.count(old, -1);
    this.count(code, 1);
    this.values[row] = code;
  }

  /** Clears every row. */
  clear(): void {
    this.values.fill(0, 0, this._rows);
    this.bulk.fill(0, 0, this._rows);
    this._keep = this._drop = 0;
    this._version++;
  }

  /**
   * Builds the edit that gives `rows` the decision `value`, leaving out rows that already have
   * it; undefined when nothing would change. Rows must be < `this.rows`.
   */
  makeEdit(
    rows: ArrayLike<number>,
    value: DecisionValue,
    label: string,
    generation: number,
    rule?: DecisionRule,
  ): DecisionEdit | undefined {
    const code = decisionCode(value);
    let n = 0;
    for (let i = 0; i < rows.length; i++) if (this.values[rows[i]] !== code) n++;
    if (n === 0) return undefined;
    const changed = new Uint32Array(n);
    const before = new Uint8Array(n);
    const beforeBulk = new Uint8Array(n);
    let anyBulk = false;
    let k = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const v = this.values[r];
      if (v === code) continue;
      changed[k] = r;
      beforeBulk[k] = this.bulk[r];
      anyBulk ||= this.bulk[r] === 1;
      before[k++] = v;
    }
    return {
      rows: changed,
      before,
      ...(anyBulk ? { beforeBulk } : {}),
      after: code,
      label,
      generation,
      ...(rule ? { rule } : {}),
    };
  }

  /**
   * Builds one edit that keeps `keep` and drops `drop` (e.g. "keep one per group"), leaving out
   * rows that already have their decision; undefined when nothing would change.
   */
  makeMixedEdit(
    keep: ArrayLike<number>,
    drop: ArrayLike<number>,
    label: string,
    generation: number,
    rule?: DecisionRule,
  ): DecisionEdit | undefined {
    const rows: number[] = [];
    const before: number[] = [];
    const beforeBulk: number[] = [];
    const after: number[] = [];
    for (const [list, code] of [
      [keep, KEEP],
      [drop, DROP],
    ] as const)
      for (let i = 0; i < list.length; i++) {
        const r = list[i];
        if (this.values[r] === code) continue;
        rows.push(r);
        before.push(this.values[r]);
        beforeBulk.push(this.bulk[r]);
        after.push(code);
      }
    if (rows.length === 0) return undefined;
    return {
      rows: Uint32Array.from(rows),
      before: Uint8Array.from(before),
      ...(beforeBulk.includes(1) ? { beforeBulk: Uint8Array.from(beforeBulk) } : {}),
      after: DROP,
      afterCodes: Uint8Array.from(after),
      label,
      generation,
      ...(rule ? { rule } : {}),
    };
  }

  /** Applies an edit (do or redo). */
  apply(edit: DecisionEdit): void {
    const bulk = isBulkRule(edit.rule);
    const codes = edit.afterCodes;
    for (let i = 0; i < edit.rows.length; i++)
      this.set(edit.rows[i], codes ? codes[i] : edit.after, bulk);
  }

  /** Reverts an edit (undo): every row gets back what it had. */
  revert(edit: DecisionEdit): void {
    const bulk = edit.beforeBulk;
    for (let i = edit.rows.length - 1; i >= 0; i--)
      this.set(edit.rows[i], edit.before[i], bulk ? bulk[i] === 1 : false);
  }

  /** Rows with decision `code`, ascending. */
  rowsWith(code: number): Uint32Array {
    const n = code === KEEP ? this._keep : code === DROP ? this._drop : this.counts.undecided;
    const out = new Uint32Array(n);
    let k = 0;
    for (let i = 0; i < this._rows && k < n; i++) if (this.values[i] === code) out[k++] = i;
    return out;
  }

  private count(code: number, delta: number): void {
    if (code === KEEP) this._keep += delta;
    else if (code === DROP) this._drop += delta;
  }
}

/**
 * Saved decisions by content hash (from the sidecar or a hot-exit backup), ready to be matched
 * against rows as the scan hashes them. Hashes that match no row are kept, so that saving never
 * forgets a decision about a row that is (for now) not in the file.
 */
export class DecisionBaseline {
  private readonly byHash = new Map<string, number>();
  private readonly prefixes = new Set<number>();
  private readonly matched = new Set<string>();
  /** Decisions keyed by content hash version 1 (SHA-256), matched by the rows' legacy hashes. */
  private readonly byLegacyHash = new Map<string, number>();
  private readonly legacyMatched = new Set<string>();

  constructor(
    keep: Iterable<string> = [],
    drop: Iterable<string> = [],
    legacy: { keep: Iterable<string>; drop: Iterable<string> } = { keep: [], drop: [] },
  ) {
    for (const h of keep) this.add(h, KEEP);
    for (const h of drop) this.add(h, DROP);
    for (const h of legacy.keep) this.byLegacyHash.set(h.toLowerCase(), KEEP);
    for (const h of legacy.drop) this.byLegacyHash.set(h.toLowerCase(), DROP);
  }

  get size(): number {
    return this.byHash.size + this.byLegacyHash.size;
  }

  /** Whether the scan must compute version-1 hashes too (to re-key legacy decisions). */
  get needsLegacyHashes(): boolean {
    return this.byLegacyHash.size > 0;
  }

  private add(hash: string, code: number): void {
    const h = hash.toLowerCase();
    this.byHash.set(h, code);
    this.prefixes.add(parseInt(h.slice(0, 8), 16) >>> 0);
  }

  /** Gives rows `from .. to-1` their saved decision (rows without one are left alone). */
  applyTo(columns: RowHashColumns, decisions: DecisionColumn, from: number, to: number): void {
    this.applyLegacyTo(columns, decisions, from, to);
    if (this.byHash.size === 0) return;
    for (let i = from; i < to; i++) {
      if (!this.prefixes.has(columns.hashPrefix(i))) continue;
      const hex = columns.hashHex(i);
      const code = this.byHash.get(hex);
      if (code === undefined) continue;
      decisions.set(i, code);
      this.matched.add(hex);
    }
  }

  /** Gives rows their legacy (version-1 keyed) decision, where the scan computed legacy hashes. */
  private applyLegacyTo(
    columns: RowHashColumns,
    decisions: DecisionColumn,
    from: number,
    to: number,
  ): void {
    if (this.byLegacyHash.size === 0 || !columns.hasLegacyHashes) return;
    for (let i = from; i < to; i++) {
      const hex = columns.legacyHashHex(i);
      const code = this.byLegacyHash.get(hex);
      if (code === undefined) continue;
      decisions.set(i, code);
      this.legacyMatched.add(hex);
    }
  }

  /** Saved decisions whose hash matched no row so far. */
  *unmatched(): Generator<[string, number]> {
    for (const [h, code] of this.byHash) if (!this.matched.has(h)) yield [h, code];
  }

  /** Legacy (version-1 keyed) decisions that matched no row so far: kept, never dropped. */
  unmatchedLegacy(): { keep: string[]; drop: string[] } {
    const keep: string[] = [];
    const drop: string[] = [];
    for (const [h, code] of this.byLegacyHash)
      if (!this.legacyMatched.has(h)) (code === KEEP ? keep : drop).push(h);
    return { keep: keep.sort(), drop: drop.sort() };
  }
}

/**
 * The decisions to save, by content hash: every decided row of the file, plus the baseline's
 * unmatched hashes. Identical lines share a hash; when they disagree, the last one in the file
 * wins.
 */
export function decisionsByHash(
  columns: Pick<RowHashColumns, 'scanned' | 'hashHex'>,
  decisions: DecisionColumn,
  baseline: DecisionBaseline | undefined,
): { keep: string[]; drop: string[]; legacy: { keep: string[]; drop: string[] } } {
  const byHash = new Map<string, number>();
  if (baseline) for (const [h, code] of baseline.unmatched()) byHash.set(h, code);
  const codes = decisions.codes;
  const n = Math.min(decisions.rows, columns.scanned);
  for (let i = 0; i < n; i++) {
    const code = codes[i];
    if (code !== UNDECIDED) byHash.set(columns.hashHex(i), code);
  }
  const keep: string[] = [];
  const drop: string[] = [];
  for (const [h, code] of byHash) (code === KEEP ? keep : drop).push(h);
  keep.sort();
  drop.sort();
  return { keep, drop, legacy: baseline?.unmatchedLegacy() ?? { keep: [], drop: [] } };
}
