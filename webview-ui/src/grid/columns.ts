/**
 * The grid's columns: ids, titles, default and minimum widths, and the CSS grid template for a
 * set of widths and hidden columns. Pure (no DOM): unit-tested in Node. Widths and hidden columns
 * persist in the webview state.
 */

/** Column ids, in display order. */
export type ColumnId =
  | 'line'
  | 'decision'
  | 'preview'
  | 'score'
  | 'distilled'
  | 'density'
  | 'duplicates'
  | 'length'
  | 'tokens'
  | 'status';

export interface ColumnDef {
  readonly id: ColumnId;
  readonly title: string;
  /** Tooltip of the header. */
  readonly description: string;
  /** Default width in px; `undefined`: takes the remaining space (the preview). */
  readonly width?: number;
  readonly minWidth: number;
  /** Whether the user may hide it (the line number and the preview stay). */
  readonly hideable: boolean;
  readonly align?: 'right';
  /** Gives up its width before the others in a narrow grid (mostly empty columns). */
  readonly shrinkFirst?: boolean;
  /** Never shrinks for a narrow grid (line numbers must stay whole). */
  readonly keepWidth?: boolean;
}

export const COLUMNS: readonly ColumnDef[] = [
  {
    id: 'line',
    title: 'Line',
    description: 'Line number in the file',
    width: 80,
    minWidth: 48,
    hideable: false,
    keepWidth: true,
    align: 'right',
  },
  {
    id: 'decision',
    title: 'Decision',
    description: 'Keep, drop or undecided (? lists the keys)',
    width: 88,
    minWidth: 84,
    hideable: true,
  },
  {
    id: 'preview',
    title: 'Preview',
    description: "The row's text as the detected schema reads it",
    minWidth: 120,
    hideable: false,
  },
  {
    id: 'score',
    title: 'ASK-LLM',
    description: 'ASK-LLM quality score: P("yes") of the scoring model',
    width: 120,
    minWidth: 84,
    hideable: true,
  },
  {
    id: 'distilled',
    title: 'Distilled',
    description:
      'The distilled scorer: a ridge model on the DENSITY embedding fitted to the ASK-LLM judge ' +
      '(not the judge score; the tooltip says what it was fitted on)',
    width: 120,
    minWidth: 84,
    hideable: true,
  },
  {
    id: 'density',
    title: 'Density',
    description: 'DENSITY rank: 1 = the most isolated example (the score is in the tooltip)',
    width: 84,
    minWidth: 72,
    hideable: true,
    align: 'right',
  },
  {
    id: 'duplicates',
    title: 'Group',
    description:
      'Near-duplicate group: rows whose DENSITY embeddings have cosine ≥ the threshold, exact copies included (number of rows in brackets)',
    width: 100,
    minWidth: 72,
    hideable: true,
    align: 'right',
  },
  {
    id: 'length',
    title: 'Length',
    description: 'Length of the text in characters (Tokens has the prompt tokens of scored rows)',
    width: 84,
    minWidth: 72,
    hideable: true,
    align: 'right',
  },
  {
    id: 'tokens',
    title: 'Tokens',
    description:
      'Prompt tokens the ASK-LLM model read, known once the row is scored (a "+" after the ' +
      'count: the document was truncated to fit the max-token setting)',
    width: 76,
    minWidth: 72,
    hideable: true,
    align: 'right',
  },
  {
    id: 'status',
    title: 'Status',
    description: 'Parse errors of lines that are not valid JSON objects',
    width: 150,
    minWidth: 64,
    hideable: true,
    shrinkFirst: true,
  },
];

/** Widths by column id (px). */
export type ColumnWidths = Readonly<Partial<Record<ColumnId, number>>>;

/** The width of a fixed column: the saved one clamped to its minimum, else the default. */
export function columnWidth(def: ColumnDef, widths: ColumnWidths): number | undefined {
  if (def.width === undefined) return undefined;
  const w = widths[def.id];
  return Math.max(def.minWidth, Number.isFinite(w) ? Math.round(w!) : def.width);
}

/** Visible columns, in order. Unknown or non-hideable ids in `hidden` are ignored. */
export function visibleColumns(hidden: readonly string[]): ColumnDef[] {
  return COLUMNS.filter(c => !c.hideable || !hidden.includes(c.id));
}

/** Share of a narrow grid that the preview keeps by shrinking the other columns. */
export const PREVIEW_SHARE = 0.45;

/**
 * The widths of the fixed columns for a grid `available` px wide. When the preview would get
 * less than `PREVIEW_SHARE` of the width (a detail panel beside a narrow editor), the columns
 * the user has not resized give up width in proportion to what they have above their minimum;
 * the user's own widths are kept as set.
 */
export function fittedWidths(
  widths: ColumnWidths,
  hidden: readonly string[],
  available?: number,
): Partial<Record<ColumnId, number>> {
  const out: Partial<Record<ColumnId, number>> = {};
  const visible = visibleColumns(hidden);
  let total = 0;
  let preview = 0;
  for (const c of visible) {
    const w = columnWidth(c, widths);
    if (w === undefined) preview += c.minWidth;
    else {
      out[c.id] = w;
      total += w;
    }
  }
  if (available === undefined || !(available > 0)) return out;
  const wantPreview = Math.max(preview, PREVIEW_SHARE * available);
  const excess = total + wantPreview - available;
  if (excess <= 0) return out;
  const shrinkable = visible.filter(
    c => c.width !== undefined && widths[c.id] === undefined && !c.keepWidth,
  );
  // Columns that are mostly empty (parse status) give up their width first, then the others
  // in proportion to what they have above their minimum.
  let left = excess;
  for (const phase of [true, false]) {
    const group = shrinkable.filter(c => (c.shrinkFirst === true) === phase);
    const room = group.reduce((a, c) => a + (out[c.id]! - c.minWidth), 0);
    if (room <= 0 || left <= 0) continue;
    const f = Math.min(1, left / room);
    for (const c of group) {
      const give = Math.round(f * (out[c.id]! - c.minWidth));
      out[c.id] = out[c.id]! - give;
      left -= give;
    }
  }
  return out;
}

/** The `grid-template-columns` value for the visible columns (see `fittedWidths`). */
export function gridTemplate(
  widths: ColumnWidths,
  hidden: readonly string[],
  available?: number,
): string {
  const fitted = fittedWidths(widths, hidden, available);
  return visibleColumns(hidden)
    .map(c => {
      const w = fitted[c.id];
      return w === undefined ? `minmax(${c.minWidth}px, 1fr)` : `${w}px`;
    })
    .join(' ');
}

/** A column's width after dragging its right edge by `deltaPx` from `startPx`. */
export function resizedWidth(def: ColumnDef, startPx: number, deltaPx: number): number {
  return Math.max(def.minWidth, Math.round(startPx + deltaPx));
}
