/**
 * A histogram pre-binned by the host: faint bars for every row with a value, strong bars for the
 * rows in the current view (the filter's share), and the current range filter outlined. Dragging
 * across it (or clicking a bar) sets the range filter; Arrow keys move a keyboard range over the
 * bins when it has focus, Enter applies it, Delete clears it.
 */
import type { Histogram, NumberRange } from '../../../src/shared/protocol/webview';
import { el, formatCount, setText } from '../util/dom';

/** Bin index of a value (the last bin includes the maximum). */
export function binOf(h: Pick<Histogram, 'min' | 'max' | 'total'>, v: number): number {
  const bins = h.total.length;
  const width = h.max > h.min ? (h.max - h.min) / bins : 1;
  return Math.min(bins - 1, Math.max(0, Math.floor((v - h.min) / width)));
}

/** The value range covered by bins a..b (inclusive, either order). */
export function binRange(
  h: Pick<Histogram, 'min' | 'max' | 'total'>,
  a: number,
  b: number,
): NumberRange {
  const bins = h.total.length;
  const width = h.max > h.min ? (h.max - h.min) / bins : 1;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return {
    min: roundEdge(h.min + lo * width),
    max: roundEdge(hi === bins - 1 ? h.max : h.min + (hi + 1) * width),
  };
}

function roundEdge(v: number): number {
  return Number(v.toPrecision(6));
}

