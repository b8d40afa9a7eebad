/**
 * The virtualised dataset grid: a fixed pool of row elements over a viewport, moved by a custom
 * scroller. Nothing in the DOM is as tall as the file (browsers cap element height near 33.5M px),
 * so the scroll position is a fractional row index and the scrollbar is drawn by hand.
 * Why not a library: virtual-scroll libraries size a native scroller to the full content height,
 * which that cap breaks past about 1.5M rows; vscode-hexeditor hit the same wall (files over 18 MB).
 *
 * Rows are addressed by position in the current view (the file itself, or a sorted / filtered /
 * searched selection the host computed); each row shows its own line number.
 *
 * Accessibility: role="grid" with aria-rowcount (rows + the header row) and aria-colcount, each
 * row carries aria-rowindex, each cell aria-colindex, the focused row is the grid's
 * aria-activedescendant, and selected rows have aria-selected. The keyboard does everything:
 * see keymap.ts.
 */
import type { Decision, RowView, ScoreSourceView } from '../../../src/shared/protocol/webview';
import {
  COLUMNS,
  columnWidth,
  gridTemplate,
  resizedWidth,
  visibleColumns,
  type ColumnDef,
  type ColumnId,
  type ColumnWidths,
} from './columns';
import { codicon, el, formatCount, setAttr, setText } from '../util/dom';
import {
  clampRow,
  clampTopRow,
  fullyVisibleRows,
  lineNumberDigits,
  maxTopRow,
  moveFocus,
  paintedRange,
  parsePx,
  rowHeightForFontSize,
  thumbGeometry,
  topRowForThumb,
  topRowToCenter,
  topRowToReveal,
  wheelDeltaRows,
} from './paging';
import {
  type GridAction,
  type TriageKeys,
  actionFor,
  navigationFor,
  triageKeyNames,
} from './keymap';
import type { RowStore } from './rowStore';
import {
  lengthText,
  lengthTooltip,
  scoreTooltip,
  tokensCellText,
  tokensText,
} from '../util/scoreText';
import { addRange, rangesContain, removePosition, type Ranges } from './selection';

/** What the grid painted last (reported to the host for tests and commands). */
export interface RenderInfo {
  readonly firstRow: number;
  readonly lastRow: number;
  readonly loadedRows: number;
  readonly pendingRows: number;
  readonly focusedRow: number;
  readonly rowCount: number;
}

export type { GridAction } from './keymap';

export interface GridCallbacks {
  /** The scroll position or focused row changed (persist it). */
  onPositionChange(topRow: number, focusedRow: number): void;
  /** The focused row changed. */
  onFocusChange(position: number): void;
  /** Rows were painted. */
  onRender(info: RenderInfo): void;
  /** The user asked for a row's raw line (double click): open the file as text there. */
  onOpenRow(position: number): void;
  /** A key of {@link GridAction}. */
  onAction(action: GridAction): void;
  /** Column widths or hidden columns changed (persist them). */
  onColumnsChange(widths: ColumnWidths, hidden: readonly string[]): void;
}

interface RowSlot {
  readonly el: HTMLDivElement;
  readonly cells: Record<ColumnId, HTMLDivElement>;
  /** Position shown, and the row object painted, to skip needless DOM writes. */
  index: number;
  loaded: RowView | undefined;
}

/** Rows fetched beyond each edge of the viewport. */
const PREFETCH_ROWS = 64;

export class Grid {
  readonly element: HTMLDivElement;
  private readonly header: HTMLDivElement;
  private readonly headerCells = new Map<ColumnId, HTMLDivElement>();
  private readonly body: HTMLDivElement;
  private readonly rowsLayer: HTMLDivElement;
  private readonly track: HTMLDivElement;
  private readonly thumb: HTMLDivElement;
  private readonly emptyMessage: HTMLDivElement;
  private readonly slots: RowSlot[] = [];
  private sources: ScoreSourceView = {};
  private sourcesKey = '{}';
  private columnMenu: HTMLDivElement | undefined;

