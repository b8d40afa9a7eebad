/**
 * The custom document behind the dataset view: a JSONL file opened with the JSONL engine (a
 * sparse line index built in the background, rows read in pages), its detected schema, the row
 * facts of the worker's one scan of the file (lengths, parse errors, fields; `RowFactsFeed`, no
 * content hashes here), the worker's score columns, and the keep/drop decisions with their
 * undo/redo timeline. Saved decisions are matched to rows by the worker, which also gives the
 * hashes of decided rows when saving. It is Winnow's own document, not a TextDocument, so a 10 GB
 * file is fine. The dataset file is never written: saving writes the decisions to the sidecar
 * `<name>.winnow.json` beside it.
 */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import {
  binaryFileMessage,
  compressedFileMessage,
  openRowSource,
  SCHEMA_SAMPLE_LINES,
  sampleFileSchema,
  type RowSource,
  type SchemaInfo,
  fileHeadFacts,
} from '../../core/jsonl';
import type {
  DecisionValue,
  IndexState,
  RowDetail,
  RowStats,
  RowView,
  ViewSearch,
} from '../../shared/protocol/webview';
import { MAX_ROWS_PER_REQUEST } from '../../shared/protocol/webview';
import type {
  DecisionHashes,
  GetColumnsResult,
  GetScorerColumnResult,
} from '../../shared/protocol/worker';
import {
  DecisionColumn,
  DROP,
  KEEP,
  decisionOf,
  type DecisionEdit,
  type DecisionRule,
} from '../../core/dataset/decisions';
import { Disposable } from '../dispose';
import { EditTimeline } from '../../core/dataset/editTimeline';
import { errorText, log } from '../log';
import { readHostSettings } from '../config';
import { rowDetail } from '../../core/dataset/rowDetail';
import type { RowFactColumns } from '../../core/dataset/rowColumns';
import { isVersionGone, RowFactsFeed, type RowFactsSource } from '../../core/dataset/rowFactsFeed';
import { PREVIEW_CHARS, toRowView } from '../../core/dataset/rowViews';
import {
  decodeColumns,
  withScorerColumn,
  rowScores,
  scoreSources,
  type ScoreColumns,
} from '../../core/dataset/scoreColumns';
import {
  EMPTY_SIDECAR,
  readSidecarOnDisk,
  sidecarChanged,
  sidecarPath,
  writeSidecar,
  writeSidecarStamped,
  type LegacyDecisions,
  type SidecarData,
  type SidecarOnDisk,
  type SidecarStamp,
} from '../../core/dataset/sidecar';
import { decisionCounts, mergeSidecars } from '../../core/dataset/sidecarMerge';
import { SearchCancelled, searchFile } from '../../core/dataset/textSearch';
import type { ViewSource } from '../../core/dataset/datasetView';

/** An undoable change to the document's curation state: keep/drop decisions on rows. */
export type DatasetEdit = DecisionEdit;

/** What a hot-exit backup holds: the whole unsaved decision state, by content hash. */
/**
 * A hot-exit backup. Version 3 is keyed by content hash version 2; a version-2 backup (keyed by
 * SHA-256, content hash version 1) is still restored, as legacy decisions.
 */
interface BackupData {
  readonly version: 3;
  readonly uri: string;
  readonly keep: readonly string[];
  readonly drop: readonly string[];
  readonly rules: readonly DecisionRule[];
  readonly legacy?: LegacyDecisions;
  /**
   * The sidecar the unsaved decisions were made against, so that the first save after a restore
   * still notices (and can merge) a sidecar changed in the meantime. Absent in older backups.
   */
  readonly loaded?: LoadedSidecar;
}

/** A restored hot-exit backup: the unsaved decisions, and the sidecar they were made against. */
interface RestoredBackup {
  readonly data: SidecarData;
  readonly loaded: LoadedSidecar | undefined;
}

/** Least time between two progress notifications to the views. */
const PROGRESS_INTERVAL_MS = 100;
/** Least time between two invalid-count updates while the row facts arrive. */
const STATS_INTERVAL_MS = 250;
/**
 * How long reading the row facts waits for the first screen of rows (served and painted by a
 * view) before it starts anyway: no view asked, or its webview never reported a paint.
 */
const FIRST_SCREEN_WAIT_MS = 3000;

/** A signal that never aborts. */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

export interface DatasetDocumentOptions {
  readonly maxLineBytes: number;
  /** Whether decisions may be made now (false in Restricted Mode). Default: always. */
  readonly editable?: () => boolean;
  /** Fetches the worker's score columns of the file (absent or undefined: none). */
  readonly fetchColumns?: (uri: vscode.Uri) => Promise<GetColumnsResult | undefined>;
  /**
   * Judge A/B: the scorers the file was scored with and, when `scorer` is given, that scorer's
   * column (`winnow/getScorerColumn`; absent: no comparison).
   */
  readonly fetchScorerColumn?: (
    uri: vscode.Uri,
    scorer: string | undefined,
  ) => Promise<GetScorerColumnResult | undefined>;
  /**
   * The worker's row facts of the file and its matching of saved decisions (absent: none arrive,
   * and views that need them wait).
   */
  readonly rowFacts?: RowFactsSource;
  /**
   * Asks what to do when the sidecar changed on disk since it was read (the provider shows a
   * modal dialog). Absent, or undefined for an answer: the save is refused.
   */
  readonly askSidecarChange?: (
    question: SidecarChangeQuestion,
  ) => Promise<SidecarChoice | undefined>;
}

/** What to do with a sidecar that changed on disk: take it, merge it, or replace it. */
export type SidecarChoice = 'reload' | 'merge' | 'overwrite';

/** The question asked when saving finds the sidecar changed on disk. */
export interface SidecarChangeQuestion {
  readonly path: string;
  /** One sentence: what changed. */
  readonly message: string;
  /** What was read, what is on disk now, and what this window would save, in words. */
  readonly detail: string;
  /** Reload and merge only when the file on disk can be read. */
  readonly choices: readonly SidecarChoice[];
}