function fmt(v: number): string {
  if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

export class HistogramView {
  readonly element: HTMLDivElement;
  private readonly bars: HTMLDivElement;
  private readonly axis: HTMLDivElement;
  private readonly caption: HTMLDivElement;
  private readonly overlay: HTMLDivElement;
  private data: Histogram | undefined;
  private range: NumberRange | undefined;
  private drag: { start: number; end: number; pointerId: number } | undefined;
  /** Keyboard range over bins: [start, end]. */
  private keyRange: [number, number] | undefined;
  /** A value marked with a vertical line (the calibrated threshold), and its title. */
  private readonly marker = el('div', 'histogram-marker hidden');
  private markerValue: number | undefined;

  constructor(
    readonly title: string,
    private readonly onRange: (range: NumberRange | undefined) => void,
    private readonly emptyText: string,
  ) {
    this.element = el('div', 'histogram');
    const head = el('div', 'histogram-title');
    head.append(el('span', 'histogram-name', undefined, title));
    this.caption = el('div', 'histogram-caption');
    head.append(this.caption);
    this.bars = el('div', 'histogram-bars', {
      role: 'slider',
      tabindex: '0',
      'aria-label': `${title} histogram: drag or use the arrow keys to pick a range, Enter applies, Delete clears`,
    });
    this.overlay = el('div', 'histogram-range hidden');
    this.axis = el('div', 'histogram-axis');
    this.element.append(head, this.bars, this.axis);
    this.bars.addEventListener('pointerdown', e => this.onDown(e));
    this.bars.addEventListener('pointermove', e => this.onMove(e));
    this.bars.addEventListener('pointerup', e => this.onUp(e));
    this.bars.addEventListener('pointercancel', () => (this.drag = undefined));
    this.bars.addEventListener('keydown', e => this.onKey(e));
  }

  /** Shows new counts and the current range filter. */
  update(data: Histogram | undefined, range: NumberRange | undefined): void {
    this.data = data;
    this.range = range;
    this.element.classList.toggle('empty', !data);
    if (!data) {
      this.bars.replaceChildren(el('div', 'histogram-empty', undefined, this.emptyText));
      setText(this.caption, '');
      this.axis.replaceChildren();
      this.bars.setAttribute('aria-disabled', 'true');
      return;
    }
    this.bars.removeAttribute('aria-disabled');
    const max = Math.max(1, ...data.total);
    const cols: HTMLElement[] = [];
    let inView = 0;
    for (let b = 0; b < data.total.length; b++) {
      inView += data.inView[b];
      const col = el('div', 'histogram-bin');
      const r = binRange(data, b, b);
      col.title = `${fmt(r.min!)}–${fmt(r.max!)}: ${formatCount(data.inView[b])} in view of ${formatCount(data.total[b])}`;
      const total = el('div', 'bar-total');
      total.style.height = `${(100 * data.total[b]) / max}%`;
      const share = el('div', 'bar-view');
      share.style.height = `${(100 * data.inView[b]) / max}%`;
      col.append(total, share);
      cols.push(col);
    }
    this.bars.replaceChildren(...cols, this.overlay, this.marker);
    this.paintMarker();
    setText(this.caption, `${formatCount(inView)} in view of ${formatCount(data.count)}`);
    this.axis.replaceChildren(
      el('span', undefined, undefined, fmt(data.min)),
      el('span', undefined, undefined, fmt((data.min + data.max) / 2)),
      el('span', undefined, undefined, fmt(data.max)),
    );
    this.bars.setAttribute(
      'aria-valuetext',
      range ? `range ${fmt(range.min ?? data.min)} to ${fmt(range.max ?? data.max)}` : 'no range',
    );
    this.paintRange();
  }

  /** Marks `value` on the axis with a line titled `title` (undefined: no mark). */
  setMarker(value: number | undefined, title = ''): void {
    this.markerValue = value;
    this.marker.title = title;
    this.marker.setAttribute('aria-label', title);
    this.paintMarker();
  }

  private paintMarker(): void {
    const data = this.data;
    const v = this.markerValue;
    const show = !!data && v !== undefined && data.max > data.min && v >= data.min && v <= data.max;
    this.marker.classList.toggle('hidden', !show);
    if (show && data && v !== undefined)
      this.marker.style.left = `${(100 * (v - data.min)) / (data.max - data.min)}%`;
  }

  private paintRange(): void {
    const data = this.data;
    if (!data) return;
    let a: number | undefined;
    let b: number | undefined;
    if (this.drag) [a, b] = [this.drag.start, this.drag.end];
    else if (this.keyRange) [a, b] = this.keyRange;
    else if (this.range) {
      a = binOf(data, this.range.min ?? data.min);
      // A max on a bin edge ends the bin before it.
      const hiValue = this.range.max ?? data.max;
      b = binOf(data, hiValue);
      const edge = binRange(data, b, b).min!;
      if (b > a && hiValue <= edge) b--;
    }
    if (a === undefined || b === undefined) {
      this.overlay.classList.add('hidden');
      return;
    }
    const n = data.total.length;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    this.overlay.classList.remove('hidden');
    this.overlay.style.left = `${(100 * lo) / n}%`;
    this.overlay.style.width = `${(100 * (hi - lo + 1)) / n}%`;
  }

  private binAt(e: PointerEvent): number {
    const box = this.bars.getBoundingClientRect();
    const n = this.data?.total.length ?? 1;
    return Math.max(0, Math.min(n - 1, Math.floor(((e.clientX - box.left) / box.width) * n)));
  }

  private onDown(e: PointerEvent): void {
    if (!this.data || e.button !== 0) return;
    e.preventDefault();
    this.bars.focus();
    const b = this.binAt(e);
    this.drag = { start: b, end: b, pointerId: e.pointerId };
    this.keyRange = undefined;
    this.bars.setPointerCapture(e.pointerId);
    this.paintRange();
  }

  private onMove(e: PointerEvent): void {
    if (!this.drag || e.pointerId !== this.drag.pointerId) return;
    this.drag.end = this.binAt(e);
    this.paintRange();
  }

  private onUp(e: PointerEvent): void {
    if (!this.drag || !this.data || e.pointerId !== this.drag.pointerId) return;
    const { start, end } = this.drag;
    this.drag = undefined;
    this.onRange(binRange(this.data, start, end));
  }

  private onKey(e: KeyboardEvent): void {
    const data = this.data;
    if (!data) return;
    const n = data.total.length;
    if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      this.keyRange = undefined;
      this.onRange(undefined);
      return;
    }
    if (e.key === 'Enter' && this.keyRange) {
      e.preventDefault();
      e.stopPropagation();
      const [a, b] = this.keyRange;
      this.keyRange = undefined;
      this.onRange(binRange(data, a, b));
      return;
    }
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const step = e.key === 'ArrowLeft' ? -1 : 1;
    let [a, b] = this.keyRange ?? [0, n - 1];
    // Arrows move the lower edge; with Shift they move the upper edge.
    if (e.shiftKey) b = Math.max(a, Math.min(n - 1, b + step));
    else a = Math.max(0, Math.min(b, a + step));
    this.keyRange = [a, b];
    const r = binRange(data, a, b);
    this.bars.setAttribute(
      'aria-valuetext',
      `range ${fmt(r.min!)} to ${fmt(r.max!)}, Enter applies`,
    );
    this.paintRange();
  }
}
