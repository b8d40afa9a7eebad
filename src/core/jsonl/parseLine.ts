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

/**
 * Finds the first JSON syntax error in `s` (which JSON.parse rejected) and explains it. The
 * scanner is iterative, so deep nesting cannot overflow the stack.
 */
export function locateJsonError(s: string): { column: number; message: string } {
  const n = s.length;
  const stack: number[] = []; // 0x7b '{' or 0x5b '['
  let i = 0;
  const err = (at: number, message: string) => ({ column: at + 1, message });
  const skipWs = () => {
    while (i < n && WS.has(s.charCodeAt(i))) i++;
  };
  const unexpected = (what: string) =>
    i >= n
      ? err(i, `Unexpected end of line: expected ${what}`)
      : s.charCodeAt(i) === 0xfeff
        ? err(i, 'Unexpected byte order mark (BOM) inside the file')
        : s.charCodeAt(i) === 0
          ? err(i, `Unexpected NUL byte (0x00): expected ${what}`)
          : err(i, `Unexpected ${JSON.stringify(charAt(s, i))}: expected ${what}`);

  // Scans a string starting at the quote at i; returns an error or advances i past it.
  const scanString = (): { column: number; message: string } | null => {
    const open = i;
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return null;
      }
      if (c === 0) return err(i, 'NUL byte (0x00) in string: write it as \\u0000');
      if (c < 0x20) return err(i, 'Unescaped control character in string (use \\n, \\t, \\u00XX)');
      if (c === 0x5c) {
        const e = s.charCodeAt(i + 1);
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            if (!/[0-9a-fA-F]/.test(s.charAt(i + k))) {
              return err(i, 'Invalid \\u escape: expected 4 hex digits');
            }
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(s.charAt(i + 1)) || i + 1 >= n) {
          return err(i, `Invalid escape ${JSON.stringify(s.slice(i, i + 2))} in string`);
        }
        i += 2;
        continue;
      }
      i++;
    }
    return err(open, 'Unterminated string (no closing quote on this line)');
  };

  const scanNumber = (): { column: number; message: string } | null => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(s.slice(i, i + 400));
    if (!m || m[0] === '-') return err(i, 'Invalid number');
    const after = s.charAt(i + m[0].length);
    if (/[0-9.eE+-]/.test(after) && after !== '') return err(i, 'Invalid number');
    i += m[0].length;
    return null;
  };

  // States: expecting a value, or having just finished one.
  let expectValue = true;
  skipWs();
  for (;;) {
    if (expectValue) {
      skipWs();
      if (i >= n) return unexpected('a value');
      const c = s.charCodeAt(i);
      if (c === 0x7b || c === 0x5b) {
        stack.push(c);
        i++;
        skipWs();
        if (s.charCodeAt(i) === (c === 0x7b ? 0x7d : 0x5d)) {
          stack.pop();
          i++;
          expectValue = false;
          continue;
        }
        if (c === 0x7b) {
          const e = expectKey();
          if (e) return e;
        }
        continue;
      }
      if (c === 0x22) {
        const e = scanString();
        if (e) return e;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        const e = scanNumber();
        if (e) return e;
      } else {
        const word = /^[A-Za-z_]+/.exec(s.slice(i, i + 32))?.[0];
        if (word === 'true' || word === 'false' || word === 'null') i += word.length;
        else if (word) return err(i, `Unexpected word '${word}': expected a value`);
        else return unexpected('a value');
      }
      expectValue = false;
      continue;
    }
    // After a value.
    skipWs();
    const top = stack[stack.length - 1];
    if (top === undefined) {
      if (i >= n) return err(n, 'Invalid JSON');
      return err(i, 'Unexpected text after the JSON value (one object per line)');
    }
    const close = top === 0x7b ? 0x7d : 0x5d;
    const c = s.charCodeAt(i);
    if (c === close) {
      stack.pop();
      i++;
      continue;
    }
    if (c === 0x2c) {
      const comma = i;
      i++;
      skipWs();
      if (s.charCodeAt(i) === close) return err(comma, 'Trailing comma');
      if (top === 0x7b) {
        const e = expectKey();
        if (e) return e;
      }
      expectValue = true;
      continue;
    }
    return unexpected(top === 0x7b ? "',' or '}'" : "',' or ']'");
  }

  // Scans `"key" :` at i (after whitespace), leaving i after the colon with expectValue set.
  function expectKey(): { column: number; message: string } | null {
    skipWs();
    if (s.charCodeAt(i) !== 0x22) {
      if (s.charCodeAt(i) === 0x27) return err(i, 'Property names must use double quotes');
      return unexpected('a property name in double quotes');
    }
    const e = scanString();
    if (e) return e;
    skipWs();
    if (s.charCodeAt(i) !== 0x3a) return unexpected("':'");
    i++;
    expectValue = true;
    return null;
  }
}

// ---- Python repr detection ----

/**
 * If `s` is a Python dict literal (str(dict) / repr output: single-quoted strings, True, False,
 * None, tuples), returns the 1-based column of its first Python-only token; otherwise undefined.
 */
export function pythonReprColumn(s: string): number | undefined {
  let i = 0;
  const n = s.length;
  let firstPython = -1;
  const mark = (at: number) => {
    if (firstPython < 0) firstPython = at;
  };
  const ws = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  // Recursive descent with a depth cap; deeper input is simply not recognised.
  const value = (depth: number): boolean => {
    if (depth > 200) return false;
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') {
        i++;
        return true;
      }
      for (;;) {
        if (!value(depth + 1)) return false;
        ws();
        if (s[i] !== ':') return false;
        i++;
        if (!value(depth + 1)) return false;
        ws();
        if (s[i] === ',') {
          i++;
          ws();
          if (s[i] === '}') {
            i++;
            return true;
          }
          continue;
        }
        if (s[i] === '}') {
          i++;
          return true;
        }
        return false;
      }
    }
    if (c === '[' || c === '(') {
      if (c === '(') mark(i);
      const close = c === '[' ? ']' : ')';
      i++;
      ws();
      if (s[i] === close) {
        i++;
        return true;
      }
      for (;;) {
        if (!value(depth + 1)) return false;
        ws();
        if (s[i] === ',') {
          i++;
          ws();
          if (s[i] === close) {
            i++;
            return true;
          }
          continue;
        }
        if (s[i] === close) {
          i++;
          return true;
        }
        return false;
      }
    }
    if ((c === 'b' || c === 'u' || c === 'r') && (s[i + 1] === "'" || s[i + 1] === '"')) {
      // A bytes or unicode prefix (b'..', u'..') only appears in Python.
      mark(i);
      i++;
      return value(depth);
    }
    if (c === "'" || c === '"') {
      if (c === "'") mark(i);
      i++;
      while (i < n && s[i] !== c) {
        if (s[i] === '\\') i++;
        i++;
      }
      if (i >= n) return false;
      i++;
      return true;
    }
    const word = /^(True|False|None|-?[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?j?|-?inf|nan)/.exec(
      s.slice(i, i + 64),
    );
    if (!word) return false;
    if (/^(True|False|None)$/.test(word[0])) mark(i);
    i += word[0].length;
    return true;
  };
  ws();
  if (s[i] !== '{') return undefined;
  if (!value(0)) return undefined;
  ws();
  if (i !== n || firstPython < 0) return undefined;
  return firstPython + 1;
}
