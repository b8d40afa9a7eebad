/**
 * The controls around the grid: the toolbar (search, sort, panel toggles, undo/redo, export),
 * the filter panel (score and density histograms, decision / parse-error / field filters, bulk
 * decisions) and the scope bar (what the view holds, progress, the last action). They only
 * describe the user's intent; main.ts sends it to the host, which computes the view.
 */
import type {
  DecisionTarget,
  DecisionValue,
  NumberRange,
  SortKey,
  ViewFilter,
  ViewInfo,
  ViewQuery,
  ViewSearch,
} from '../../../src/shared/webviewProtocol';
import { codicon, el, formatCount, setText } from '../util/dom';
import { HistogramView } from './histogram';

function iconButton(
  icon: string,
  label: string,
  title: string,
  cls = 'icon-button',
): HTMLButtonElement {
  const b = el('button', cls, { type: 'button', title, 'aria-label': label });
  b.append(codicon(icon));
  return b;
}

function textButton(
  icon: string,
  label: string,
  title: string,
  cls = 'secondary-button',
): HTMLButtonElement {
  const b = el('button', cls, { type: 'button', title });
  if (icon) b.append(codicon(icon));
  b.append(el('span', undefined, undefined, label));
  return b;
}

function toggle(b: HTMLButtonElement, on: boolean): void {
  b.setAttribute('aria-pressed', String(on));
  b.classList.toggle('on', on);
}

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
  onColumns(anchor: HTMLElement): void;
  onCommand(command: 'undo' | 'redo' | 'export'): void;
  onHelp(): void;
  /** Escape in a text box: back to the grid. */
  onLeave(): void;
}

export class Toolbar {
  readonly element: HTMLElement;
  readonly searchInput: HTMLInputElement;
  private readonly caseButton: HTMLButtonElement;
  private readonly regexButton: HTMLButtonElement;
  private readonly sortSelect: HTMLSelectElement;
  private readonly dirButton: HTMLButtonElement;
  private readonly threshold: HTMLInputElement;
  private readonly thresholdLabel: HTMLLabelElement;
  readonly filtersButton: HTMLButtonElement;
  readonly detailButton: HTMLButtonElement;
  private readonly columnsButton: HTMLButtonElement;
  private descending = false;
  private searching = false;

