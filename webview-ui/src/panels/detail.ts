/**
 * The detail panel: the focused example in full. Wrapped text, chat turns by role, the raw JSON,
 * scores with the model and prompt that produced them, the decision, and a "Show in text editor"
 * link to the exact line. Every piece of dataset text goes in through textContent.
 */
import type { Decision, RowDetail } from '../../../src/shared/protocol/webview';
import { codicon, el, formatCount } from '../util/dom';
import { type TriageKeys, triageKeyNames } from '../grid/keymap';
import { scoreFacts } from '../util/scoreText';

export interface DetailCallbacks {
  /** Show the row's line in the text editor. */
  onOpen(row: number): void;
  /** Keep / drop / clear the shown row. */
  onDecide(decision: Decision | 'unset'): void;
  onClose(): void;
}

function section(title: string, ...children: Node[]): HTMLElement {
  const s = el('section', 'detail-section');
  s.append(el('h3', 'detail-heading', undefined, title), ...children);
  return s;
}

function keyValues(rows: readonly (readonly [string, string])[]): HTMLElement {
  const dl = el('dl', 'detail-kv');
  for (const [k, v] of rows)
    dl.append(el('dt', undefined, undefined, k), el('dd', undefined, undefined, v));
  return dl;
}

export class DetailPanel {
  /** Which keys keep and drop (setting `winnow.datasetView.triageKeys`), for the tooltips. */
  triageKeys: TriageKeys = 'y/n';

  readonly element: HTMLElement;
  private readonly content: HTMLDivElement;
  private readonly title: HTMLSpanElement;
  private shown: RowDetail | undefined;

  constructor(private readonly callbacks: DetailCallbacks) {
    this.element = el('aside', 'detail', { 'aria-label': 'Example detail', tabindex: '-1' });
    const bar = el('div', 'detail-bar');
    this.title = el('span', 'detail-title', undefined, 'Detail');
    const close = el('button', 'icon-button', {
      type: 'button',
      title: 'Close the detail panel (Enter in the grid)',
      'aria-label': 'Close detail panel',
    });
    close.append(codicon('close'));
    close.addEventListener('click', () => this.callbacks.onClose());
    bar.append(this.title, close);
    this.content = el('div', 'detail-content');
    this.element.append(bar, this.content);
    this.showMessage('Select a row to see it in full.');
  }

  /** The row shown, if any. */
  get row(): number | undefined {
    return this.shown?.index;
  }

  showMessage(text: string): void {
    this.shown = undefined;
    this.title.textContent = 'Detail';
    this.content.replaceChildren(el('p', 'muted', undefined, text));
  }

  show(d: RowDetail): void {
    this.shown = d;
    this.title.textContent = `Line ${formatCount(d.index + 1)}`;
    const parts: HTMLElement[] = [this.actions(d)];
    if (d.error) parts.push(errorNote(d.error));
    // Scores and where they came from: the facts of the text editor's hover.
    parts.push(section('Scores', keyValues(scoreFacts(d))));
    parts.push(textSection(d));
    if (d.duplicates) parts.push(duplicatesSection(d.duplicates));
    if (d.textTruncated)
      parts.push(
        el('p', 'muted', undefined, 'The text is cut short here; the text editor shows all of it.'),
      );
    if (!d.error) parts.push(rawJson(d));
    this.content.replaceChildren(...parts);
    this.content.scrollTop = 0;
  }

  /** Decision buttons and the link to the text editor. */
  private actions(d: RowDetail): HTMLElement {
    const actions = el('div', 'detail-actions');
    const open = el('a', 'detail-link', {
      href: '#',
      title: `Open the file in the text editor at line ${d.index + 1} (o)`,
    });
    open.append(codicon('go-to-file'), el('span', undefined, undefined, 'Show in text editor'));
    open.addEventListener('click', e => {
      e.preventDefault();
      this.callbacks.onOpen(d.index);
    });
    const keys = triageKeyNames(this.triageKeys);
    actions.append(
      decisionChip(d.decision),
      button('Keep', 'check', `Keep this example (${keys.keep})`, () =>
        this.callbacks.onDecide('keep'),
      ),
      button('Drop', 'close', `Drop this example (${keys.drop})`, () =>
        this.callbacks.onDecide('drop'),
      ),
      button('Clear', 'discard', 'Clear the decision (x)', () => this.callbacks.onDecide('unset')),
      open,
    );
    return actions;
  }
}

function decisionChip(decision: Decision | undefined): HTMLElement {
  const chip = el('span', `decision-chip ${decision ?? 'undecided'}`);
  chip.append(
    codicon(decision === 'keep' ? 'check' : decision === 'drop' ? 'close' : 'circle-large-outline'),
    el(
      'span',
      undefined,
      undefined,
      decision === 'keep' ? 'Kept' : decision === 'drop' ? 'Dropped' : 'Undecided',
    ),
  );
  return chip;
}

function button(label: string, icon: string, title: string, onClick: () => void): HTMLElement {
  const b = el('button', 'secondary-button', { type: 'button', title });
  b.append(codicon(icon), el('span', undefined, undefined, label));
  b.addEventListener('click', onClick);
  return b;
}

function errorNote(error: NonNullable<RowDetail['error']>): HTMLElement {
  const note = el('div', 'detail-error', { role: 'note' });
  note.append(
    codicon('error'),
    el(
      'span',
      undefined,
      undefined,
      `${error.kind}: ${error.message}${error.column ? ` (column ${error.column})` : ''}`,
    ),
  );
  return note;
}

/** The text: chat turns by role, or the wrapped text. */
function textSection(d: RowDetail): HTMLElement {
  if (!d.turns || !d.turns.length)
    return section(d.error ? 'Raw line' : 'Text', el('div', 'detail-text', undefined, d.text));
  const list = el('ol', 'chat-turns');
  for (const t of d.turns) {
    const li = el('li', `chat-turn role-${/^[a-z]+$/.test(t.role) ? t.role : 'other'}`);
    li.append(
      el('div', 'chat-role', undefined, t.role),
      el('div', 'chat-content', undefined, t.content),
    );
    list.append(li);
  }
  return section(`Conversation (${d.turns.length} turns)`, list);
}

/** The other rows of the row's near-duplicate group: line, decision, score and preview (text). */
function duplicatesSection(dup: NonNullable<RowDetail['duplicates']>): HTMLElement {
  const list = el('ol', 'duplicate-list');
  for (const r of dup.rows) {
    const li = el('li', 'duplicate-item');
    const head = [`Line ${formatCount(r.index + 1)}`];
    if (r.decision) head.push(r.decision === 'keep' ? 'kept' : 'dropped');
    if (r.score !== undefined) head.push(`P(yes) ${r.score.toFixed(3)}`);
    li.append(
      el('div', 'duplicate-head', undefined, head.join(' · ')),
      el('div', 'duplicate-preview', undefined, r.preview),
    );
    list.append(li);
  }
  const more = dup.count - 1 - dup.rows.length;
  const title = `Near-duplicate group ${formatCount(dup.group + 1)} (${formatCount(dup.count)} rows)`;
  return more > 0
    ? section(title, list, el('p', 'muted', undefined, `and ${formatCount(more)} more`))
    : section(title, list);
}

function rawJson(d: RowDetail): HTMLElement {
  const details = el('details', 'detail-raw');
  details.append(
    el('summary', undefined, undefined, 'Raw JSON'),
    el('pre', 'detail-json', undefined, d.raw),
  );
  if (d.rawTruncated) details.append(el('p', 'muted', undefined, 'Cut short.'));
  return details;
}
