/**
 * Tolerant parsing of one JSONL line, with a precise reason for every line that is not a JSON
 * object. The checks run in this order, and the first that applies decides the error kind:
 *
 * 1. `too-long`: the line (after stripping `\r` and a BOM) has more bytes than the cap;
 * 2. `empty`: the line is empty or only whitespace;
 * 3. `invalid-utf8`: the bytes are not valid UTF-8 (column of the first bad byte);
 * 4. JSON.parse succeeds: an object is `ok`, anything else is `not-object`;
 * 5. `python-repr`: the line is a Python dict literal (`{'a': 1, 'b': True}`) rather than JSON;
 * 6. `syntax`: with the column of the first error, found by {@link locateJsonError}.
 *
 * Columns are 1-based and count UTF-16 code units of the decoded line (what VS Code counts), after
 * a BOM on line 0 is removed.
 */
import { DEFAULT_MAX_LINE_BYTES, type RawRow } from './jsonlFile';

export type ParseErrorKind =
  'syntax' | 'not-object' | 'empty' | 'invalid-utf8' | 'python-repr' | 'too-long';

export interface ParseError {
  kind: ParseErrorKind;
  message: string;
  /** 1-based column (UTF-16 code units) where the problem is, when there is one place. */
  column?: number;
}

export type ParsedRow =
  { ok: true; value: Record<string, unknown> } | { ok: false; error: ParseError };

export interface ParseLineOptions {
  /** Lines longer than this many bytes are `too-long`. Default 100 MiB. */
  maxLineBytes?: number;
  /** The line is line 0: a UTF-8 BOM at its start is removed. */
  firstLine?: boolean;
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Tolerant parse of one line's bytes (no `\n`; a trailing `\r` is stripped; a BOM on line 0). */
export function parseLine(bytes: Uint8Array, opts: ParseLineOptions = {}): ParsedRow {
  const max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  let start = 0;
  if (opts.firstLine && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    start = 3;
  }
  const length = end - start;
  if (length > max) {
    return fail('too-long', `Line is ${length} bytes, longer than the limit of ${max} bytes`);
  }
  let blank = true;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) {
      blank = false;
      break;
    }
  }
  if (blank) return fail('empty', 'Empty line: every line must hold one JSON object');

  const body = bytes.subarray(start, end);
  let text: string;
  try {
    text = fatalDecoder.decode(body);
  } catch {
    const bad = firstInvalidUtf8(body);
    const column = lenientDecoder.decode(body.subarray(0, bad)).length + 1;
    const hex = body[bad].toString(16).toUpperCase().padStart(2, '0');
    return fail('invalid-utf8', `Invalid UTF-8: byte 0x${hex} at byte ${bad + 1}`, column);
  }

  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return { ok: true, value: value as Record<string, unknown> };
    }
    return fail('not-object', `Line is ${describe(value)}, not a JSON object`, 1);
  } catch {
    // Not JSON: find out why below.
  }

  const python = pythonReprColumn(text);
  if (python !== undefined) {
    return fail(
      'python-repr',
      'Line is a Python dict (repr) rather than JSON: use json.dumps, not str(), to write it',
      python,
    );
  }
  const located = locateJsonError(text);
  return fail('syntax', located.message, located.column);
}

/** {@link parseLine} for a row read from a {@link JsonlFile} (strips the BOM on row 0). */
export function parseRow(row: RawRow, maxLineBytes?: number): ParsedRow {
  return parseLine(row.bytes, { maxLineBytes, firstLine: row.index === 0 });
}

function fail(kind: ParseErrorKind, message: string, column?: number): ParsedRow {
  return { ok: false, error: column === undefined ? { kind, message } : { kind, message, column } };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a JSON array';
  if (typeof value === 'string') return 'a JSON string';
  if (typeof value === 'number') return 'a JSON number';
  return `JSON ${String(value)}`;
}

/** Index of the first byte that starts an invalid UTF-8 sequence (the input is known invalid). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + need >= n) return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return n;
}

// ---- JSON error location ----

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function charAt(s: string, i: number): string {
  const c = s.codePointAt(i);
  return c === undefined ? '' : String.fromCodePoint(c);
}

/** Where a line's JSON goes wrong: the 1-based column and what is wrong there. */
type JsonErrorSpot = { column: number; message: string };

function errorAt(at: number, message: string): JsonErrorSpot {
  return { column: at + 1, message };
}

/**
 * Finds the first JSON syntax error in `s` (which JSON.parse rejected) and explains it. The
 * scanner is iterative, so deep nesting cannot overflow the stack.
 */
export function locateJsonError(s: string): JsonErrorSpot {
  return new JsonErrorScanner(s).locate();
}

/** The scanner of {@link locateJsonError}: a cursor, the open brackets, and what comes next. */
class JsonErrorScanner {
  private i = 0;
  private readonly n: number;
  private readonly stack: number[] = []; // 0x7b '{' or 0x5b '['
  /** States: expecting a value, or having just finished one. */
  private expectValue = true;

