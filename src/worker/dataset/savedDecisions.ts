/**
 * The saved keep/drop decisions of a dataset (its sidecar, or a hot-exit backup), as the dataset
 * view gives them with `winnow/setSavedDecisions`, matched to rows by content hash as the scan
 * goes (the core `DecisionBaseline`), and the hashes of decided rows when the view saves
 * (`winnow/decisionHashes`). Decisions keyed by content hash version 1 (SHA-256) are matched by
 * hashing rows that way too, in a pass of their own ({@link LegacyHashes}), only while such
 * decisions exist.
 */
import {
  DecisionBaseline,
  DecisionColumn,
  DROP,
  KEEP,
  decisionsByHash,
  type RowHashColumns,
} from '../../core/dataset/decisions';
import type { RowColumns } from '../../core/dataset/rowColumns';
import { legacyContentHash } from '../../core/jsonl';
import type { DecisionHashes, SetSavedDecisionsParams } from '../../shared/protocol/worker';

/** Version-1 content hashes (SHA-256, first 16 bytes) of rows `0 .. filled-1`. */
export class LegacyHashes {
  private bytes = new Uint8Array(16 * 1024);
  private rows = 0;

  /** Rows hashed so far. */
  get filled(): number {
    return this.rows;
  }

  get memoryBytes(): number {
    return this.bytes.byteLength;
  }

  /** Hashes row `filled` from its bytes. */
  push(line: Uint8Array): void {
    if ((this.rows + 1) * 16 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(Buffer.from(legacyContentHash(line), 'hex').subarray(0, 16), this.rows * 16);
    this.rows++;
  }

  /** Forgets rows from `n` on. */
  truncate(n: number): void {
    this.rows = Math.min(this.rows, Math.max(0, n));
  }

  hex(i: number): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + i * 16, 16).toString('hex');
  }
}

/** The hashes saved decisions are matched with: the scan's, and version-1 ones if kept. */
function hashColumns(columns: RowColumns, legacy: LegacyHashes | undefined): RowHashColumns {
  return {
    get scanned() {
      return columns.scanned;
    },
    hashPrefix: i => columns.hashPrefix(i),
    hashHex: i => columns.hashHex(i),
    hasLegacyHashes: legacy !== undefined,
    legacyHashHex: i => legacy!.hex(i),
  };
}

/** The saved decisions of one dataset, matched to the rows of one version of the file. */
export class SavedDecisions {
  private readonly baseline: DecisionBaseline;
  /** The saved decision of each row matched so far (0 = none). */
  private readonly codes = new DecisionColumn();
  private matched = 0;

  constructor(readonly params: SetSavedDecisionsParams) {
    const { keep, drop, legacy } = params;
    this.baseline = new DecisionBaseline(keep, drop, legacy ?? { keep: [], drop: [] });
  }

  get id(): string {
    return this.params.id;
  }

  /** The same decisions, to be matched to the rows of a new version of the file. */
  forNextVersion(): SavedDecisions {
    return new SavedDecisions(this.params);
  }

  /** Whether rows must be hashed the version-1 way too. */
  get needsLegacyHashes(): boolean {
    return this.baseline.needsLegacyHashes;
  }

  /** Rows matched so far, from the top of the file. */
  get rows(): number {
    return this.matched;
  }

  /** Matches rows `rows .. to-1` (scanned, and legacy-hashed where needed). */
  matchUpTo(columns: RowColumns, legacy: LegacyHashes | undefined, to: number): void {
    if (to <= this.matched) return;
    this.codes.resize(to);
    this.baseline.applyTo(hashColumns(columns, legacy), this.codes, this.matched, to);
    this.matched = to;
  }

  /** Forgets the matches of rows from `n` on (they are scanned again). */
  truncate(n: number): void {
    if (n >= this.matched) return;
    this.matched = Math.max(0, n);
    this.codes.resize(this.matched);
  }

  /** Rows among `from .. to-1` (matched) with a saved keep and a saved drop, ascending. */
  rowsIn(from: number, to: number): { keep: Uint32Array; drop: Uint32Array } {
    const keep: number[] = [];
    const drop: number[] = [];
    const codes = this.codes.codes;
    for (let i = from; i < to && i < this.matched; i++) {
      if (codes[i] === KEEP) keep.push(i);
      else if (codes[i] === DROP) drop.push(i);
    }
    return { keep: Uint32Array.from(keep), drop: Uint32Array.from(drop) };
  }

  /** Bytes held per row (the codes). */
  get memoryBytes(): number {
    return this.codes.codes.byteLength;
  }

  /**
   * The decisions to save: the hashes of `keep` and `drop` rows of `columns`, plus the saved ones
   * that matched no row (see `decisionsByHash`).
   */
  hashesOf(columns: RowColumns, keep: Uint32Array, drop: Uint32Array): DecisionHashes {
    return hashesOf(columns, keep, drop, this.baseline);
  }
}

/** {@link SavedDecisions.hashesOf} with or without saved decisions. */
export function hashesOf(
  columns: RowColumns,
  keep: Uint32Array,
  drop: Uint32Array,
  baseline: DecisionBaseline | undefined,
): DecisionHashes {
  const decisions = new DecisionColumn();
  decisions.resize(columns.scanned);
  for (const [rows, code] of [
    [keep, KEEP],
    [drop, DROP],
  ] as const)
    for (const r of rows) {
      if (r >= columns.scanned) throw new RangeError(`Row ${r} has no content hash yet`);
      decisions.set(r, code);
    }
  const { keep: k, drop: d, legacy } = decisionsByHash(columns, decisions, baseline);
  return { keep: k, drop: d, legacy };
}
