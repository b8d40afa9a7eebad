/**
 * The custom document behind the dataset view: a JSONL file opened with the JSONL engine (indexed
 * in the background, read in pages), its detected schema, a background count of invalid lines,
 * and the undo/redo timeline for curation edits. It is Winnow's own document, not a
 * TextDocument, so a 10 GB file is fine; the dataset file is never written.
 */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import {
  detectJsonArrayFile,
  detectSchema,
  JsonlFile,
  parseLine,
  type SchemaInfo,
} from '../core/jsonl';
import type { IndexState, RowStats, RowView } from '../shared/webviewProtocol';
import { MAX_ROWS_PER_REQUEST } from '../shared/webviewProtocol';
import { Disposable } from './dispose';
import { EditTimeline } from './editTimeline';
import { errorText, log } from './log';
import { PREVIEW_CHARS, toRowView } from './rowViews';

/**
 * An undoable change to the document's curation state. There are none yet: keep/drop decisions
 * (issue 6) add variants here, saved to a sidecar file beside the dataset.
 */
export type DatasetEdit = never;

/** What a hot-exit backup holds: the unsaved edits. */
interface BackupData {
  readonly version: 1;
  readonly uri: string;
  readonly edits: readonly DatasetEdit[];
}

/** Rows sampled from the top of the file to detect its schema. */
const SCHEMA_SAMPLE_ROWS = 200;
/** Least time between two progress notifications to the views. */
const PROGRESS_INTERVAL_MS = 100;

export interface DatasetDocumentOptions {
  readonly maxLineBytes: number;
}

/** A dataset file open in one or more dataset views. */
export class DatasetDocument extends Disposable implements vscode.CustomDocument {
  /** When opening began (performance.now()), to time open-to-first-rows. */
  readonly openedAt: number;
  readonly edits = new EditTimeline<DatasetEdit>();
  /** Names one version of the file's content; bumped when the file changes on disk. */
  private _generation = 1;
  private _schema: SchemaInfo;
  private _notice: string | undefined;
  private _stats: RowStats | undefined;
  private lastProgressAt = 0;
  /** Resolves when the first rows were read for a view: background work waits for it. */
  private readonly firstRowsServed: Promise<void>;
  private markFirstRowsServed: () => void = () => undefined;
  private progressTimer: NodeJS.Timeout | undefined;

  private readonly _onDidChangeIndex = this.register(new vscode.EventEmitter<IndexState>());
  /** Indexing advanced (throttled) or finished. */
  readonly onDidChangeIndex = this._onDidChangeIndex.event;

  private readonly _onDidInvalidate = this.register(
    new vscode.EventEmitter<{ reason: 'appended' | 'rebuilt' }>(),
  );
  /** The file changed on disk; `generation` was bumped and rows must be re-read. */
  readonly onDidInvalidate = this._onDidInvalidate.event;

  private readonly _onDidChangeStats = this.register(new vscode.EventEmitter<RowStats>());
  /** The background invalid-line count advanced (throttled) or finished. */
  readonly onDidChangeStats = this._onDidChangeStats.event;

  private readonly _onDidChangeContent = this.register(
    new vscode.EventEmitter<vscode.CustomDocumentEditEvent<DatasetDocument>>(),
  );
  /** An undoable edit was made (forwarded to VS Code by the provider). */
  readonly onDidChangeContent = this._onDidChangeContent.event;

  private readonly _onDidDispose = this.register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this._onDidDispose.event;