  constructor(private readonly cb: ToolbarCallbacks) {
    this.element = el('div', 'toolbar', { role: 'toolbar', 'aria-label': 'Dataset view tools' });

    const search = el('div', 'search-box');
    this.searchInput = el('input', 'search-input', {
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
    toggle(this.caseButton, false);
    toggle(this.regexButton, false);
    const clear = iconButton('close', 'Clear search', 'Clear the search', 'option-button');
    search.append(
      codicon('search', 'search-icon'),
      this.searchInput,
      this.caseButton,
      this.regexButton,
      clear,
    );
    this.searchInput.addEventListener('keydown', e => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.runSearch();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        if (this.searching) this.cb.onCancel();
        else this.cb.onLeave();
      }
    });
    for (const b of [this.caseButton, this.regexButton])
      b.addEventListener('click', () => {
        toggle(b, b.getAttribute('aria-pressed') !== 'true');
        if (this.searchInput.value) this.runSearch();
      });
    clear.addEventListener('click', () => {
      this.searchInput.value = '';
      this.runSearch();
    });

    const sort = el('div', 'sort-box');
    const sortLabel = el('label', 'tool-label', undefined, 'Sort');
    this.sortSelect = el('select', 'select', { 'aria-label': 'Sort by', id: 'sort-select' });
    sortLabel.htmlFor = 'sort-select';
    for (const [key, name] of SORTS)
      this.sortSelect.append(el('option', undefined, { value: key }, name));
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
    sort.append(sortLabel, this.sortSelect, this.dirButton, this.thresholdLabel, this.threshold);
    const emitSort = () =>
      this.cb.onSort(
        this.sortSelect.value as SortKey,
        this.descending,
        Number(this.threshold.value) || 0.5,
      );
    this.sortSelect.addEventListener('change', () => {
      // Scores and density read best from the top; length and line from the start.
      const key = this.sortSelect.value as SortKey;
      this.descending = key === 'score';
      this.paintDirection();
      emitSort();
    });
    this.dirButton.addEventListener('click', () => {
      this.descending = !this.descending;
      this.paintDirection();
      emitSort();
    });
    this.threshold.addEventListener('change', emitSort);
    this.threshold.addEventListener('keydown', e => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.cb.onLeave();
      }
    });

    const right = el('div', 'tool-group');
    this.filtersButton = textButton(
      'filter',
      'Filters',
      'Show or hide filters and histograms (f)',
      'toggle-button',
    );
    this.columnsButton = iconButton('list-selection', 'Columns', 'Show or hide columns');
    this.detailButton = textButton(
      'layout-sidebar-right',
      'Detail',
      'Show or hide the detail panel (Enter)',
      'toggle-button',
    );
    const undo = iconButton('discard', 'Undo', 'Undo the last decision (u, Ctrl+Z)');
    const redo = iconButton('redo', 'Redo', 'Redo (Shift+U, Ctrl+Shift+Z)');
    const exp = textButton('export', 'Export…', 'Winnow: Export Kept Examples');
    const help = iconButton('keyboard', 'Keyboard shortcuts', 'Keyboard shortcuts (?)');
    this.filtersButton.addEventListener('click', () => this.cb.onToggleFilters());
    this.detailButton.addEventListener('click', () => this.cb.onToggleDetail());
    this.columnsButton.addEventListener('click', () => this.cb.onColumns(this.columnsButton));
    undo.addEventListener('click', () => this.cb.onCommand('undo'));
    redo.addEventListener('click', () => this.cb.onCommand('redo'));
    exp.addEventListener('click', () => this.cb.onCommand('export'));
    help.addEventListener('click', () => this.cb.onHelp());
    right.append(
      this.filtersButton,
      this.columnsButton,
      this.detailButton,
      el('span', 'tool-separator'),
      undo,
      redo,
      exp,
      help,
    );

    this.element.append(search, sort, right);
    this.paintDirection();
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
    const uncertain = this.sortSelect.value === 'uncertain';
    this.threshold.classList.toggle('hidden', !uncertain);
    this.thresholdLabel.classList.toggle('hidden', !uncertain);
  }

  private runSearch(): void {
    const text = this.searchInput.value;
    this.cb.onSearch(
      text
        ? {
            text,
            regex: this.regexButton.getAttribute('aria-pressed') === 'true',
            caseSensitive: this.caseButton.getAttribute('aria-pressed') === 'true',
          }
        : undefined,
    );
  }

  /** Shows the query's sort and search (after a restore or a view change from the host). */
  setQuery(q: ViewQuery): void {
    this.sortSelect.value = q.sort;
    this.descending = q.descending;
    if (q.threshold !== undefined) this.threshold.value = String(q.threshold);
    this.paintDirection();
    if (document.activeElement !== this.searchInput) this.searchInput.value = q.search?.text ?? '';
    toggle(this.caseButton, !!q.search?.caseSensitive);
    toggle(this.regexButton, !!q.search?.regex);
  }

  setSearching(on: boolean): void {
    this.searching = on;
  }

  setPanels(filters: boolean, detail: boolean): void {
    toggle(this.filtersButton, filters);
    toggle(this.detailButton, detail);
  }

  setFilterCount(n: number): void {
    const label = this.filtersButton.querySelector('span:not(.codicon)');
    if (label) label.textContent = n ? `Filters (${n})` : 'Filters';
  }
}

export interface FilterCallbacks {
  onFilter(filter: ViewFilter): void;
  onDecide(target: DecisionTarget, decision: DecisionValue): void;
}

/** Filters and bulk decisions, with the two histograms. */
export class FilterPanel {
  readonly element: HTMLElement;
  private readonly score: HistogramView;
  private readonly density: HistogramView;
  private readonly decisionBoxes = new Map<string, HTMLInputElement>();
  private readonly errors: HTMLSelectElement;
  private readonly field: HTMLSelectElement;
  private readonly fieldMode: HTMLSelectElement;
  private readonly topPercent: HTMLInputElement;
  private readonly topButton: HTMLButtonElement;
  private readonly sampleSize: HTMLInputElement;
  private readonly sampleButton: HTMLButtonElement;
  private readonly sampleNote: HTMLElement;
  private readonly topNote: HTMLElement;
  private readonly matchButtons: HTMLButtonElement[] = [];
  private filter: ViewFilter = {};
  private fields: readonly string[] = [];

