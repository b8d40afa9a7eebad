/**
 * The calibration panel (docs/judge.md#calibration): how the ASK-LLM judge does against the
 * user's own keep/drop labels — the AUC, the precision-recall curve with the target precision
 * and the calibrated threshold marked, precision / recall / κ at that threshold with their
 * bootstrap intervals, the label counts, and a warning when they are few — plus "Keep rows at
 * or above the calibrated threshold". The host computes every number; this only shows them.
 */
import type {
  CalibrationView,
  DecisionTarget,
  DecisionValue,
} from '../../../src/shared/protocol/webview';
import { textButton } from '../util/buttons';
import { el, formatCount, setText } from '../util/dom';

const SVG = 'http://www.w3.org/2000/svg';
/** The curve's plot box in SVG units. */
const W = 180;
const H = 90;

/** A figure with 3 significant digits (small ones in exponent form), or an em dash. */
export function fig(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/** An interval as "(95%: lo–hi)", or nothing. */
function interval(iv: readonly [number, number] | undefined, confidence = 0.95): string {
  return iv ? ` (${Math.round(confidence * 100)}%: ${fig(iv[0])}–${fig(iv[1])})` : '';
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export class CalibrationPanel {
  readonly element = el('div', 'calibration', { 'aria-label': 'Calibration of the judge' });
  private readonly auc = el('span', 'calibration-auc');
  private readonly plot = svg('svg', {
    class: 'pr-curve',
    viewBox: `-2 -2 ${W + 4} ${H + 4}`,
    role: 'img',
  });
  private readonly threshold = el('div', 'calibration-line');
  private readonly figures = el('div', 'calibration-line muted');
  private readonly labels = el('div', 'calibration-line muted');
  private readonly warning = el('div', 'calibration-warning');
  private readonly apply: HTMLButtonElement;
  private readonly applyNote = el('span', 'muted note');

  constructor(private readonly onDecide: (target: DecisionTarget, d: DecisionValue) => void) {
    const head = el('div', 'histogram-title');
    head.append(el('span', 'histogram-name', undefined, 'Calibration'), this.auc);
    this.apply = textButton(
      'check',
      'Keep rows at or above the threshold',
      'Keep every scored row of this view at or above the calibrated threshold (one undoable edit); rows you labelled keep your decision',
    );
    this.apply.id = 'keep-calibrated';
    this.apply.addEventListener('click', () =>
      this.onDecide({ kind: 'calibratedThreshold' }, 'keep'),
    );
    const applyLine = el('div', 'filter-line');
    applyLine.append(this.apply, this.applyNote);
    const text = el('div', 'calibration-text');
    text.append(this.threshold, this.figures, this.labels, this.warning, applyLine);
    const figure = el('div', 'pr-figure');
    figure.append(
      this.plot,
      el('div', 'muted note', undefined, 'Precision ↑ against recall →; dashed: the target.'),
    );
    const body = el('div', 'calibration-body');
    body.append(figure, text);
    this.element.append(head, body);
  }

  /** Shows a calibration (undefined: the file has no scores yet). */
  update(c: CalibrationView | undefined, editable: boolean): void {
    this.element.classList.toggle('hidden', !c);
    if (!c) return;
    const iv = c.intervals;
    setText(this.auc, `AUC ${fig(c.auc)}${interval(iv?.auc, iv?.confidence)}`);
    this.drawCurve(c);
    setText(
      this.threshold,
      c.threshold === null
        ? 'No threshold yet.'
        : `Threshold ${fig(c.threshold)}${interval(iv?.threshold, iv?.confidence)} · ` +
            (c.rule === 'targetPrecision'
              ? `reaches precision ${fig(c.targetPrecision)}`
              : `best F1 (precision ${fig(c.targetPrecision)} is out of reach)`),
    );
    setText(
      this.figures,
      c.threshold === null
        ? ''
        : `precision ${fig(c.precision)}${interval(iv?.precision, iv?.confidence)} · ` +
            `recall ${fig(c.recall)}${interval(iv?.recall, iv?.confidence)} · ` +
            `κ ${fig(c.kappa)}${interval(iv?.kappa, iv?.confidence)}`,
    );
    setText(
      this.labels,
      `Labels: ${formatCount(c.keep)} kept · ${formatCount(c.drop)} dropped` +
        (c.confusion
          ? ` · at the threshold ${formatCount(c.confusion.tp)} kept and ${formatCount(c.confusion.fp)} dropped rows are above it`
          : ''),
    );
    setText(this.warning, c.warnings.join(' '));
    this.warning.classList.toggle('hidden', c.warnings.length === 0);
    this.apply.disabled = !editable || c.threshold === null;
    const labelledAbove = c.confusion ? c.confusion.tp + c.confusion.fp : 0;
    setText(
      this.applyNote,
      c.threshold === null
        ? ''
        : `${formatCount(c.atOrAbove - labelledAbove)} unlabelled scored rows are ≥ ${fig(c.threshold)}; ` +
            `your ${formatCount(labelledAbove)} labels there stay as they are.`,
    );
  }

  /** The PR curve (recall → x, precision → y), the target precision dashed, the threshold's point. */
  private drawCurve(c: CalibrationView): void {
    const x = (r: number): number => r * W;
    const y = (p: number): number => (1 - p) * H;
    const parts: SVGElement[] = [
      svg('rect', { class: 'pr-frame', x: '0', y: '0', width: String(W), height: String(H) }),
      svg('line', {
        class: 'pr-target',
        x1: '0',
        x2: String(W),
        y1: String(y(c.targetPrecision)),
        y2: String(y(c.targetPrecision)),
      }),
    ];
    const pts = c.curve.filter(p => Number.isFinite(p.precision) && Number.isFinite(p.recall));
    if (pts.length > 0)
      parts.push(
        svg('polyline', {
          class: 'pr-line',
          points: pts.map(p => `${x(p.recall).toFixed(1)},${y(p.precision).toFixed(1)}`).join(' '),
        }),
      );
    if (c.precision !== null && c.recall !== null)
      parts.push(
        svg('circle', {
          class: 'pr-point',
          cx: String(x(c.recall)),
          cy: String(y(c.precision)),
          r: '5',
        }),
      );
    this.plot.replaceChildren(...parts);
    this.plot.setAttribute(
      'aria-label',
      `Precision-recall curve over ${c.labelled} labelled rows` +
        (c.precision !== null
          ? `; at the threshold precision ${fig(c.precision)}, recall ${fig(c.recall)}`
          : ''),
    );
  }
}
