/** The keyboard help dialog (`?`): every key of the grid, and how decisions are saved. */
import type { TriageKeys } from '../../../src/shared/protocol/webview';
import { keyHelp } from '../grid/keymap';
import { codicon, el } from '../util/dom';

const SAVE_NOTE =
  'Decisions are edits of this editor: the tab shows unsaved changes, Ctrl+S saves them to <file>.winnow.json beside the dataset, and the dataset itself is never changed.';

export class HelpDialog {
  private box: HTMLElement | undefined;

  /** @param onClose called after the dialog closed (to give the focus back) */
  constructor(private readonly onClose: () => void) {}

  /** Opens the dialog for the keys `triageKeys`, or closes it when it is open. */
  toggle(triageKeys: TriageKeys): void {
    if (this.box) this.close();
    else this.open(triageKeys);
  }

  private close(): void {
    this.box?.remove();
    this.box = undefined;
    this.onClose();
  }

  private open(triageKeys: TriageKeys): void {
    const box = el('div', 'help', {
      role: 'dialog',
      'aria-modal': 'true',
      'aria-label': 'Keyboard shortcuts',
      tabindex: '-1',
    });
    const head = el('div', 'help-head');
    head.append(codicon('keyboard'), el('h2', undefined, undefined, 'Keyboard shortcuts'));
    const note = el('p', 'muted', undefined, SAVE_NOTE);
    const close = el('button', 'secondary-button', { type: 'button' }, 'Close (Escape)');
    close.addEventListener('click', () => this.close());
    box.append(head, keyTable(triageKeys), note, close);
    box.addEventListener('keydown', e => {
      if (e.key === 'Escape' || e.key === '?') {
        e.preventDefault();
        e.stopPropagation();
        this.close();
      }
    });
    document.body.append(box);
    this.box = box;
    box.focus();
  }
}

function keyTable(triageKeys: TriageKeys): HTMLTableElement {
  const table = el('table', 'help-table');
  for (const [keys, what] of keyHelp(triageKeys)) {
    const tr = el('tr');
    tr.append(el('th', undefined, { scope: 'row' }, keys), el('td', undefined, undefined, what));
    table.append(tr);
  }
  return table;
}
