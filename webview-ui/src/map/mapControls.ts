/**
 * The map panel's controls: colour-by, contours, the pointer tool, "Find near-duplicates", the
 * selection bar (keep, drop, clear, filter to region) and the legend. They only report what the
 * user chose; the map panel acts on it.
 */
import { iconButton, setPressed, textButton } from '../util/buttons';
import { el, setText } from '../util/dom';
import {
  CATEGORY_COLORS,
  type ColorMode,
  DECISION_COLORS,
  NONE_COLOR,
  css,
  rampColor,
} from './palette';

export type MapTool = 'pan' | 'lasso' | 'rectangle';

export interface MapControlCallbacks {
  onColor(mode: ColorMode): void;
  onContours(on: boolean): void;
  onTool(tool: MapTool): void;
  onFindDuplicates(): void;
  onSelection(action: 'keep' | 'drop' | 'unset' | 'region' | 'deselect'): void;
  onClose(): void;
}

const MODES: readonly [ColorMode, string][] = [
  ['score', 'ASK-LLM score'],
  ['decision', 'Decision'],
  ['density', 'Density rank'],
  ['schema', 'Fields (schema)'],
  ['duplicates', 'Near-duplicate group'],
];

export class MapControls {
  readonly bar = el('div', 'map-bar', { role: 'toolbar', 'aria-label': 'Map tools' });
  readonly selectionBar = el('div', 'map-selection hidden');
  readonly legend = el('div', 'map-legend', { 'aria-label': 'Legend' });
  readonly status = el('span', 'map-status', { role: 'status' });
  readonly colorSelect: HTMLSelectElement;
  private readonly tools = new Map<MapTool, HTMLButtonElement>();
  private readonly count = el('span', 'map-selection-count');
  private readonly contours: HTMLInputElement;

  constructor(private readonly cb: MapControlCallbacks) {
    this.colorSelect = el('select', 'map-color', { 'aria-label': 'Colour points by' });
    for (const [mode, label] of MODES)
      this.colorSelect.append(el('option', undefined, { value: mode }, label));
    this.colorSelect.addEventListener('change', () =>
      cb.onColor(this.colorSelect.value as ColorMode),
    );
    this.contours = el('input', 'map-contours', { type: 'checkbox', id: 'map-contours' });
    this.contours.checked = true;
    this.contours.addEventListener('change', () => cb.onContours(this.contours.checked));
    const contoursLabel = el('label', 'map-check', { for: 'map-contours' }, 'Contours');
    const find = textButton(
      'copy',
      'Find near-duplicates',
      'Group rows whose embeddings have cosine ≥ winnow.duplicates.threshold',
    );
    find.classList.add('map-find-duplicates');
    find.addEventListener('click', () => cb.onFindDuplicates());
    const close = iconButton('close', 'Close the map', 'Close the map');
    close.addEventListener('click', () => cb.onClose());
    const colorLabel = el('label', 'map-label', undefined, 'Colour');
    colorLabel.append(this.colorSelect);
    this.bar.append(
      colorLabel,
      this.contours,
      contoursLabel,
      this.toolButtons(),
      find,
      this.status,
      close,
    );
    this.buildSelectionBar();
  }

  private toolButtons(): HTMLElement {
    const group = el('div', 'map-tools', { role: 'group', 'aria-label': 'Pointer tool' });
    const tools: [MapTool, string, string][] = [
      ['pan', 'move', 'Pan (drag) and zoom (wheel)'],
      ['lasso', 'edit', 'Lasso: draw around points to select them'],
      ['rectangle', 'primitive-square', 'Rectangle: drag to select points'],
    ];
    for (const [tool, icon, title] of tools) {
      const b = iconButton(icon, title, title, 'icon-button map-tool');
      b.dataset.tool = tool;
      b.addEventListener('click', () => this.cb.onTool(tool));
      this.tools.set(tool, b);
      group.append(b);
    }
    return group;
  }

  private buildSelectionBar(): void {
    const actions: [string, string, 'keep' | 'drop' | 'unset' | 'region' | 'deselect'][] = [
      ['check', 'Keep', 'keep'],
      ['close', 'Drop', 'drop'],
      ['circle-slash', 'Clear decisions', 'unset'],
      ['filter', 'Filter to region', 'region'],
      ['clear-all', 'Deselect', 'deselect'],
    ];
    this.selectionBar.append(this.count);
    for (const [icon, label, action] of actions) {
      const b = textButton(icon, label, `${label}: the selected rows`);
      b.dataset.action = action;
      b.addEventListener('click', () => this.cb.onSelection(action));
      this.selectionBar.append(b);
    }
  }

  setTool(tool: MapTool): void {
    for (const [t, b] of this.tools) setPressed(b, t === tool);
  }

  setSelection(n: number): void {
    this.selectionBar.classList.toggle('hidden', n === 0);
    setText(this.count, `${n.toLocaleString('en-US')} ${n === 1 ? 'row' : 'rows'} selected`);
  }

  setStatus(text: string): void {
    setText(this.status, text);
  }

  /** Shows what the colours mean for `mode`. */
  setLegend(mode: ColorMode, range: [number, number] | undefined, names: readonly string[]): void {
    const items: [string, string][] = [];
    if (mode === 'score' || mode === 'density') {
      const [lo, hi] = range ?? [0, 1];
      const fmt = (v: number) =>
        mode === 'density' ? (v === 0 ? 'most isolated' : 'densest') : v.toPrecision(2);
      for (const t of [0, 0.5, 1]) items.push([css(rampColor(t)), fmt(lo + (hi - lo) * t)]);
      items.push([css(NONE_COLOR), mode === 'score' ? 'not scored' : 'no density']);
    } else if (mode === 'decision')
      ['undecided', 'keep', 'drop'].forEach((name, i) =>
        items.push([css(DECISION_COLORS[i]), name]),
      );
    else if (mode === 'schema') {
      names.forEach((name, i) =>
        items.push([css(CATEGORY_COLORS[i % CATEGORY_COLORS.length]), name]),
      );
      items.push([css(NONE_COLOR), 'invalid row']);
    } else {
      items.push([css(CATEGORY_COLORS[0]), 'in a group (one colour per group)']);
      items.push([css(NONE_COLOR), names.length > 0 ? names[0] : 'in no group']);
    }
    this.legend.replaceChildren(
      ...items.map(([color, text]) => {
        const item = el('span', 'map-legend-item');
        const swatch = el('span', 'map-swatch');
        swatch.style.background = color;
        item.append(swatch, el('span', undefined, undefined, text));
        return item;
      }),
    );
  }
}
