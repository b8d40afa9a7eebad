import { randomBytes } from 'node:crypto';
import { scanRows } from '../../core/dataset/rowColumns';
import {
  BINARY_PROBE_BYTES,
  openRowSource,
  type RowSource,
  SCHEMA_SAMPLE_LINES,
  type CompressionFormat,
  type IndexProgress,
  type SchemaInfo,
  fileHeadFacts,
  sampleFileSchema,
} from '../../core/jsonl';
import type { InvalidRow } from '../editor/diagnostics';
import { lineLengthUtf16 } from './lineText';
import type {
  DecisionHashes,
  FileInfo,
  SetSavedDecisionsParams,
} from '../../shared/protocol/worker';
import type { Logger } from '../logger';
import { DatasetRows } from './datasetRows';
import { ProblemRows } from './problemRows';
import { hashesOf, LegacyHashes, SavedDecisions } from './savedDecisions';

/** Bytes read from the start of the file to recognise a pretty-printed JSON array. */
const jsonArrayProbeBytes = 4096;
/** Rows matched to saved decisions, or hashed the version-1 way, between two event-loop turns. */
const matchSliceRows = 1 << 17;
const legacySliceRows = 2048;
/** Names the datasets of this worker process apart from those of another (a restarted worker). */
const processTag = randomBytes(4).toString('hex');
let datasetsOpened = 0;

export interface DatasetOptions {
  maxLineBytes: number;
  /** Invalid rows kept with full detail (diagnostics need them); the rest are only counted. */
  detailCap: number;
}

/** The rows of one version of the file that facts and saved decisions refer to. */
interface VersionRows {
  readonly columns: DatasetRows['columns'];
  readonly saved: SavedDecisions | undefined;
}

/** The version of a dataset named by a facts version (`instance.rebuilds.truncations`). */
function rebuildOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/**
 * One open dataset file in the worker: the engine's line index plus the one row scan of the
 * file (core `scanRows` into `RowColumns`: parse status, text length, top-level fields and
 * content hash of every line, parsed once, in batches that yield to the event loop so hovers stay
 * fast). The schema is detected first, from one sample of the first lines. Invalid and blank
 * lines are counted apart; the first ones are kept with detail for the diagnostics. The dataset
 * view reads the scan's facts (`winnow/getRowFacts`) and has its saved decisions matched here.
 * It follows the file on disk: an append scans again from the old last line, a rewrite starts
 * over.
 */
export class Dataset {
  totalBytes = 0;
  schema: SchemaInfo | null = null;
  jsonArray = false;
  /** The line of the NUL byte that makes VS Code open the file as binary, if there is one. */
  binaryLine: number | undefined;
  /**
   * The file is compressed: gzip and zstd are read through a decoder (the text editor cannot show
   * them); xz cannot be read, its lines are not JSON Lines.
   */
  compression: CompressionFormat | undefined;
  firstLineLength = 0;
  /** The facts of every scanned row (scores are keyed by their content hashes). */
  readonly rows = new DatasetRows();
  /** Bumped whenever the file is re-indexed from the start (rewritten on disk, options changed). */
  rebuilds = 0;

  private readonly instance = `${processTag}${++datasetsOpened}`;
  private readonly problems = new ProblemRows();
  private saved: SavedDecisions | undefined;
  /** The saved decisions as matched to the version before the last rewrite. */
  private previousSaved: SavedDecisions | undefined;
  private legacy: LegacyHashes | undefined;
  private generation = 0;
  private running: Promise<void> | undefined;
  private rerun = false;
  private probing: Promise<void> | undefined;
  private details: Promise<void> | undefined;
  private matching: Promise<void> | undefined;
  private hashingLegacy: Promise<void> | undefined;
  private closed = false;
  private failure: unknown;
  private readonly listeners = new Set<() => void>();
  private readonly waiters = new Set<{ test: () => boolean; resolve: () => void }>();
  private readonly disposers: Array<() => void> = [];

  private constructor(
    readonly uri: string,
    readonly file: RowSource,
    private options: DatasetOptions,
    private readonly logger: Logger,
  ) {}