/** The sidecar as it was last read or written by this document: what a save merges against. */
interface LoadedSidecar {
  readonly stamp: SidecarStamp;
  readonly data: SidecarData;
}

/** A dataset file open in one or more dataset views. */
export class DatasetDocument extends Disposable implements vscode.CustomDocument, ViewSource {
  /** When opening began (performance.now()), to time open-to-first-rows. */
  readonly openedAt: number;
  readonly edits = new EditTimeline<DatasetEdit>();
  /** Keep/drop decision of every row of the current file version. */
  readonly decisions = new DecisionColumn();
  /** Names one version of the file's content; bumped when the file changes on disk. */
  private _generation = 1;
  /** Bumped when row indices change meaning (the file was rewritten): older edits are void. */
  private rowEpoch = 1;
  private _schema: SchemaInfo;
  private _notice: string | undefined;
  private _stats: RowStats | undefined;
  private lastProgressAt = 0;
  /** Resolves when the first rows were read for a view: background work waits for it. */
  private readonly firstRowsServed: Promise<void>;
  private markFirstRowsServed: () => void = () => undefined;
  /**
   * Resolves when the first screen is done: a view painted rows of this document, or rows were
   * served while no view was attached (nothing will paint them), or the last view went away.
   */
  private readonly firstScreenDone: Promise<void>;
  private markFirstScreenDone: () => void = () => undefined;
  /** Views (panels) attached to this document: while one is, the first screen is its paint. */
  private attachedViews = 0;
  private progressTimer: NodeJS.Timeout | undefined;
  /** The row facts, from the worker. */
  private readonly feed: RowFactsFeed;
  private lastStatsAt = 0;
  private factsStartedAt = 0;
  /** Lines of the file at the last change (whether an append may change the schema). */
  private rowCountBefore = 0;
  /** The saved decisions by content hash that the worker matches to rows. */
  private saved: DecisionHashes;
  /** Carrying decisions over a rewrite of the file, one rewrite after the other. */
  private carrying: Promise<void> = Promise.resolve();
  private _rules: DecisionRule[];
  /** Set when the sidecar could not be read: saving would overwrite it, so it is refused. */
  private sidecarError: string | undefined;
  private loaded: LoadedSidecar;
  private _scores: ScoreColumns | undefined;
  /** Regions drawn on the map, by id (see `setRegion`). */
  private readonly regions = new Map<number, Uint8Array>();
  private nextRegion = 1;
  private columnsRequest = 0;
  /** Judge A/B: the second scorer chosen in a view (`ScorerChoice.id`), if any. */
  private compareScorer: string | undefined;
  private lastSearch: { key: string; matches: Uint8Array } | undefined;
  private _lastAction: { id: number; text: string } | undefined;

  private readonly _onDidChangeIndex = this.register(new vscode.EventEmitter<IndexState>());
  /** Indexing advanced (throttled) or finished. */
  readonly onDidChangeIndex = this._onDidChangeIndex.event;

  private readonly _onDidInvalidate = this.register(
    new vscode.EventEmitter<{ reason: 'appended' | 'rebuilt' }>(),
  );
  /** The file changed on disk; `generation` was bumped and rows must be re-read. */
  readonly onDidInvalidate = this._onDidInvalidate.event;

  private readonly _onDidChangeNotice = this.register(new vscode.EventEmitter<void>());
  /** The file-wide warning ({@link notice}) changed: the file went away or came back. */
  readonly onDidChangeNotice = this._onDidChangeNotice.event;
  private readonly _onDidChangeStats = this.register(new vscode.EventEmitter<RowStats>());
  /** The background invalid-line count advanced (throttled) or finished. */
  readonly onDidChangeStats = this._onDidChangeStats.event;

  private readonly _onDidScan = this.register(new vscode.EventEmitter<void>());
  /** Row facts arrived (every chunk) or are complete. */
  readonly onDidScan = this._onDidScan.event;

  private readonly _onDidChangeDecisions = this.register(new vscode.EventEmitter<void>());
  /** Decisions changed (an edit, undo, redo, revert, or saved decisions matched while scanning). */
  readonly onDidChangeDecisions = this._onDidChangeDecisions.event;

  private readonly _onDidChangeScores = this.register(new vscode.EventEmitter<void>());
  /** The worker's score columns arrived or changed. */
  readonly onDidChangeScores = this._onDidChangeScores.event;

  private readonly _onDidChangeContent = this.register(
    new vscode.EventEmitter<vscode.CustomDocumentEditEvent<DatasetDocument>>(),
  );
  /** An undoable edit was made (forwarded to VS Code by the provider). */
  readonly onDidChangeContent = this._onDidChangeContent.event;

  private readonly _onDidDispose = this.register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this._onDidDispose.event;

