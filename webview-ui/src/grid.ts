/**
 * The virtualised dataset grid: a fixed pool of row elements over a viewport, moved by a custom
 * scroller. Nothing in the DOM is as tall as the file (browsers cap element height near 33.5M px),
 * so the scroll position is a fractional row index and the scrollbar is drawn by hand.
 *
 * Accessibility: role="grid" with aria-rowcount (rows + the header row), each row carries
 * aria-rowindex, and the focused row is the grid's aria-activedescendant. The keyboard moves the
 * focus: j/k or arrows, PageUp/PageDown, Home/End.
 */
import type { RowView } from '../../src/shared/webviewProtocol';
import { codicon, el, formatCount, setAttr, setText } from './dom';
import {
  clampRow,
  clampTopRow,
  fullyVisibleRows,
  lineNumberDigits,
  maxTopRow,
  moveFocus,
  navigationKeyFor,
  paintedRange,
  parsePx,
  rowHeightForFontSize,
  thumbGeometry,
  topRowForThumb,
  topRowToCenter,
  topRowToReveal,
  wheelDeltaRows,
} from './paging';
import type { RowStore } from './rowStore';

/** What the grid painted last (reported to the host for tests and commands). */
export interface RenderInfo {
  readonly firstRow: number;
  readonly lastRow: number;
  readonly loadedRows: number;
  readonly pendingRows: number;
  readonly focusedRow: number;
  readonly rowCount: number;
}

export interface GridCallbacks {
  /** The scroll position or focused row changed (persist it). */
  onPositionChange(topRow: number, focusedRow: number): void;
  /** The focused row changed. */
  onFocusChange(row: number): void;
  /** Rows were painted. */
  onRender(info: RenderInfo): void;
  /** The user asked for a row's raw line (double click): open the file as text there. */
  onOpenRow(row: number): void;
}

interface RowSlot {
  readonly el: HTMLDivElement;
  readonly line: HTMLDivElement;
  readonly preview: HTMLDivElement;
  readonly length: HTMLDivElement;
  readonly status: HTMLDivElement;
  /** Row index shown, and whether its content was loaded, to skip needless DOM writes. */
  index: number;
  loaded: RowView | undefined;
}

/** Rows fetched beyond each edge of the viewport. */
const PREFETCH_ROWS = 64;

export class Grid {
  readonly element: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private readonly rowsLayer: HTMLDivElement;
  private readonly track: HTMLDivElement;
  private readonly thumb: HTMLDivElement;
  private readonly emptyMessage: HTMLDivElement;
  private readonly slots: RowSlot[] = [];

  private rowHeight = 22;
  private viewportHeight = 0;
  private topRow = 0;
  private focusedRow = 0;
  /** A position asked for before enough rows were indexed to reach it; applied as rows arrive. */
  private wanted: { top: number; focus: number } | undefined;
  private frame = 0;
  private fallback: ReturnType<typeof setTimeout> | undefined;
  private indexed = false;
  private drag: { pointerId: number; grabOffset: number } | undefined;

