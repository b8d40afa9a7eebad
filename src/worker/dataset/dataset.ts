import {
  BINARY_PROBE_BYTES,
  openRowSource,
  type RowSource,
  SCHEMA_SAMPLE_LINES,
  decodeBatch,
  type CompressionFormat,
  detectSchema,
  parseDecoded,
  parseLine,
  type IndexProgress,
  type ParsedRow,
  type RawRow,
  type SchemaInfo,
  fileHeadFacts,
} from '../../core/jsonl';
import { errorRange, type InvalidRow } from '../editor/diagnostics';
import { lineLengthUtf16 } from './lineText';
import type { FileInfo } from '../../shared/protocol/worker';
import type { Logger } from '../logger';
import { RowHashes } from './rowHashes';

/** Rows parsed per validation batch; the worker yields to the event loop between batches. */
const batchRows = 512;
/** Bytes read from the start of the file to recognise a pretty-printed JSON array. */
const jsonArrayProbeBytes = 4096;

export interface DatasetOptions {
  maxLineBytes: number;
  /** Invalid rows kept with full detail (diagnostics need them); the rest are only counted. */
  detailCap: number;
}

/** What the last validated row was; an append validates it again, so its count is undone. */
type RowKind = 'ok' | 'invalid' | 'blank';

/**
 * One open dataset file in the worker: the engine's line index plus the worker's own validation
 * pass, which parses every line once (in batches, yielding between them so hovers stay fast),
 * records invalid lines and samples the first valid rows for schema detection. Blank lines are
 * not valid rows either, but they are counted apart from the invalid ones. It follows the
 * file on disk: an append re-validates from the old last line, a rewrite starts over.
 */
export class Dataset {
  /** Invalid rows with detail, sorted by index, at most `detailCap` of them. */
  invalid: InvalidRow[] = [];
  /** Invalid lines, blank ones not included. */
  invalidCount = 0;
  /** 0-based indices of blank lines (empty or whitespace only), at most `detailCap` of them. */
  blank: number[] = [];
  blankCount = 0;
  validatedRows = 0;
  validatedBytes = 0;
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
  /** Content hash and parse status of every validated row (scores are keyed by the hash). */
  readonly rows = new RowHashes();
  /** Bumped whenever the file is re-indexed from the start (rewritten on disk, options changed). */
  rebuilds = 0;

  private sample: Record<string, unknown>[] = [];
  private schemaSampleSize = 0;
  private lastRowKind: RowKind = 'ok';
  private generation = 0;
  private running: Promise<void> | undefined;
  private closed = false;
  private failure: unknown;
  private readonly listeners = new Set<() => void>();
  private waiters: Array<() => void> = [];
  private readonly disposers: Array<() => void> = [];

  private constructor(
    readonly uri: string,
    readonly file: RowSource,
    private options: DatasetOptions,
    private readonly logger: Logger,
  ) {}

  /** Opens the file, starts indexing and validation, and watches it for changes. */
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

  /** True once the index is complete and every line has been validated. */
  get validated(): boolean {
    return !this.running && this.file.indexed && this.validatedRows >= this.file.lineCount;
  }

  /**
   * True once the schema can no longer change until the file does: the sample of valid rows is
   * full, or every row has been validated. Text extraction (for scoring) waits for this.
   */
  get schemaSettled(): boolean {
    return this.schema !== null && (this.validatedRows >= SCHEMA_SAMPLE_LINES || this.validated);
  }

  /** Identifies the indexed state of the file: changes whenever rows are re-validated. */
  get version(): string {
    return `${this.rebuilds}.${this.rows.generation}`;
  }

  /**
   * Why the file on disk cannot be read now (gone, or no longer a readable file), or undefined.
   * The rows validated before stay served, but nothing may be scored from them.
   */
  get unavailable(): string | undefined {
    return this.file.unavailable;
  }

  /** The error that stopped validation, if any (cleared when the file changes again). */
  get error(): unknown {
    return this.failure;
  }