  constructor(private readonly s: string) {
    this.n = s.length;
  }

  locate(): JsonErrorSpot {
    this.skipWs();
    for (;;) {
      const e = this.expectValue ? this.scanValue() : this.afterValue();
      if (e) return e;
    }
  }

  private skipWs(): void {
    while (this.i < this.n && WS.has(this.s.charCodeAt(this.i))) this.i++;
  }

  private unexpected(what: string): JsonErrorSpot {
    const { s, i, n } = this;
    return i >= n
      ? errorAt(i, `Unexpected end of line: expected ${what}`)
      : s.charCodeAt(i) === 0xfeff
        ? errorAt(i, 'Unexpected byte order mark (BOM) inside the file')
        : s.charCodeAt(i) === 0
          ? errorAt(i, `Unexpected NUL byte (0x00): expected ${what}`)
          : errorAt(i, `Unexpected ${JSON.stringify(charAt(s, i))}: expected ${what}`);
  }

  /** Scans the value at the cursor; an opening bracket leaves a value (or key) expected. */
  private scanValue(): JsonErrorSpot | null {
    const s = this.s;
    this.skipWs();
    if (this.i >= this.n) return this.unexpected('a value');
    const c = s.charCodeAt(this.i);
    if (c === 0x7b || c === 0x5b) return this.open(c);
    if (c === 0x22) {
      const e = this.scanString();
      if (e) return e;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const e = this.scanNumber();
      if (e) return e;
    } else {
      const word = /^[A-Za-z_]+/.exec(s.slice(this.i, this.i + 32))?.[0];
      if (word === 'true' || word === 'false' || word === 'null') this.i += word.length;
      else if (word) return errorAt(this.i, `Unexpected word '${word}': expected a value`);
      else return this.unexpected('a value');
    }
    this.expectValue = false;
    return null;
  }

  /** Enters the object or array whose bracket `c` is at the cursor. */
  private open(c: number): JsonErrorSpot | null {
    this.stack.push(c);
    this.i++;
    this.skipWs();
    if (this.s.charCodeAt(this.i) === (c === 0x7b ? 0x7d : 0x5d)) {
      this.stack.pop();
      this.i++;
      this.expectValue = false;
      return null;
    }
    return c === 0x7b ? this.expectKey() : null;
  }

  /** After a value: the end of the line, a closing bracket or a comma. */
  private afterValue(): JsonErrorSpot | null {
    this.skipWs();
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      if (this.i >= this.n) return errorAt(this.n, 'Invalid JSON');
      return errorAt(this.i, 'Unexpected text after the JSON value (one object per line)');
    }
    const close = top === 0x7b ? 0x7d : 0x5d;
    const c = this.s.charCodeAt(this.i);
    if (c === close) {
      this.stack.pop();
      this.i++;
      return null;
    }
    if (c === 0x2c) return this.afterComma(top, close);
    return this.unexpected(top === 0x7b ? "',' or '}'" : "',' or ']'");
  }

  private afterComma(top: number, close: number): JsonErrorSpot | null {
    const comma = this.i;
    this.i++;
    this.skipWs();
    if (this.s.charCodeAt(this.i) === close) return errorAt(comma, 'Trailing comma');
    if (top === 0x7b) {
      const e = this.expectKey();
      if (e) return e;
    }
    this.expectValue = true;
    return null;
  }

  /** Scans `"key" :` at the cursor (after whitespace), leaving it after the colon with a value expected. */
  private expectKey(): JsonErrorSpot | null {
    this.skipWs();
    if (this.s.charCodeAt(this.i) !== 0x22) {
      if (this.s.charCodeAt(this.i) === 0x27)
        return errorAt(this.i, 'Property names must use double quotes');
      return this.unexpected('a property name in double quotes');
    }
    const e = this.scanString();
    if (e) return e;
    this.skipWs();
    if (this.s.charCodeAt(this.i) !== 0x3a) return this.unexpected("':'");
    this.i++;
    this.expectValue = true;
    return null;
  }

  /** Scans a string starting at the quote at the cursor; returns an error or moves past it. */
  private scanString(): JsonErrorSpot | null {
    const { s, n } = this;
    const open = this.i;
    this.i++;
    while (this.i < n) {
      const i = this.i;
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i++;
        return null;
      }
      if (c === 0) return errorAt(i, 'NUL byte (0x00) in string: write it as \\u0000');
      if (c < 0x20)
        return errorAt(i, 'Unescaped control character in string (use \\n, \\t, \\u00XX)');
      if (c === 0x5c) {
        const e = this.scanEscape();
        if (e) return e;
        continue;
      }
      this.i++;
    }
    return errorAt(open, 'Unterminated string (no closing quote on this line)');
  }

  /** Scans the escape whose backslash is at the cursor. */
  private scanEscape(): JsonErrorSpot | null {
    const { s, n, i } = this;
    if (s.charCodeAt(i + 1) === 0x75) {
      for (let k = 2; k < 6; k++) {
        if (!/[0-9a-fA-F]/.test(s.charAt(i + k))) {
          return errorAt(i, 'Invalid \\u escape: expected 4 hex digits');
        }
      }
      this.i += 6;
      return null;
    }
    if (!'"\\/bfnrt'.includes(s.charAt(i + 1)) || i + 1 >= n) {
      return errorAt(i, `Invalid escape ${JSON.stringify(s.slice(i, i + 2))} in string`);
    }
    this.i += 2;
    return null;
  }

  private scanNumber(): JsonErrorSpot | null {
    const { s, i } = this;
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(s.slice(i, i + 400));
    if (!m || m[0] === '-') return errorAt(i, 'Invalid number');
    const after = s.charAt(i + m[0].length);
    if (/[0-9.eE+-]/.test(after) && after !== '') return errorAt(i, 'Invalid number');
    this.i += m[0].length;
    return null;
  }
}

