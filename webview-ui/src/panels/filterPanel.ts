/**
 * The filter panel: the score and density histograms, the decision / parse-error / field filters
 * and the bulk decisions. It only describes the user's intent; the dataset view sends it to the
 * host, which computes the view.
 */
import type { ViewFilter, ViewInfo } from '../../../src/shared/protocol/webview';
import { textButton } from '../util/buttons';
import { el } from '../util/dom';
import { BulkDecisions, type OnDecide } from './bulkDecisions';
import { DuplicateControls } from './duplicates';
import { CalibrationPanel, fig } from './calibration';
import { HistogramView } from './histogram';
import { JudgeAbPanel } from './judgeAb';

export interface FilterCallbacks {
  onFilter(filter: ViewFilter): void;
  onDecide: OnDecide;
  /** Judge A/B: the second scorer was picked (undefined: none). */
  onCompare(scorer: string | undefined): void;
  /** "Find" near-duplicate groups. */
  onFindDuplicates(): void;
}

type DecisionFilter = NonNullable<ViewFilter['decisions']>[number];

/** The filter column: decision, valid/invalid rows, a field that rows have or lack. */
class FilterFields {
  readonly element = el('div', 'filter-column');
  private readonly decisionBoxes = new Map<DecisionFilter, HTMLInputElement>();
  private readonly errors: HTMLSelectElement;
  private readonly field: HTMLSelectElement;
  private readonly fieldMode: HTMLSelectElement;
  private fields: readonly string[] = [];

  /**
   * @param onChange a part of the filter changed
   * @param onClear "Clear filters"
   */
  constructor(
    private readonly onChange: (part: Partial<ViewFilter>) => void,
    onClear: () => void,
  ) {
    this.errors = el('select', 'select', {
      'aria-label': 'Valid or invalid rows',
      id: 'errors-select',
    });
    this.fieldMode = el('select', 'select', { 'aria-label': 'Has or lacks the field' });
    this.field = el('select', 'select', { 'aria-label': 'Top-level field', id: 'field-select' });
    const clear = textButton(
      'clear-all',
      'Clear filters',
      'Remove every filter (the search and sort stay)',
    );
    clear.addEventListener('click', onClear);
    this.element.append(this.decisionGroup(), this.rowsLine(), this.fieldLine(), clear);
  }

  private decisionGroup(): HTMLElement {
    const group = el('fieldset', 'filter-group');
    group.append(el('legend', undefined, undefined, 'Decision'));
    for (const d of ['keep', 'drop', 'undecided'] as const) {
      const id = `decision-${d}`;
      const box = el('input', undefined, { type: 'checkbox', id });
      const text = d === 'keep' ? 'kept' : d === 'drop' ? 'dropped' : 'undecided';
      const label = el('label', 'check-label', { for: id }, text);
      box.addEventListener('change', () => {
        const picked = [...this.decisionBoxes].filter(([, b]) => b.checked).map(([k]) => k);
        this.onChange({ decisions: picked });
      });
      this.decisionBoxes.set(d, box);
      group.append(box, label);
    }
    return group;
  }

  private rowsLine(): HTMLElement {
    for (const [v, t] of [
      ['', 'All rows'],
      ['only', 'Parse errors only'],
      ['exclude', 'Valid rows only'],
    ])
      this.errors.append(el('option', undefined, { value: v }, t));
    this.errors.addEventListener('change', () =>
      this.onChange({ errors: (this.errors.value || undefined) as ViewFilter['errors'] }),
    );
    const line = el('div', 'filter-line');
    line.append(el('label', 'tool-label', { for: 'errors-select' }, 'Rows'), this.errors);
    return line;
  }

  private fieldLine(): HTMLElement {
    this.fieldMode.append(
      el('option', undefined, { value: 'has' }, 'has'),
      el('option', undefined, { value: 'lacks' }, 'lacks'),
    );
    const emitField = () =>
      this.onChange({
        field: this.field.value
          ? { name: this.field.value, present: this.fieldMode.value === 'has' }
          : undefined,
      });
    this.field.addEventListener('change', emitField);
    this.fieldMode.addEventListener('change', () => this.field.value && emitField());
    const line = el('div', 'filter-line');
    line.append(
      el('label', 'tool-label', { for: 'field-select' }, 'Field'),
      this.fieldMode,
      this.field,
    );
    return line;
  }

  /** Shows the filter's values, and the fields the file has. */
  update(f: ViewFilter, fields: readonly string[]): void {
    for (const [k, box] of this.decisionBoxes) box.checked = !!f.decisions?.includes(k);
    this.errors.value = f.errors ?? '';
    if (fields.join('\n') !== this.fields.join('\n')) {
      this.fields = fields;
      this.field.replaceChildren(el('option', undefined, { value: '' }, 'any field'));
      for (const name of fields) this.field.append(el('option', undefined, { value: name }, name));
    }
    this.field.value = f.field?.name ?? '';
    this.fieldMode.value = f.field?.present === false ? 'lacks' : 'has';
  }
}

/** Filters and bulk decisions, with the two histograms. */
export class FilterPanel {
  readonly element: HTMLElement;
  private readonly score: HistogramView;
  private readonly density: HistogramView;
  private readonly fields: FilterFields;
  private readonly decide: BulkDecisions;
  private readonly duplicates: DuplicateControls;
  private readonly calibration: CalibrationPanel;
  private readonly judgeAb: JudgeAbPanel;
  private filter: ViewFilter = {};

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
    this.fields = new FilterFields(
      part => this.change(part),
      () => {
        this.filter = {};
        this.cb.onFilter({});
      },
    );
    this.decide = new BulkDecisions((target, decision) => cb.onDecide(target, decision));
    this.duplicates = new DuplicateControls({
      onFilter: part => this.change(part),
      onDecide: (target, decision) => cb.onDecide(target, decision),
      onFind: () => cb.onFindDuplicates(),
    });
    this.fields.element.append(this.duplicates.element);
    this.calibration = new CalibrationPanel((target, decision) => cb.onDecide(target, decision));
    this.judgeAb = new JudgeAbPanel({
      onCompare: s => cb.onCompare(s),
      onFilter: part => this.change(part),
    });
    this.element.append(
      this.score.element,
      this.calibration.element,
      this.judgeAb.element,
      this.density.element,
      this.fields.element,
      this.decide.element,
    );
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
    const t = view.calibration?.threshold ?? undefined;
    this.score.setMarker(t, t === undefined ? '' : `Calibrated threshold ${fig(t)}`);
    this.calibration.update(view.calibration, view.editable);
    this.judgeAb.update(view);
    this.density.update(view.histograms.density, f.density);
    this.fields.update(f, view.fields);
    this.decide.update(view);
    this.duplicates.update(view);
  }
}
