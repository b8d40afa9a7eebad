/**
 * The "Decide" column of the filter panel: keep, drop or clear every row of the view, keep the
 * top k% by ASK-LLM score, or keep a DENSITY sample. Buttons that need scores say so until there
 * are some.
 */
import type { DecisionTarget, DecisionValue, ViewInfo } from '../../../src/shared/protocol/webview';
import { textButton } from '../util/buttons';
import { el, setText } from '../util/dom';

export type OnDecide = (target: DecisionTarget, decision: DecisionValue) => void;

const TOP_TITLE = 'Keep the top k% of the scored rows in this view by ASK-LLM score';

export class BulkDecisions {
  readonly element = el('div', 'decide-column');
  private readonly matchButtons: HTMLButtonElement[] = [];
  private readonly topPercent: HTMLInputElement;
  private readonly topButton: HTMLButtonElement;
  private readonly topNote = el('span', 'muted note');
  private readonly sampleSize: HTMLInputElement;
  private readonly sampleButton: HTMLButtonElement;
  private readonly sampleNote = el('span', 'muted note');

  constructor(private readonly onDecide: OnDecide) {
    this.topPercent = el('input', 'number-input', {
      type: 'number',
      min: '0.1',
      max: '100',
      step: '1',
      value: '10',
      id: 'top-percent',
      'aria-label': 'Percentage of scored rows to keep, by ASK-LLM score',
    });
    this.topButton = textButton('check', 'Keep', TOP_TITLE);
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
    this.element.append(
      el('div', 'column-title', undefined, 'Decide'),
      this.matchLine(),
      this.topLine(),
      this.sampleLine(),
    );
  }

  private matchLine(): HTMLElement {
    const line = el('div', 'filter-line');
    line.append(el('span', 'tool-label', undefined, 'All matching'));
    for (const [d, icon, label] of [
      ['keep', 'check', 'Keep'],
      ['drop', 'close', 'Drop'],
      ['unset', 'discard', 'Clear'],
    ] as const) {
      const b = textButton(icon, label, `${label} every row the current view holds`);
      b.addEventListener('click', () => this.onDecide({ kind: 'view' }, d));
      this.matchButtons.push(b);
      line.append(b);
    }
    return line;
  }

  private topLine(): HTMLElement {
    this.topButton.addEventListener('click', () =>
      this.onDecide({ kind: 'topPercent', percent: Number(this.topPercent.value) }, 'keep'),
    );
    const line = el('div', 'filter-line');
    line.append(
      el('label', 'tool-label', { for: 'top-percent' }, 'Top'),
      this.topPercent,
      el('span', 'tool-label', undefined, '% by ASK-LLM'),
      this.topButton,
      this.topNote,
    );
    return line;
  }

  private sampleLine(): HTMLElement {
    this.sampleButton.addEventListener('click', () =>
      this.onDecide(
        { kind: 'densitySample', count: Math.round(Number(this.sampleSize.value)) },
        'keep',
      ),
    );
    const line = el('div', 'filter-line');
    line.append(
      el('label', 'tool-label', { for: 'sample-size' }, 'DENSITY sample of'),
      this.sampleSize,
      this.sampleButton,
      this.sampleNote,
    );
    return line;
  }

  /** Enables the decisions that apply to the view (editable, with scores where they need them). */
  update(view: ViewInfo): void {
    const editable = view.editable;
    for (const b of this.matchButtons) b.disabled = !editable || view.count === 0;
    const scored = view.sources.askllm !== undefined;
    this.topButton.disabled = !editable || !scored;
    this.topButton.title = scored
      ? TOP_TITLE
      : 'Needs ASK-LLM scores: run "Winnow: Score Current File" first';
    this.topPercent.disabled = !scored;
    setText(this.topNote, scored ? '' : 'Needs ASK-LLM scores.');
    const density = view.sources.density;
    this.sampleButton.disabled = !editable || !density;
    this.sampleButton.title = density
      ? 'Keep a DENSITY inverse-propensity sample of N rows of this view (covers the data evenly)'
      : 'Needs DENSITY scores: compute DENSITY for this file first';
    this.sampleSize.disabled = !density;
    setText(
      this.sampleNote,
      density ? `Inverse-propensity sample, seed ${density.seed}.` : 'Needs DENSITY scores.',
    );
    if (!editable) setText(this.sampleNote, 'Restricted Mode: decisions are off.');
  }
}
