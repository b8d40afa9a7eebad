/**
 * The toolbar above the grid: the search box, the sort box, the panel toggles, undo/redo, export
 * and help. It only describes the user's intent; the dataset view sends it to the host, which
 * computes the view.
 */
import type { SortKey, ViewQuery, ViewSearch } from '../../../src/shared/protocol/webview';
import { iconButton, isPressed, setPressed, textButton } from '../util/buttons';
import { codicon, el } from '../util/dom';

const SORTS: readonly [SortKey, string][] = [
  ['line', 'Line'],
  ['score', 'ASK-LLM score'],
  ['density', 'Density'],
  ['length', 'Length'],
  ['uncertain', 'Review uncertain'],
];

export interface ToolbarCallbacks {
  onSearch(search: ViewSearch | undefined): void;
  onCancel(): void;
  onSort(sort: SortKey, descending: boolean, threshold: number): void;
  onToggleFilters(): void;
  onToggleDetail(): void;
  /** Show or hide the embedding map. */
  onToggleMap(): void;
  onColumns(anchor: HTMLElement): void;
  onCommand(command: 'undo' | 'redo' | 'export'): void;
  onHelp(): void;
  /** Escape in a text box: back to the grid. */
  onLeave(): void;
}

/** The search box: text, match case, regular expression, clear. Enter runs the search. */
class SearchBox {
  readonly element = el('div', 'search-box');
  readonly input: HTMLInputElement;
  private readonly caseButton: HTMLButtonElement;
  private readonly regexButton: HTMLButtonElement;
  private searching = false;

  constructor(private readonly cb: ToolbarCallbacks) {
    this.input = el('input', 'search-input', {
      type: 'text',
      placeholder: 'Search the whole file (/), Enter to run',
      'aria-label':
        'Search text of every row; Enter runs the search, Escape cancels or returns to the grid',
      spellcheck: 'false',
    });
    this.caseButton = iconButton('case-sensitive', 'Match case', 'Match case', 'option-button');
    this.regexButton = iconButton(
      'regex',
      'Use regular expression',
      'Use regular expression',
      'option-button',
    );
    setPressed(this.caseButton, false);
    setPressed(this.regexButton, false);
    const clear = iconButton('close', 'Clear search', 'Clear the search', 'option-button');
    this.element.append(
      codicon('search', 'search-icon'),
      this.input,
      this.caseButton,
      this.regexButton,
      clear,
    );
    this.input.addEventListener('keydown', e => this.onKeyDown(e));
    for (const b of [this.caseButton, this.regexButton])
      b.addEventListener('click', () => {
        setPressed(b, !isPressed(b));
        if (this.input.value) this.run();
      });
    clear.addEventListener('click', () => {
      this.input.value = '';
      this.run();
    });
  }

  private onKeyDown(e: KeyboardEvent): void {
    if (e.key === 'Enter') {
      e.preventDefault();
      this.run();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      if (this.searching) this.cb.onCancel();
      else this.cb.onLeave();
    }
  }

  private run(): void {
    const text = this.input.value;
    this.cb.onSearch(
      text
        ? { text, regex: isPressed(this.regexButton), caseSensitive: isPressed(this.caseButton) }
        : undefined,
    );
  }

  /** Shows the query's search (the text only while the user is not typing in the box). */
  setSearch(search: ViewSearch | undefined): void {
    if (document.activeElement !== this.input) this.input.value = search?.text ?? '';
    setPressed(this.caseButton, !!search?.caseSensitive);
    setPressed(this.regexButton, !!search?.regex);
  }

  /** A search is running: Escape cancels it instead of leaving the box. */
  setSearching(on: boolean): void {
    this.searching = on;
  }
}

/** The sort box: sort key, direction, and the threshold of "Review uncertain". */
class SortBox {
  readonly element = el('div', 'sort-box');
  private readonly select: HTMLSelectElement;
  private readonly dirButton: HTMLButtonElement;
  private readonly threshold: HTMLInputElement;
  private readonly thresholdLabel: HTMLLabelElement;
  private descending = false;
  /** The calibrated threshold (ViewInfo.calibration), where "Review uncertain" starts. */
  private calibrated: number | undefined;

  constructor(private readonly cb: ToolbarCallbacks) {
    const label = el('label', 'tool-label', undefined, 'Sort');
    this.select = el('select', 'select', { 'aria-label': 'Sort by', id: 'sort-select' });
    label.htmlFor = 'sort-select';
    for (const [key, name] of SORTS)
      this.select.append(el('option', undefined, { value: key }, name));
    this.dirButton = iconButton('arrow-up', 'Sort direction', 'Ascending: click for descending');
    this.thresholdLabel = el('label', 'tool-label', { for: 'threshold-input' }, 'near');
    this.threshold = el('input', 'number-input', {
      type: 'number',
      min: '0',
      max: '1',
      step: '0.05',
      value: '0.5',
      id: 'threshold-input',
      'aria-label': 'P(yes) threshold: rows nearest to it come first',
      title: 'Rows whose P(yes) is nearest this threshold come first',
    });
    this.element.append(label, this.select, this.dirButton, this.thresholdLabel, this.threshold);
    this.listen();
    this.paintDirection();
  }

