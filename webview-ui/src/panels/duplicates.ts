/**
 * The near-duplicates part of the filter panel: find the groups, filter rows in or out of them,
 * and "Keep one per group" (the highest ASK-LLM score or the first row) as one edit.
 */
import type {
  DecisionTarget,
  DecisionValue,
  ViewFilter,
  ViewInfo,
} from '../../../src/shared/protocol/webview';
import { textButton } from '../util/buttons';
import { el, formatCount, setText } from '../util/dom';

export interface DuplicateCallbacks {
  onFilter(part: Partial<ViewFilter>): void;
  onDecide(target: DecisionTarget, decision: DecisionValue): void;
  onFind(): void;
}

export class DuplicateControls {
  readonly element = el('fieldset', 'filter-group duplicates-group');
  private readonly summary = el('p', 'muted duplicates-summary');
  private readonly filter: HTMLSelectElement;
  private readonly keep: HTMLSelectElement;
  private readonly keepButton: HTMLButtonElement;

  constructor(cb: DuplicateCallbacks) {
    this.element.append(el('legend', undefined, undefined, 'Near-duplicates'));
    this.filter = el('select', 'select', {
      'aria-label': 'Rows in near-duplicate groups',
      id: 'duplicates-select',
    });
    for (const [v, t] of [
      ['', 'any row'],
      ['grouped', 'in a group'],
      ['ungrouped', 'in no group'],
    ])
      this.filter.append(el('option', undefined, { value: v }, t));
    this.filter.addEventListener('change', () =>
      cb.onFilter({ duplicates: (this.filter.value || undefined) as ViewFilter['duplicates'] }),
    );
    const find = textButton(
      'search',
      'Find',
      'Find near-duplicate groups from the DENSITY embeddings',
    );
    find.classList.add('duplicates-find');
    find.addEventListener('click', () => cb.onFind());
    this.keep = el('select', 'select', { 'aria-label': 'Which row each group keeps' });
    this.keep.append(
      el('option', undefined, { value: 'best' }, 'highest ASK-LLM score'),
      el('option', undefined, { value: 'first' }, 'first row'),
    );
    this.keepButton = textButton(
      'pass',
      'Keep one per group',
      'Keep one row of every group and drop the others (one undoable edit)',
    );
    this.keepButton.classList.add('duplicates-keep-one');
    this.keepButton.addEventListener('click', () =>
      cb.onDecide({ kind: 'onePerGroup', keep: this.keep.value as 'best' | 'first' }, 'drop'),
    );
    const line = el('div', 'filter-line');
    line.append(el('label', 'tool-label', { for: 'duplicates-select' }, 'Rows'), this.filter, find);
    const keepLine = el('div', 'filter-line');
    keepLine.append(this.keepButton, el('span', 'tool-label', undefined, 'keeping the'), this.keep);
    this.element.append(this.summary, line, keepLine);
  }

  update(view: ViewInfo): void {
    const d = view.sources.duplicates;
    setText(
      this.summary,
      d
        ? `${formatCount(d.count)} ${d.count === 1 ? 'group' : 'groups'}, ${formatCount(d.groupedRows)} rows at cosine ≥ ${d.threshold}`
        : 'Not found yet (needs DENSITY).',
    );
    this.filter.value = view.query.filter?.duplicates ?? '';
    this.keepButton.disabled = !d || d.count === 0 || !view.editable;
    if (!view.sources.askllm) this.keep.value = 'first';
  }
}
