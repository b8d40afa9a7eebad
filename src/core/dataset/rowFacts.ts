/**
 * The row facts as the dataset view holds them: text length, parse status and top-level fields
 * of every row, copied from the worker's scan (`winnow/getRowFacts`, the worker's
 * {@link RowColumns}) chunk by chunk. No content hashes: the worker matches saved decisions to
 * rows and gives the hashes of decided rows when saving. Lengths are 16-bit, with the rows of
 * 65,535 characters or more in an exact side table, so a row costs 4 bytes (chars 2, errors 1,
 * fields 1 while at most 8 field names are tracked). Also the wire format: {@link encodeRowFacts}
 * turns the worker's columns into a chunk, {@link RowFacts.apply} reads one. Free of `vscode`.
 */
import { CHARS_OVERFLOW, type RowFactsResult } from '../../shared/protocol/worker';
import type { ParseErrorKind } from '../jsonl';
import {
  BLANK_CODE,
  ERROR_KINDS,
  MAX_TRACKED_FIELDS,
  type RowColumns,
  type RowFactColumns,
} from './rowColumns';

type FieldBits = Uint8Array | Uint16Array | Uint32Array;

/** The columns of a chunk of rows (`RowFactsResult` without its version and counts). */
export type RowFactsColumns = Pick<
  RowFactsResult,
  | 'from'
  | 'count'
  | 'chars'
  | 'charsOverflow'
  | 'errors'
  | 'fieldBits'
  | 'fieldBitsBytes'
  | 'fieldNames'
>;

/** Rows `from .. from+count-1` of `columns` (all scanned) in the wire format. */
export function encodeRowFacts(columns: RowColumns, from: number, count: number): RowFactsColumns {
  const chars = new Uint16Array(count);
  const charsOverflow: [number, number][] = [];
  for (let k = 0; k < count; k++) {
    const c = columns.chars[from + k];
    if (c >= CHARS_OVERFLOW) {
      chars[k] = CHARS_OVERFLOW;
      charsOverflow.push([from + k, c]);
    } else chars[k] = c;
  }
  const bits = columns.fieldBits.subarray(from, from + count);
  return {
    from,
    count,
    chars: base64(chars),
    charsOverflow,
    errors: base64(columns.errors.subarray(from, from + count)),
    fieldBits: base64(bits),
    fieldBitsBytes: bits.BYTES_PER_ELEMENT as 1 | 2 | 4,
    fieldNames: [...columns.fieldNames],
  };
}

function base64(a: Uint8Array | Uint16Array | Uint32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** The bytes of a base64 column of `count` values of `width` bytes (throws on a bad length). */
function decode(text: string, count: number, width: number, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== count * width)
    throw new Error(`${what} has ${bytes.length} bytes for ${count} rows of ${width}`);
  return bytes;
}

/** A field-bits column wide enough for `names` field names, holding at least `n` rows. */
function fieldBitsFor(names: number, n: number): FieldBits {
  return names <= 8 ? new Uint8Array(n) : names <= 16 ? new Uint16Array(n) : new Uint32Array(n);
}

/** The dataset view's copy of the row facts of one version of the file. */
export class RowFacts implements RowFactColumns {
  scanned = 0;
  invalid = 0;
  blank = 0;
  /** Characters of each row's text; {@link CHARS_OVERFLOW}: see {@link overflow}. */
  chars = new Uint16Array(0);
  errors = new Uint8Array(0);
  fieldBits: FieldBits = new Uint8Array(0);
  private names: string[] = [];
  private readonly fieldIndex = new Map<string, number>();
  /** Exact lengths of the rows of {@link CHARS_OVERFLOW} characters or more. */
  private readonly overflow = new Map<number, number>();

  get fieldNames(): readonly string[] {
    return this.names;
  }

  get memoryBytes(): number {
    // A side-table entry costs about as much as a Map entry of two numbers.
    return (
      this.chars.byteLength +
      this.errors.byteLength +
      this.fieldBits.byteLength +
      this.overflow.size * 32
    );
  }

  /** Makes room for `n` rows: exactly `n` once the row count is known, else with headroom. */
  ensure(n: number, exact = false): void {
    if (this.chars.length >= n) return;
    const cap = exact ? n : Math.max(n, Math.ceil(this.chars.length * 1.5), 1024);
    const chars = new Uint16Array(cap);
    chars.set(this.chars.subarray(0, this.scanned));
    const errors = new Uint8Array(cap);
    errors.set(this.errors.subarray(0, this.scanned));
    const bits = fieldBitsFor(this.names.length, cap);
    bits.set(this.fieldBits.subarray(0, this.scanned));
    this.chars = chars;
    this.errors = errors;
    this.fieldBits = bits;
  }

