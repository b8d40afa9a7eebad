/**
 * The undo/redo timeline of a custom document's edits (after hexeditor's HexDocumentModel).
 * Generic over the edit type and free of `vscode`, so it is unit-testable in Node. The dataset
 * document keeps its curation edits here (keep/drop decisions arrive with issue 6); the dataset
 * file itself is never edited.
 */
export class EditTimeline<E> {
  private entries: E[] = [];
  /** Edits applied: entries[0 .. position-1]. */
  private position = 0;
  /** `position` at the last save, or -1 when the saved state is no longer reachable by undo/redo. */
  private savedPosition = 0;

  /** Edits currently in effect, oldest first. */
  get applied(): readonly E[] {
    return this.entries.slice(0, this.position);
  }

  /** Whether the document differs from what was last saved. */
  get isDirty(): boolean {
    return this.position !== this.savedPosition;
  }

  get canUndo(): boolean {
    return this.position > 0;
  }

  get canRedo(): boolean {
    return this.position < this.entries.length;
  }

  /** Records a new edit; edits undone before it can no longer be redone. */
  push(edit: E): void {
    if (this.savedPosition > this.position) this.savedPosition = -1;
    this.entries.length = this.position;
    this.entries.push(edit);
    this.position++;
  }

  /** Steps back one edit and returns it (to be reverted by the caller), if any. */
  undo(): E | undefined {
    if (!this.canUndo) return undefined;
    this.position--;
    return this.entries[this.position];
  }

  /** Steps forward one edit and returns it (to be re-applied by the caller), if any. */
  redo(): E | undefined {
    if (!this.canRedo) return undefined;
    return this.entries[this.position++];
  }

  /** The current state was saved. */
  markSaved(): void {
    this.savedPosition = this.position;
  }

  /**
   * Starts over from the saved state plus `unsaved` edits: with none (revert) the result is
   * clean; edits restored from a hot-exit backup count as unsaved changes.
   */
  reset(unsaved: readonly E[] = []): void {
    this.entries = [...unsaved];
    this.position = this.entries.length;
    this.savedPosition = 0;
  }
}