  constructor(private readonly cb: FilterCallbacks) {
    this.element = el('section', 'filters', {
      'aria-label': 'Filters, histograms and bulk decisions',
    });
    this.score = new HistogramView(
      'ASK-LLM score',
      r => this.change({ score: r }),
      'No scores yet: run "Winnow: Score Current File".',
    );
    this.density = new HistogramView(
      'Density',
      r => this.change({ density: r }),
      'No DENSITY scores yet.',
    );

    const filters = el('div', 'filter-column');
    const decisions = el('fieldset', 'filter-group');
    decisions.append(el('legend', undefined, undefined, 'Decision'));
    for (const d of ['keep', 'drop', 'undecided'] as const) {
      const id = `decision-${d}`;
      const box = el('input', undefined, { type: 'checkbox', id });
      const label = el(
        'label',
        'check-label',
        { for: id },
        d === 'keep' ? 'kept' : d === 'drop' ? 'dropped' : 'undecided',
      );
      box.addEventListener('change', () => {
        const picked = [...this.decisionBoxes]
          .filter(([, b]) => b.checked)
          .map(([k]) => k as 'keep' | 'drop' | 'undecided');
        this.change({ decisions: picked });
      });
      this.decisionBoxes.set(d, box);
      decisions.append(box, label);
    }
    const rowsLine = el('div', 'filter-line');
    this.errors = el('select', 'select', {
      'aria-label': 'Valid or invalid rows',
      id: 'errors-select',
    });
    for (const [v, t] of [
      ['', 'All rows'],
      ['only', 'Parse errors only'],
      ['exclude', 'Valid rows only'],
    ])
      this.errors.append(el('option', undefined, { value: v }, t));
    this.errors.addEventListener('change', () =>
      this.change({ errors: (this.errors.value || undefined) as ViewFilter['errors'] }),
    );
    rowsLine.append(el('label', 'tool-label', { for: 'errors-select' }, 'Rows'), this.errors);
    const fieldLine = el('div', 'filter-line');
    this.fieldMode = el('select', 'select', { 'aria-label': 'Has or lacks the field' });
    this.fieldMode.append(
      el('option', undefined, { value: 'has' }, 'has'),
      el('option', undefined, { value: 'lacks' }, 'lacks'),
    );
    this.field = el('select', 'select', { 'aria-label': 'Top-level field', id: 'field-select' });
    const emitField = () =>
      this.change({
        field: this.field.value
          ? { name: this.field.value, present: this.fieldMode.value === 'has' }
          : undefined,
      });
    this.field.addEventListener('change', emitField);
    this.fieldMode.addEventListener('change', () => this.field.value && emitField());
    fieldLine.append(
      el('label', 'tool-label', { for: 'field-select' }, 'Field'),
      this.fieldMode,
      this.field,
    );
    const clear = textButton(
      'clear-all',
      'Clear filters',
      'Remove every filter (the search and sort stay)',
    );
    clear.addEventListener('click', () => {
      this.filter = {};
      this.cb.onFilter({});
    });
    filters.append(decisions, rowsLine, fieldLine, clear);

    const decide = el('div', 'decide-column');
    decide.append(el('div', 'column-title', undefined, 'Decide'));
    const matchLine = el('div', 'filter-line');
    matchLine.append(el('span', 'tool-label', undefined, 'All matching'));
    for (const [d, icon, label] of [
      ['keep', 'check', 'Keep'],
      ['drop', 'close', 'Drop'],
      ['unset', 'discard', 'Clear'],
    ] as const) {
      const b = textButton(icon, label, `${label} every row the current view holds`);
      b.addEventListener('click', () => this.cb.onDecide({ kind: 'view' }, d));
      this.matchButtons.push(b);
      matchLine.append(b);
    }
    const topLine = el('div', 'filter-line');
    this.topPercent = el('input', 'number-input', {
      type: 'number',
      min: '0.1',
      max: '100',
      step: '1',
      value: '10',
      id: 'top-percent',
      'aria-label': 'Percentage of scored rows to keep, by ASK-LLM score',
    });
    this.topButton = textButton(
      'check',
      'Keep',
      'Keep the top k% of the scored rows in this view by ASK-LLM score',
    );
    this.topButton.addEventListener('click', () =>
      this.cb.onDecide({ kind: 'topPercent', percent: Number(this.topPercent.value) }, 'keep'),
    );
    this.topNote = el('span', 'muted note');
    topLine.append(
      el('label', 'tool-label', { for: 'top-percent' }, 'Top'),
      this.topPercent,
      el('span', 'tool-label', undefined, '% by ASK-LLM'),
      this.topButton,
    );
    const sampleLine = el('div', 'filter-line');
    this.sampleSize = el('input', 'number-input wide', {
      type: 'number',
      min: '1',
      step: '1',
      value: '1000',
      id: 'sample-size',
      'aria-label': 'DENSITY sample size',
    });
    this.sampleButton = textButton(
      'check',
      'Keep',
      'Keep a DENSITY inverse-propensity sample of N rows of this view',
    );
    this.sampleButton.addEventListener('click', () =>
      this.cb.onDecide(
        { kind: 'densitySample', count: Math.round(Number(this.sampleSize.value)) },
        'keep',
      ),
    );
    this.sampleNote = el('span', 'muted note');
    sampleLine.append(
      el('label', 'tool-label', { for: 'sample-size' }, 'DENSITY sample of'),
      this.sampleSize,
      this.sampleButton,
    );
    topLine.append(this.topNote);
    sampleLine.append(this.sampleNote);
    decide.append(matchLine, topLine, sampleLine);

    this.element.append(this.score.element, this.density.element, filters, decide);
  }