  private listen(): void {
    this.select.addEventListener('change', () => {
      // Scores and density read best from the top; length and line from the start.
      this.descending = (this.select.value as SortKey) === 'score';
      // "Review uncertain" starts from the calibrated threshold once there is one.
      if (this.select.value === 'uncertain' && this.calibrated !== undefined)
        this.threshold.value = String(Number(this.calibrated.toPrecision(4)));
      this.paintDirection();
      this.emit();
    });
    this.dirButton.addEventListener('click', () => {
      this.descending = !this.descending;
      this.paintDirection();
      this.emit();
    });
    this.threshold.addEventListener('change', () => this.emit());
    this.threshold.addEventListener('keydown', e => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.cb.onLeave();
      }
    });
  }

  private emit(): void {
    this.cb.onSort(
      this.select.value as SortKey,
      this.descending,
      Number(this.threshold.value) || 0.5,
    );
  }

  private paintDirection(): void {
    const icon = this.dirButton.querySelector('.codicon');
    if (icon) icon.className = `codicon codicon-${this.descending ? 'arrow-down' : 'arrow-up'}`;
    this.dirButton.title = this.descending
      ? 'Descending: click for ascending'
      : 'Ascending: click for descending';
    this.dirButton.setAttribute(
      'aria-label',
      this.descending ? 'Sort descending' : 'Sort ascending',
    );
    const uncertain = this.select.value === 'uncertain';
    this.threshold.classList.toggle('hidden', !uncertain);
    this.thresholdLabel.classList.toggle('hidden', !uncertain);
  }

  /** The calibrated threshold (undefined: none yet), for "Review uncertain". */
  setCalibrated(t: number | undefined): void {
    this.calibrated = t;
    this.threshold.title =
      t === undefined
        ? 'Rows whose P(yes) is nearest this threshold come first'
        : `Rows whose P(yes) is nearest this threshold come first (calibrated threshold: ${Number(t.toPrecision(4))})`;
  }

  /** Shows the query's sort. */
  setSort(q: ViewQuery): void {
    this.select.value = q.sort;
    this.descending = q.descending;
    if (q.threshold !== undefined) this.threshold.value = String(q.threshold);
    this.paintDirection();
  }
}

export class Toolbar {
  readonly element: HTMLElement;
  readonly filtersButton: HTMLButtonElement;
  readonly detailButton: HTMLButtonElement;
  readonly mapButton: HTMLButtonElement;
  private readonly search: SearchBox;
  private readonly sort: SortBox;

  constructor(private readonly cb: ToolbarCallbacks) {
    this.element = el('div', 'toolbar', { role: 'toolbar', 'aria-label': 'Dataset view tools' });
    this.search = new SearchBox(cb);
    this.sort = new SortBox(cb);
    this.filtersButton = textButton(
      'filter',
      'Filters',
      'Show or hide filters and histograms (f)',
      'toggle-button',
    );
    this.detailButton = textButton(
      'layout-sidebar-right',
      'Detail',
      'Show or hide the detail panel (Enter)',
      'toggle-button',
    );
    this.mapButton = textButton(
      'graph-scatter',
      'Map',
      'Show or hide the map of the rows by their DENSITY embeddings',
      'toggle-button map-toggle',
    );
    this.element.append(this.search.element, this.sort.element, this.buttons());
  }

  /** The group on the right: panel toggles, columns, undo/redo, export and help. */
  private buttons(): HTMLElement {
    const columns = iconButton('list-selection', 'Columns', 'Show or hide columns');
    const undo = iconButton('discard', 'Undo', 'Undo the last decision (u, Ctrl+Z)');
    const redo = iconButton('redo', 'Redo', 'Redo (Shift+U, Ctrl+Shift+Z)');
    const exp = textButton('export', 'Export…', 'Winnow: Export Kept Examples');
    const help = iconButton('keyboard', 'Keyboard shortcuts', 'Keyboard shortcuts (?)');
    this.filtersButton.addEventListener('click', () => this.cb.onToggleFilters());
    this.detailButton.addEventListener('click', () => this.cb.onToggleDetail());
    this.mapButton.addEventListener('click', () => this.cb.onToggleMap());
    columns.addEventListener('click', () => this.cb.onColumns(columns));
    undo.addEventListener('click', () => this.cb.onCommand('undo'));
    redo.addEventListener('click', () => this.cb.onCommand('redo'));
    exp.addEventListener('click', () => this.cb.onCommand('export'));
    help.addEventListener('click', () => this.cb.onHelp());
    const group = el('div', 'tool-group');
    group.append(
      this.filtersButton,
      columns,
      this.detailButton,
      this.mapButton,
      el('span', 'tool-separator'),
      undo,
      redo,
      exp,
      help,
    );
    return group;
  }

  /** Shows the query's sort and search (after a restore or a view change from the host). */
  /** The calibrated threshold, where "Review uncertain" starts (undefined: none yet). */
  setCalibratedThreshold(t: number | undefined): void {
    this.sort.setCalibrated(t);
  }

  setQuery(q: ViewQuery): void {
    this.sort.setSort(q);
    this.search.setSearch(q.search);
  }

  /** Puts the keyboard focus in the search box, its text selected (`/`). */
  focusSearch(): void {
    this.search.input.focus();
    this.search.input.select();
  }

  setSearching(on: boolean): void {
    this.search.setSearching(on);
  }

  setPanels(filters: boolean, detail: boolean): void {
    setPressed(this.filtersButton, filters);
    setPressed(this.detailButton, detail);
  }

  setMap(open: boolean): void {
    setPressed(this.mapButton, open);
  }

  setFilterCount(n: number): void {
    const label = this.filtersButton.querySelector('span:not(.codicon)');
    if (label) label.textContent = n ? `Filters (${n})` : 'Filters';
  }
}
