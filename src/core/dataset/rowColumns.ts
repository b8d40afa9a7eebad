/**
 * Per-row facts of a dataset file, gathered by one pass over the file ({@link scanRows}): text
 * length, parse-error kind, which top-level fields a row has, and its content hash. Stored as
 * growable typed arrays (about 22 bytes per row, no per-row objects), so that sort, filter,
 * histograms, decisions and export work on 10M rows. Free of `vscode`: unit-tested in Node. How
 * the pass is made fast (a structural scan instead of JSON.parse, optional helper threads) and
 * checked against the row-by-row definition ({@link RowColumns.record}): docs/row-scan.md.
 */
import {
  contentDigest,
  contentDigestOf,
  decodeBatch,
  extractText,
  legacyContentHash,
  ObjectScanner,
  parseDecoded,
  parseLine,
  type LineBatch,
  type RowSource,
  type ParseErrorKind,
  type RawRow,
  type SchemaInfo,
  type TextRule,
} from '../jsonl';
import { uint32Keys } from './radixSort';
import { countChars, countUtf8Chars } from './rowViews';
import { defaultScanThreads, ScanThreads, scanThreadStats } from './rowScanThreads';

/** Parse-error kinds by code (code 0 = a valid row). */
export const ERROR_KINDS: readonly ParseErrorKind[] = [
  'syntax',
  'not-object',
  'empty',
  'invalid-utf8',
  'python-repr',
  'too-long',
];

/** Error code of a blank line (1 + the index of `empty` in {@link ERROR_KINDS}). */
export const BLANK_CODE = 1 + ERROR_KINDS.indexOf('empty');

/**
 * The per-row facts that views read (sort by length, the parse-error and field filters, the
 * header's counts): the worker's {@link RowColumns}, or the dataset view's copy of them
 * (`RowFacts`), which has no content hashes.
 */
export interface RowFactColumns {
  /** Rows filled so far, from the top of the file. */
  readonly scanned: number;
  /** Invalid rows among them (blank lines not included). */
  readonly invalid: number;
  /** Blank lines among them. */
  readonly blank: number;
  /** 0 = valid, else 1 + index in {@link ERROR_KINDS}. */
  readonly errors: Uint8Array;
  /** Bit f set: the row has top-level field `fieldNames[f]`. */
  readonly fieldBits: Uint8Array | Uint16Array | Uint32Array;
  readonly fieldNames: readonly string[];
  /** Index of a tracked field name, or -1. */
  fieldIndexOf(name: string): number;
  /** Parse-error kind of row `i`, if it is invalid. */
  errorKind(i: number): ParseErrorKind | undefined;
  /** Characters of row `i`'s text (exact). */
  charsOf(i: number): number;
  /** Sort keys of `rows` by text length (as `uint32Keys` of the lengths). */
  lengthKeys(rows: Uint32Array, descending: boolean): Uint32Array;
  /** Bytes held (capacity). */
  readonly memoryBytes: number;
}

/** Bytes of one stored content hash (the 16 bytes of `contentDigest`, 32 hex digits). */
export const HASH_BYTES = 16;
/** Field names tracked for the field filter (one bit each). */
export const MAX_TRACKED_FIELDS = 32;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Grows a typed array to at least `n` elements, keeping its contents. */
function grow<T extends Uint8Array | Uint16Array | Uint32Array>(
  a: T,
  n: number,
  make: (n: number) => T,
): T {
  if (a.length >= n) return a;
  const b = make(Math.max(n, Math.ceil(a.length * 1.5), 1024));
  b.set(a);
  return b;
}

/** Characters of all non-empty top-level string values joined by blank lines (`allStrings`). */
function allStringsChars(value: Record<string, unknown>): number {
  let chars = 0;
  let parts = 0;
  for (const key in value) {
    const v = value[key];
    if (typeof v === 'string' && v !== '') {
      chars += countChars(v);
      parts++;
    }
  }
  return parts === 0 ? 0 : chars + 2 * (parts - 1);
}

