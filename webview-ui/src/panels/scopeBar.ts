/** The line under the toolbar: scope and count, progress, staleness, the last action. */
import type { ViewInfo } from '../../../src/shared/protocol/webview';
import { textButton } from '../util/buttons';
import { codicon, el, formatCount, setText } from '../util/dom';

export interface ScopeCallbacks {
  onCancel(): void;
  onRefresh(): void;
  onClearAll(): void;
}

/** How long the last action's message stays, in ms. */
const STATUS_MS = 6_000;
const ERROR_STATUS_MS = 12_000;

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
    this.statusTimer = setTimeout(
      () => setText(this.status, ''),
      error ? ERROR_STATUS_MS : STATUS_MS,
    );
  }
}