  private rowHeight = 22;
  private viewportHeight = 0;
  private topRow = 0;
  private focusedRow = 0;
  /** Selected positions (inclusive ranges), and where a Shift selection started. */
  private selection: Ranges = [];
  private anchor = 0;
  /** A position asked for before enough rows were indexed to reach it; applied as rows arrive. */
  private wanted: { top: number; focus: number } | undefined;
  private frame = 0;
  private fallback: ReturnType<typeof setTimeout> | undefined;
  private indexed = false;
  private drag: { pointerId: number; grabOffset: number } | undefined;
  private widths: ColumnWidths;
  /** Which keys keep and drop (setting `winnow.datasetView.triageKeys`). */
  triageKeys: TriageKeys = 'y/n';
  /** The body width the column template was fitted to. */
  private templateWidth = 0;
  private hidden: string[];
  /** Columns without any data in this file yet (no scores, no density): hidden until there is. */
  private empty: string[] = [];
  private emptyText = 'The file has no lines.';

  constructor(
    private readonly store: RowStore,
    private readonly callbacks: GridCallbacks,
    columns: { widths?: ColumnWidths; hidden?: readonly string[] } = {},
  ) {
    this.widths = { ...(columns.widths ?? {}) };
    this.hidden = [...(columns.hidden ?? [])];
    this.element = el('div', 'grid', {
      role: 'grid',
      tabindex: '0',
      'aria-label': 'Dataset rows',
      'aria-readonly': 'true',
      'aria-multiselectable': 'true',
    });
    this.header = el('div', 'grid-row grid-header', { role: 'row', 'aria-rowindex': '1' });
    for (const c of COLUMNS) {
      const cell = el('div', `grid-cell col-${c.id}`, {
        role: 'columnheader',
        title: c.description,
      });
      cell.append(el('span', 'header-title', undefined, c.title));
      if (c.width !== undefined) {
        const handle = el('div', 'col-resize', { 'aria-hidden': 'true' });
        handle.addEventListener('pointerdown', e => this.startResize(e, c, cell));
        cell.append(handle);
      }
      cell.addEventListener('contextmenu', e => {
        e.preventDefault();
        this.toggleColumnMenu(cell);
      });
      this.headerCells.set(c.id, cell);
      this.header.append(cell);
    }
    this.body = el('div', 'grid-body', { role: 'rowgroup' });
    this.rowsLayer = el('div', 'grid-rows');
    this.emptyMessage = el('div', 'grid-empty');
    this.body.append(this.rowsLayer, this.emptyMessage);
    this.track = el('div', 'scrollbar', { 'aria-hidden': 'true' });
    this.thumb = el('div', 'scrollbar-thumb');
    this.track.append(this.thumb);
    const headerWrap = el('div', 'grid-header-wrap', { role: 'rowgroup' });
    headerWrap.append(this.header);
    this.element.append(headerWrap, this.body, this.track);
    this.applyColumns();

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

  /** The row count grew (indexing) or changed (file changed on disk, another view). */
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

  /** A new view: start at its top (or at `focus`), with no selection. */
  resetView(rowCount: number, indexed: boolean, focus = 0): void {
    this.selection = [];
    this.wanted = undefined;
    this.topRow = 0;
    this.focusedRow = 0;
    this.setRowCount(rowCount, indexed);
    if (focus > 0) this.reveal(focus);
    this.refresh();
    this.callbacks.onFocusChange(this.focusedRow);
  }

  /** What the empty grid says (no lines, or nothing matched). */
  setEmptyText(text: string): void {
    this.emptyText = text;
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

  /** Selected position ranges; empty when nothing is selected. */
  get selectedRanges(): Ranges {
    return this.selection;
  }

  clearSelection(): void {
    if (this.selection.length === 0) return;
    this.selection = [];
    this.refresh();
  }

  /** Moves the focus by `delta` rows (after a decision on the focused row). */
  advance(delta = 1): void {
    this.setFocus(this.focusedRow + delta, true);
  }

  get columnState(): { widths: ColumnWidths; hidden: readonly string[] } {
    return { widths: this.widths, hidden: this.hidden };
  }

  /**
   * Where the scores came from (model, prompt, scored rows), for the tooltips. Score columns
   * without data are left out until they have some.
   */
  setSources(sources: ScoreSourceView): void {
    const key = JSON.stringify(sources);
    if (key !== this.sourcesKey) {
      this.sources = sources;
      this.sourcesKey = key;
      this.refresh();
    }
    const empty = [
      ...(sources.askllm ? [] : ['score', 'tokens']),
      ...(sources.density ? [] : ['density']),
      ...(sources.distilled ? [] : ['distilled']),
      ...(sources.duplicates ? [] : ['duplicates']),
    ];
    if (empty.join() === this.empty.join()) return;
    this.empty = empty;
    this.applyColumns();
  }

  /** Hidden by the user or for lack of data. */
  private get omitted(): string[] {
    return [...this.hidden, ...this.empty];
  }

  /** Shows or hides a column. */
  setColumnHidden(id: ColumnId, hide: boolean): void {
    const def = COLUMNS.find(c => c.id === id);
    if (!def?.hideable) return;
    this.hidden = hide ? [...new Set([...this.hidden, id])] : this.hidden.filter(h => h !== id);
    this.applyColumns();
    this.callbacks.onColumnsChange(this.widths, this.hidden);
  }

  /** Opens or closes the column menu next to `anchor` (a header cell or a toolbar button). */
  toggleColumnMenu(anchor: HTMLElement): void {
    if (this.columnMenu) {
      this.closeColumnMenu();
      return;
    }
    const menu = el('div', 'popup column-menu', { role: 'menu', 'aria-label': 'Columns' });
    for (const c of COLUMNS) {
      if (!c.hideable) continue;
      const item = el('button', 'menu-item', {
        role: 'menuitemcheckbox',
        'aria-checked': String(!this.hidden.includes(c.id)),
        type: 'button',
      });
      item.append(
        codicon(this.hidden.includes(c.id) ? 'blank' : 'check'),
        el('span', undefined, undefined, c.title),
      );
      if (this.empty.includes(c.id)) item.append(el('span', 'muted', undefined, '(no data yet)'));
      item.addEventListener('click', () => {
        this.setColumnHidden(c.id, !this.hidden.includes(c.id));
        this.closeColumnMenu();
        this.toggleColumnMenu(anchor);
      });
      menu.append(item);
    }
    const reset = el('button', 'menu-item', { role: 'menuitem', type: 'button' });
    reset.append(codicon('discard'), el('span', undefined, undefined, 'Reset widths'));
    reset.addEventListener('click', () => {
      this.widths = {};
      this.applyColumns();
      this.callbacks.onColumnsChange(this.widths, this.hidden);
      this.closeColumnMenu();
    });
    menu.append(reset);
    menu.addEventListener('keydown', e => {
      const items = Array.from(menu.querySelectorAll<HTMLButtonElement>('.menu-item'));
      const at = items.indexOf(document.activeElement as HTMLButtonElement);
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.closeColumnMenu();
        anchor.focus();
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const next = (at + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
        items[next].focus();
      }
    });
    const box = anchor.getBoundingClientRect();
    menu.style.top = `${Math.round(box.bottom + 2)}px`;
    menu.style.left = `${Math.round(Math.min(box.left, window.innerWidth - 200))}px`;
    document.body.append(menu);
    this.columnMenu = menu;
    menu.querySelector<HTMLButtonElement>('.menu-item')?.focus();
    const close = (e: MouseEvent) => {
      if (!menu.contains(e.target as Node)) {
        this.closeColumnMenu();
        document.removeEventListener('mousedown', close, true);
      }
    };
    document.addEventListener('mousedown', close, true);
  }

  private closeColumnMenu(): void {
    this.columnMenu?.remove();
    this.columnMenu = undefined;
  }

  // -- layout -----------------------------------------------------------------------------------

  /** Sets the column template for the grid's current width. */
  private applyTemplate(): void {
    this.templateWidth = this.body.clientWidth;
    this.element.style.setProperty(
      '--grid-columns',
      gridTemplate(this.widths, this.omitted, this.templateWidth || undefined),
    );
  }

  private applyColumns(): void {
    this.applyTemplate();
    const visible = visibleColumns(this.omitted);
    this.element.setAttribute('aria-colcount', String(visible.length));
    this.element.classList.toggle(
      'has-status',
      visible.some(c => c.id === 'status'),
    );
    for (const c of COLUMNS) {
      const hidden = !visible.includes(c);
      this.headerCells.get(c.id)?.classList.toggle('col-hidden', hidden);
      this.element.classList.toggle(`hide-${c.id}`, hidden);
    }
    visible.forEach((c, k) =>
      this.headerCells.get(c.id)?.setAttribute('aria-colindex', String(k + 1)),
    );
    this.refresh();
  }

  private startResize(e: PointerEvent, def: ColumnDef, cell: HTMLDivElement): void {
    e.preventDefault();
    e.stopPropagation();
    const handle = e.currentTarget as HTMLElement;
    const startX = e.clientX;
    const startWidth = columnWidth(def, this.widths) ?? cell.getBoundingClientRect().width;
    handle.setPointerCapture(e.pointerId);
    handle.classList.add('active');
    const move = (ev: PointerEvent) => {
      this.widths = {
        ...this.widths,
        [def.id]: resizedWidth(def, startWidth, ev.clientX - startX),
      };
      this.applyTemplate();
    };
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
      handle.classList.remove('active');
      this.callbacks.onColumnsChange(this.widths, this.hidden);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  }

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
    // Narrow grids (a detail panel beside it) shrink the fixed columns for the preview.
    if (this.body.clientWidth !== this.templateWidth) this.applyTemplate();
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
    const cells = {} as Record<ColumnId, HTMLDivElement>;
    for (const c of COLUMNS) {
      const cell = el('div', `grid-cell col-${c.id}`, {
        role: c.id === 'line' ? 'rowheader' : 'gridcell',
      });
      cells[c.id] = cell;
      row.append(cell);
    }
    this.rowsLayer.append(row);
    return { el: row, cells, index: -1, loaded: undefined };
  }

  private fillSlot(slot: RowSlot, index: number, row: RowView | undefined): void {
    const focused = index === this.focusedRow;
    const selected = rangesContain(this.selection, index);
    slot.el.classList.toggle('focused', focused);
    slot.el.classList.toggle('selected', selected);
    setAttr(
      slot.el,
      'aria-selected',
      selected || (focused && this.selection.length === 0) ? 'true' : 'false',
    );
    if (slot.index === index && slot.loaded === row) return;
    slot.index = index;
    slot.loaded = row;
    slot.el.id = `row-${index}`;
    slot.el.setAttribute('aria-rowindex', String(index + 2));
    const visible = visibleColumns(this.omitted);
    visible.forEach((c, k) => slot.cells[c.id].setAttribute('aria-colindex', String(k + 1)));
    slot.el.classList.toggle('loading', !row);
    slot.el.classList.toggle('invalid', !!row?.error);
    slot.el.classList.toggle('kept', row?.decision === 'keep');
    slot.el.classList.toggle('dropped', row?.decision === 'drop');
    setAttr(slot.el, 'aria-busy', row ? undefined : 'true');
    if (row) this.fillCells(slot.cells, row);
    else clearCells(slot.cells);
  }

  private fillCells(cells: Record<ColumnId, HTMLDivElement>, row: RowView): void {
    const { line, decision, preview, score, density, duplicates, length, tokens, status } = cells;
    // The row's hover: the facts of the text editor's hover (score, standing, model, prompt,
    // tokens, DENSITY rank), on the line number and the score cell.
    const facts = scoreTooltip(row, this.sources);
    setText(line, String(row.index + 1));
    setAttr(line, 'title', `Line ${formatCount(row.index + 1)}\n${facts}`);
    setText(preview, row.truncated ? `${row.preview}…` : row.preview);
    setAttr(
      preview,
      'title',
      row.fields.length ? `Fields: ${row.fields.join(', ')}` : row.error ? 'Raw line' : undefined,
    );
    fillDecision(decision, row.decision, triageKeyNames(this.triageKeys));
    fillScore(score, row.score, facts, row.scoreFailed !== undefined);
    fillDistilled(cells.distilled, row.distilled, this.sources.distilled?.provenance);
    fillDensity(density, row);
    fillDuplicates(duplicates, row);
    length.textContent = lengthText(row);
    setAttr(length, 'title', lengthTooltip(row, this.sources.askllm));
    fillTokens(tokens, row, this.sources.askllm);
    fillStatus(status, row);
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
    if (empty) setText(this.emptyMessage, this.indexed ? this.emptyText : 'Reading the file…');
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
    if (e.altKey || e.metaKey) return;
    // Ctrl+Home/End mean the same as Home/End here; other Ctrl chords belong to VS Code.
    if (e.ctrlKey && e.key !== 'Home' && e.key !== 'End') return;
    const nav = navigationFor(e.key, e.shiftKey, this.triageKeys);
    if (nav) {
      e.preventDefault();
      e.stopPropagation();
      const next = moveFocus(this.focusedRow, nav, this.visibleRows(), this.store.rowCount);
      if (e.shiftKey) {
        // Extend the selection from the anchor to the new focus.
        if (this.selection.length === 0) this.anchor = this.focusedRow;
        this.selection = addRange([], this.anchor, next);
      } else this.anchor = next;
      this.setFocus(next, true);
      if (e.shiftKey) this.refresh();
      return;
    }
    if (e.key === ' ') {
      e.preventDefault();
      this.selection = rangesContain(this.selection, this.focusedRow)
        ? removePosition(this.selection, this.focusedRow)
        : addRange(this.selection, this.focusedRow, this.focusedRow);
      this.anchor = this.focusedRow;
      this.refresh();
      return;
    }
    if (e.key === 'Escape' && this.selection.length > 0) {
      e.preventDefault();
      e.stopPropagation();
      this.clearSelection();
      return;
    }
    const action = actionFor(e.key, e.shiftKey, this.triageKeys);
    if (action) {
      e.preventDefault();
      e.stopPropagation();
      this.callbacks.onAction(action);
    }
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
    if (e.shiftKey) {
      this.selection = addRange([], this.anchor, index);
    } else if (e.ctrlKey || e.metaKey) {
      this.selection = rangesContain(this.selection, index)
        ? removePosition(this.selection, index)
        : addRange(this.selection, index, index);
      this.anchor = index;
    } else {
      this.selection = [];
      this.anchor = index;
    }
    this.setFocus(index, true);
    this.refresh();
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

/** A row whose page has not arrived: placeholders only. */
function clearCells(cells: Record<ColumnId, HTMLDivElement>): void {
  const { line, decision, preview, score, density, duplicates, length, tokens, status } = cells;
  status.replaceChildren();
  setText(line, '');
  setAttr(line, 'title', undefined);
  setText(preview, '…');
  setAttr(preview, 'title', undefined);
  for (const c of [decision, score, cells.distilled, density, duplicates, length, tokens])
    c.replaceChildren();
  for (const c of [score, cells.distilled, density, duplicates, length, tokens])
    setAttr(c, 'title', undefined);
}

function fillDensity(cell: HTMLElement, row: RowView): void {
  cell.replaceChildren();
  if (row.densityRank !== undefined) {
    cell.textContent = formatCount(row.densityRank);
    cell.title = `DENSITY rank ${formatCount(row.densityRank)} (1 = most isolated)${row.density !== undefined ? `, score ${row.density.toPrecision(4)}` : ''}`;
  } else if (row.densityFailed !== undefined) {
    // A row the embedder failed on says so; the reason is in the tooltip.
    cell.append(el('span', 'score-failed', undefined, 'failed'));
    cell.title = `DENSITY could not embed this row: ${row.densityFailed}`;
  } else {
    cell.append(el('span', 'muted', undefined, '—'));
    cell.title = 'No DENSITY score';
  }
}

function fillDuplicates(cell: HTMLElement, row: RowView): void {
  cell.replaceChildren();
  if (row.duplicateGroup !== undefined) {
    cell.textContent = `#${formatCount(row.duplicateGroup + 1)} (${formatCount(row.duplicateCount ?? 0)})`;
    cell.title = `Near-duplicate group ${formatCount(row.duplicateGroup + 1)}: ${formatCount(row.duplicateCount ?? 0)} rows (the detail panel lists them)`;
  } else {
    cell.append(el('span', 'muted', undefined, '—'));
    cell.title = 'In no near-duplicate group';
  }
}

function fillTokens(cell: HTMLElement, row: RowView, askllm: ScoreSourceView['askllm']): void {
  const tokenCount = tokensCellText(row);
  cell.replaceChildren();
  if (tokenCount !== undefined) cell.textContent = tokenCount;
  else cell.append(el('span', 'muted', undefined, '—'));
  setAttr(
    cell,
    'title',
    tokensText(row, askllm) ?? 'Not scored yet: run "Winnow: Score Current File"',
  );
}

/** The parse status: an error badge and its reason, or "valid" for screen readers. */
function fillStatus(cell: HTMLElement, row: RowView): void {
  cell.replaceChildren();
  if (row.error) {
    const { kind, message, column } = row.error;
    const badge = el('span', 'badge badge-error');
    badge.append(codicon('error'), el('span', 'badge-label', undefined, kind));
    const reason = el('span', 'status-reason', undefined, message);
    cell.append(badge, reason);
    cell.title = column ? `${kind}: ${message} (column ${column})` : `${kind}: ${message}`;
  } else {
    cell.removeAttribute('title');
    cell.append(el('span', 'visually-hidden', undefined, 'valid'));
  }
}

function fillDecision(
  cell: HTMLElement,
  decision: Decision | undefined,
  keys: { readonly keep: string; readonly drop: string },
): void {
  cell.replaceChildren();
  if (decision === 'keep') {
    cell.append(codicon('check', 'decision-icon'), el('span', 'decision-label', undefined, 'keep'));
    cell.title = `Kept (${keys.keep}); x clears`;
  } else if (decision === 'drop') {
    cell.append(codicon('close', 'decision-icon'), el('span', 'decision-label', undefined, 'drop'));
    cell.title = `Dropped (${keys.drop}); x clears`;
  } else {
    cell.append(
      el('span', 'muted', undefined, '·'),
      el('span', 'visually-hidden', undefined, 'undecided'),
    );
    cell.title = `Undecided: ${keys.keep} keeps, ${keys.drop} drops`;
  }
}

/** A score in a few characters: 3 decimals, or 2 significant digits below 0.001 (1.8e-4). */
export function formatScore(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) < 0.001) return v.toExponential(1);
  return v.toFixed(3);
}

/** The distilled score: its own column, marked "d" and in italics, never the ASK-LLM score. */
function fillDistilled(cell: HTMLElement, value: number | undefined, provenance?: string): void {
  cell.replaceChildren();
  if (value === undefined) {
    cell.append(el('span', 'muted', undefined, '—'));
    cell.title = 'No distilled score (the row has no DENSITY embedding)';
    return;
  }
  cell.title = `Distilled ${formatScore(value)} (not the ASK-LLM score): ${provenance ?? ''}`;
  const bar = el('span', 'score-bar distilled', { 'aria-hidden': 'true' });
  const fill = el('span', 'score-fill');
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, value)) * 100)}%`;
  bar.append(fill);
  cell.append(el('span', 'score-value distilled', undefined, `${formatScore(value)} d`), bar);
}

function fillScore(
  cell: HTMLElement,
  score: number | undefined,
  facts: string,
  failed: boolean,
): void {
  cell.replaceChildren();
  cell.title = facts;
  if (score === undefined) {
    // A row the run could not score says so; the reason is in the tooltip.
    cell.append(
      failed
        ? el('span', 'score-failed', undefined, 'failed')
        : el('span', 'muted', undefined, '—'),
    );
    return;
  }
  const bar = el('span', 'score-bar', { 'aria-hidden': 'true' });
  const fill = el('span', 'score-fill');
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, score)) * 100)}%`;
  bar.append(fill);
  cell.append(el('span', 'score-value', undefined, formatScore(score)), bar);
}
