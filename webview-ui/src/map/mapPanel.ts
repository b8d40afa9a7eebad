/**
 * The map panel of the dataset view (docs/map.md): every row with an embedding as a point of
 * the 2-D layout, coloured by score, decision, density, fields or near-duplicate group, with
 * density contours. Hover shows the row's preview (as text), a click focuses the row in the
 * grid, a lasso or rectangle selects rows to keep, drop, clear or turn into an "in region"
 * filter. It shows the current view's rows only. Data comes through {@link MapSource}; what
 * the user does goes out through {@link MapPanelCallbacks}.
 */
import type {
  DecisionValue,
  MapPart,
  MapPreviewResponse,
  MapResponse,
} from '../../../src/shared/protocol/webview';
import { el, setText } from '../util/dom';
import { densityContours } from './contours';
import {
  type MapTransform,
  fitTransform,
  panBy,
  pointsInPolygon,
  rectanglePolygon,
  toData,
  zoomAt,
} from './geometry';
import { MapControls, type MapTool } from './mapControls';
import { type ColorInputs, type ColorMode, pointColors } from './palette';
import { MapRenderer, SELECTED, VISIBLE } from './renderer';
import { SpatialIndex } from './spatialIndex';

/** Where the map's data comes from (the dataset view wires these to its actions). */
export interface MapSource {
  fetch(parts: readonly MapPart[]): Promise<MapResponse>;
  preview(row: number): Promise<MapPreviewResponse>;
}

export interface MapPanelCallbacks {
  /** Keep, drop or clear the selected lines (one undoable edit). */
  onDecide(lines: Uint32Array, decision: DecisionValue): void;
  /** Turn the selected lines into an "in region" filter. */
  onRegion(lines: Uint32Array): void;
  /** A point was clicked: focus its line in the grid. */
  onFocusLine(line: number): void;
  onFindDuplicates(): void;
  onClose(): void;
  onError(message: string): void;
}

interface Drag {
  tool: MapTool;
  startX: number;
  startY: number;
  path: number[];
  moved: boolean;
}

export class MapPanel {
  readonly element = el('div', 'map-panel hidden', { 'aria-label': 'Embedding map' });
  private readonly canvas = el('canvas', 'map-canvas', {
    role: 'img',
    'aria-label': 'Map of the rows by their DENSITY embeddings',
  });
  private readonly overlay = el('canvas', 'map-overlay', { 'aria-hidden': 'true' });
  private readonly tooltip = el('div', 'map-tooltip hidden', { role: 'tooltip' });
  private readonly message = el('div', 'map-message');
  private readonly controls: MapControls;
  private renderer: MapRenderer | undefined;
  private transform: MapTransform = fitTransform(1, 1);
  /** Whether the user panned or zoomed (else the map keeps fitting the panel). */
  private moved = false;
  private x = new Float32Array(0);
  private y = new Float32Array(0);
  private index: SpatialIndex | undefined;
  private visible = new Uint8Array(0);
  private selected = new Uint8Array(0);
  private selection = new Uint32Array(0);
  private inputs: ColorInputs = { rowCount: 0 };
  private schemaNames: readonly string[] = [];
  private mode: ColorMode = 'score';
  private contours = true;
  private tool: MapTool = 'lasso';
  private drag: Drag | undefined;
  private hoverRow = -1;
  private hoverTimer = 0;
  private open = false;
  private generation = -1;
  private request = 0;