// ---- Python repr detection ----

/**
 * If `s` is a Python dict literal (str(dict) / repr output: single-quoted strings, True, False,
 * None, tuples), returns the 1-based column of its first Python-only token; otherwise undefined.
 */
export function pythonReprColumn(s: string): number | undefined {
  return new PythonReprScanner(s).firstPythonColumn();
}

/** The recursive-descent recogniser of {@link pythonReprColumn}. */
class PythonReprScanner {
  private i = 0;
  private readonly n: number;
  private firstPython = -1;

  constructor(private readonly s: string) {
    this.n = s.length;
  }

  firstPythonColumn(): number | undefined {
    const s = this.s;
    this.ws();
    if (s[this.i] !== '{') return undefined;
    if (!this.value(0)) return undefined;
    this.ws();
    if (this.i !== this.n || this.firstPython < 0) return undefined;
    return this.firstPython + 1;
  }

  private mark(at: number): void {
    if (this.firstPython < 0) this.firstPython = at;
  }

  private ws(): void {
    const s = this.s;
    while (this.i < this.n && (s[this.i] === ' ' || s[this.i] === '\t')) this.i++;
  }

  /** Recursive descent with a depth cap; deeper input is simply not recognised. */
  private value(depth: number): boolean {
    if (depth > 200) return false;
    const s = this.s;
    this.ws();
    const c = s[this.i];
    if (c === '{') return this.dict(depth);
    if (c === '[' || c === '(') return this.sequence(c, depth);
    if ((c === 'b' || c === 'u' || c === 'r') && (s[this.i + 1] === "'" || s[this.i + 1] === '"')) {
      // A bytes or unicode prefix (b'..', u'..') only appears in Python.
      this.mark(this.i);
      this.i++;
      return this.value(depth);
    }
    if (c === "'" || c === '"') return this.quoted(c);
    const word = /^(True|False|None|-?[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?j?|-?inf|nan)/.exec(
      s.slice(this.i, this.i + 64),
    );
    if (!word) return false;
    if (/^(True|False|None)$/.test(word[0])) this.mark(this.i);
    this.i += word[0].length;
    return true;
  }

  /** `{key: value, ...}` with the cursor at the `{`. */
  private dict(depth: number): boolean {
    const s = this.s;
    this.i++;
    this.ws();
    if (s[this.i] === '}') {
      this.i++;
      return true;
    }
    for (;;) {
      if (!this.value(depth + 1)) return false;
      this.ws();
      if (s[this.i] !== ':') return false;
      this.i++;
      if (!this.value(depth + 1)) return false;
      const end = this.separator('}');
      if (end !== undefined) return end;
    }
  }

  /** A list `[...]` or a tuple `(...)` with the cursor at its opening bracket. */
  private sequence(c: '[' | '(', depth: number): boolean {
    const s = this.s;
    if (c === '(') this.mark(this.i);
    const close = c === '[' ? ']' : ')';
    this.i++;
    this.ws();
    if (s[this.i] === close) {
      this.i++;
      return true;
    }
    for (;;) {
      if (!this.value(depth + 1)) return false;
      const end = this.separator(close);
      if (end !== undefined) return end;
    }
  }

  /**
   * After an item: a comma (then maybe the closing bracket) or the closing bracket. Returns true
   * when the container closed, false when it is malformed, undefined when another item follows.
   */
  private separator(close: string): boolean | undefined {
    const s = this.s;
    this.ws();
    if (s[this.i] === ',') {
      this.i++;
      this.ws();
      if (s[this.i] === close) {
        this.i++;
        return true;
      }
      return undefined;
    }
    if (s[this.i] === close) {
      this.i++;
      return true;
    }
    return false;
  }

  /** A string in quote `c` (single quotes only appear in Python). */
  private quoted(c: string): boolean {
    const { s, n } = this;
    if (c === "'") this.mark(this.i);
    this.i++;
    while (this.i < n && s[this.i] !== c) {
      if (s[this.i] === '\\') this.i++;
      this.i++;
    }
    if (this.i >= n) return false;
    this.i++;
    return true;
  }
}
