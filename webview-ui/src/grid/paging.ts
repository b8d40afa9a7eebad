/**
 * Pure paging and scrolling math of the dataset grid. No DOM: unit-tested in Node
 * (test/unit/paging.test.ts).
 *
 * The grid never creates an element as tall as the file: browsers cap element height near
 * 33.5M px, which is ~1.5M rows at 22 px. Instead the scroll position is a fractional row index
 * (`topRow`), and a custom scrollbar maps its thumb position linearly onto [0, maxTop].
 */

/** Inclusive range of row indices. Empty when `last < first`. */
export interface RowRange {
  readonly first: number;
  readonly last: number;
}

/** Position and size of the custom scrollbar's thumb, in px from the top of the track. */
export interface ThumbGeometry {
  readonly top: number;
  readonly height: number;
}

/** Row height in px for an editor font size in px (hexeditor's rule: font size + 8). */
export function rowHeightForFontSize(fontSizePx: number): number {
  const size = Number.isFinite(fontSizePx) && fontSizePx > 0 ? fontSizePx : 14;
  return Math.round(size) + 8;
}

/** Parses a CSS length such as "14px" (VS Code's --vscode-editor-font-size); NaN when not px. */
export function parsePx(value: string): number {
  const m = /^\s*([\d.]+)px\s*$/.exec(value);
  return m ? Number(m[1]) : Number.NaN;
}

/** Rows that fit fully in a viewport (at least 1, so keyboard paging always moves). */
export function fullyVisibleRows(viewportPx: number, rowHeightPx: number): number {
  if (!(rowHeightPx > 0)) return 1;
  return Math.max(1, Math.floor(viewportPx / rowHeightPx));
}

/** Highest allowed `topRow`: the last row sits fully visible at the bottom. */
export function maxTopRow(rowCount: number, visibleRows: number): number {
  return Math.max(0, rowCount - visibleRows);
}

/** Clamps a fractional top row into [0, maxTopRow]. */
export function clampTopRow(topRow: number, rowCount: number, visibleRows: number): number {
  if (!Number.isFinite(topRow)) return 0;
  return Math.min(Math.max(0, topRow), maxTopRow(rowCount, visibleRows));
}

/** Clamps a row index into [0, rowCount - 1] (0 for an empty file). */
export function clampRow(row: number, rowCount: number): number {
  if (rowCount <= 0 || !Number.isFinite(row)) return 0;
  return Math.min(Math.max(0, Math.trunc(row)), rowCount - 1);
}

/**
 * Rows touched by a viewport starting at the fractional `topRow`, including a partly visible
 * row at the bottom, clipped to the file.
 */
export function paintedRange(
  topRow: number,
  viewportPx: number,
  rowHeightPx: number,
  rowCount: number,
): RowRange {
  if (rowCount <= 0 || !(rowHeightPx > 0)) return { first: 0, last: -1 };
  const first = Math.max(0, Math.floor(topRow));
  const offsetPx = (topRow - first) * rowHeightPx;
  const rows = Math.ceil((viewportPx + offsetPx) / rowHeightPx);
  return { first, last: Math.min(rowCount - 1, first + Math.max(rows, 1) - 1) };
}

/** Page number of a row. */
export function pageOf(row: number, pageSize: number): number {
  return Math.floor(row / pageSize);
}

/** Pages covering `range` widened by `prefetchRows` on both sides, clipped to the file. */
export function pagesForRange(
  range: RowRange,
  pageSize: number,
  rowCount: number,
  prefetchRows = 0,
): number[] {
  if (rowCount <= 0 || range.last < range.first) return [];
  const first = Math.max(0, range.first - prefetchRows);
  const last = Math.min(rowCount - 1, range.last + prefetchRows);
  if (last < first) return [];
  const pages: number[] = [];
  // Visible pages come first so that they are requested before the prefetched ones.
  const visibleFirst = pageOf(Math.max(range.first, 0), pageSize);
  const visibleLast = pageOf(Math.min(range.last, rowCount - 1), pageSize);
  for (let p = visibleFirst; p <= visibleLast; p++) pages.push(p);
  for (let p = pageOf(first, pageSize); p <= pageOf(last, pageSize); p++)
    if (p < visibleFirst || p > visibleLast) pages.push(p);
  return pages;
}

/** Rows a complete copy of page `page` holds in a file of `rowCount` rows. */
export function expectedPageRows(page: number, pageSize: number, rowCount: number): number {
  return Math.max(0, Math.min(pageSize, rowCount - page * pageSize));
}