  /**
   * Opens `uri` (a `file:` URI) and starts indexing; reads the decisions sidecar, or the unsaved
   * decisions of a hot-exit backup.
   */
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
    // The sparse line index for a plain file; a compressed one always has a full index.
    const file = await openRowSource(uri.fsPath, {
      maxLineBytes: opts.maxLineBytes,
      lineIndex: 'sparse',
    });
    try {
      const schema = await sampleSchema(file);
      const notice = await fileNotice(file);
      const onDisk = await readSidecarQuietly(uri.fsPath);
      if (onDisk.error !== undefined) {
        log.error(`Could not read the decisions of ${uri.fsPath}: ${onDisk.error}`);
        void vscode.window.showErrorMessage(
          `Winnow could not read the decisions: ${onDisk.error}. Decisions are not loaded, and saving is disabled until the file is fixed or removed.`,
        );
      }
      const backup = backupId ? await readBackup(vscode.Uri.parse(backupId), uri) : undefined;
      return new DatasetDocument(uri, file, schema, notice, openedAt, opts, onDisk, backup);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  private constructor(
    readonly uri: vscode.Uri,
    readonly file: RowSource,
    schema: SchemaInfo,
    notice: string | undefined,
    openedAt: number,
    private readonly opts: DatasetDocumentOptions,
    onDisk: SidecarOnDisk,
    backup: RestoredBackup | undefined,
  ) {
    super();
    this.firstRowsServed = new Promise(resolve => (this.markFirstRowsServed = resolve));
    this.firstScreenDone = new Promise(resolve => (this.markFirstScreenDone = resolve));
    this._schema = schema;
    this._notice = notice;
    this.openedAt = openedAt;
    const saved = backup?.data ?? onDisk.data ?? EMPTY_SIDECAR;
    this.feed = new RowFactsFeed(file, this.decisions, opts.rowFacts, {
      onRows: (from, to) => this.factsArrived(from, to),
      onComplete: () => this.factsComplete(),
      onError: e => log.debug(`No row facts of ${this.fileName} now: ${errorText(e)}`),
    });
    this.saved = hashesOfSidecar(saved);
    if (hasDecisions(this.saved)) this.feed.setSaved(this.saved);
    this._rules = [...saved.rules];
    this.sidecarError = onDisk.error;
    this.loaded = backup?.loaded ?? { stamp: onDisk.stamp, data: onDisk.data ?? EMPTY_SIDECAR };
    this.decisions.resize(file.lineCount);
    const offProgress = file.onProgress(p => this.progress(p.done));
    const offChange = file.onDidChange(kind => void this.fileChanged(kind));
    const offAvailability = file.onDidChangeAvailability(() => this.availabilityChanged());
    this.register({ dispose: () => (offProgress(), offChange(), offAvailability()) });
    file.watch();
    void this.startFacts();
    log.info(`Opened ${uri.fsPath} (schema: ${schema.label})`);
  }

  /** Reads the row facts from the worker once the first screen of rows is done. */
  private async startFacts(): Promise<void> {
    // The first screen of rows comes first: start once a view painted it (or rows were served
    // with no view to paint them), or after a while if nothing asks.
    await raceTimeout(this.firstScreenDone, FIRST_SCREEN_WAIT_MS);
    if (this.isDisposed) return;
    this.factsStartedAt = performance.now();
    this.feed.start();
  }

  /** The worker's row facts changed (`winnow/didChangeRowFacts`, or the worker started). */
  rowFactsChanged(): void {
    this.feed.pull();
  }

  /**
   * Resolves once the first rows were read for a view, or after `timeoutMs`: background work
   * (the worker's row scan, reading its facts) waits for it so the first screen wins.
   */
  whenFirstRowsServed(timeoutMs: number): Promise<void> {
    return raceTimeout(this.firstRowsServed, timeoutMs);
  }

  /**
   * A view of this document (a panel) starts: until it paints its first rows, reading the row
   * facts waits. Dispose the result when the view goes away.
   */
  attachView(): vscode.Disposable {
    this.attachedViews++;
    let attached = true;
    return {
      dispose: () => {
        if (!attached) return;
        attached = false;
        // The last view went away before it painted: nothing is left to wait for.
        if (--this.attachedViews === 0) this.markFirstScreenDone();
      },
    };
  }

  /** A view painted rows of this document (its webview reported a render with loaded rows). */
  notePainted(): void {
    this.markFirstScreenDone();
  }

  /** Rows were served: with no view to paint them (a command, a test), the first screen is done. */
  private noteRowsServed(): void {
    this.markFirstRowsServed();
    if (this.attachedViews === 0) this.markFirstScreenDone();
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

  /**
   * A warning about the whole file, if any: it is gone from disk or cannot be read, or it is a
   * JSON array, not JSON Lines.
   */
  get notice(): string | undefined {
    const unavailable = this.file.unavailable;
    if (unavailable !== undefined)
      return (
        `${unavailable}. The view shows the content read last and reloads when the file can ` +
        'be read again.'
      );
    return this._notice;
  }

  get stats(): RowStats | undefined {
    return this._stats;
  }

  get maxLineBytes(): number {
    return this.opts.maxLineBytes;
  }

  get indexState(): IndexState {
    return {
      rowCount: this.file.lineCount,
      indexed: this.file.indexed,
      bytesIndexed: this.file.bytesIndexedSoFar,
      totalBytes: this.file.totalBytes,
    };
  }

  // -- ViewSource -------------------------------------------------------------------------------

  get rowCount(): number {
    return this.file.lineCount;
  }

  get indexed(): boolean {
    return this.file.indexed;
  }

  /** The row facts (lengths, parse status, fields) of the rows read so far; no hashes. */
  get columns(): RowFactColumns {
    return this.feed.facts;
  }

  get scores(): ScoreColumns | undefined {
    return this._scores;
  }

  get scanComplete(): boolean {
    return this.feed.complete && this.feed.facts.scanned >= this.file.lineCount;
  }

  get editable(): boolean {
    return this.opts.editable?.() ?? true;
  }

  /** The calibration's target precision (`winnow.calibration.targetPrecision`). */
  get targetPrecision(): number {
    return readHostSettings(this.uri).targetPrecision;
  }

  /** Rules of the bulk decisions in effect (saved ones and this session's), oldest first. */
  get rules(): readonly DecisionRule[] {
    return this._rules;
  }

  /** Path of the decisions sidecar. */
  get sidecarPath(): string {
    return sidecarPath(this.uri.fsPath);
  }

  /**
   * Resolves once the row facts are complete, or, with `upTo`, once they cover the first `upTo`
   * rows (their facts are known and their saved decisions applied).
   */
  whenScanned(
    signal: AbortSignal = NEVER_ABORTED,
    onProgress: (done: number, total: number) => void = () => undefined,
    upTo = Infinity,
  ): Promise<void> {
    const covered = () => this.scanComplete || this.feed.facts.scanned >= upTo;
    if (covered()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const subs: vscode.Disposable[] = [];
      const done = (e?: Error) => {
        subs.forEach(d => d.dispose());
        if (e) reject(e);
        else resolve();
      };
      subs.push(
        this.onDidScan(() => {
          if (covered()) return done();
          onProgress(this.feed.facts.scanned, this.file.lineCount);
        }),
        this.onDidDispose(() => done(new Error('The dataset was closed.'))),
      );
      const onAbort = () => done(new SearchCancelled());
      signal.addEventListener('abort', onAbort, { once: true });
      subs.push({ dispose: () => signal.removeEventListener('abort', onAbort) });
      if (signal.aborted) return done(new SearchCancelled());
      onProgress(this.feed.facts.scanned, this.file.lineCount);
    });
  }

  async search(
    search: ViewSearch,
    signal: AbortSignal,
    onProgress: (done: number, total: number, matches: number) => void,
  ): Promise<Uint8Array> {
    const key = `${this.rowEpoch}:${this.file.lineCount}:${JSON.stringify(search)}`;
    if (this.lastSearch?.key === key) return this.lastSearch.matches;
    const t0 = performance.now();
    const { matches, count } = await searchFile(this.file, search, {
      schema: this._schema,
      maxLineBytes: this.opts.maxLineBytes,
      signal,
      onProgress,
    });
    log.info(
      `Searched ${this.file.lineCount} rows of ${this.fileName} for ${JSON.stringify(search.text)}: ` +
        `${count} matches in ${Math.round(performance.now() - t0)} ms`,
    );
    if (key === `${this.rowEpoch}:${this.file.lineCount}:${JSON.stringify(search)}`)
      this.lastSearch = { key, matches };
    return matches;
  }

  // -- rows ---------------------------------------------------------------------------------------

  /** Adds the row's scores, prompt tokens and decision to its view. */
  private decorate(view: RowView): RowView {
    const decision = decisionOf(this.decisions.get(view.index));
    return {
      ...view,
      ...rowScores(this._scores, view.index),
      ...(decision ? { decision } : {}),
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
    const views = rows.map(r => this.decorate(toRowView(r, schema, opts)));
    this.noteRowsServed();
    return views;
  }

  /** The grid's view of the given rows (any order), e.g. a page of a sorted view. */
  async rowViewsOf(indices: ArrayLike<number>): Promise<RowView[]> {
    const n = Math.min(indices.length, MAX_ROWS_PER_REQUEST);
    const schema = this._schema;
    const opts = { maxLineBytes: this.opts.maxLineBytes, previewChars: PREVIEW_CHARS };
    const reads: Promise<RowView>[] = [];
    for (let k = 0; k < n; k++)
      reads.push(
        this.file.readRow(indices[k]).then(r => this.decorate(toRowView(r, schema, opts))),
      );
    const views = await Promise.all(reads);
    this.noteRowsServed();
    return views;
  }

  /** One row in full, for the detail panel (with the other rows of its near-duplicate group). */
  async detail(row: number): Promise<RowDetail | undefined> {
    if (!Number.isInteger(row) || row < 0 || row >= this.file.lineCount) return undefined;
    const raw = await this.file.readRow(row);
    const d = rowDetail(raw, this._schema, this.opts.maxLineBytes, scoreSources(this._scores));
    const decision = decisionOf(this.decisions.get(row));
    const duplicates = await this.groupOf(row);
    return {
      ...d,
      ...rowScores(this._scores, row),
      ...(decision ? { decision } : {}),
      ...(duplicates ? { duplicates } : {}),
    };
  }

  /** The other rows (at most 50) of `row`'s near-duplicate group, for the detail panel. */
  private async groupOf(row: number): Promise<RowDetail['duplicates']> {
    const dup = this._scores?.duplicates;
    const group = dup && row < dup.groups.length ? dup.groups[row] : -1;
    if (!dup || group < 0) return undefined;
    const others: number[] = [];
    for (let r = 0; r < dup.groups.length && others.length < 50; r++)
      if (dup.groups[r] === group && r !== row) others.push(r);
    const views = await this.rowViewsOf(others);
    return {
      group,
      count: dup.sizes[group],
      rows: views.map(v => ({
        index: v.index,
        preview: v.preview,
        ...(v.score !== undefined ? { score: v.score } : {}),
        ...(v.decision ? { decision: v.decision } : {}),
      })),
    };
  }

  // -- map regions --------------------------------------------------------------------------------

  /**
   * Registers the rows of a region drawn on the map, for the "in region" filter; returns its id.
   * The last few regions are kept (a view's filter names one by id).
   */
  setRegion(lines: Uint32Array): number {
    const n = this.file.lineCount;
    const mask = new Uint8Array(n);
    for (const r of lines) if (r < n) mask[r] = 1;
    const id = this.nextRegion++;
    this.regions.set(id, mask);
    for (const old of this.regions.keys()) if (this.regions.size > 8) this.regions.delete(old);
    return id;
  }

  /** The rows of region `id` (1 = inside), if it is still kept and of this file version. */
  region(id: number): Uint8Array | undefined {
    const mask = this.regions.get(id);
    return mask && mask.length === this.file.lineCount ? mask : undefined;
  }

  // -- decisions ----------------------------------------------------------------------------------

  /**
   * Gives `rows` (0-based line indices) the decision `value` as one undoable edit. Waits until
   * the row facts cover those rows (their saved decisions must be known first), not for the
   * whole file: on a huge file the rows on screen are decided at once while the worker's scan
   * goes on. `onWait` reports the facts while it waits. Resolves to the number of rows changed.
   */
  async decide(
    rows: ArrayLike<number>,
    value: DecisionValue,
    label: string,
    rule?: DecisionRule,
    onWait?: (done: number, total: number) => void,
  ): Promise<number> {
    if (!this.editable)
      throw new Error('This workspace is in Restricted Mode: the dataset view is read-only.');
    let last = -1;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (!Number.isInteger(r) || r < 0) throw new RangeError(`Line ${r + 1} is not in the file.`);
      if (r > last) last = r;
    }
    const lines = () => this.file.lineCount;
    if (this.indexState.indexed && last >= lines())
      throw new RangeError(`Line ${last + 1} is not in the file (it has ${lines()} lines).`);
    await this.whenScanned(NEVER_ABORTED, onWait, last + 1);
    const n = this.file.lineCount;
    if (last >= n) throw new RangeError(`Line ${last + 1} is not in the file (it has ${n} lines).`);
    return this.commit(this.decisions.makeEdit(rows, value, label, this.rowEpoch, rule));
  }

  /**
   * Keeps `keep` and drops `drop` as one undoable edit ("keep one per group"), once the row scan
   * has covered them. Resolves to the number of rows changed.
   */
  async decideMixed(
    keep: Uint32Array,
    drop: Uint32Array,
    label: string,
    rule?: DecisionRule,
    onWait?: (done: number, total: number) => void,
  ): Promise<number> {
    if (!this.editable)
      throw new Error('This workspace is in Restricted Mode: the dataset view is read-only.');
    let last = -1;
    for (const r of keep) last = Math.max(last, r);
    for (const r of drop) last = Math.max(last, r);
    await this.whenScanned(NEVER_ABORTED, onWait, last + 1);
    if (last >= this.file.lineCount) throw new RangeError(`Line ${last + 1} is not in the file.`);
    return this.commit(this.decisions.makeMixedEdit(keep, drop, label, this.rowEpoch, rule));
  }

  /** Applies a new edit, records it for undo and tells VS Code and the views. */
  private commit(edit: DecisionEdit | undefined): number {
    if (!edit) return 0;
    const label = edit.label;
    this.decisions.apply(edit);
    if (edit.rule) this._rules.push(edit.rule);
    this.edits.push(edit);
    this._onDidChangeContent.fire({
      document: this,
      label,
      undo: () => this.undoEdit(),
      redo: () => this.redoEdit(),
    });
    this._onDidChangeDecisions.fire();
    return edit.rows.length;
  }

  /** The last undo or redo, in words, numbered so that each panel reports it once. */
  get lastAction(): { readonly id: number; readonly text: string } | undefined {
    return this._lastAction;
  }

  private noteAction(text: string): void {
    this._lastAction = { id: (this._lastAction?.id ?? 0) + 1, text };
  }

  private undoEdit(): void {
    const edit = this.edits.undo();
    if (!edit || edit.generation !== this.rowEpoch) return;
    this.noteAction(`Undo: ${edit.label}`);
    this.decisions.revert(edit);
    if (edit.rule) {
      const k = this._rules.lastIndexOf(edit.rule);
      if (k >= 0) this._rules.splice(k, 1);
    }
    this._onDidChangeDecisions.fire();
  }

  private redoEdit(): void {
    const edit = this.edits.redo();
    if (!edit || edit.generation !== this.rowEpoch) return;
    this.noteAction(`Redo: ${edit.label}`);
    this.decisions.apply(edit);
    if (edit.rule) this._rules.push(edit.rule);
    this._onDidChangeDecisions.fire();
  }

  /** Lines kept and dropped now (unsaved changes included). */
  async currentDecisions(): Promise<{ keep: number[]; drop: number[] }> {
    await this.whenScanned();
    return {
      keep: Array.from(this.decisions.rowsWith(1)),
      drop: Array.from(this.decisions.rowsWith(2)),
    };
  }

  /** What the sidecar gets: every decided row by content hash (from the worker), and the rules. */
  private async sidecarData(): Promise<SidecarData> {
    const { keep, drop, legacy } = await this.decisionHashes();
    return { keep, drop, rules: this._rules, legacy };
  }

  /** The decisions by content hash: decided rows, and saved ones that match no row. */
  private async decisionHashes(): Promise<DecisionHashes> {
    const keep = this.decisions.rowsWith(KEEP);
    const drop = this.decisions.rowsWith(DROP);
    try {
      return await this.feed.hashes(keep, drop);
    } catch (e) {
      if (!isVersionGone(e)) throw e;
      // The worker restarted: its facts of the same content take over, then ask again.
      this.feed.pull();
      await this.feed.settled();
      return this.feed.hashes(keep, drop);
    }
  }

  /**
   * Saves the decisions to the sidecar. The dataset itself is never written. A sidecar that could
   * not be read is never overwritten; one that changed on disk since it was read is only
   * replaced, merged or reloaded as the user chooses.
   */
  async save(_cancellation?: vscode.CancellationToken): Promise<void> {
    this.refuseUnreadSidecar();
    await this.whenScanned();
    const ours = await this.sidecarData();
    const onDisk = await readSidecarQuietly(this.uri.fsPath);
    if (!sidecarChanged(this.loaded.stamp, onDisk.stamp)) return this.writeSaved(ours);
    const choice = await this.askSidecarChange(onDisk, ours);
    if (choice === 'overwrite') return this.writeSaved(ours);
    if (choice === 'reload' && onDisk.data) {
      await this.adopt(onDisk.data, onDisk.stamp);
      log.info(`Reloaded the decisions of ${this.fileName} from ${this.sidecarPath}`);
      return;
    }
    if (choice === 'merge' && onDisk.data) return this.saveMerged(ours, onDisk.data);
    throw new Error(
      `Not saved: ${this.sidecarPath} changed on disk since it was read. Save again to choose between reloading it, merging, or overwriting it.`,
    );
  }

  private refuseUnreadSidecar(): void {
    if (this.sidecarError)
      throw new Error(
        `Not saved: the decisions file could not be read (${this.sidecarError}). Fix or remove it, then reopen the dataset, so that saving does not overwrite it.`,
      );
  }

  private async writeSaved(data: SidecarData): Promise<void> {
    const stamp = await writeSidecarStamped(this.uri.fsPath, data);
    this.loaded = { stamp, data };
    this.edits.markSaved();
    log.info(`Saved the decisions of ${this.fileName} to ${this.sidecarPath}`);
  }

  /** Three-way merge (base: what was read; conflicts: ours wins), saved and shown. */
  private async saveMerged(ours: SidecarData, theirs: SidecarData): Promise<void> {
    const merged = mergeSidecars(this.loaded.data, ours, theirs);
    // Legacy (version-1) decisions not matched to rows yet are carried from both sides.
    const legacy = mergeLegacy(ours.legacy, theirs.legacy);
    const data: SidecarData = legacy ? { ...merged.data, legacy } : merged.data;
    await this.writeSaved(data);
    await this.adopt(data, this.loaded.stamp);
    const text =
      `Merged the decisions of ${this.fileName} with the file on disk: ${decisionCounts(merged.data)}; ` +
      `${merged.fromTheirs} from the file on disk, ${merged.conflicts} ${merged.conflicts === 1 ? 'conflict' : 'conflicts'} (decided differently on both sides) resolved to this window's decision.`;
    log.info(text);
    void vscode.window.showInformationMessage(text);
  }

  private askSidecarChange(
    onDisk: SidecarOnDisk,
    ours: SidecarData,
  ): Promise<SidecarChoice | undefined> {
    const ask = this.opts.askSidecarChange;
    if (!ask) return Promise.resolve(undefined);
    const path = this.sidecarPath;
    const was = `When read: ${this.loaded.stamp.exists ? decisionCounts(this.loaded.data) : 'no file'}.`;
    const unsaved = `This window: ${decisionCounts(ours)}.`;
    if (onDisk.error !== undefined)
      return ask({
        path,
        message: `${path} changed on disk and cannot be read now: ${onDisk.error}.`,
        detail: `${was} ${unsaved} Overwrite replaces the file on disk with this window's decisions.`,
        choices: ['overwrite'],
      });
    const now = onDisk.stamp.exists ? decisionCounts(onDisk.data) : 'the file was removed';
    return ask({
      path,
      message: `${path} changed on disk since Winnow read it.`,
      detail: `${was} On disk now: ${now}. ${unsaved} Merge keeps the changes of both (a row decided differently on both sides keeps this window's decision); Reload takes the file on disk; Overwrite replaces it.`,
      choices: ['reload', 'merge', 'overwrite'],
    });
  }

  /**
   * Makes `data` the document's decisions, as read from a sidecar with `stamp` (no undo). The
   * worker matches them to rows again; resolves once the rows read before have theirs.
   */
  private async adopt(data: SidecarData, stamp: SidecarStamp): Promise<void> {
    this.loaded = { stamp, data };
    this._rules = [...data.rules];
    const covered = this.feed.facts.scanned;
    this.saved = hashesOfSidecar(data);
    this.decisions.clear();
    this.feed.setSaved(this.saved);
    this.edits.reset();
    this._onDidChangeDecisions.fire();
    await this.whenScanned(NEVER_ABORTED, undefined, Math.min(covered, this.file.lineCount));
    this._onDidChangeDecisions.fire();
  }

  /**
   * "Save As": writes a copy of the dataset to `target` with the decisions in the copy's own
   * sidecar (the original and its sidecar stay untouched). To the dataset's own path it is a
   * save, with the same refusals.
   */
  async saveAs(target: vscode.Uri, cancellation?: vscode.CancellationToken): Promise<void> {
    if (target.toString() === this.uri.toString()) return this.save(cancellation);
    await this.whenScanned();
    const data = await this.sidecarData();
    await vscode.workspace.fs.copy(this.uri, target, { overwrite: true });
    await writeSidecar(target.fsPath, data);
    this.edits.markSaved();
  }

  /** Drops unsaved decisions: back to what the sidecar holds. */
  async revert(_cancellation?: vscode.CancellationToken): Promise<void> {
    const onDisk = await readSidecarQuietly(this.uri.fsPath);
    this.sidecarError = onDisk.error;
    if (onDisk.error !== undefined)
      log.error(`Could not read the decisions of ${this.uri.fsPath}: ${onDisk.error}`);
    await this.adopt(onDisk.data ?? EMPTY_SIDECAR, onDisk.stamp);
  }

  /** Writes the unsaved decisions for hot exit. */
  async backup(
    destination: vscode.Uri,
    _cancellation?: vscode.CancellationToken,
  ): Promise<vscode.CustomDocumentBackup> {
    await this.whenScanned();
    const { keep, drop, rules, legacy } = await this.sidecarData();
    const data: BackupData = {
      version: 3,
      uri: this.uri.toString(),
      keep,
      drop,
      rules,
      legacy,
      loaded: this.loaded,
    };
    await vscode.workspace.fs.writeFile(
      destination,
      new TextEncoder().encode(JSON.stringify(data)),
    );
    return {
      id: destination.toString(),
      delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined),
    };
  }