  constructor(
    private readonly store: RowStore,
    private readonly callbacks: GridCallbacks,
  ) {
    this.element = el('div', 'grid', {
      role: 'grid',
      tabindex: '0',
      'aria-label': 'Dataset rows',
      'aria-readonly': 'true',
      'aria-colcount': '4',
    });
    const header = el('div', 'grid-row grid-header', { role: 'row', 'aria-rowindex': '1' });
    for (const [name, cls] of [
      ['Line', 'col-line'],
      ['Preview', 'col-preview'],
      ['Length', 'col-length'],
      ['Status', 'col-status'],
    ] as const)
      header.append(el('div', `grid-cell ${cls}`, { role: 'columnheader' }, name));
    this.body = el('div', 'grid-body', { role: 'rowgroup' });
    this.rowsLayer = el('div', 'grid-rows');
    this.emptyMessage = el('div', 'grid-empty');
    this.body.append(this.rowsLayer, this.emptyMessage);
    this.track = el('div', 'scrollbar', { 'aria-hidden': 'true' });
    this.thumb = el('div', 'scrollbar-thumb');
    this.track.append(this.thumb);
    const headerWrap = el('div', 'grid-header-wrap', { role: 'rowgroup' });
    headerWrap.append(header);
    this.element.append(headerWrap, this.body, this.track);

    this.element.addEventListener('keydown', e => this.onKeyDown(e));
    this.body.addEventListener('wheel', e => this.onWheel(e), { passive: false });
    this.body.addEventListener('mousedown', e => this.onRowClick(e));
    this.body.addEventListener('dblclick', e => {
      const index = this.rowIndexAt(e);
      if (index !== undefined) this.callbacks.onOpenRow(index);
    });
    this.track.addEventListener('pointerdown', e => this.onTrackPointerDown(e));
    this.thumb.addEventListener('pointerdown', e => this.onThumbPointerDown(e));
    this.thumb.addEventListener('pointermove', e => this.onThumbPointerMove(e));
    this.thumb.addEventListener('pointerup', e => this.endDrag(e));
    this.thumb.addEventListener('pointercancel', e => this.endDrag(e));
    new ResizeObserver(() => this.layout()).observe(this.body);
    // VS Code rewrites the theme variables on <html> when the theme or editor font changes.
    new MutationObserver(() => this.layout()).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ['style', 'class'],
    });
  }

  /** The row count grew (indexing) or changed (file changed on disk). */
  setRowCount(rowCount: number, indexed: boolean): void {
    this.store.setRowCount(rowCount);
    this.indexed = indexed;
    const focusBefore = this.focusedRow;
    if (this.wanted) {
      const { top, focus } = this.wanted;
      this.focusedRow = clampRow(focus, rowCount);
      this.topRow = clampTopRow(top, rowCount, this.visibleRows());
      // Keep waiting only while the wanted row is not indexed yet.
      if (indexed || focus < rowCount) this.wanted = undefined;
    } else {
      this.focusedRow = clampRow(this.focusedRow, rowCount);
      this.topRow = clampTopRow(this.topRow, rowCount, this.visibleRows());
    }
    if (this.focusedRow !== focusBefore) this.callbacks.onFocusChange(this.focusedRow);
    this.schedule();
  }

  /** Restores a saved position; rows beyond the indexed part are reached once they are known. */
  restorePosition(topRow: number, focusedRow: number): void {
    this.wanted = { top: topRow, focus: focusedRow };
    this.setRowCount(this.store.rowCount, this.indexed);
  }

  /** Focuses a row and scrolls it to the middle of the viewport (e.g. from the text editor). */
  reveal(row: number): void {
    const top = topRowToCenter(row, this.visibleRows(), Math.max(this.store.rowCount, row + 1));
    this.wanted = { top, focus: row };
    this.setRowCount(this.store.rowCount, this.indexed);
    this.notifyPosition();
  }

  /** Repaints (after rows arrived or the file changed). */
  refresh(): void {
    for (const slot of this.slots) slot.loaded = undefined;
    this.schedule();
  }

  focus(): void {
    this.element.focus();
  }

  get focused(): number {
    return this.focusedRow;
  }

  get top(): number {
    return this.topRow;
  }

  // -- layout -----------------------------------------------------------------------------------

  private visibleRows(): number {
    return fullyVisibleRows(this.viewportHeight, this.rowHeight);
  }

  /**
   * Measures the row height (from the editor font) and the viewport. Call once the grid is in
   * the document, before revealing a row: centering needs the viewport height.
   */
  layout(): void {
    const fontSize = parsePx(
      getComputedStyle(document.documentElement).getPropertyValue('--vscode-editor-font-size'),
    );
    this.rowHeight = rowHeightForFontSize(fontSize);
    this.element.style.setProperty('--row-height', `${this.rowHeight}px`);
    this.viewportHeight = this.body.clientHeight;
    this.topRow = clampTopRow(this.topRow, this.store.rowCount, this.visibleRows());
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    // Paint on the next animation frame; a timer backs it up because frames stop in a webview
    // the browser considers hidden or occluded, and rows that arrive must still be painted.
    const paint = () => {
      if (!this.frame) return;
      cancelAnimationFrame(this.frame);
      clearTimeout(this.fallback);
      this.frame = 0;
      this.render();
    };
    this.frame = requestAnimationFrame(paint);
    this.fallback = setTimeout(paint, 100);
  }

  private render(): void {
    const rowCount = this.store.rowCount;
    const range = paintedRange(this.topRow, this.viewportHeight, this.rowHeight, rowCount);
    const painted = Math.max(0, range.last - range.first + 1);
    this.element.setAttribute('aria-rowcount', String(rowCount + 1));
    this.element.style.setProperty('--line-digits', String(lineNumberDigits(rowCount)));

    while (this.slots.length < painted) this.slots.push(this.createSlot());
    while (this.slots.length > painted) this.slots.pop()?.el.remove();

    const offset = (this.topRow - Math.floor(this.topRow)) * this.rowHeight;
    this.rowsLayer.style.transform = `translateY(${-offset}px)`;

    let loadedRows = 0;
    let firstLoaded = -1;
    let lastLoaded = -1;
    for (let i = 0; i < painted; i++) {
      const index = range.first + i;
      const row = this.store.row(index);
      this.fillSlot(this.slots[i], index, row);
      if (row) {
        loadedRows++;
        if (firstLoaded < 0) firstLoaded = index;
        lastLoaded = index;
      }
    }

    const focusedPainted = this.focusedRow >= range.first && this.focusedRow <= range.last;
    setAttr(
      this.element,
      'aria-activedescendant',
      focusedPainted ? `row-${this.focusedRow}` : undefined,
    );
    this.renderScrollbar();
    this.renderEmpty(rowCount);
    this.store.request(range, PREFETCH_ROWS);
    this.callbacks.onRender({
      firstRow: firstLoaded,
      lastRow: lastLoaded,
      loadedRows,
      pendingRows: painted - loadedRows,
      focusedRow: this.focusedRow,
      rowCount,
    });
  }

  private createSlot(): RowSlot {
    const row = el('div', 'grid-row', { role: 'row' });
    const line = el('div', 'grid-cell col-line', { role: 'rowheader' });
    const preview = el('div', 'grid-cell col-preview', { role: 'gridcell' });
    const length = el('div', 'grid-cell col-length', { role: 'gridcell' });
    const status = el('div', 'grid-cell col-status', { role: 'gridcell' });
    row.append(line, preview, length, status);
    this.rowsLayer.append(row);
    return { el: row, line, preview, length, status, index: -1, loaded: undefined };
  }

  private fillSlot(slot: RowSlot, index: number, row: RowView | undefined): void {
    const focused = index === this.focusedRow;
    slot.el.classList.toggle('focused', focused);
    setAttr(slot.el, 'aria-selected', focused ? 'true' : 'false');
    if (slot.index === index && slot.loaded === row) return;
    slot.index = index;
    slot.loaded = row;
    slot.el.id = `row-${index}`;
    slot.el.setAttribute('aria-rowindex', String(index + 2));
    setText(slot.line, String(index + 1));
    slot.el.classList.toggle('loading', !row);
    slot.el.classList.toggle('invalid', !!row?.error);
    setAttr(slot.el, 'aria-busy', row ? undefined : 'true');
    slot.status.replaceChildren();
    if (!row) {
      setText(slot.preview, '…');
      setAttr(slot.preview, 'title', undefined);
      setText(slot.length, '');
      setAttr(slot.length, 'title', undefined);
      return;
    }
    setText(slot.preview, row.truncated ? `${row.preview}…` : row.preview);
    setAttr(
      slot.preview,
      'title',
      row.fields.length ? `Fields: ${row.fields.join(', ')}` : row.error ? 'Raw line' : undefined,
    );
    setText(slot.length, formatCount(row.chars));
    setAttr(
      slot.length,
      'title',
      `${formatCount(row.chars)} characters, ${formatCount(row.bytes)} bytes`,
    );
    if (row.error) {
      const { kind, message, column } = row.error;
      const badge = el('span', 'badge badge-error');
      badge.append(codicon('error'), el('span', 'badge-label', undefined, kind));
      const reason = el('span', 'status-reason', undefined, message);
      slot.status.append(badge, reason);
      slot.status.title = column ? `${kind}: ${message} (column ${column})` : `${kind}: ${message}`;
    } else {
      slot.status.removeAttribute('title');
      slot.status.append(el('span', 'visually-hidden', undefined, 'valid'));
    }
  }

  private renderScrollbar(): void {
    const trackPx = this.track.clientHeight;
    const visible = this.visibleRows();
    const rowCount = this.store.rowCount;
    const hidden = maxTopRow(rowCount, visible) <= 0;
    this.track.classList.toggle('hidden', hidden);
    if (hidden) return;
    const g = thumbGeometry(trackPx, rowCount, visible, this.topRow);
    this.thumb.style.height = `${g.height}px`;
    this.thumb.style.transform = `translateY(${g.top}px)`;
  }

  private renderEmpty(rowCount: number): void {
    const empty = rowCount === 0;
    this.emptyMessage.classList.toggle('hidden', !empty);
    if (empty)
      setText(this.emptyMessage, this.indexed ? 'The file has no lines.' : 'Reading the file…');
  }

  // -- input ------------------------------------------------------------------------------------

  private setTop(top: number): void {
    const clamped = clampTopRow(top, this.store.rowCount, this.visibleRows());
    this.wanted = undefined;
    if (clamped === this.topRow) return;
    this.topRow = clamped;
    this.notifyPosition();
    this.schedule();
  }

  private setFocus(row: number, reveal: boolean): void {
    const rowCount = this.store.rowCount;
    const next = clampRow(row, rowCount);
    this.wanted = undefined;
    if (reveal) this.topRow = topRowToReveal(this.topRow, next, this.visibleRows(), rowCount);
    if (next !== this.focusedRow) {
      this.focusedRow = next;
      this.callbacks.onFocusChange(next);
    }
    this.notifyPosition();
    this.schedule();
  }

  private notifyPosition(): void {
    this.callbacks.onPositionChange(
      this.wanted?.top ?? this.topRow,
      this.wanted?.focus ?? this.focusedRow,
    );
  }

  private onKeyDown(e: KeyboardEvent): void {
    if (e.altKey || e.metaKey || e.shiftKey) return;
    // Ctrl+Home/End mean the same as Home/End here; other Ctrl chords belong to VS Code.
    if (e.ctrlKey && e.key !== 'Home' && e.key !== 'End') return;
    const key = navigationKeyFor(e.key);
    if (!key) return;
    e.preventDefault();
    e.stopPropagation();
    this.setFocus(moveFocus(this.focusedRow, key, this.visibleRows(), this.store.rowCount), true);
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const rows = wheelDeltaRows(e.deltaY, e.deltaMode, this.rowHeight, this.visibleRows());
    this.setTop(this.topRow + rows);
  }

  private rowIndexAt(e: MouseEvent): number | undefined {
    const target = e.target instanceof Element ? e.target.closest('.grid-row') : null;
    if (!(target instanceof HTMLElement) || !target.id.startsWith('row-')) return undefined;
    const index = Number(target.id.slice(4));
    return Number.isInteger(index) ? index : undefined;
  }

  private onRowClick(e: MouseEvent): void {
    const index = this.rowIndexAt(e);
    if (index === undefined) return;
    this.setFocus(index, true);
    // Keep keyboard focus on the grid itself (aria-activedescendant model).
    e.preventDefault();
    this.element.focus();
  }

  private onTrackPointerDown(e: PointerEvent): void {
    if (e.target !== this.track) return;
    e.preventDefault();
    // Clicking the track pages toward the click, like a native scrollbar.
    const g = thumbGeometry(
      this.track.clientHeight,
      this.store.rowCount,
      this.visibleRows(),
      this.topRow,
    );
    const y = e.clientY - this.track.getBoundingClientRect().top;
    const page = Math.max(1, this.visibleRows() - 1);
    this.setTop(this.topRow + (y < g.top ? -page : page));
  }

  private onThumbPointerDown(e: PointerEvent): void {
    e.preventDefault();
    e.stopPropagation();
    const thumbTop = this.thumb.getBoundingClientRect().top;
    this.drag = { pointerId: e.pointerId, grabOffset: e.clientY - thumbTop };
    this.thumb.setPointerCapture(e.pointerId);
    this.thumb.classList.add('active');
  }

  private onThumbPointerMove(e: PointerEvent): void {
    if (!this.drag || e.pointerId !== this.drag.pointerId) return;
    const trackTop = this.track.getBoundingClientRect().top;
    const thumbTopPx = e.clientY - trackTop - this.drag.grabOffset;
    const top = topRowForThumb(
      thumbTopPx,
      this.track.clientHeight,
      this.thumb.getBoundingClientRect().height,
      this.store.rowCount,
      this.visibleRows(),
    );
    this.setTop(top);
  }

  private endDrag(e: PointerEvent): void {
    if (!this.drag || e.pointerId !== this.drag.pointerId) return;
    this.drag = undefined;
    this.thumb.classList.remove('active');
    if (this.thumb.hasPointerCapture(e.pointerId)) this.thumb.releasePointerCapture(e.pointerId);
  }
}