  /** Opens `uri` (a `file:` URI) and starts indexing; restores unsaved edits from a backup. */
  static async open(
    uri: vscode.Uri,
    backupId: string | undefined,
    opts: DatasetDocumentOptions,
  ): Promise<DatasetDocument> {
    const openedAt = performance.now();
    if (uri.scheme !== 'file') {
      throw new Error(
        `Winnow reads datasets from disk; ${uri.scheme}: resources are not supported.`,
      );
    }
    const file = await JsonlFile.open(uri.fsPath, { maxLineBytes: opts.maxLineBytes });
    try {
      const schema = await sampleSchema(file);
      const notice = await arrayNotice(file);
      const doc = new DatasetDocument(uri, file, schema, notice, openedAt, opts);
      if (backupId) await doc.restoreBackup(vscode.Uri.parse(backupId));
      return doc;
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  private constructor(
    readonly uri: vscode.Uri,
    readonly file: JsonlFile,
    schema: SchemaInfo,
    notice: string | undefined,
    openedAt: number,
    private readonly opts: DatasetDocumentOptions,
  ) {
    super();
    this.firstRowsServed = new Promise(resolve => (this.markFirstRowsServed = resolve));
    this._schema = schema;
    this._notice = notice;
    this.openedAt = openedAt;
    const offProgress = file.onProgress(p => this.progress(p.done));
    const offChange = file.onDidChange(kind => void this.fileChanged(kind));
    this.register({ dispose: () => (offProgress(), offChange()) });
    file.watch();
    void this.countInvalidRows(this._generation);
    log.info(`Opened ${uri.fsPath} (schema: ${schema.label})`);
  }

  /**
   * Resolves once the first rows were read for a view, or after `timeoutMs`: background work
   * (the full invalid-line pass, the worker's own pass) waits for it so the first screen wins.
   */
  whenFirstRowsServed(timeoutMs: number): Promise<void> {
    return Promise.race([this.firstRowsServed, delay(timeoutMs)]);
  }

  get fileName(): string {
    return basename(this.uri.fsPath);
  }

  get generation(): number {
    return this._generation;
  }

  get schema(): SchemaInfo {
    return this._schema;
  }

  /** A warning about the whole file (e.g. it is a JSON array, not JSON Lines), if any. */
  get notice(): string | undefined {
    return this._notice;
  }

  get stats(): RowStats | undefined {
    return this._stats;
  }

  get indexState(): IndexState {
    return {
      rowCount: this.file.lineCount,
      indexed: this.file.indexed,
      bytesIndexed: this.file.bytesIndexedSoFar,
      totalBytes: this.file.totalBytes,
    };
  }

  /**
   * Rows `start .. start+count-1` as the grid shows them. Clipped to the rows indexed so far, so
   * a reply never waits for the indexer.
   */
  async rowViews(start: number, count: number): Promise<RowView[]> {
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0) {
      throw new RangeError(`Invalid row window ${start}+${count}`);
    }
    const available = Math.max(0, this.file.lineCount - start);
    const n = Math.min(count, MAX_ROWS_PER_REQUEST, available);
    if (n === 0) return [];
    const schema = this._schema;
    const rows = await this.file.readRows(start, n);
    const opts = { maxLineBytes: this.opts.maxLineBytes, previewChars: PREVIEW_CHARS };
    const views = rows.map(r => toRowView(r, schema, opts));
    this.markFirstRowsServed();
    return views;
  }

  // -- edits: none yet; the save/revert/backup plumbing is in place for decisions (issue 6) -----

  /** Saves the curation state. The dataset itself is never written. */
  async save(_cancellation?: vscode.CancellationToken): Promise<void> {
    // There is nothing to persist until decisions exist; a clean document saves as a no-op.
    this.edits.markSaved();
  }

  /** "Save As": writes a copy of the dataset to `target` (the original stays untouched). */
  async saveAs(target: vscode.Uri, _cancellation?: vscode.CancellationToken): Promise<void> {
    if (target.toString() !== this.uri.toString()) {
      await vscode.workspace.fs.copy(this.uri, target, { overwrite: true });
    }
    this.edits.markSaved();
  }

  /** Drops unsaved edits. */
  async revert(_cancellation?: vscode.CancellationToken): Promise<void> {
    this.edits.reset();
  }

  /** Writes unsaved edits for hot exit. */
  async backup(
    destination: vscode.Uri,
    _cancellation?: vscode.CancellationToken,
  ): Promise<vscode.CustomDocumentBackup> {
    const data: BackupData = { version: 1, uri: this.uri.toString(), edits: this.edits.applied };
    await vscode.workspace.fs.writeFile(
      destination,
      new TextEncoder().encode(JSON.stringify(data)),
    );
    return {
      id: destination.toString(),
      delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined),
    };
  }

  private async restoreBackup(backup: vscode.Uri): Promise<void> {
    try {
      const data = JSON.parse(
        new TextDecoder().decode(await vscode.workspace.fs.readFile(backup)),
      ) as Partial<BackupData>;
      if (data.version !== 1 || !Array.isArray(data.edits))
        throw new Error('unknown backup format');
      this.edits.reset(data.edits as DatasetEdit[]);
    } catch (e) {
      // A damaged backup must not keep the dataset from opening; the edits in it are reported.
      log.warn(`Could not restore the backup of ${this.uri.fsPath}: ${errorText(e)}`);
    }
  }

