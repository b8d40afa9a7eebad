/** The dataset view's UI state that survives hiding and reloading the webview. */
import type { PersistedViewState } from '../../../src/shared/protocol/webview';
import { saveViewState } from './host';

export class SavedViewState {
  private state: PersistedViewState;
  private lastPosition = '';

  constructor(saved: PersistedViewState | undefined) {
    this.state = saved ?? { topRow: 0, focusedRow: 0 };
  }

  get value(): PersistedViewState {
    return this.state;
  }

  /** Saves a part of the state (cheap: VS Code keeps it in memory). */
  update(part: Partial<PersistedViewState>): void {
    this.state = { ...this.state, ...part };
    saveViewState(this.state);
  }

  /** Saves the scroll position on every move, so a view hidden right after a move comes back there. */
  savePosition(topRow: number, focusedRow: number): void {
    const key = `${topRow}:${focusedRow}`;
    if (key === this.lastPosition) return;
    this.lastPosition = key;
    this.update({ topRow, focusedRow });
  }
}
