/**
 * Per-row facts of a dataset file, gathered by one sequential pass in the extension host: text
 * length, parse-error kind, which top-level fields a row has, and its content hash. Stored as
 * growable typed arrays (about 22 bytes per row, no per-row objects), so that sort, filter,
 * histograms, decisions and export work on 10M rows. Free of `vscode`: unit-tested in Node.
 */
import {
  contentDigest,
  decodeBatch,
  extractText,
  legacyContentHash,
  parseDecoded,
  parseLine,
  type RowSource,
  type ParseErrorKind,
  type RawRow,
  type SchemaInfo,
} from '../jsonl';
import { countChars, countUtf8Chars } from './rowViews';

/** Parse-error kinds by code (code 0 = a valid row). */
export const ERROR_KINDS: readonly ParseErrorKind[] = [
  'syntax',
  'not-object',
  'empty',
  'invalid-utf8',
  'python-repr',
  'too-long',
];

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
export class RowColumns {
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

  /** Makes room for `n` rows. */
  ensure(n: number): void {
    this.chars = grow(this.chars, n, k => new Uint32Array(k));
    this.errors = grow(this.errors, n, k => new Uint8Array(k));
    this.fieldBits = growFieldBits(this.fieldBits, n);
    this.hashes = grow(this.hashes, n * HASH_BYTES, k => new Uint8Array(k));
    if (this.legacyHashes)
      this.legacyHashes = grow(this.legacyHashes, n * HASH_BYTES, k => new Uint8Array(k));
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

  private recordHashes(index: number, bytes: Uint8Array): void {
    contentDigest(bytes, this.hashes, index * HASH_BYTES);
    if (this.legacyHashes)
      this.legacyHashes.set(Buffer.from(legacyContentHash(bytes), 'hex'), index * HASH_BYTES);
  }

  /** The bit of a field name, allocating one for a new name while bits are left (else 0). */
  fieldBit(name: string): number {
    let f = this.fieldIndex.get(name);
    if (f === undefined) {
      if (this.fieldNames.length >= MAX_TRACKED_FIELDS) return 0;
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
    const parsed = parseLine(bytes, { maxLineBytes, firstLine: index === 0 });
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
   * the same facts as {@link record} row by row, but decoded in one go (see `decodeBatch`).
   */
  recordBatch(batch: readonly RawRow[], schema: SchemaInfo, maxLineBytes: number): void {
    if (batch.length === 0) return;
    const lines = decodeBatch(batch);
    if (!lines) {
      for (const r of batch) this.record(r.index, r.bytes, schema, maxLineBytes);
      return;
    }
    for (let k = 0; k < batch.length; k++) {
      const { index, bytes } = batch[k];
      const value = parseDecoded(lines[k], bytes.length, index === 0, maxLineBytes);
      if (value === undefined) {
        this.record(index, bytes, schema, maxLineBytes);
        continue;
      }
      this.recordValid(index, value, schema);
      this.recordHashes(index, bytes);
    }
  }

  private recordValid(index: number, value: Record<string, unknown>, schema: SchemaInfo): void {
    this.chars[index] = textChars(value, schema);
    this.errors[index] = 0;
    let bits = 0;
    for (const key in value) bits |= this.fieldBit(key);
    this.fieldBits[index] = bits >>> 0;
  }
}

/** Options of {@link scanRows}. */
export interface ScanOptions {
  readonly schema: SchemaInfo;
  readonly maxLineBytes: number;
  /** Returns false to stop the pass (the file changed, the document closed). */
  readonly isCurrent: () => boolean;
  /** Called after each batch with the rows scanned so far. */
  readonly onBatch?: (from: number, to: number) => void;
  /** Bytes per batch read; smaller batches keep each synchronous step short. */
  readonly batchBytes?: number;
}

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
  const { schema, maxLineBytes } = opts;
  for await (const batch of file.iterateRows(columns.scanned, opts.batchBytes ?? 256 << 10)) {
    if (!opts.isCurrent()) return false;
    if (batch.length === 0) continue;
    const from = batch[0].index;
    const to = from + batch.length;
    columns.ensure(file.indexed ? file.lineCount : to);
    columns.recordBatch(batch, schema, maxLineBytes);
    columns.scanned = to;
    opts.onBatch?.(from, to);
    // Yield to the event loop so that page requests are answered promptly during the scan.
    await new Promise(resolve => setImmediate(resolve));
  }
  return opts.isCurrent();
}