  // -- file events ------------------------------------------------------------------------------

  private progress(done: boolean): void {
    const now = Date.now();
    clearTimeout(this.progressTimer);
    if (done || now - this.lastProgressAt >= PROGRESS_INTERVAL_MS) {
      this.lastProgressAt = now;
      this._onDidChangeIndex.fire(this.indexState);
    } else {
      // Make sure the last progress before a pause is delivered too.
      this.progressTimer = setTimeout(() => this.progress(false), PROGRESS_INTERVAL_MS);
    }
  }

  private async fileChanged(kind: 'appended' | 'rebuilt'): Promise<void> {
    if (this.isDisposed) return;
    const generation = ++this._generation;
    this._stats = undefined;
    if (kind === 'rebuilt') {
      try {
        const schema = await sampleSchema(this.file);
        if (generation !== this._generation || this.isDisposed) return;
        this._schema = schema;
        this._notice = await arrayNotice(this.file);
      } catch (e) {
        log.warn(`Re-reading ${this.uri.fsPath} after a change failed: ${errorText(e)}`);
      }
    }
    if (generation !== this._generation || this.isDisposed) return;
    log.info(`${this.uri.fsPath} changed on disk (${kind}); views reload.`);
    this._onDidInvalidate.fire({ reason: kind });
    void this.countInvalidRows(generation);
  }

  /**
   * Counts invalid lines in one sequential pass after indexing, so the header can show the total.
   * It runs between page requests (every batch awaits a read) and stops when the file changes.
   */
  private async countInvalidRows(generation: number): Promise<void> {
    try {
      await this.file.whenIndexed();
      // The first screen of rows comes first: start the full pass once it was served (and
      // painted, roughly), or after a while if no view asks.
      await this.whenFirstRowsServed(3000);
      await delay(500);
      let checkedRows = 0;
      let invalidRows = 0;
      let lastFired = 0;
      const maxLineBytes = this.opts.maxLineBytes;
      // 1 MiB batches keep each synchronous parse step short (tens of ms).
      for await (const batch of this.file.iterateRows(0, 1 << 20)) {
        if (generation !== this._generation || this.isDisposed) return;
        for (const r of batch) {
          if (!parseLine(r.bytes, { maxLineBytes, firstLine: r.index === 0 }).ok) invalidRows++;
        }
        checkedRows += batch.length;
        const now = Date.now();
        if (now - lastFired >= 250) {
          lastFired = now;
          this._stats = { checkedRows, invalidRows, done: false };
          this._onDidChangeStats.fire(this._stats);
        }
        // Yield to the event loop so that page requests are answered promptly during the scan.
        await new Promise(resolve => setImmediate(resolve));
      }
      if (generation !== this._generation || this.isDisposed) return;
      this._stats = { checkedRows, invalidRows, done: true };
      this._onDidChangeStats.fire(this._stats);
    } catch (e) {
      if (!this.isDisposed)
        log.warn(`Counting invalid lines of ${this.uri.fsPath} stopped: ${errorText(e)}`);
    }
  }

  override dispose(): void {
    if (this.isDisposed) return;
    clearTimeout(this.progressTimer);
    this._onDidDispose.fire();
    super.dispose();
    this.file.close().catch(e => log.warn(`Closing ${this.uri.fsPath} failed: ${errorText(e)}`));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Detects the schema from the first rows that parse (waits only for those rows to be indexed). */
async function sampleSchema(file: JsonlFile): Promise<SchemaInfo> {
  const rows = await file.readRows(0, SCHEMA_SAMPLE_ROWS);
  const sample: Record<string, unknown>[] = [];
  for (const r of rows) {
    const parsed = parseLine(r.bytes, {
      maxLineBytes: file.maxLineBytes,
      firstLine: r.index === 0,
    });
    if (parsed.ok) sample.push(parsed.value);
  }
  return detectSchema(sample);
}

async function arrayNotice(file: JsonlFile): Promise<string | undefined> {
  const head = await file.readHead(64 << 10);
  return detectJsonArrayFile(head)
    ? 'This file looks like a JSON array, not JSON Lines: each line should hold one JSON object.'
    : undefined;
}