  /** Opens the file, starts indexing and the scan, and watches it for changes. */
  static async open(
    uri: string,
    path: string,
    options: DatasetOptions,
    logger: Logger,
  ): Promise<Dataset> {
    const file = await openRowSource(path, { maxLineBytes: options.maxLineBytes });
    const dataset = new Dataset(uri, file, options, logger);
    await dataset.probeJsonArray();
    dataset.disposers.push(
      file.onProgress(p => dataset.onIndexProgress(p)),
      file.onDidChange(kind => dataset.onFileChanged(kind)),
      file.onDidChangeAvailability(() => dataset.onAvailabilityChanged()),
    );
    file.watch();
    dataset.kick();
    return dataset;
  }

  /** Invalid rows with detail, sorted by index, at most `detailCap` of them. */
  get invalid(): readonly InvalidRow[] {
    return this.problems.invalid;
  }

  /** Invalid lines, blank ones not included. */
  get invalidCount(): number {
    return this.rows.columns.invalid;
  }

  /** 0-based indices of blank lines (empty or whitespace only), at most `detailCap` of them. */
  get blank(): readonly number[] {
    return this.problems.blank;
  }

  get blankCount(): number {
    return this.rows.columns.blank;
  }

  /** Rows scanned so far. */
  get validatedRows(): number {
    return this.rows.count;
  }

  /**
   * Bytes of the file on disk the scanned rows take (their newlines included); for progress
   * against {@link totalBytes}, so a compressed file's are estimated compressed bytes.
   */
  get validatedBytes(): number {
    const n = Math.min(this.rows.count, this.file.lineCount);
    return n === 0 ? 0 : this.file.fileBytesAt(this.file.rowSpan(n - 1).eolEnd);
  }

  /** True once the index is complete and every line has been scanned. */
  get validated(): boolean {
    return (
      !this.running &&
      this.file.indexed &&
      this.rows.count >= this.file.lineCount &&
      !this.problems.waiting &&
      !this.details
    );
  }

  /**
   * True once the schema can no longer change until the file does. It is detected from one
   * sample before the scan starts. Text extraction (for scoring) waits for this.
   */
  get schemaSettled(): boolean {
    return this.schema !== null;
  }

  /**
   * Identifies the scanned state of the file: changes whenever rows are scanned again. Unique
   * to this open dataset of this worker process.
   */
  get version(): string {
    return `${this.instance}.${this.rebuilds}.${this.rows.generation}`;
  }

  /** Rows with their facts and their saved decisions matched, from the top of the file. */
  get factsRows(): number {
    return this.saved ? Math.min(this.saved.rows, this.rows.count) : this.rows.count;
  }

  /** Every row has its facts and saved decisions. */
  get factsComplete(): boolean {
    return this.validated && this.factsRows >= this.rows.count;
  }

  /** The saved decisions set by the dataset view, if any. */
  get savedDecisions(): SavedDecisions | undefined {
    return this.saved;
  }

  /** Bytes held per file: the rows' columns, and the saved-decision matches and legacy hashes. */
  get memoryBytes(): number {
    return (
      this.rows.memoryBytes +
      (this.saved?.memoryBytes ?? 0) +
      (this.previousSaved?.memoryBytes ?? 0) +
      (this.legacy?.memoryBytes ?? 0)
    );
  }

  /**
   * The first row whose facts changed since facts `version` (another version: 0; none changed:
   * Infinity). Facts of another instance (a worker that restarted) count as another version.
   */
  unchangedSince(version: string): number {
    if (version === this.version) return Infinity;
    const [instance, rebuilds, generation] = version.split('.');
    if (instance !== this.instance || Number(rebuilds) !== this.rebuilds) return 0;
    const since = Number(generation);
    return Number.isInteger(since) ? this.rows.unchangedBelow(since) : 0;
  }

  /**
   * Why the file on disk cannot be read now (gone, or no longer a readable file), or undefined.
   * The rows scanned before stay served, but nothing may be scored from them.
   */
  get unavailable(): string | undefined {
    return this.file.unavailable;
  }

