/**
 * The judge A/B panel (docs/judge.md#judge-ab): pick a second scorer the file was scored with
 * (another model, prompt or engine), see how it agrees with the current one (Spearman, Kendall,
 * keep↔drop flips, the AUC of each against the labels), and filter the view to the flips.
 * The host computes every number; this only shows them.
 */
import type { ComparisonView, ViewFilter, ViewInfo } from '../../../src/shared/protocol/webview';
import { textButton } from '../util/buttons';
import { el, formatCount, setText } from '../util/dom';
import { fig } from './calibration';

export interface JudgeAbCallbacks {
  /** The second scorer was picked (undefined: no comparison). */
  onCompare(scorer: string | undefined): void;
  onFilter(part: Partial<ViewFilter>): void;
}

export class JudgeAbPanel {
  readonly element = el('div', 'judge-ab', { 'aria-label': 'Judge A/B' });
  private readonly select = el('select', 'select', {
    'aria-label': 'Second scorer',
    id: 'compare-select',
  });
  private readonly correlation = el('div', 'calibration-line', { id: 'compare-correlation' });
  private readonly flips = el('div', 'calibration-line', { id: 'compare-flips' });
  private readonly other = el('div', 'calibration-line muted');
  private readonly auc = el('div', 'calibration-line muted');
  private readonly toggle: HTMLButtonElement;
  private options = '';
  private flipsOn = false;

  constructor(cb: JudgeAbCallbacks) {
    const head = el('div', 'histogram-title');
    head.append(el('span', 'histogram-name', undefined, 'Judge A/B'));
    this.select.addEventListener('change', () => cb.onCompare(this.select.value || undefined));
    this.toggle = textButton(
      'filter',
      'Show flips',
      'Show only the rows the two scorers disagree on (one keeps, the other drops)',
    );
    this.toggle.id = 'compare-flips-filter';
    this.toggle.addEventListener('click', () =>
      cb.onFilter({ flips: this.flipsOn ? undefined : true }),
    );
    const pick = el('div', 'filter-line');
    pick.append(el('label', 'tool-label', { for: 'compare-select' }, 'Compare with'), this.select);
    const line = el('div', 'filter-line');
    line.append(this.toggle);
    this.element.append(head, pick, this.correlation, this.flips, this.other, this.auc, line);
  }

  /** Shows the stored scorers and the comparison (hidden while fewer than two scorers exist). */
  update(view: ViewInfo): void {
    const others = (view.scorers ?? []).filter(s => !s.current);
    this.element.classList.toggle('hidden', others.length === 0);
    const key = others.map(s => `${s.id}\t${s.label}\t${s.scored}`).join('\n');
    if (key !== this.options) {
      this.options = key;
      this.select.replaceChildren(el('option', undefined, { value: '' }, 'no second scorer'));
      for (const s of others)
        this.select.append(
          el('option', undefined, { value: s.id }, `${s.label} (${formatCount(s.scored)} rows)`),
        );
    }
    const c = view.comparison;
    this.select.value = c?.scorerB.id ?? '';
    this.flipsOn = view.query.filter?.flips === true;
    this.toggle.classList.toggle('active', this.flipsOn);
    this.toggle.setAttribute('aria-pressed', String(this.flipsOn));
    const label = this.toggle.lastElementChild;
    if (label instanceof HTMLElement) setText(label, this.flipsOn ? 'Show all rows' : 'Show flips');
    this.toggle.disabled = !c && !this.flipsOn;
    this.show(c);
  }

  private show(c: ComparisonView | undefined): void {
    for (const e of [this.correlation, this.flips, this.other, this.auc])
      e.classList.toggle('hidden', !c);
    if (!c) return;
    setText(
      this.correlation,
      `${formatCount(c.rows)} rows scored by both · Spearman ${fig(c.spearman)} · Kendall τ ${fig(c.kendall)}`,
    );
    const used = c.basis === 'thresholds' && c.atThresholds ? c.atThresholds : c.atKeepRate;
    setText(
      this.flips,
      `${formatCount(used.flips)} flips (${fig(100 * used.flipRate)}%) ` +
        (c.basis === 'thresholds'
          ? `at the calibrated thresholds A ≥ ${fig(used.thresholdA)}, B ≥ ${fig(used.thresholdB)}`
          : `at the same keep rate ${fig(100 * c.atKeepRate.keepRate)}% (A ≥ ${fig(used.thresholdA)}, B ≥ ${fig(used.thresholdB)})`) +
        ` · kept by A only ${formatCount(used.keptByAOnly)}, by B only ${formatCount(used.keptByBOnly)}`,
    );
    setText(
      this.other,
      c.basis === 'thresholds'
        ? `At the same keep rate ${fig(100 * c.atKeepRate.keepRate)}%: ${formatCount(c.atKeepRate.flips)} flips`
        : 'Label kept and dropped rows to compare at each scorer\u2019s calibrated threshold.',
    );
    setText(
      this.auc,
      `AUC against your ${formatCount(c.labelled)} labels: A ${fig(c.aucA)} · B ${fig(c.aucB)}` +
        ` · A = ${c.scorerA.label} · B = ${c.scorerB.label}`,
    );
  }
}
