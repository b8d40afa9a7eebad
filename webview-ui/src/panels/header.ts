/**
 * The bar above the grid: file name, row count (or indexing progress), detected schema, invalid
 * line count, a compressed file's "read-only" and the Restricted Mode notice. A polite live region announces only milestones
 * (indexing finished, every line checked), not every progress tick.
 */
import type { IndexState, RowStats, SchemaView } from '../../../src/shared/protocol/webview';
import { codicon, el, formatCount, setText } from '../util/dom';

interface Item {
  readonly root: HTMLSpanElement;
  readonly icon: HTMLSpanElement;
  readonly text: HTMLSpanElement;
}

function item(className: string, iconName: string): Item {
  const root = el('span', `header-item ${className}`);
  const icon = codicon(iconName);
  const text = el('span', 'header-text');
  root.append(icon, text);
  return { root, icon, text };
}

function setIcon(i: Item, name: string, spin = false): void {
  i.icon.className = `codicon codicon-${name}${spin ? ' codicon-modifier-spin' : ''}`;
}

export class Header {
  readonly element: HTMLElement;
  private readonly file = item('header-file', 'table');
  private readonly rows = item('header-rows', 'list-flat');
  private readonly schema = item('header-schema', 'json');
  private readonly invalid = item('header-invalid', 'warning');
  private readonly trust = item('header-trust', 'shield');
  private readonly compressed = item('header-compressed', 'file-zip');
  private readonly notice = item('header-notice', 'warning');
  private readonly live = el('span', 'visually-hidden', { 'aria-live': 'polite' });

  constructor() {
    this.element = el('header', 'header');
    this.trust.root.classList.add('hidden');
    this.compressed.root.classList.add('hidden');
    this.invalid.root.classList.add('hidden');
    this.notice.root.classList.add('hidden');
    this.element.append(
      this.file.root,
      this.rows.root,
      this.schema.root,
      this.invalid.root,
      this.notice.root,
      this.compressed.root,
      this.trust.root,
      this.live,
    );
  }

  setFile(fileName: string, filePath: string): void {
    setText(this.file.text, fileName);
    this.file.root.title = filePath;
  }

  setIndex(index: IndexState): void {
    if (index.indexed) {
      setIcon(this.rows, 'list-flat');
      setText(
        this.rows.text,
        `${formatCount(index.rowCount)} ${index.rowCount === 1 ? 'row' : 'rows'}`,
      );
      this.rows.root.title = `${formatCount(index.totalBytes)} bytes`;
      setText(this.live, `Indexed ${this.rows.text.textContent ?? ''}.`);
    } else {
      setIcon(this.rows, 'loading', true);
      const pct =
        index.totalBytes > 0 ? Math.floor((100 * index.bytesIndexed) / index.totalBytes) : 0;
      setText(this.rows.text, `indexing… ${formatCount(index.rowCount)} rows (${pct}%)`);
      this.rows.root.title = `${formatCount(index.bytesIndexed)} of ${formatCount(index.totalBytes)} bytes indexed`;
    }
  }

  setSchema(schema: SchemaView): void {
    setText(this.schema.text, schema.label);
    this.schema.root.title = schema.fields.length
      ? `Schema: ${schema.kind}. Fields: ${schema.fields.join(', ')}`
      : `Schema: ${schema.kind}`;
  }

  setStats(stats: RowStats | undefined): void {
    this.invalid.root.classList.toggle('hidden', !stats);
    if (!stats) return;
    const n = formatCount(stats.invalidRows);
    const noun = stats.invalidRows === 1 ? 'invalid line' : 'invalid lines';
    const blank = stats.blankRows;
    // Blank lines are no examples, but not invalid either: their own count, after the invalid one.
    const blanks =
      blank > 0 ? ` · ${formatCount(blank)} blank ${blank === 1 ? 'line' : 'lines'}` : '';
    this.invalid.root.classList.toggle('has-invalid', stats.invalidRows > 0);
    if (stats.done) {
      setIcon(this.invalid, stats.invalidRows > 0 ? 'warning' : 'pass');
      setText(
        this.invalid.text,
        (stats.invalidRows > 0 ? `${n} ${noun}` : 'no invalid lines') + blanks,
      );
      this.invalid.root.title = 'Every line was checked.';
      setText(this.live, `Checked every line: ${this.invalid.text.textContent ?? ''}.`);
    } else {
      setIcon(this.invalid, 'sync', true);
      setText(this.invalid.text, `${n} ${noun}${blanks} so far`);
      this.invalid.root.title = `Checked ${formatCount(stats.checkedRows)} lines so far.`;
    }
  }

  setNotice(notice: string | undefined): void {
    this.notice.root.classList.toggle('hidden', !notice);
    setText(this.notice.text, notice ?? '');
  }

  /** A compressed file: shown read-only (the decoder reads it; decisions go to the sidecar). */
  setCompression(compression: 'gzip' | 'zstd' | undefined): void {
    this.compressed.root.classList.toggle('hidden', !compression);
    if (!compression) return;
    setText(this.compressed.text, `compressed (${compression}), read-only`);
    this.compressed.root.title =
      `Winnow reads this ${compression} file directly, without unpacking it. Keep/drop decisions ` +
      'are saved beside it (the .winnow.json sidecar) and export writes the kept rows; the file ' +
      'itself is never changed.';
  }

  setTrusted(trusted: boolean): void {
    this.trust.root.classList.toggle('hidden', trusted);
    setText(this.trust.text, 'Restricted Mode: read-only');
    this.trust.root.title =
      'This workspace is not trusted: Winnow shows the data but runs nothing.';
  }
}