  /** Calls `fn` after each validation batch and whenever the file changes. */
  onDidUpdate(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves once the dataset is fully validated (or closed). */
  whenValidated(): Promise<void> {
    if (this.validated || this.closed || this.failure !== undefined) return Promise.resolve();
    return new Promise(resolve => this.waiters.push(resolve));
  }

  /** Changes the options; a new line cap, or more detail than was kept, validates again. */
  updateOptions(options: DatasetOptions): void {
    const needsRescan =
      options.maxLineBytes !== this.options.maxLineBytes ||
      (options.detailCap > this.options.detailCap && this.invalidCount > this.invalid.length);
    this.options = options;
    if (needsRescan) this.restart(0);
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
    this.resolveWaiters();
    await this.file.close();
  }

  private onIndexProgress(p: IndexProgress): void {
    this.totalBytes = p.totalBytes;
  }

  private onFileChanged(kind: 'appended' | 'rebuilt'): void {
    if (this.closed) return;
    this.logger.debug(`${this.uri}: file ${kind} on disk`);
    if (kind === 'rebuilt') {
      void this.probeJsonArray().then(() => this.restart(0));
    } else {
      // The old last line may have had no newline and grown, so validate it again.
      this.restart(Math.max(0, this.validatedRows - 1));
    }
  }

  private onAvailabilityChanged(): void {
    if (this.closed) return;
    const reason = this.file.unavailable;
    if (reason !== undefined) this.logger.warn(`${this.uri}: ${reason}`);
    else this.logger.info(`${this.uri} can be read again`);
    this.fire();
  }

  /** Forgets validation results from row `from` on and validates again from there. */
  private restart(from: number): void {
    this.generation++;
    this.failure = undefined;
    this.rows.truncate(from);
    if (from === 0) {
      this.rebuilds++;
      this.invalid = [];
      this.invalidCount = 0;
      this.blank = [];
      this.blankCount = 0;
      this.sample = [];
      this.schemaSampleSize = 0;
      this.schema = null;
      this.validatedRows = 0;
      this.validatedBytes = 0;
      this.lastRowKind = 'ok';
      this.firstLineLength = 0;
    } else if (from < this.validatedRows) {
      // Only the last validated row is ever re-checked on append.
      this.forgetLastRow(from);
      this.validatedRows = from;
    }
    this.fire();
    this.kick();
  }

  /** Undoes the count of the last validated row (at `from`), which is about to be checked again. */
  private forgetLastRow(from: number): void {
    if (this.lastRowKind === 'invalid') {
      this.invalidCount--;
      const last = this.invalid[this.invalid.length - 1];
      if (last && last.index >= from) this.invalid.pop();
    } else if (this.lastRowKind === 'blank') {
      this.blankCount--;
      const last = this.blank[this.blank.length - 1];
      if (last !== undefined && last >= from) this.blank.pop();
    }
    this.lastRowKind = 'ok';
  }

  private kick(): void {
    if (this.running || this.closed) return;
    this.running = this.validate()
      .catch(err => {
        this.failure = err;
        this.logger.error(`Validation of ${this.uri} stopped`, err);
      })
      .finally(() => {
        this.running = undefined;
        this.fire();
      });
  }

  private async validate(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const generation = this.generation;
      const from = this.validatedRows;
      const available = this.file.lineCount;
      if (from < available) {
        const rows = await this.file.readRows(from, Math.min(batchRows, available - from));
        // A change on disk during the read makes this batch stale: start over from the new point.
        if (generation !== this.generation) continue;
        if (rows.length === 0) {
          await this.nextIndexStep();
          continue;
        }
        this.consume(rows);
        this.fire();
        await new Promise<void>(resolve => setImmediate(resolve));
        continue;
      }
      if (this.file.indexed) {
        if (this.file.lineCount > this.validatedRows) continue;
        this.updateSchema(true);
        return;
      }
      await this.nextIndexStep();
    }
  }

  private consume(rows: RawRow[]): void {
    // One UTF-8 decode for the batch; parseLine only for rows that are not JSON objects.
    const lines = rows.length > 0 ? decodeBatch(rows) : undefined;
    const max = this.options.maxLineBytes;
    if (this.file.indexed) this.rows.reserve(this.file.lineCount);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k];
      const value = lines && parseDecoded(lines[k], row.bytes.length, row.index === 0, max);
      const parsed: ParsedRow = value
        ? { ok: true, value }
        : parseLine(row.bytes, { maxLineBytes: max, firstLine: row.index === 0 });
      if (row.index === 0) this.firstLineLength = lineLengthUtf16(row.bytes, true);
      this.rows.setLine(row.index, row.bytes, parsed.ok);
      if (parsed.ok) {
        this.lastRowKind = 'ok';
        if (row.index < SCHEMA_SAMPLE_LINES) this.sample.push(parsed.value);
      } else if (parsed.error.kind === 'empty') {
        this.lastRowKind = 'blank';
        this.blankCount++;
        if (this.blank.length < this.options.detailCap) this.blank.push(row.index);
      } else {
        this.lastRowKind = 'invalid';
        this.invalidCount++;
        if (this.invalid.length < this.options.detailCap) {
          const { start, end } = errorRange(
            parsed.error,
            lineLengthUtf16(row.bytes, row.index === 0),
          );
          this.invalid.push({
            index: row.index,
            error: parsed.error,
            startChar: start,
            endChar: end,
          });
        }
      }
      this.validatedRows = row.index + 1;
      // The line's bytes plus its newline.
      this.validatedBytes = this.file.fileBytesAt(row.start + row.bytes.length + 1);
    }
    this.updateSchema(false);
  }

  /**
   * Detects the schema from the sampled rows: provisionally as soon as one valid row is seen (so
   * an early hover has something to show), then again when the sample is full or the file ends.
   */
  private updateSchema(final: boolean): void {
    // The sample is complete once the first SCHEMA_SAMPLE_LINES lines are validated.
    const complete = final || this.validatedRows >= SCHEMA_SAMPLE_LINES;
    const size = this.sample.length;
    if (this.schema && (size === this.schemaSampleSize || !complete)) return;
    if (size === 0 && !complete) return;
    this.schema = detectSchema(this.sample);
    this.schemaSampleSize = size;
  }

  /** Waits for the index to grow or finish. */
  private nextIndexStep(): Promise<void> {
    return new Promise<void>(resolve => {
      const done = () => {
        unsubscribe();
        resolve();
      };
      const unsubscribe = this.file.onProgress(done);
      void this.file.whenIndexed().then(done, done);
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
    if (this.validated || this.failure !== undefined) this.resolveWaiters();
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch (err) {
        this.logger.error('Dataset listener failed', err);
      }
    }
  }

  private resolveWaiters(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