  // -- score columns ------------------------------------------------------------------------------

  /**
   * Fetches the worker's score columns (on open, when the worker says they changed, and when
   * this file changed on disk). Columns that cover another row count than the file are of
   * another version of it and are not shown. Nothing polls for the right ones: when the worker
   * is behind, it says `winnow/didChangeColumns` once it has read the file again (the provider
   * calls this then); when this window is behind, its own change event (`fileChanged`) asks
   * again, and the answer is compared once the index has reached the changed file's end.
   */
  async refreshScores(): Promise<void> {
    const fetch = this.opts.fetchColumns;
    if (!fetch || this.isDisposed) return;
    const request = ++this.columnsRequest;
    let result: GetColumnsResult | undefined;
    try {
      result = await fetch(this.uri);
    } catch (e) {
      log.debug(`No score columns for ${this.fileName}: ${errorText(e)}`);
      return;
    }
    if (!result || request !== this.columnsRequest || this.isDisposed) return;
    await this.file.whenIndexed();
    if (request !== this.columnsRequest || this.isDisposed) return;
    if (result.rowCount !== this.file.lineCount) {
      const behind = result.rowCount < this.file.lineCount ? 'the worker' : 'this window';
      log.debug(
        `Score columns of ${this.fileName} cover ${result.rowCount} rows, the file has ${this.file.lineCount}: ` +
          `${behind} has not read the change yet; asking again when it has.`,
      );
      return;
    }
    let other: GetScorerColumnResult | undefined;
    try {
      other = await this.opts.fetchScorerColumn?.(this.uri, this.compareScorer);
    } catch (e) {
      log.debug(`No stored scorers for ${this.fileName}: ${errorText(e)}`);
    }
    if (request !== this.columnsRequest || this.isDisposed) return;
    try {
      let cols = decodeColumns(result);
      // A scorer answer of other rows (the file changed in between) is left out until the next.
      if (other && other.rowCount === cols.rowCount) cols = withScorerColumn(cols, other);
      this._scores = cols;
    } catch (e) {
      log.warn(`Ignoring malformed score columns of ${this.fileName}: ${errorText(e)}`);
      return;
    }
    this._onDidChangeScores.fire();
  }