  private change(part: Partial<ViewFilter>): void {
    const next: Record<string, unknown> = { ...this.filter, ...part };
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
    this.filter = next as ViewFilter;
    this.cb.onFilter(this.filter);
  }

  /** Shows the view: histograms, filter values, which bulk decisions apply. */
  update(view: ViewInfo): void {
    const f = view.query.filter ?? {};
    this.filter = f;
    this.score.update(view.histograms.score, f.score);
    this.density.update(view.histograms.density, f.density);
    for (const [k, box] of this.decisionBoxes) box.checked = !!f.decisions?.includes(k as 'keep');
    this.errors.value = f.errors ?? '';
    if (view.fields.join('\n') !== this.fields.join('\n')) {
      this.fields = view.fields;
      this.field.replaceChildren(el('option', undefined, { value: '' }, 'any field'));
      for (const name of view.fields)
        this.field.append(el('option', undefined, { value: name }, name));
    }
    this.field.value = f.field?.name ?? '';
    this.fieldMode.value = f.field?.present === false ? 'lacks' : 'has';

    const editable = view.editable;
    for (const b of this.matchButtons) b.disabled = !editable || view.count === 0;
    const scored = view.sources.askllm !== undefined;
    this.topButton.disabled = !editable || !scored;
    this.topButton.title = scored
      ? 'Keep the top k% of the scored rows in this view by ASK-LLM score'
      : 'Needs ASK-LLM scores: run "Winnow: Score Current File" first';
    this.topPercent.disabled = !scored;
    setText(this.topNote, scored ? '' : 'Needs ASK-LLM scores.');
    const density = view.sources.density !== undefined;
    this.sampleButton.disabled = !editable || !density;
    this.sampleButton.title = density
      ? 'Keep a DENSITY inverse-propensity sample of N rows of this view (covers the data evenly)'
      : 'Needs DENSITY scores: compute DENSITY for this file first';
    this.sampleSize.disabled = !density;
    setText(
      this.sampleNote,
      density
        ? `Inverse-propensity sample, seed ${view.sources.density!.seed}.`
        : 'Needs DENSITY scores.',
    );
    if (!editable) setText(this.sampleNote, 'Restricted Mode: decisions are off.');
  }
}