  constructor(
    private readonly source: MapSource,
    private readonly cb: MapPanelCallbacks,
  ) {
    this.controls = new MapControls({
      onColor: mode => this.setMode(mode),
      onContours: on => {
        this.contours = on;
        this.paintOverlay();
      },
      onTool: tool => this.setTool(tool),
      onFindDuplicates: () => cb.onFindDuplicates(),
      onSelection: action => this.onSelectionAction(action),
      onClose: () => cb.onClose(),
    });
    const stage = el('div', 'map-stage');
    stage.append(this.canvas, this.overlay, this.tooltip, this.message);
    this.element.append(this.controls.bar, stage, this.controls.selectionBar, this.controls.legend);
    this.setTool('lasso');
    this.listen(stage);
    new ResizeObserver(() => this.resize()).observe(stage);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Shows the panel and loads everything. */
  show(): void {
    this.open = true;
    this.element.classList.remove('hidden');
    this.resize();
    void this.load(['layout', 'columns', 'state']);
  }

  hide(): void {
    this.open = false;
    this.element.classList.add('hidden');
  }

  /** Decisions, scores or the view changed: reload what depends on them (if open). */
  refresh(parts: readonly MapPart[]): void {
    if (this.open) void this.load(this.x.length === 0 ? ['layout', 'columns', 'state'] : parts);
  }

  /** A status line (e.g. from "Find near-duplicates"). */
  setStatus(text: string): void {
    this.controls.setStatus(text);
  }

  private async load(parts: readonly MapPart[]): Promise<void> {
    const id = ++this.request;
    if (parts.includes('layout')) this.showMessage('Computing the map…');
    let r: MapResponse;
    try {
      r = await this.source.fetch(parts);
    } catch (e) {
      if (id === this.request) this.showMessage(`The map could not be loaded: ${String(e)}`);
      return;
    }
    if (id !== this.request) return;
    if (r.error) {
      this.showMessage(r.error);
      return;
    }
    if (r.generation !== this.generation && !r.layout) {
      // Row numbers changed meaning: start over.
      this.generation = r.generation;
      void this.load(['layout', 'columns', 'state']);
      return;
    }
    this.generation = r.generation;
    this.adopt(r);
  }

  private adopt(r: MapResponse): void {
    const n = r.rowCount;
    if (r.layout) {
      this.x = new Float32Array(r.layout.x);
      this.y = new Float32Array(r.layout.y);
      this.index = new SpatialIndex(this.x, this.y);
      this.selected = new Uint8Array(n);
      this.selection = new Uint32Array(0);
      this.ensureRenderer()?.setPoints(this.x, this.y);
      const l = r.layout;
      this.controls.setStatus(
        `${l.placed.toLocaleString('en-US')} rows · ${l.model.split('/').pop()} · ${l.cached ? 'cached' : `${(l.ms / 1000).toFixed(1)} s`}`,
      );
      this.showMessage(l.placed === 0 ? 'No row has an embedding yet.' : '');
    }
    if (r.columns) {
      const c = r.columns;
      this.schemaNames = c.schemaNames;
      this.inputs = {
        ...this.inputs,
        rowCount: n,
        score: c.score ? new Float32Array(c.score) : undefined,
        density: c.density ? new Float32Array(c.density) : undefined,
        schema: new Uint8Array(c.schema),
        groups: c.groups ? new Int32Array(c.groups) : undefined,
      };
    }
    if (r.state) {
      this.inputs = { ...this.inputs, rowCount: n, decisions: new Uint8Array(r.state.decisions) };
      this.visible = new Uint8Array(n);
      const inView = r.state.inView ? new Uint8Array(r.state.inView) : undefined;
      for (let i = 0; i < n; i++)
        this.visible[i] = this.x[i] === this.x[i] && (!inView || inView[i] === 1) ? 1 : 0;
      // The selection holds only rows the map shows (the view may have changed).
      if (this.selected.length === n) this.select([], true);
      else this.paintFlags();
    }
    this.paintColors();
    this.paintOverlay();
  }

  private ensureRenderer(): MapRenderer | undefined {
    if (this.renderer) return this.renderer;
    try {
      this.renderer = new MapRenderer(this.canvas, this.overlay);
      this.canvas.dataset.renderer = this.renderer.rendererName;
      this.renderer.setTransform(this.transform);
    } catch (e) {
      this.showMessage(e instanceof Error ? e.message : String(e));
      this.cb.onError(String(e));
    }
    return this.renderer;
  }

  private showMessage(text: string): void {
    setText(this.message, text);
    this.message.classList.toggle('hidden', text === '');
  }

  // -- painting -----------------------------------------------------------------------------------

  private setMode(mode: ColorMode): void {
    this.mode = mode;
    this.controls.colorSelect.value = mode;
    this.paintColors();
  }

  private paintColors(): void {
    if (!this.renderer || this.inputs.rowCount !== this.x.length) return;
    const { rgba, range } = pointColors(this.mode, this.inputs);
    this.renderer.setColors(rgba);
    const names =
      this.mode === 'schema'
        ? this.schemaNames
        : this.mode === 'duplicates' && !this.inputs.groups
          ? ['not found yet: Find near-duplicates']
          : [];
    this.controls.setLegend(this.mode, range, names);
  }

  private paintFlags(): void {
    const n = this.x.length;
    if (!this.renderer || this.visible.length !== n) return;
    const flags = new Uint8Array(n);
    for (let i = 0; i < n; i++) flags[i] = this.visible[i] * VISIBLE + this.selected[i] * SELECTED;
    this.renderer.setFlags(flags, this.selection.length > 0);
    this.controls.setSelection(this.selection.length);
  }

  private paintOverlay(path?: readonly number[]): void {
    if (!this.renderer) return;
    const style = getComputedStyle(this.element);
    this.renderer.setOverlay({
      ...(this.contours && this.visible.length === this.x.length
        ? {
            contours: this.contourCache(),
            contourColor: style.getPropertyValue('--vscode-editor-foreground') || 'gray',
          }
        : {}),
      ...(path
        ? { path, pathColor: style.getPropertyValue('--vscode-focusBorder') || 'orange' }
        : {}),
    });
  }

  private contourKey: Uint8Array | undefined;
  private contourValue: Float32Array = new Float32Array(0);
  private contourCache(): Float32Array {
    if (this.contourKey !== this.visible) {
      this.contourKey = this.visible;
      this.contourValue = densityContours(this.x, this.y, this.visible);
    }
    return this.contourValue;
  }

  private setTransform(t: MapTransform): void {
    this.transform = t;
    this.renderer?.setTransform(t);
    // Where data coordinates land on screen, for tests and tools that drive the map.
    this.canvas.dataset.transform = JSON.stringify({
      cx: t.cx,
      cy: t.cy,
      k: t.k,
      width: t.width,
      height: t.height,
    });
  }

  private resize(): void {
    const r = this.canvas.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return;
    const old = this.transform;
    this.setTransform(
      this.moved ? { ...old, width: r.width, height: r.height } : fitTransform(r.width, r.height),
    );
  }

  // -- selection ----------------------------------------------------------------------------------

  private setTool(tool: MapTool): void {
    this.tool = tool;
    this.controls.setTool(tool);
    this.canvas.dataset.tool = tool;
  }

  /**
   * Selects the visible rows inside `poly` (data coordinates); `add` extends the selection.
   * Rows the map no longer shows leave it.
   */
  private select(poly: ArrayLike<number>, add: boolean): void {
    const inside = pointsInPolygon(this.x, this.y, this.visible, poly);
    if (!add) this.selected.fill(0);
    for (const r of inside) this.selected[r] = 1;
    const rows: number[] = [];
    for (let i = 0; i < this.selected.length; i++) {
      if (this.selected[i] && !this.visible[i]) this.selected[i] = 0;
      if (this.selected[i]) rows.push(i);
    }
    this.selection = Uint32Array.from(rows);
    this.paintFlags();
  }

  private onSelectionAction(action: 'keep' | 'drop' | 'unset' | 'region' | 'deselect'): void {
    const rows = this.selection;
    if (action === 'deselect' || rows.length === 0) {
      this.selected.fill(0);
      this.selection = new Uint32Array(0);
      this.paintFlags();
      return;
    }
    if (action === 'region') this.cb.onRegion(rows);
    else this.cb.onDecide(rows, action);
  }

  // -- pointer --------------------------------------------------------------------------------------

  private listen(stage: HTMLElement): void {
    stage.addEventListener('pointerdown', e => this.onDown(e));
    stage.addEventListener('pointermove', e => this.onMove(e));
    stage.addEventListener('pointerup', e => this.onUp(e));
    stage.addEventListener('pointerleave', () => this.hideTooltip());
    // A double click fits the whole map again.
    stage.addEventListener('dblclick', () => {
      this.moved = false;
      this.resize();
    });
    stage.addEventListener(
      'wheel',
      e => {
        e.preventDefault();
        const [sx, sy] = this.local(e);
        this.moved = true;
        this.setTransform(zoomAt(this.transform, sx, sy, Math.exp(-e.deltaY * 0.0015)));
      },
      { passive: false },
    );
  }

  private local(e: MouseEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  private onDown(e: PointerEvent): void {
    if (e.button !== 0 && e.button !== 1) return;
    const [sx, sy] = this.local(e);
    const tool = e.button === 1 ? 'pan' : this.tool;
    this.drag = { tool, startX: sx, startY: sy, path: [sx, sy], moved: false };
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    this.hideTooltip();
  }

  private onMove(e: PointerEvent): void {
    const [sx, sy] = this.local(e);
    const d = this.drag;
    if (!d) {
      this.hover(sx, sy);
      return;
    }
    const last = d.path.length - 2;
    if (Math.hypot(sx - d.path[last], sy - d.path[last + 1]) < 2) return;
    d.moved ||= Math.hypot(sx - d.startX, sy - d.startY) > 3;
    if (d.tool === 'pan') {
      this.moved = true;
      this.setTransform(panBy(this.transform, sx - d.path[last], sy - d.path[last + 1]));
      d.path.push(sx, sy);
    } else if (d.tool === 'lasso') {
      d.path.push(sx, sy);
      this.paintOverlay(d.path);
    } else {
      d.path = [d.startX, d.startY, sx, d.startY, sx, sy, d.startX, sy];
      this.paintOverlay(d.path);
    }
  }

  private onUp(e: PointerEvent): void {
    const d = this.drag;
    this.drag = undefined;
    if (!d) return;
    const [sx, sy] = this.local(e);
    if (!d.moved) {
      this.click(sx, sy);
      return;
    }
    if (d.tool === 'pan') return;
    const screen =
      d.tool === 'rectangle' ? Array.from(rectanglePolygon(d.startX, d.startY, sx, sy)) : d.path;
    const poly: number[] = [];
    for (let i = 0; i < screen.length; i += 2)
      poly.push(...toData(this.transform, screen[i], screen[i + 1]));
    this.select(poly, e.shiftKey);
    this.paintOverlay();
  }

  private nearestAt(sx: number, sy: number): number {
    if (!this.index) return -1;
    const [x, y] = toData(this.transform, sx, sy);
    return this.index.nearest(x, y, 8 / this.transform.k, this.visible);
  }

  private click(sx: number, sy: number): void {
    const row = this.nearestAt(sx, sy);
    if (row >= 0) this.cb.onFocusLine(row);
  }

  private hover(sx: number, sy: number): void {
    const row = this.nearestAt(sx, sy);
    if (row === this.hoverRow) return;
    this.hoverRow = row;
    clearTimeout(this.hoverTimer);
    if (row < 0) {
      this.hideTooltip();
      return;
    }
    this.hoverTimer = window.setTimeout(() => {
      this.source.preview(row).then(
        p => {
          if (this.hoverRow === row) this.showTooltip(p, sx, sy);
        },
        () => undefined,
      );
    }, 80);
  }

  /** The row's preview, as text only (dataset text is never HTML). */
  private showTooltip(p: MapPreviewResponse, sx: number, sy: number): void {
    const head = [`Line ${(p.row + 1).toLocaleString('en-US')}`];
    if (p.score !== undefined) head.push(`P(yes) ${p.score.toFixed(3)}`);
    if (p.decision) head.push(p.decision);
    if (p.duplicateGroup !== undefined) head.push(`group ${p.duplicateGroup + 1}`);
    const title = el('div', 'map-tooltip-head', undefined, head.join(' · '));
    const body = el('div', 'map-tooltip-text', undefined, p.preview.slice(0, 400));
    this.tooltip.replaceChildren(title, body);
    this.tooltip.style.left = `${Math.min(sx + 12, this.transform.width - 260)}px`;
    this.tooltip.style.top = `${Math.min(sy + 12, this.transform.height - 80)}px`;
    this.tooltip.classList.remove('hidden');
  }

  private hideTooltip(): void {
    this.hoverRow = -1;
    clearTimeout(this.hoverTimer);
    this.tooltip.classList.add('hidden');
  }
}
