/**
 * Near-duplicate groups of a file's rows: distinct contents (items) grouped by
 * `findNearDuplicates`, expanded to the rows that hold them, so exact copies (same content
 * hash) always share a group. A group has at least two rows; group ids follow the first row
 * of each group in file order, so they are stable for a given file and grouping.
 */

/** What "Keep one per group" keeps: the highest ASK-LLM score, or the first row. */
export type KeepRule = 'best' | 'first';

export class DuplicateGroups {
  private constructor(
    /** Per row: its group id, or −1 when the row has no near or exact duplicate. */
    readonly groupOfRow: Int32Array,
    /** CSR layout: the rows of group g are members[offsets[g] .. offsets[g + 1]), ascending. */
    private readonly offsets: Uint32Array,
    private readonly members: Uint32Array,
  ) {}

  /**
   * @param itemOfRow Per row, its distinct-content index, or −1 for a row with no content to
   *   compare (an invalid line).
   * @param groupOfItem Per item, a label shared by the items of one near-duplicate group (e.g.
   *   `NearDuplicateResult.groupOf`; items that were not embedded label themselves).
   */
  static fromItems(itemOfRow: Int32Array, groupOfItem: Int32Array): DuplicateGroups {
    const rows = itemOfRow.length;
    const labelOf = (r: number) => (itemOfRow[r] < 0 ? -1 : groupOfItem[itemOfRow[r]]);
    const rowsWithLabel = new Map<number, number>();
    for (let r = 0; r < rows; r++) {
      const label = labelOf(r);
      if (label >= 0) rowsWithLabel.set(label, (rowsWithLabel.get(label) ?? 0) + 1);
    }
    const idOfLabel = new Map<number, number>();
    const groupOfRow = new Int32Array(rows).fill(-1);
    const sizes: number[] = [];
    for (let r = 0; r < rows; r++) {
      const label = labelOf(r);
      if (label < 0 || (rowsWithLabel.get(label) ?? 0) < 2) continue;
      let id = idOfLabel.get(label);
      if (id === undefined) {
        id = sizes.length;
        idOfLabel.set(label, id);
        sizes.push(0);
      }
      groupOfRow[r] = id;
      sizes[id]++;
    }
    return DuplicateGroups.fromRowGroups(groupOfRow, sizes.length);
  }

  /** From a per-row group column (ids 0..count−1, −1 = none), e.g. one read from a cache. */
  static fromRowGroups(groupOfRow: Int32Array, count: number): DuplicateGroups {
    const offsets = new Uint32Array(count + 1);
    for (const g of groupOfRow) if (g >= 0) offsets[g + 1]++;
    for (let g = 0; g < count; g++) offsets[g + 1] += offsets[g];
    const fill = offsets.slice(0, count);
    const members = new Uint32Array(offsets[count]);
    for (let r = 0; r < groupOfRow.length; r++) {
      const g = groupOfRow[r];
      if (g >= 0) members[fill[g]++] = r;
    }
    return new DuplicateGroups(groupOfRow, offsets, members);
  }

  /** Number of groups. */
  get count(): number {
    return this.offsets.length - 1;
  }

  /** Rows that belong to some group. */
  get groupedRows(): number {
    return this.members.length;
  }

  /** The rows of group `g`, ascending. */
  rowsOf(g: number): Uint32Array {
    return this.members.subarray(this.offsets[g], this.offsets[g + 1]);
  }

  /**
   * "Keep one per group": per group, the row to keep and the rows to drop. `best` keeps the
   * highest score (unscored rows lose to scored ones; ties go to the first row), `first` keeps
   * the group's first row.
   * @param scores Per row ASK-LLM score, NaN = not scored (needed for `best`).
   */
  keepOne(rule: KeepRule, scores?: ArrayLike<number>): { keep: number[]; drop: number[] } {
    const keep: number[] = [];
    const drop: number[] = [];
    for (let g = 0; g < this.count; g++) {
      const rows = this.rowsOf(g);
      let kept = rows[0];
      if (rule === 'best' && scores) {
        let bestScore = -Infinity;
        for (const r of rows) {
          const s = scores[r];
          if (s > bestScore) {
            bestScore = s;
            kept = r;
          }
        }
      }
      keep.push(kept);
      for (const r of rows) if (r !== kept) drop.push(r);
    }
    return { keep, drop: drop.sort((a, b) => a - b) };
  }
}