  /** Judge A/B: compares the ASK-LLM column with a second stored scorer (undefined: none). */
  async setCompareScorer(scorer: string | undefined): Promise<void> {
    if (scorer === this.compareScorer) return;
    this.compareScorer = scorer;
    await this.refreshScores();
  }

  // -- file events ------------------------------------------------------------------------------

  private progress(done: boolean): void {
    this.decisions.resize(this.file.lineCount);
    // Facts that reached the end of the file are complete once the index has reached it too.
    if (done) {
      this.decisions.trim();
      this.feed.pull();
    }
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

  private availabilityChanged(): void {
    if (this.isDisposed) return;
    const unavailable = this.file.unavailable;
    if (unavailable !== undefined) log.warn(`${this.uri.fsPath}: ${unavailable}`);
    else log.info(`${this.uri.fsPath} can be read again`);
    this._onDidChangeNotice.fire();
  }

  private async fileChanged(kind: 'appended' | 'rebuilt'): Promise<void> {
    if (this.isDisposed) return;
    const generation = ++this._generation;
    const before = this.rowCountBefore;
    this.rowCountBefore = this.file.lineCount;
    if (kind === 'rebuilt') {
      this.rewritten();
      try {
        const { schema } = await sampleFileSchema(this.file, this.opts.maxLineBytes);
        if (generation !== this._generation || this.isDisposed) return;
        this._schema = schema;
        this._notice = await fileNotice(this.file);
      } catch (e) {
        log.warn(`Re-reading ${this.uri.fsPath} after a change failed: ${errorText(e)}`);
      }
    } else {
      this.decisions.resize(this.file.lineCount);
      this.lastSearch = undefined;
      this.feed.fileAppended();
      // A file shorter than the schema sample may have another schema now (as in the worker).
      if (before < SCHEMA_SAMPLE_LINES) await this.resampleSchema(generation);
    }
    if (generation !== this._generation || this.isDisposed) return;
    log.info(`${this.uri.fsPath} changed on disk (${kind}); views reload.`);
    this._onDidInvalidate.fire({ reason: kind });
    void this.refreshScores();
  }

  private async resampleSchema(generation: number): Promise<void> {
    try {
      const { schema } = await sampleFileSchema(this.file, this.opts.maxLineBytes);
      if (generation === this._generation && !this.isDisposed) this._schema = schema;
    } catch (e) {
      log.warn(`Re-reading the schema of ${this.uri.fsPath} failed: ${errorText(e)}`);
    }
  }

  /**
   * The file was rewritten: row numbers change meaning. The decided rows of the old version are
   * carried over by content hash (the worker still knows the old rows' hashes), the facts are
   * read again, and the carried decisions are matched to the new rows.
   */
  private rewritten(): void {
    const version = this.feed.version;
    const keep = this.decisions.rowsWith(KEEP);
    const drop = this.decisions.rowsWith(DROP);
    this.rowEpoch++;
    this.feed.reset();
    this.decisions.resize(0);
    this.decisions.resize(this.file.lineCount);
    this._scores = undefined;
    this.lastSearch = undefined;
    this._stats = undefined;
    this.carrying = this.carrying.then(async () => {
      let carried: DecisionHashes;
      try {
        carried = await this.feed.hashes(keep, drop, version);
      } catch (e) {
        carried = this.saved;
        if (keep.length + drop.length > 0) {
          log.warn(
            `Could not carry the decisions of ${this.fileName} over the change: ${errorText(e)}`,
          );
          void vscode.window.showWarningMessage(
            `${this.fileName} was rewritten on disk, and Winnow could not carry this window's unsaved decisions over to its new rows (${errorText(e)}). The saved decisions still apply.`,
          );
        }
      }
      if (this.isDisposed) return;
      this.saved = carried;
      this.decisions.clear();
      this.feed.setSaved(carried);
      this.factsStartedAt = performance.now();
      this.feed.start();
    });
  }

  /** Row facts of rows `from .. to-1` arrived (with their saved decisions). */
  private factsArrived(_from: number, to: number): void {
    this.decisions.resize(Math.max(this.file.lineCount, to));
    const now = Date.now();
    if (now - this.lastStatsAt >= STATS_INTERVAL_MS) {
      this.lastStatsAt = now;
      this._stats = rowStats(this.feed.facts, this.feed.facts.scanned, false);
      this._onDidChangeStats.fire(this._stats);
    }
    this._onDidScan.fire();
  }

  /** Every row has its facts. */
  private factsComplete(): void {
    const facts = this.feed.facts;
    this._stats = rowStats(facts, facts.scanned, true);
    this._onDidChangeStats.fire(this._stats);
    this._onDidScan.fire();
    if (hasDecisions(this.saved)) this._onDidChangeDecisions.fire();
    log.info(
      `Read the row facts of ${facts.scanned} rows of ${this.fileName} from the worker in ${Math.round(performance.now() - this.factsStartedAt)} ms ` +
        `(${facts.invalid} invalid, ${facts.blank} blank, ${this.decisions.counts.keep} kept, ${this.decisions.counts.drop} dropped, ` +
        `${Math.round(facts.memoryBytes / 1e6)} MB of columns, ${Math.round(this.file.indexBytes / 1e6)} MB of line index)`,
    );
  }

  override dispose(): void {
    if (this.isDisposed) return;
    clearTimeout(this.progressTimer);
    this.feed.close();
    this._onDidDispose.fire();
    super.dispose();
    this.file.close().catch(e => log.warn(`Closing ${this.uri.fsPath} failed: ${errorText(e)}`));
  }
}

/** Resolves when `event` does, or after `timeoutMs` at the latest (the timer is then cleared). */
function raceTimeout(event: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>(resolve => (timer = setTimeout(resolve, timeoutMs)));
  return Promise.race([event, timeout]).finally(() => clearTimeout(timer));
}

/** Reads a hot-exit backup; a damaged one is reported and ignored (the sidecar is used). */
async function readBackup(
  backup: vscode.Uri,
  uri: vscode.Uri,
): Promise<RestoredBackup | undefined> {
  try {
    const data = JSON.parse(
      new TextDecoder().decode(await vscode.workspace.fs.readFile(backup)),
    ) as Partial<Omit<BackupData, 'version'>> & { version?: number };
    if (
      (data.version !== 2 && data.version !== 3) ||
      !Array.isArray(data.keep) ||
      !Array.isArray(data.drop)
    )
      throw new Error('unknown backup format');
    const rules = Array.isArray(data.rules) ? data.rules : [];
    const loaded = backupBase(data.loaded);
    // Version 2 backups were keyed by content hash version 1 (SHA-256).
    if (data.version === 2)
      return {
        data: { keep: [], drop: [], rules, legacy: { keep: data.keep, drop: data.drop } },
        loaded,
      };
    const legacy =
      data.legacy && Array.isArray(data.legacy.keep) && Array.isArray(data.legacy.drop);
    return {
      data: { keep: data.keep, drop: data.drop, rules, legacy: legacy ? data.legacy : undefined },
      loaded,
    };
  } catch (e) {
    // A damaged backup must not keep the dataset from opening.
    log.warn(`Could not restore the backup of ${uri.fsPath}: ${errorText(e)}`);
    return undefined;
  }
}

/** The sidecar a backup's decisions were made against, if the backup recorded it well-formed. */
function backupBase(loaded: unknown): LoadedSidecar | undefined {
  const l = loaded as Partial<LoadedSidecar> | undefined;
  const d = l?.data;
  const ok =
    typeof l?.stamp?.exists === 'boolean' &&
    Array.isArray(d?.keep) &&
    Array.isArray(d?.drop) &&
    Array.isArray(d?.rules);
  return ok ? (l as LoadedSidecar) : undefined;
}

/** Detects the schema from the file's schema sample (waits only for those rows to be indexed). */
async function sampleSchema(file: RowSource): Promise<SchemaInfo> {
  return (await sampleFileSchema(file, file.maxLineBytes)).schema;
}

/** The header's counts of the rows checked so far. */
function rowStats(columns: RowFactColumns, checkedRows: number, done: boolean): RowStats {
  return { checkedRows, invalidRows: columns.invalid, blankRows: columns.blank, done };
}

/** The saved decisions of a sidecar by content hash, as the worker matches them. */
function hashesOfSidecar(data: SidecarData): DecisionHashes {
  const legacy = data.legacy && { keep: [...data.legacy.keep], drop: [...data.legacy.drop] };
  return { keep: [...data.keep], drop: [...data.drop], ...(legacy ? { legacy } : {}) };
}

/** Whether any decision is saved. */
function hasDecisions(d: DecisionHashes): boolean {
  return (
    d.keep.length + d.drop.length + (d.legacy?.keep.length ?? 0) + (d.legacy?.drop.length ?? 0) > 0
  );
}

/** What the header says about the file as a whole: compressed, a JSON array, or binary to VS Code. */
async function fileNotice(file: RowSource): Promise<string | undefined> {
  const { compression, jsonArray, binaryLine } = fileHeadFacts(await file.readHead(64 << 10));
  if (compression) return compressedFileMessage(compression, basename(file.path));
  if (jsonArray)
    return 'This file looks like a JSON array, not JSON Lines: each line should hold one JSON object.';
  return binaryLine === undefined
    ? undefined
    : binaryFileMessage(binaryLine, { inDatasetView: true });
}

/** The sidecar on disk; a file that cannot even be opened is reported as unreadable. */
async function readSidecarQuietly(datasetPath: string): Promise<SidecarOnDisk> {
  try {
    return await readSidecarOnDisk(datasetPath);
  } catch (e) {
    const error = `${sidecarPath(datasetPath)} cannot be read: ${errorText(e)}`;
    return { stamp: { exists: true, bytes: -1, mtimeMs: 0, sha256: '' }, error };
  }
}

/** The union of two sides' unmatched legacy decisions (a hash on both lists keeps ours). */
function mergeLegacy(
  ours: LegacyDecisions | undefined,
  theirs: LegacyDecisions | undefined,
): LegacyDecisions | undefined {
  if (!ours && !theirs) return undefined;
  const keep = new Set([...(ours?.keep ?? []), ...(theirs?.keep ?? [])]);
  const drop = new Set([...(ours?.drop ?? []), ...(theirs?.drop ?? [])]);
  for (const h of ours?.keep ?? []) drop.delete(h);
  for (const h of ours?.drop ?? []) keep.delete(h);
  return { keep: [...keep], drop: [...drop] };
}