/** Counts and parts of the filter, for the Filters button. */
export function filterCount(f: ViewFilter | undefined): number {
  if (!f) return 0;
  return (
    (f.score ? 1 : 0) +
    (f.density ? 1 : 0) +
    (f.decisions && f.decisions.length ? 1 : 0) +
    (f.errors ? 1 : 0) +
    (f.field ? 1 : 0)
  );
}

export interface ScopeCallbacks {
  onCancel(): void;
  onRefresh(): void;
  onClearAll(): void;
}

/** The line under the toolbar: scope and count, progress, staleness, the last action. */
export class ScopeBar {
  readonly element: HTMLElement;
  private readonly scope: HTMLSpanElement;
  private readonly counts: HTMLSpanElement;
  private readonly progress: HTMLSpanElement;
  private readonly progressText: HTMLSpanElement;
  private readonly stale: HTMLSpanElement;
  private readonly status: HTMLSpanElement;
  private readonly clearAll: HTMLButtonElement;
  private statusTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(cb: ScopeCallbacks) {
    this.element = el('div', 'scope-bar');
    this.scope = el('span', 'scope-text', { 'aria-live': 'polite' });
    this.clearAll = textButton(
      'clear-all',
      'Show all rows',
      'Clear the search and every filter, sort by line',
      'link-button',
    );
    this.clearAll.addEventListener('click', () => cb.onClearAll());
    this.progress = el('span', 'scope-progress hidden', { role: 'status' });
    this.progressText = el('span');
    const cancel = textButton(
      '',
      'Cancel',
      'Stop the search (Escape in the search box)',
      'link-button',
    );
    cancel.addEventListener('click', () => cb.onCancel());
    this.progress.append(codicon('loading', 'codicon-modifier-spin'), this.progressText, cancel);
    this.stale = el('span', 'scope-stale hidden');
    const refresh = textButton('refresh', 'Refresh', 'Compute the view again (r)', 'link-button');
    refresh.addEventListener('click', () => cb.onRefresh());
    this.stale.append(
      codicon('warning'),
      el('span', undefined, undefined, 'Decisions or scores changed since this view was computed.'),
      refresh,
    );
    this.status = el('span', 'scope-status', { role: 'status' });
    this.counts = el('span', 'scope-counts');
    this.element.append(
      this.scope,
      this.clearAll,
      this.progress,
      this.stale,
      this.status,
      this.counts,
    );
  }

  update(view: ViewInfo, identity: boolean): void {
    setText(this.scope, view.scope);
    this.clearAll.classList.toggle('hidden', identity);
    this.stale.classList.toggle('hidden', !view.stale);
    const d = view.decisions;
    this.counts.replaceChildren(
      el('span', 'count-keep', { title: 'Kept rows in the file' }, `✓ ${formatCount(d.keep)} kept`),
      el(
        'span',
        'count-drop',
        { title: 'Dropped rows in the file' },
        `✗ ${formatCount(d.drop)} dropped`,
      ),
      el(
        'span',
        'count-undecided',
        { title: 'Undecided rows in the file' },
        `${formatCount(d.undecided)} undecided`,
      ),
    );
  }

  setProgress(label: string | undefined, done = 0, total = 0, matches?: number): void {
    this.progress.classList.toggle('hidden', label === undefined);
    if (label === undefined) return;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
    setText(
      this.progressText,
      `${label}… ${pct}%${matches !== undefined ? ` · ${formatCount(matches)} matches so far` : ''}`,
    );
  }

  /** Shows the result of the last action for a while. */
  setStatus(text: string, error = false): void {
    clearTimeout(this.statusTimer);
    this.status.classList.toggle('error', error);
    setText(this.status, text);
    this.statusTimer = setTimeout(() => setText(this.status, ''), error ? 12_000 : 6_000);
  }
}

/** A range for the query, or undefined when it is open at both ends. */
export function cleanRange(r: NumberRange | undefined): NumberRange | undefined {
  if (!r) return undefined;
  const min = Number.isFinite(r.min) ? r.min : undefined;
  const max = Number.isFinite(r.max) ? r.max : undefined;
  if (min === undefined && max === undefined) return undefined;
  return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}