/** `joinFields`'s length without building the text; undefined when a value is not a string. */
function joinedChars(value: Record<string, unknown>, keys: readonly string[]): number | undefined {
  if (!keys.some(k => k in value)) return allStringsChars(value);
  let chars = 0;
  let parts = 0;
  for (const k of keys) {
    const v = value[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') return undefined;
    chars += countChars(v);
    parts++;
  }
  return parts === 0 ? 0 : chars + 2 * (parts - 1);
}

const JOINED_FIELDS: Partial<Record<SchemaInfo['kind'], readonly string[]>> = {
  alpaca: ['instruction', 'input', 'output'],
  dolly: ['instruction', 'context', 'response'],
};

/**
 * `countChars(extractText(value, schema))`, without building the text for the flat schemas
 * (text, alpaca, dolly, unknown), where the text is top-level strings joined by blank lines.
 */
export function textChars(value: Record<string, unknown>, schema: SchemaInfo): number {
  if (schema.kind === 'unknown') return allStringsChars(value);
  if (schema.kind === 'text') {
    const v = value[schema.field ?? 'text'];
    return typeof v === 'string' ? countChars(v) : allStringsChars(value);
  }
  const keys = JOINED_FIELDS[schema.kind];
  const fast = keys && joinedChars(value, keys);
  return fast ?? countChars(extractText(value, schema));
}

/** How {@link ObjectScanner} reads the schema's text (as {@link textChars}); undefined: it cannot. */
function textRuleOf(schema: SchemaInfo): TextRule | undefined {
  if (schema.kind === 'unknown') return { kind: 'all' };
  if (schema.kind === 'text') return { kind: 'field', field: schema.field ?? 'text' };
  const fields = JOINED_FIELDS[schema.kind];
  return fields ? { kind: 'joined', fields } : undefined;
}

/** Whether `buf[start, end)` starts with a UTF-8 byte order mark. */
function hasBom(buf: Uint8Array, start: number, end: number): boolean {
  return (
    end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf
  );
}

/** The structural scan of one text rule, with the field bit of each key it has seen. */
interface FastScan {
  /** The rule, as JSON: a schema object with the same rule keeps the scanner. */
  readonly ruleKey: string;
  readonly scanner: ObjectScanner;
  /** Per scanner key: its field bit, once asked for (see {@link RowColumns.fieldBit}). */
  readonly bits: number[];
}

/** A field-bits column of the same width, grown to at least `n` rows. */
function growFieldBits(
  a: Uint8Array | Uint16Array | Uint32Array,
  n: number,
): Uint8Array | Uint16Array | Uint32Array {
  if (a instanceof Uint8Array) return grow(a, n, k => new Uint8Array(k));
  if (a instanceof Uint16Array) return grow(a, n, k => new Uint16Array(k));
  return grow(a, n, k => new Uint32Array(k));
}

/** The field-bits column at the next width (8 → 16 → 32 bits per row), values kept. */
function widenFieldBits(a: Uint8Array | Uint16Array | Uint32Array): Uint16Array | Uint32Array {
  const wider = a instanceof Uint8Array ? new Uint16Array(a.length) : new Uint32Array(a.length);
  wider.set(a);
  return wider;
}

/** The columns of one version of the file. Rows `0 .. scanned-1` are filled. */
export class RowColumns implements RowFactColumns {
  /** Rows filled so far, in order from the top of the file. */
  scanned = 0;
  /** Invalid rows among the scanned ones (blank lines not included). */
  invalid = 0;
  /** Blank lines (empty or whitespace only) among the scanned ones. */
  blank = 0;
  /** Characters (code points) of the schema's text; of the raw line for an invalid row. */
  chars = new Uint32Array(0);
  /** 0 = valid, else 1 + index in {@link ERROR_KINDS}. */
  errors = new Uint8Array(0);
  /**
   * Bit f set: the row has top-level field `fieldNames[f]`. One byte per row while at most 8
   * field names are tracked, widened to 16 and 32 bits as more names appear.
   */
  fieldBits: Uint8Array | Uint16Array | Uint32Array = new Uint8Array(0);
  /** Content hashes, {@link HASH_BYTES} per row. */
  hashes = new Uint8Array(0);
  /**
   * Version-1 content hashes (SHA-256, see `legacyContentHash`), {@link HASH_BYTES} per row, only
   * while legacy decisions wait to be re-keyed ({@link trackLegacyHashes}); they cost a slower
   * scan, so files without legacy decisions never compute them.
   */
  private legacyHashes: Uint8Array | undefined;
  /** Top-level field names in order of first appearance (at most {@link MAX_TRACKED_FIELDS}). */
  readonly fieldNames: string[] = [];
  private readonly fieldIndex = new Map<string, number>();
  /** The structural scan of the last schema seen, or null when it has none. */
  private fast: FastScan | null | undefined;
  /**
   * File row of row 0 here: 0, except for the columns of one batch scanned on its own
   * ({@link RowColumns.scanBatch}), where row k is file row `origin + k` (only file row 0 has a BOM).
   */
  private origin = 0;
  /** Whether a field name went untracked (all {@link MAX_TRACKED_FIELDS} bits taken). */
  private fieldsDropped = false;

  /** Makes room for `n` rows. */
  ensure(n: number): void {
    this.chars = grow(this.chars, n, k => new Uint32Array(k));
    this.errors = grow(this.errors, n, k => new Uint8Array(k));
    this.fieldBits = growFieldBits(this.fieldBits, n);
    this.hashes = grow(this.hashes, n * HASH_BYTES, k => new Uint8Array(k));
    if (this.legacyHashes)
      this.legacyHashes = grow(this.legacyHashes, n * HASH_BYTES, k => new Uint8Array(k));
  }

  /**
   * Forgets rows from `n` on (their counts included), to fill them again: after an append the old
   * last line may have grown. Field names stay.
   */
  truncate(n: number): void {
    const from = Math.max(0, n);
    for (let i = from; i < this.scanned; i++) {
      const e = this.errors[i];
      if (e === BLANK_CODE) this.blank--;
      else if (e !== 0) this.invalid--;
    }
    if (from < this.scanned) this.scanned = from;
  }

  charsOf(i: number): number {
    return this.chars[i];
  }

  lengthKeys(rows: Uint32Array, descending: boolean): Uint32Array {
    return uint32Keys(this.chars, rows, descending);
  }

  /** Computes version-1 hashes too, for rows scanned from now on (call before the scan). */
  trackLegacyHashes(): void {
    this.legacyHashes ??= new Uint8Array(this.hashes.length);
  }

  /** Whether version-1 hashes are computed. */
  get hasLegacyHashes(): boolean {
    return this.legacyHashes !== undefined;
  }

  /** The version-1 content hash of row `i` (32 hex digits); needs {@link trackLegacyHashes}. */
  legacyHashHex(i: number): string {
    const h = this.legacyHashes;
    if (!h) throw new Error('Legacy content hashes are not tracked');
    let s = '';
    for (let k = i * HASH_BYTES, end = k + HASH_BYTES; k < end; k++) s += HEX[h[k]];
    return s;
  }

  /** Sets row `index`'s version-1 hash from its bytes (rows scanned before tracking began). */
  recordLegacyHash(index: number, bytes: Uint8Array): void {
    if (!this.legacyHashes) throw new Error('Legacy content hashes are not tracked');
    this.legacyHashes.set(Buffer.from(legacyContentHash(bytes), 'hex'), index * HASH_BYTES);
  }

  private recordHashes(index: number, bytes: Uint8Array): void {
    contentDigest(bytes, this.hashes, index * HASH_BYTES);
    if (this.legacyHashes)
      this.legacyHashes.set(Buffer.from(legacyContentHash(bytes), 'hex'), index * HASH_BYTES);
  }

  private recordHashesOf(index: number, buf: Uint8Array, start: number, end: number): void {
    contentDigestOf(buf, start, end, this.hashes, index * HASH_BYTES);
    if (this.legacyHashes) {
      const hex = legacyContentHash(buf.subarray(start, end));
      this.legacyHashes.set(Buffer.from(hex, 'hex'), index * HASH_BYTES);
    }
  }

  /** The bit of a field name, allocating one for a new name while bits are left (else 0). */
  fieldBit(name: string): number {
    let f = this.fieldIndex.get(name);
    if (f === undefined) {
      if (this.fieldNames.length >= MAX_TRACKED_FIELDS) {
        this.fieldsDropped = true;
        return 0;
      }
      f = this.fieldNames.length;
      if (f >= this.fieldBits.BYTES_PER_ELEMENT * 8)
        this.fieldBits = widenFieldBits(this.fieldBits);
      this.fieldNames.push(name);
      this.fieldIndex.set(name, f);
    }
    return (1 << f) >>> 0;
  }

  /** Index of a tracked field name, or -1. */
  fieldIndexOf(name: string): number {
    return this.fieldIndex.get(name) ?? -1;
  }

  /** The content hash of row `i` as `contentHash` writes it (32 hex digits). */
  hashHex(i: number): string {
    const h = this.hashes;
    let s = '';
    for (let k = i * HASH_BYTES, end = k + HASH_BYTES; k < end; k++) s += HEX[h[k]];
    return s;
  }

  /** The first 4 bytes of row `i`'s hash as an unsigned integer (a cheap pre-filter). */
  hashPrefix(i: number): number {
    const h = this.hashes;
    const k = i * HASH_BYTES;
    return ((h[k] << 24) | (h[k + 1] << 16) | (h[k + 2] << 8) | h[k + 3]) >>> 0;
  }

  /** Parse-error kind of row `i`, if it is invalid. */
  errorKind(i: number): ParseErrorKind | undefined {
    const e = this.errors[i];
    return e ? ERROR_KINDS[e - 1] : undefined;
  }

  /** Bytes held by the columns (capacity, not just the filled part). */
  get memoryBytes(): number {
    return (
      this.chars.byteLength +
      this.errors.byteLength +
      this.fieldBits.byteLength +
      this.hashes.byteLength +
      (this.legacyHashes?.byteLength ?? 0)
    );
  }

  /** Fills row `index` from its raw bytes (parses it once). */
  record(index: number, bytes: Uint8Array, schema: SchemaInfo, maxLineBytes: number): void {
    const parsed = parseLine(bytes, { maxLineBytes, firstLine: index + this.origin === 0 });
    if (parsed.ok) {
      this.recordValid(index, parsed.value, schema);
    } else {
      this.chars[index] = countUtf8Chars(bytes);
      this.errors[index] = 1 + Math.max(0, ERROR_KINDS.indexOf(parsed.error.kind));
      this.fieldBits[index] = 0;
      if (parsed.error.kind === 'empty') this.blank++;
      else this.invalid++;
    }
    this.recordHashes(index, bytes);
  }

  /**
   * Fills the rows of one batch of consecutive rows (as `JsonlFile.iterateRows` yields them):
   * the same facts as {@link record} row by row, but without parsing rows into values where the
   * structural scan can tell (see `ObjectScanner`), else decoded in one go (see `decodeBatch`).
   */
  recordBatch(batch: readonly RawRow[], schema: SchemaInfo, maxLineBytes: number): void {
    if (batch.length === 0) return;
    const fast = this.fastScan(schema);
    if (fast) {
      for (const r of batch)
        this.recordLine(r.index, r.bytes, 0, r.bytes.length, fast, schema, maxLineBytes);
      return;
    }
    const lines = decodeBatch(batch);
    if (!lines) {
      for (const r of batch) this.record(r.index, r.bytes, schema, maxLineBytes);
      return;
    }
    for (let k = 0; k < batch.length; k++) {
      const { index, bytes } = batch[k];
      const firstLine = index + this.origin === 0;
      const value = parseDecoded(lines[k], bytes.length, firstLine, maxLineBytes);
      if (value === undefined) {
        this.record(index, bytes, schema, maxLineBytes);
        continue;
      }
      this.recordValid(index, value, schema);
      this.recordHashes(index, bytes);
    }
  }

  /**
   * Fills the rows of a {@link LineBatch} (as `JsonlFile.iterateLineBatches` yields them): the
   * same facts as {@link recordBatch}, reading each row where it lies in the batch's buffer.
   */
  recordLines(batch: LineBatch, schema: SchemaInfo, maxLineBytes: number): void {
    const { data, starts, ends, first } = batch;
    const fast = this.fastScan(schema);
    if (!fast) {
      const rows: RawRow[] = [];
      for (let k = 0; k < batch.count; k++)
        rows.push({
          index: first + k,
          start: batch.start + starts[k],
          bytes: data.subarray(starts[k], ends[k]),
        });
      this.recordBatch(rows, schema, maxLineBytes);
      return;
    }
    for (let k = 0; k < batch.count; k++)
      this.recordLine(first + k, data, starts[k], ends[k], fast, schema, maxLineBytes);
  }

  /** Row `index` from `buf[start, end)`: {@link record}'s facts, by the structural scan if it can. */
  private recordLine(
    index: number,
    buf: Uint8Array,
    start: number,
    end: number,
    fast: FastScan,
    schema: SchemaInfo,
    maxLineBytes: number,
  ): void {
    const scanner = fast.scanner;
    const from = index + this.origin === 0 && hasBom(buf, start, end) ? start + 3 : start;
    if (end - start > maxLineBytes || !scanner.scan(buf, from, end)) {
      this.record(index, buf.subarray(start, end), schema, maxLineBytes);
      return;
    }
    this.chars[index] = scanner.textChars;
    this.errors[index] = 0;
    const keys = scanner.rowKeys;
    let bits = 0;
    for (let k = 0; k < scanner.keyCount; k++) {
      const key = keys[k];
      let bit = fast.bits[key];
      if (bit === undefined) bit = fast.bits[key] = this.fieldBit(scanner.keyNames[key]);
      bits |= bit;
    }
    this.fieldBits[index] = bits >>> 0;
    this.recordHashesOf(index, buf, start, end);
  }

  /** The structural scan for `schema`, or null when its text needs the parsed row. */
  private fastScan(schema: SchemaInfo): FastScan | null {
    const rule = textRuleOf(schema);
    const ruleKey = rule && JSON.stringify(rule);
    if (this.fast === undefined || this.fast?.ruleKey !== ruleKey) {
      this.fast = rule && ruleKey ? { ruleKey, scanner: new ObjectScanner(rule), bits: [] } : null;
    }
    return this.fast;
  }

  /**
   * Fills rows `facts.first ..` from the facts of one batch scanned on its own (by another thread,
   * see {@link RowColumns.scanBatch}), as {@link recordLines} would have: the batch's field names are
   * given their bits here, in the batch's order of first appearance, so that every name's bit is
   * the one a sequential scan gives it. Call with the batches in file order. Returns false, and
   * fills nothing, when the batch dropped field names (it had more than
   * {@link MAX_TRACKED_FIELDS}): then scan it here.
   */
  mergeBatch(facts: BatchFacts): boolean {
    if (facts.fieldsDropped) return false;
    const { first, count } = facts;
    this.chars.set(facts.chars.subarray(0, count), first);
    this.errors.set(facts.errors.subarray(0, count), first);
    this.hashes.set(facts.hashes.subarray(0, count * HASH_BYTES), first * HASH_BYTES);
    const bits = facts.fieldNames.map(name => this.fieldBit(name));
    const local = facts.fieldBits.subarray(0, count);
    if (bits.every((bit, f) => bit === (1 << f) >>> 0)) {
      this.fieldBits.set(local, first);
    } else {
      for (let k = 0; k < count; k++) {
        let mapped = 0;
        for (let v = local[k], f = 0; v !== 0; v >>>= 1, f++) if (v & 1) mapped |= bits[f];
        this.fieldBits[first + k] = mapped >>> 0;
      }
    }
    this.invalid += facts.invalid;
    this.blank += facts.blank;
    return true;
  }

  /** The facts of one batch on its own (what a helper thread of the row scan computes). */
  static scanBatch(batch: LineBatch, schema: SchemaInfo, maxLineBytes: number): BatchFacts {
    const local = new RowColumns();
    local.origin = batch.first;
    local.ensure(batch.count);
    local.recordLines({ ...batch, first: 0 }, schema, maxLineBytes);
    return {
      first: batch.first,
      count: batch.count,
      chars: local.chars,
      errors: local.errors,
      fieldBits: local.fieldBits,
      hashes: local.hashes,
      fieldNames: local.fieldNames,
      fieldsDropped: local.fieldsDropped,
      invalid: local.invalid,
      blank: local.blank,
    };
  }

  private recordValid(index: number, value: Record<string, unknown>, schema: SchemaInfo): void {
    this.chars[index] = textChars(value, schema);
    this.errors[index] = 0;
    let bits = 0;
    for (const key in value) bits |= this.fieldBit(key);
    this.fieldBits[index] = bits >>> 0;
  }
}

/**
 * What the row scan finds in one batch of rows scanned on its own ({@link RowColumns.scanBatch}):
 * the columns of rows `first .. first+count-1` (at index 0 ..), with field bits numbered by the
 * batch's own {@link fieldNames}. Plain data, so that it can come back from a worker thread.
 */
export interface BatchFacts {
  readonly first: number;
  readonly count: number;
  readonly chars: Uint32Array;
  readonly errors: Uint8Array;
  readonly fieldBits: Uint8Array | Uint16Array | Uint32Array;
  readonly hashes: Uint8Array;
  readonly fieldNames: readonly string[];
  readonly fieldsDropped: boolean;
  readonly invalid: number;
  readonly blank: number;
}

/** Options of {@link scanRows}. */
export interface ScanOptions {
  readonly schema: SchemaInfo;
  readonly maxLineBytes: number;
  /** Returns false to stop the pass (the file changed, the document closed). */
  readonly isCurrent: () => boolean;
  /** Called after each batch with the rows scanned so far. */
  readonly onBatch?: (from: number, to: number) => void;
  /**
   * Bytes per batch read (default 256 KiB in one thread, 1 MiB with helper threads); smaller
   * batches keep each synchronous step short.
   */
  readonly batchBytes?: number;
  /**
   * Threads to scan with, this one included (default `defaultScanThreads()`: one on 1-2 cores,
   * see docs/row-scan.md). With more than one, helper threads scan batches alongside this one,
   * for files indexed before the scan starts with at least {@link parallelFromBytes} left to
   * scan; the columns are exactly those of a scan in one thread.
   */
  readonly threads?: number;
  /** Bytes left to scan from which helper threads start (default 32 MiB). */
  readonly parallelFromBytes?: number;
}

const BATCH_BYTES = 256 << 10;
const PARALLEL_BATCH_BYTES = 1 << 20;
const PARALLEL_FROM_BYTES = 32 << 20;
/** Batches a helper may give back for dropped field names before the helpers are left out. */
const MAX_DROPPED_BATCHES = 3;

/**
 * Fills `columns` from row `columns.scanned` to the end of the file, in batches, yielding to the
 * event loop between batches so that page requests are answered during the pass. Follows
 * indexing (it can start before the index is complete). Resolves true when it reached the end,
 * false when stopped.
 */
export async function scanRows(
  file: RowSource,
  columns: RowColumns,
  opts: ScanOptions,
): Promise<boolean> {
  const threads = startHelpers(file, columns, opts);
  if (!threads) return scanInThisThread(file, columns, opts);
  try {
    return await scanWithHelpers(file, columns, opts, threads);
  } finally {
    await threads.close();
  }
}

async function scanInThisThread(
  file: RowSource,
  columns: RowColumns,
  opts: ScanOptions,
): Promise<boolean> {
  const { schema, maxLineBytes } = opts;
  for await (const batch of file.iterateLineBatches(
    columns.scanned,
    opts.batchBytes ?? BATCH_BYTES,
  )) {
    if (!opts.isCurrent()) return false;
    if (batch.count === 0) continue;
    columns.ensure(file.indexed ? file.lineCount : batch.first + batch.count);
    columns.recordLines(batch, schema, maxLineBytes);
    filled(columns, batch, opts);
    // Yield to the event loop so that page requests are answered promptly during the scan.
    await new Promise(resolve => setImmediate(resolve));
  }
  return opts.isCurrent();
}

/** Marks `batch`'s rows scanned (they follow the scanned ones) and reports them. */
function filled(columns: RowColumns, batch: LineBatch, opts: ScanOptions): void {
  columns.scanned = batch.first + batch.count;
  opts.onBatch?.(batch.first, columns.scanned);
}

/** Helper threads for this scan, or undefined when it runs in this thread (see ScanOptions). */
function startHelpers(
  file: RowSource,
  columns: RowColumns,
  opts: ScanOptions,
): ScanThreads | undefined {
  const helpers = (opts.threads ?? defaultScanThreads()) - 1;
  // Version-1 hashes are rare (files with old decisions) and computed here only.
  if (helpers < 1 || columns.hasLegacyHashes || !file.indexed) return undefined;
  if (columns.scanned >= file.lineCount) return undefined;
  // Decompressed bytes left (file.totalBytes counts compressed bytes for a compressed file).
  const rest = file.rowSpan(file.lineCount - 1).end - file.rowSpan(columns.scanned).start;
  if (rest < (opts.parallelFromBytes ?? PARALLEL_FROM_BYTES)) return undefined;
  return ScanThreads.start(helpers);
}

/** A batch of the scan with helper threads, waiting to be merged in file order. */
interface Slot {
  readonly batch: LineBatch;
  /** Its facts, once scanned; undefined while a helper scans it, or when the helper failed. */
  facts?: BatchFacts;
  /** Set when the scan of the batch is over (facts, or a failed helper). */
  ready: boolean;
  /** Whether its facts came from the helper (not from this thread). */
  byHelper?: boolean;
  /** The helper scanning it, or -1 when scanned here. */
  readonly helper: number;
}

/** Batches each helper thread holds at once: one to scan, one waiting, so that it never idles. */
const HELPER_QUEUE = 2;
/** Batches scanned ahead of the oldest one still at a helper (bounds the memory they hold). */
const MAX_AHEAD = 32;

/**
 * {@link scanRows} with helper threads. Each helper holds up to {@link HELPER_QUEUE} batches; while
 * the oldest batch is not back, this thread scans the next batch itself, so a helper that is slow
 * (starting up, or short of a core) never holds the scan up. The batches' facts are merged in file
 * order ({@link RowColumns.mergeBatch}). A batch a helper could not scan (the thread failed, or the
 * batch has too many field names) is scanned here; after a failure, or a few such batches, the
 * helpers are left out.
 */
async function scanWithHelpers(
  file: RowSource,
  columns: RowColumns,
  opts: ScanOptions,
  threads: ScanThreads,
): Promise<boolean> {
  const { schema, maxLineBytes } = opts;
  const batches = file.iterateLineBatches(
    columns.scanned,
    opts.batchBytes ?? PARALLEL_BATCH_BYTES,
    // Reads keep ahead of all the threads.
    1 + threads.size * HELPER_QUEUE,
  );
  const state = { slots: [] as Slot[], held: new Array<number>(threads.size).fill(0), end: false };
  let helped = true;
  let dropped = 0;
  const next = async (): Promise<LineBatch | undefined> => {
    while (!state.end) {
      const r = await batches.next();
      if (r.done) state.end = true;
      else if (r.value.count > 0) {
        const last = r.value.first + r.value.count;
        columns.ensure(file.indexed ? file.lineCount : last);
        return r.value;
      }
    }
    return undefined;
  };
  try {
    for (;;) {
      if (!opts.isCurrent()) return false;
      if (helped) await feedHelpers(threads, state, next, schema, maxLineBytes);
      for (let slot = state.slots[0]; slot?.ready; slot = state.slots[0]) {
        state.slots.shift();
        if (slot.helper >= 0) state.held[slot.helper]--;
        if (slot.facts && columns.mergeBatch(slot.facts)) {
          if (slot.byHelper) scanThreadStats.mergedBatches++;
        } else {
          // A failed thread is not asked again; a file whose batches often have more field names
          // than a batch tracks is scanned here from then on.
          if (!slot.facts || ++dropped >= MAX_DROPPED_BATCHES) helped = false;
          columns.recordLines(slot.batch, schema, maxLineBytes);
        }
        filled(columns, slot.batch, opts);
      }
      if (state.slots.length === 0 && state.end) return opts.isCurrent();
      const head = state.slots[0];
      if (head && (state.end || state.slots.length > MAX_AHEAD)) {
        // Nothing else to scan here: scan the oldest batch here rather than wait for its helper
        // (which may be short of a core); the helper's answer is then dropped.
        head.facts = RowColumns.scanBatch(head.batch, schema, maxLineBytes);
        head.ready = true;
      } else scanNext(columns, state.slots, await next(), opts);
      // Let page requests and the helpers' answers in.
      await new Promise(resolve => setImmediate(resolve));
    }
  } finally {
    await batches.return(undefined);
  }
}

/**
 * Scans `batch` here: straight into the columns when every batch before it is merged, else on its
 * own, to be merged in its turn.
 */
function scanNext(
  columns: RowColumns,
  slots: Slot[],
  batch: LineBatch | undefined,
  opts: ScanOptions,
): void {
  if (!batch) return;
  if (slots.length === 0) {
    columns.recordLines(batch, opts.schema, opts.maxLineBytes);
    filled(columns, batch, opts);
  } else {
    const facts = RowColumns.scanBatch(batch, opts.schema, opts.maxLineBytes);
    slots.push({ batch, facts, ready: true, helper: -1 });
  }
}

/** Sends batches to the helpers that hold fewer than {@link HELPER_QUEUE}. */
async function feedHelpers(
  threads: ScanThreads,
  state: { slots: Slot[]; held: number[]; end: boolean },
  next: () => Promise<LineBatch | undefined>,
  schema: SchemaInfo,
  maxLineBytes: number,
): Promise<void> {
  for (let k = 0; k < threads.size; k++) {
    while (state.held[k] < HELPER_QUEUE) {
      const batch = await next();
      if (!batch) return;
      const slot: Slot = { batch, ready: false, helper: k };
      threads.scan(k, batch, schema, maxLineBytes).then(
        facts => {
          if (slot.ready) return; // scanned here meanwhile
          slot.facts = facts;
          slot.byHelper = true;
          slot.ready = true;
        },
        () => (slot.ready = true),
      );
      state.held[k]++;
      state.slots.push(slot);
    }
  }
}
