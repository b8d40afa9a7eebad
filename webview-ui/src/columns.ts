/**
 * The grid's columns: ids, titles, default and minimum widths, and the CSS grid template for a
 * set of widths and hidden columns. Pure (no DOM): unit-tested in Node. Widths and hidden columns
 * persist in the webview state.
 */

/** Column ids, in display order. */
export type ColumnId = 'line' | 'decision' | 'preview' | 'score' | 'density' | 'length' | 'status';

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
}

export const COLUMNS: readonly ColumnDef[] = [
  {
    id: 'line',
    title: 'Line',
    description: 'Line number in the file',
    width: 80,
    minWidth: 48,
    hideable: false,
    align: 'right',
  },
  {
    id: 'decision',
    title: 'Decision',
    description: 'Keep (y), drop (n) or undecided (x)',
    width: 80,
    minWidth: 36,
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
    minWidth: 60,
    hideable: true,
  },
  {
    id: 'density',
    title: 'Density',
    description: 'DENSITY rank: 1 = the most isolated example (the score is in the tooltip)',
    width: 84,
    minWidth: 56,
    hideable: true,
    align: 'right',
  },
  {
    id: 'length',
    title: 'Length',
    description:
      'Length of the text in characters, then the prompt tokens the ASK-LLM model read once the ' +
      'row is scored ("355 · 94 tok"); sorting by length uses characters',
    width: 156,
    minWidth: 48,
    hideable: true,
    align: 'right',
  },
  {
    id: 'status',
    title: 'Status',
    description: 'Parse errors of lines that are not valid JSON objects',
    width: 150,
    minWidth: 60,
    hideable: true,
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

/** The `grid-template-columns` value for the visible columns. */
export function gridTemplate(widths: ColumnWidths, hidden: readonly string[]): string {
  return visibleColumns(hidden)
    .map(c => {
      const w = columnWidth(c, widths);
      return w === undefined ? `minmax(${c.minWidth}px, 1fr)` : `${w}px`;
    })
    .join(' ');
}

/** A column's width after dragging its right edge by `deltaPx` from `startPx`. */
export function resizedWidth(def: ColumnDef, startPx: number, deltaPx: number): number {
  return Math.max(def.minWidth, Math.round(startPx + deltaPx));
}