  /** Lets go of the room beyond the rows held (once the row count is final). */
  trim(): void {
    const n = this.scanned;
    if (this.chars.length <= n) return;
    this.chars = this.chars.slice(0, n);
    this.errors = this.errors.slice(0, n);
    this.fieldBits = this.fieldBits.slice(0, n);
  }

  /** Forgets rows from `n` on (they are of another version of the file now). */
  truncate(n: number): void {
    const from = Math.max(0, n);
    for (let i = from; i < this.scanned; i++) {
      const e = this.errors[i];
      if (e === BLANK_CODE) this.blank--;
      else if (e !== 0) this.invalid--;
      if (this.chars[i] === CHARS_OVERFLOW) this.overflow.delete(i);
    }
    if (from < this.scanned) this.scanned = from;
    if (from === 0) {
      this.names = [];
      this.fieldIndex.clear();
    }
  }

  /**
   * Takes a chunk of rows `chunk.from .. from+count-1` (`from` at most {@link scanned}: later rows
   * are forgotten first). Field names must extend the ones held (a chunk of another scan of the
   * file, whose bits mean other fields, throws: start again from row 0).
   */
  apply(chunk: RowFactsColumns): void {
    const { from, count } = chunk;
    if (from > this.scanned) throw new RangeError(`Facts from row ${from} after ${this.scanned}`);
    this.truncate(from);
    this.adoptNames(chunk.fieldNames);
    const chars = decode(chunk.chars, count, 2, 'The length column');
    const errors = decode(chunk.errors, count, 1, 'The parse-status column');
    const width = chunk.fieldBitsBytes;
    const bits = decode(chunk.fieldBits, count, width, 'The field column');
    this.ensure(from + count);
    new Uint8Array(this.chars.buffer, from * 2, count * 2).set(chars);
    this.errors.set(errors, from);
    const target = this.fieldBits;
    for (let k = 0; k < count; k++)
      target[from + k] =
        width === 1 ? bits[k] : width === 2 ? bits.readUInt16LE(2 * k) : bits.readUInt32LE(4 * k);
    for (const [row, c] of chunk.charsOverflow) this.overflow.set(row, c);
    for (let k = 0; k < count; k++) {
      const e = errors[k];
      if (e === BLANK_CODE) this.blank++;
      else if (e !== 0) this.invalid++;
    }
    this.scanned = from + count;
  }

  /** Takes the worker's field names, widening the bits column when more names need it. */
  private adoptNames(names: readonly string[]): void {
    const held = this.names;
    const shorter = names.length < held.length ? names : held;
    for (let f = 0; f < shorter.length; f++)
      if (names[f] !== held[f])
        throw new Error(`Field ${f} is "${names[f]}" in these facts, "${held[f]}" before`);
    if (names.length <= held.length) return;
    if (names.length > MAX_TRACKED_FIELDS) throw new Error(`${names.length} field names`);
    const oldWidth = this.fieldBits.BYTES_PER_ELEMENT;
    this.names = [...names];
    names.forEach((name, f) => this.fieldIndex.set(name, f));
    if (fieldBitsFor(names.length, 0).BYTES_PER_ELEMENT > oldWidth) {
      const wider = fieldBitsFor(names.length, this.fieldBits.length);
      wider.set(this.fieldBits);
      this.fieldBits = wider;
    }
  }

  fieldIndexOf(name: string): number {
    return this.fieldIndex.get(name) ?? -1;
  }

  errorKind(i: number): ParseErrorKind | undefined {
    const e = this.errors[i];
    return e ? ERROR_KINDS[e - 1] : undefined;
  }

  charsOf(i: number): number {
    const c = this.chars[i];
    return c === CHARS_OVERFLOW ? (this.overflow.get(i) ?? c) : c;
  }

  lengthKeys(rows: Uint32Array, descending: boolean): Uint32Array {
    const keys = new Uint32Array(rows.length);
    const chars = this.chars;
    const n = chars.length;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      // A row past the columns has no length yet: key 0, as `uint32Keys` gives it.
      if (r >= n) continue;
      let v = chars[r];
      if (v === CHARS_OVERFLOW) v = this.overflow.get(r) ?? v;
      keys[i] = descending ? (0xfffffffe - v) >>> 0 : v;
    }
    return keys;
  }
}