  /** The error that stopped the scan, if any (cleared when the file changes again). */
  get error(): unknown {
    return this.failure;
  }

  /** Calls `fn` after each scan batch, saved-decision match and whenever the file changes. */
  onDidUpdate(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves once the dataset is fully scanned (or closed, or the scan failed). */
  whenValidated(): Promise<void> {
    return this.when(() => this.validated);
  }

  /** Resolves once every row has its facts and saved decisions (or closed, or failed). */
  whenFactsComplete(): Promise<void> {
    return this.when(() => this.factsComplete);
  }

  private when(test: () => boolean): Promise<void> {
    if (test() || this.closed || this.failure !== undefined) return Promise.resolve();
    return new Promise(resolve => this.waiters.add({ test, resolve }));
  }

  /** Changes the options; a new line cap, or more detail than was kept, scans again. */
  updateOptions(options: DatasetOptions): void {
    const needsRescan =
      options.maxLineBytes !== this.options.maxLineBytes ||
      (options.detailCap > this.options.detailCap && this.invalidCount > this.invalid.length);
    this.options = options;
    if (needsRescan) this.restart(0);
  }

  /**
   * Sets the saved decisions to match to rows (replacing any set before). They stay set when
   * the file changes, and are matched again to its new rows.
   */
  setSavedDecisions(params: SetSavedDecisionsParams): void {
    this.saved = new SavedDecisions(params);
    this.legacy = this.saved.needsLegacyHashes ? new LegacyHashes() : undefined;
    this.matchSaved();
    this.fire();
  }

  /**
   * The decisions to save for kept and dropped rows of facts `version` (this version of the
   * file, or the one before a rewrite), by content hash. Throws a RangeError for a version that
   * is gone, or a row without a hash.
   */
  decisionHashes(version: string, keep: Uint32Array, drop: Uint32Array): DecisionHashes {
    const rows = this.versionRows(version);
    if (!rows) throw new RangeError(`The row facts of version ${version} are gone`);
    const result = rows.saved
      ? rows.saved.hashesOf(rows.columns, keep, drop)
      : hashesOf(rows.columns, keep, drop, undefined);
    if (rows.columns === this.rows.previous) {
      // The dataset view has carried its decisions over to the new version.
      this.rows.releasePrevious();
      this.previousSaved = undefined;
    }
    return result;
  }

  /** Whether facts `version` are of the current version of the file (not of the one before). */
  isCurrentVersion(version: string): boolean {
    return rebuildOf(version) === `${this.instance}.${this.rebuilds}`;
  }

  private versionRows(version: string): VersionRows | undefined {
    const rebuild = rebuildOf(version);
    if (rebuild === `${this.instance}.${this.rebuilds}`)
      return { columns: this.rows.columns, saved: this.saved };
    const previous = this.rows.previous;
    if (previous && rebuild === `${this.instance}.${this.rebuilds - 1}`)
      return { columns: previous, saved: this.previousSaved };
    return undefined;
  }

  info(): FileInfo {
    return {
      uri: this.uri,
      rowCount: this.file.lineCount,
      invalidCount: this.invalidCount,
      blankCount: this.blankCount,
      validatedRows: this.validatedRows,
      indexed: this.validated,
      bytes: this.totalBytes,
      schema: this.schema ? { ...this.schema, fields: [...this.schema.fields] } : null,
      jsonArray: this.jsonArray,
      ...(this.binaryLine !== undefined ? { binaryLine: this.binaryLine } : {}),
      ...(this.compression ? { compression: this.compression } : {}),
      ...(this.unavailable !== undefined ? { unavailable: this.unavailable } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    for (const dispose of this.disposers.splice(0)) dispose();
    this.listeners.clear();
    this.resolveWaiters(true);
    await this.file.close();
  }

  private onIndexProgress(p: IndexProgress): void {
    this.totalBytes = p.totalBytes;
  }

  private onFileChanged(kind: 'appended' | 'rebuilt'): void {
    if (this.closed) return;
    this.logger.debug(`${this.uri}: file ${kind} on disk`);
    if (kind === 'rebuilt') {
      // Forget the old version at once: no row of it may be served with the new one.
      this.probing = this.probeJsonArray();
      this.restart(0);
      return;
    }
    // The old last line may have had no newline and grown, so scan it again.
    const rows = this.rows.count;
    this.restart(Math.max(0, rows - 1));
    // A file still shorter than the schema sample may have a new schema now.
    if (rows > 0 && rows < SCHEMA_SAMPLE_LINES) void this.resampleSchema();
  }

  private async resampleSchema(): Promise<void> {
    const generation = this.generation;
    try {
      const { schema } = await sampleFileSchema(this.file, this.options.maxLineBytes);
      if (generation !== this.generation || this.closed || !this.schema) return;
      if (JSON.stringify(schema) !== JSON.stringify(this.schema)) this.restart(0);
    } catch (err) {
      this.logger.debug(`Re-reading the schema sample of ${this.uri} failed: ${String(err)}`);
    }
  }

  private onAvailabilityChanged(): void {
    if (this.closed) return;
    const reason = this.file.unavailable;
    if (reason !== undefined) this.logger.warn(`${this.uri}: ${reason}`);
    else this.logger.info(`${this.uri} can be read again`);
    this.fire();
  }

  /** Forgets the facts from row `from` on and scans again from there (0: a new version). */
  private restart(from: number): void {
    this.generation++;
    this.failure = undefined;
    if (from === 0) {
      this.rebuilds++;
      this.rows.restart();
      this.previousSaved = this.saved;
      this.saved = this.saved?.forNextVersion();
      this.legacy = this.saved?.needsLegacyHashes ? new LegacyHashes() : undefined;
      this.problems.truncate(0);
      this.schema = null;
      this.firstLineLength = 0;
    } else {
      this.rows.truncate(from);
      this.problems.truncate(from);
      this.saved?.truncate(from);
      this.legacy?.truncate(from);
    }
    this.fire();
    this.kick();
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.rerun = false;
    this.running = this.validate()
      .catch(err => {
        // A change on disk restarted the scan meanwhile: that run reports for itself.
        if (this.rerun) return;
        this.failure = err;
        this.logger.error(`Reading the rows of ${this.uri} stopped`, err);
      })
      .finally(() => {
        this.running = undefined;
        if (this.rerun) this.kick();
        this.fire();
      });
  }

  /** The scan: the schema sample first, then every row from the first one not scanned yet. */
  private async validate(): Promise<void> {
    while (!this.closed) {
      await this.probing;
      const generation = this.generation;
      const current = () => generation === this.generation && !this.closed;
      try {
        if (!this.schema) {
          const { schema, rows } = await sampleFileSchema(this.file, this.options.maxLineBytes);
          if (!current()) continue;
          this.schema = schema;
          this.firstLineLength = rows.length > 0 ? lineLengthUtf16(rows[0].bytes, true) : 0;
        }
        const complete = await scanRows(this.file, this.rows.columns, {
          schema: this.schema,
          maxLineBytes: this.options.maxLineBytes,
          isCurrent: current,
          onBatch: (from, to) => this.onScanned(from, to),
        });
        if (!complete || !current()) continue;
      } catch (err) {
        // A rewrite on disk during the pass: its change event has restarted the scan.
        await this.file.checkForChanges().catch(() => undefined);
        if (!current()) continue;
        throw err;
      }
      if (!this.file.indexed || this.rows.count < this.file.lineCount) continue;
      while (this.details) await this.details;
      if (current()) return;
    }
  }

  /** After each scan batch: problems to describe, saved decisions to match, listeners. */
  private onScanned(from: number, to: number): void {
    this.problems.noteRows(this.rows.columns, from, to, this.options.detailCap);
    this.readDetails();
    this.matchSaved();
    this.fire();
  }

  /** Reads the detail of invalid rows in the background (in order). */
  private readDetails(): void {
    if (this.details || !this.problems.waiting) return;
    const generation = this.generation;
    const current = () => generation === this.generation && !this.closed;
    this.details = this.problems
      .readDetails(i => this.file.readRow(i), this.options.maxLineBytes, current)
      .catch(err => {
        this.logger.debug(`Reading invalid lines of ${this.uri} failed: ${String(err)}`);
        // Unless the file changed (its scan notes the rows again), these rows stay undescribed.
        if (current()) this.problems.dropWaiting();
      })
      .finally(() => {
        this.details = undefined;
        this.readDetails();
        this.fire();
      });
  }

  /** Matches saved decisions to the rows scanned (and version-1 hashed, where needed). */
  private matchSaved(): void {
    const saved = this.saved;
    if (!saved) return;
    if (saved.needsLegacyHashes) this.hashLegacy();
    const limit = this.matchLimit();
    if (limit - saved.rows <= matchSliceRows)
      saved.matchUpTo(this.rows.columns, this.legacy, limit);
    else this.matchInSlices();
  }

  /** Rows whose saved decisions can be matched now. */
  private matchLimit(): number {
    const saved = this.saved;
    const scanned = this.rows.count;
    if (!saved?.needsLegacyHashes) return scanned;
    return Math.min(scanned, this.legacy?.filled ?? 0);
  }

  /** Matches many rows (saved decisions set after the scan) a slice per event-loop turn. */
  private matchInSlices(): void {
    if (this.matching) return;
    this.matching = (async () => {
      for (;;) {
        const saved = this.saved;
        const limit = this.matchLimit();
        if (!saved || this.closed || saved.rows >= limit) return;
        saved.matchUpTo(
          this.rows.columns,
          this.legacy,
          Math.min(limit, saved.rows + matchSliceRows),
        );
        this.fire();
        await new Promise<void>(resolve => setImmediate(resolve));
      }
    })()
      .catch(err => this.logger.error(`Matching saved decisions of ${this.uri} stopped`, err))
      .finally(() => (this.matching = undefined));
  }

  /** Hashes the scanned rows the version-1 way (SHA-256), for legacy saved decisions. */
  private hashLegacy(): void {
    if (this.hashingLegacy) return;
    this.hashingLegacy = (async () => {
      for (;;) {
        const legacy = this.legacy;
        if (!legacy || this.closed) return;
        const generation = this.generation;
        const from = legacy.filled;
        const to = Math.min(this.rows.count, from + legacySliceRows);
        if (from >= to) return;
        const rows = await this.file.readRows(from, to - from);
        if (generation !== this.generation || this.legacy !== legacy || legacy.filled !== from)
          continue;
        for (const r of rows) legacy.push(r.bytes);
        this.matchSaved();
        this.fire();
      }
    })()
      .catch(err =>
        this.logger.warn(`Hashing ${this.uri} the version-1 way stopped: ${String(err)}`),
      )
      .finally(() => {
        this.hashingLegacy = undefined;
        // Rows scanned meanwhile are hashed by the next batch's call.
      });
  }

  private async probeJsonArray(): Promise<void> {
    try {
      // Known before the first index progress arrives, so the status bar shows a percentage.
      this.totalBytes = this.file.totalBytes;
      // The decompressed content's first bytes, for a compressed file.
      const head = await this.file.readHead(Math.max(jsonArrayProbeBytes, BINARY_PROBE_BYTES));
      const facts = fileHeadFacts(head);
      this.compression = this.file.compression ?? facts.compression;
      this.jsonArray = facts.jsonArray;
      this.binaryLine = facts.binaryLine;
    } catch (err) {
      this.logger.warn(`Could not read the start of ${this.uri}: ${String(err)}`);
      this.jsonArray = false;
      this.binaryLine = undefined;
      this.compression = this.file.compression;
    }
  }

  private fire(): void {
    this.resolveWaiters(this.failure !== undefined);
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch (err) {
        this.logger.error('Dataset listener failed', err);
      }
    }
  }

  private resolveWaiters(all: boolean): void {
    for (const w of [...this.waiters]) {
      if (!all && !w.test()) continue;
      this.waiters.delete(w);
      w.resolve();
    }
  }
}