/**
 * Whether a cached page must be fetched again: it was fetched while the file was still being
 * indexed, and more of its rows are known now.
 */
export function pageIsShort(
  cachedRows: number,
  page: number,
  pageSize: number,
  rowCount: number,
): boolean {
  return cachedRows < expectedPageRows(page, pageSize, rowCount);
}

/** The least height of the scrollbar thumb: easy to see and to grab on a 10M-row file. */
export const MIN_THUMB_PX = 32;

/**
 * The custom scrollbar's thumb for a `trackPx`-high track. The thumb is at least `minThumbPx`
 * high, so on huge files it stops being proportional and the mapping stays linear in the
 * remaining track.
 */
export function thumbGeometry(
  trackPx: number,
  rowCount: number,
  visibleRows: number,
  topRow: number,
  minThumbPx = MIN_THUMB_PX,
): ThumbGeometry {
  if (trackPx <= 0) return { top: 0, height: 0 };
  const maxTop = maxTopRow(rowCount, visibleRows);
  if (maxTop <= 0) return { top: 0, height: trackPx };
  const proportional = (trackPx * visibleRows) / Math.max(rowCount, 1);
  const height = Math.min(trackPx, Math.max(minThumbPx, proportional));
  const travel = trackPx - height;
  const top = (clampTopRow(topRow, rowCount, visibleRows) / maxTop) * travel;
  return { top, height };
}

/** Inverse of {@link thumbGeometry}: the `topRow` for a thumb whose top edge is at `thumbTopPx`. */
export function topRowForThumb(
  thumbTopPx: number,
  trackPx: number,
  thumbPx: number,
  rowCount: number,
  visibleRows: number,
): number {
  const travel = trackPx - thumbPx;
  const maxTop = maxTopRow(rowCount, visibleRows);
  if (travel <= 0 || maxTop <= 0) return 0;
  const fraction = Math.min(1, Math.max(0, thumbTopPx / travel));
  return fraction * maxTop;
}

/** Converts a wheel event's delta to rows (deltaMode 0 = px, 1 = lines, 2 = pages). */
export function wheelDeltaRows(
  delta: number,
  deltaMode: number,
  rowHeightPx: number,
  visibleRows: number,
): number {
  if (deltaMode === 1) return delta;
  if (deltaMode === 2) return delta * visibleRows;
  return rowHeightPx > 0 ? delta / rowHeightPx : 0;
}

/** Keys that move the focused row. */
export type NavigationKey = 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end';

/** Maps a KeyboardEvent.key (with no Ctrl/Alt/Meta) to a navigation key; j/k move like vim. */
export function navigationKeyFor(key: string): NavigationKey | undefined {
  switch (key) {
    case 'ArrowDown':
    case 'j':
      return 'down';
    case 'ArrowUp':
    case 'k':
      return 'up';
    case 'PageDown':
      return 'pageDown';
    case 'PageUp':
      return 'pageUp';
    case 'Home':
      return 'home';
    case 'End':
      return 'end';
    default:
      return undefined;
  }
}

/** The focused row after a navigation key. */
export function moveFocus(
  focused: number,
  key: NavigationKey,
  visibleRows: number,
  rowCount: number,
): number {
  const page = Math.max(1, visibleRows - 1);
  switch (key) {
    case 'down':
      return clampRow(focused + 1, rowCount);
    case 'up':
      return clampRow(focused - 1, rowCount);
    case 'pageDown':
      return clampRow(focused + page, rowCount);
    case 'pageUp':
      return clampRow(focused - page, rowCount);
    case 'home':
      return 0;
    case 'end':
      return clampRow(rowCount - 1, rowCount);
  }
}

/**
 * The smallest scroll that shows `row` fully: unchanged when it is already visible, otherwise
 * the row becomes the top (moving up) or the bottom (moving down) row.
 */
export function topRowToReveal(
  topRow: number,
  row: number,
  visibleRows: number,
  rowCount: number,
): number {
  let top = topRow;
  if (row < top) top = row;
  else if (row > top + visibleRows - 1) top = row - visibleRows + 1;
  return clampTopRow(top, rowCount, visibleRows);
}

/** A top row that puts `row` in the middle of the viewport (for "reveal at line"). */
export function topRowToCenter(row: number, visibleRows: number, rowCount: number): number {
  return clampTopRow(row - Math.floor(visibleRows / 2), rowCount, visibleRows);
}

/** Width of the line-number column in `ch`: digits of the largest line number, at least 4. */
export function lineNumberDigits(rowCount: number): number {
  return Math.max(4, String(Math.max(rowCount, 1)).length);
}
