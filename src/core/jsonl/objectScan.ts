/**
 * A structural scan of one JSONL line's bytes for the common case of the full-file row scan: a
 * JSON object of flat top-level values. It validates the line as JSON.parse would (UTF-8 included)
 * without building any value, and gives what the row scan keeps of a valid row: its top-level keys
 * in order and the length of its text (see `textChars` in rowColumns.ts) for the flat schemas.
 *
 * It never says a line is invalid: it answers "a JSON object, with these facts" or "not sure", and
 * the caller takes the exact path (UTF-8 decode, JSON.parse, `parseLine`) for the rest. "Not sure"
 * covers every line that is not a JSON object, and a few valid ones whose facts would differ from a
 * plain reading of the bytes: duplicate keys (JSON.parse keeps the last value), keys that start
 * with a digit (an integer key such as "1" comes first in a parsed object's key order), keys with
 * escapes, a byte order mark, and a row whose joined field is neither a string nor null.
 *
 * Why hand-written: JSON.parse builds every string and object of every row (most of the scan's time
 * before), and no maintained JSON validator reads bytes in place with these facts.
 */

/** What a schema reads as a row's text, from its top-level values. */
export type TextRule =
  /** All non-empty top-level strings, in key order, joined by a blank line (`unknown`). */
  | { readonly kind: 'all' }
  /** One field's string, else as `all` (`text`). */
  | { readonly kind: 'field'; readonly field: string }
  /** These fields' non-empty strings joined by a blank line; `all` when none is present. */
  | { readonly kind: 'joined'; readonly fields: readonly string[] };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Value kinds of the top-level keys. */
const STRING = 0;
const EMPTY_STRING = 1;
const NULL = 2;
const OTHER = 3;

/** Distinct key names remembered; a file with more (keys that are ids) takes the exact path. */
const MAX_KEYS = 4096;

/** 1 for the bytes that stand for themselves in a JSON string: printable ASCII but `"` and `\\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;
/** 1 for the bytes that may follow a backslash in a two-character escape. */
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;

/** JSON whitespace inside a line (a line holds no `\n`). */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(b[i])) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** The hex digits `b[i, i+4)` as a number (they are known to be hex). */
function hex4(b: Uint8Array, i: number): number {
  let v = 0;
  for (let k = i; k < i + 4; k++) {
    const c = b[k];
    v = (v << 4) | (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
  }
  return v;
}

function isCont(c: number): boolean {
  return (c & 0xc0) === 0x80;
}

/**
 * Length of the valid UTF-8 sequence whose lead byte (>= 0x80) is at `i`, or 0 when it is not one
 * (the same rules as a fatal UTF-8 decoder: no overlong forms, no surrogates, at most U+10FFFF).
 */
function utf8Length(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c >= 0xc2 && c <= 0xdf) return i + 1 < end && isCont(b[i + 1]) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (i + 2 >= end) return 0;
    const c1 = b[i + 1];
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return c1 >= lo && c1 <= hi && isCont(b[i + 2]) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (i + 3 >= end) return 0;
    const c1 = b[i + 1];
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return c1 >= lo && c1 <= hi && isCont(b[i + 2]) && isCont(b[i + 3]) ? 4 : 0;
  }
  return 0;
}

/** Past the number at `i`, or -1 when it is not a JSON number there. */
function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else if (b[i] >= 0x31 && b[i] <= 0x39) while (++i < end && isDigit(b[i]));
  else return -1;
  if (i < end && b[i] === 0x2e) {
    if (++i >= end || !isDigit(b[i])) return -1;
    while (++i < end && isDigit(b[i]));
  }
  if (i < end && (b[i] | 0x20) === 0x65) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i])) return -1;
    while (++i < end && isDigit(b[i]));
  }
  return i;
}

/** Past `true`, `false` or `null` at `i`, or -1. */
function skipLiteral(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c === 0x74 || c === 0x6e) {
    if (i + 4 > end) return -1;
    const ok =
      c === 0x74
        ? b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65
        : b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c;
    return ok ? i + 4 : -1;
  }
  if (c !== 0x66 || i + 5 > end) return -1;
  const ok = b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65;
  return ok ? i + 5 : -1;
}

/** See the module comment. One scanner per file scan: it remembers the keys it has seen. */
export class ObjectScanner {
  /** Keys of the last accepted row, as indices into {@link keyNames}, in order (the first
   * {@link keyCount}; the array is reused from row to row). */
  readonly rowKeys: number[] = [];
  /** Keys of the last accepted row. */
  keyCount = 0;
  /** Text length of the last accepted row (code points, as `countChars` counts). */
  textChars = 0;
  /** Every key name seen so far, by index. */
  readonly keyNames: string[] = [];

  /** What the last scanned string held: UTF-16 units that are not low surrogates. */
  private stringChars = 0;
  /** Where the key {@link keyAt} found ends (its closing quote). */
  private keyClose = 0;
  private readonly keyBytes: Uint8Array[] = [];
  private readonly keyByName = new Map<string, number>();
  /** Per key: its index in the rule's fields (0 for `field`), or -1. */
  private readonly keyRole: number[] = [];
  /** Per key: the row (stamp) it was last seen in, to find duplicates. */
  private readonly keySeen: number[] = [];
  private stamp = 0;
  /** Per position in a row: the key found there in the last row that had one. */
  private readonly keyGuess: number[] = [];
  /** Per key of the row being scanned: its value's kind and, for a string, its length. */
  private readonly valueKind: number[] = [];
  private readonly valueChars: number[] = [];
  /** Open brackets of the nested value being skipped (1 = object, 0 = array). */
  private stack = new Uint8Array(64);

  constructor(private readonly rule: TextRule) {}

  /**
   * True when `b[start, end)` is certainly one JSON object (leading and trailing JSON whitespace
   * allowed, no BOM) and {@link rowKeys} and {@link textChars} now hold its facts; false when not
   * sure (see the module comment).
   */
  scan(b: Uint8Array, start: number, end: number): boolean {
    let i = skipSpace(b, start, end);
    if (i >= end || b[i] !== OPEN_OBJECT) return false;
    i = skipSpace(b, i + 1, end);
    this.stamp++;
    this.keyCount = 0;
    if (i < end && b[i] === CLOSE_OBJECT) i++;
    else i = this.members(b, i, end);
    if (i < 0 || skipSpace(b, i, end) !== end) return false;
    const chars = this.computeChars();
    if (chars < 0) return false;
    this.textChars = chars;
    return true;
  }

  /** The top-level members from the first key to past the closing brace, or -1. */
  private members(b: Uint8Array, i: number, end: number): number {
    for (let k = 0; ; k++) {
      if (i >= end || b[i] !== QUOTE) return -1;
      const key = this.keyAt(b, i + 1, end, k);
      if (key < 0 || this.keySeen[key] === this.stamp) return -1;
      const close = this.keyClose;
      this.keySeen[key] = this.stamp;
      this.rowKeys[k] = key;
      this.keyCount = k + 1;
      i = skipSpace(b, close + 1, end);
      if (i >= end || b[i] !== COLON) return -1;
      i = this.memberValue(b, skipSpace(b, i + 1, end), end, k);
      if (i < 0) return -1;
      i = skipSpace(b, i, end);
      if (i >= end) return -1;
      if (b[i] === CLOSE_OBJECT) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipSpace(b, i + 1, end);
    }
  }

  /** Scans the value of the k-th member at `i`, noting its kind and text; past it, or -1. */
  private memberValue(b: Uint8Array, i: number, end: number, k: number): number {
    if (i >= end) return -1;
    const c = b[i];
    if (c === QUOTE) {
      const after = this.string(b, i + 1, end);
      this.valueKind[k] = after === i + 2 ? EMPTY_STRING : STRING;
      this.valueChars[k] = this.stringChars;
      return after;
    }
    this.valueKind[k] = c === 0x6e ? NULL : OTHER;
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) return this.nested(b, i, end);
    return this.scalar(b, i, end);
  }

  /** Past a number or a literal at `i`, or -1. */
  private scalar(b: Uint8Array, i: number, end: number): number {
    const c = b[i];
    return c === 0x2d || isDigit(c) ? skipNumber(b, i, end) : skipLiteral(b, i, end);
  }

  /**
   * The closing quote of a key whose text starts at `i`, or -1 for a key this scan does not read
   * (escapes, control characters, invalid UTF-8, no closing quote).
   */
  private keyEnd(b: Uint8Array, i: number, end: number): number {
    while (i < end) {
      const c = b[i];
      if (c === QUOTE) return i;
      if (c === BACKSLASH || c < 0x20) return -1;
      if (c < 0x80) i++;
      else {
        const n = utf8Length(b, i, end);
        if (n === 0) return -1;
        i += n;
      }
    }
    return -1;
  }

  /**
   * The index of the k-th key of a row, whose text starts at `from`, with {@link keyClose} at its
   * closing quote; -1 for a key this scan does not read (see {@link keyEnd}), a key starting with a
   * digit (see the module comment), or when too many distinct keys were seen. Tries the previous
   * row's k-th key first: rows of a file mostly have the same keys in the same order.
   */
  private keyAt(b: Uint8Array, from: number, end: number, k: number): number {
    const guess = this.keyGuess[k];
    if (guess !== undefined) {
      const to = from + this.keyBytes[guess].length;
      if (to < end && b[to] === QUOTE && this.sameKey(guess, b, from)) {
        this.keyClose = to;
        return guess;
      }
    }
    const to = this.keyEnd(b, from, end);
    if (to < 0 || (from < to && isDigit(b[from]))) return -1;
    this.keyClose = to;
    const name = Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('utf8');
    let key = this.keyByName.get(name);
    if (key === undefined) {
      if (this.keyNames.length >= MAX_KEYS) return -1;
      key = this.keyNames.length;
      this.keyNames.push(name);
      this.keyBytes.push(b.slice(from, to));
      this.keyByName.set(name, key);
      this.keyRole.push(this.roleOf(name));
      this.keySeen.push(0);
    }
    this.keyGuess[k] = key;
    return key;
  }

  /** Whether the bytes at `from` are those of key `key` (the caller checks the length fits). */
  private sameKey(key: number, b: Uint8Array, from: number): boolean {
    const bytes = this.keyBytes[key];
    for (let j = 0; j < bytes.length; j++) if (bytes[j] !== b[from + j]) return false;
    return true;
  }

  private roleOf(name: string): number {
    const rule = this.rule;
    if (rule.kind === 'field') return name === rule.field ? 0 : -1;
    if (rule.kind === 'joined') return rule.fields.indexOf(name);
    return -1;
  }

  /**
   * Past the closing quote of the string whose text starts at `i` (just after the opening quote),
   * or -1 when it is not a valid JSON string; {@link stringChars} is its length as `countChars`
   * counts it (UTF-16 units that are not low surrogates: one per UTF-8 sequence, one per escape
   * other than `\uDC00`..`\uDFFF`).
   */
  private string(b: Uint8Array, i: number, end: number): number {
    let n = 0;
    for (;;) {
      // A run of plain characters (printable ASCII other than the quote and the backslash).
      const run = i;
      while (i < end && PLAIN[b[i]] === 1) i++;
      n += i - run;
      if (i >= end) return -1;
      const c = b[i];
      if (c === QUOTE) {
        this.stringChars = n;
        return i + 1;
      }
      if (c >= 0x80) {
        const len = utf8Length(b, i, end);
        if (len === 0) return -1;
        i += len;
        n++;
      } else if (c === BACKSLASH) {
        const e = i + 1 < end ? b[i + 1] : -1;
        if (e === 0x75) {
          if (i + 6 > end) return -1;
          if (!isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5]))
            return -1;
          const unit = hex4(b, i + 2);
          if (unit < 0xdc00 || unit > 0xdfff) n++;
          i += 6;
        } else if (e >= 0 && ESCAPE[e] === 1) {
          i += 2;
          n++;
        } else return -1;
      } else return -1; // a control character
    }
  }

  /** Past the array or object whose bracket is at `i` (any depth), or -1 when it is not valid. */
  private nested(b: Uint8Array, i: number, end: number): number {
    let depth = 0;
    for (;;) {
      // A value is expected at `i`.
      if (i >= end) return -1;
      const c = b[i];
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.push(depth++, c === OPEN_OBJECT ? 1 : 0);
        i = skipSpace(b, i + 1, end);
        if (i < end && b[i] === (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          i++;
          depth--;
        } else {
          if (c === OPEN_OBJECT) i = this.nestedKey(b, i, end);
          if (i < 0) return -1;
          continue;
        }
      } else {
        i = c === QUOTE ? this.string(b, i + 1, end) : this.scalar(b, i, end);
        if (i < 0) return -1;
      }
      // After a value: close brackets, then a comma and the next value, or the end.
      for (;;) {
        if (depth === 0) return i;
        i = skipSpace(b, i, end);
        if (i >= end) return -1;
        const inObject = this.stack[depth - 1] === 1;
        if (b[i] === (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          i++;
          depth--;
          continue;
        }
        if (b[i] !== COMMA) return -1;
        i = skipSpace(b, i + 1, end);
        if (inObject) i = this.nestedKey(b, i, end);
        if (i < 0) return -1;
        break;
      }
    }
  }

  /** `"key" :` at `i` inside a nested object; past the colon and the space after it, or -1. */
  private nestedKey(b: Uint8Array, i: number, end: number): number {
    if (i >= end || b[i] !== QUOTE) return -1;
    i = this.string(b, i + 1, end);
    if (i < 0) return -1;
    i = skipSpace(b, i, end);
    if (i >= end || b[i] !== COLON) return -1;
    return skipSpace(b, i + 1, end);
  }

  private push(depth: number, open: number): void {
    if (depth >= this.stack.length) {
      const grown = new Uint8Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
    }
    this.stack[depth] = open;
  }

  /** The row's text length under the rule, or -1 when the exact path must compute it. */
  private computeChars(): number {
    const rule = this.rule;
    if (rule.kind === 'all') return this.allStringsChars();
    const keys = this.rowKeys;
    const n = this.keyCount;
    if (rule.kind === 'field') {
      for (let k = 0; k < n; k++)
        if (this.keyRole[keys[k]] === 0 && this.valueKind[k] <= EMPTY_STRING)
          return this.valueChars[k];
      return this.allStringsChars();
    }
    let present = false;
    for (let k = 0; k < n; k++) present ||= this.keyRole[keys[k]] >= 0;
    if (!present) return this.allStringsChars();
    let chars = 0;
    let parts = 0;
    for (let f = 0; f < rule.fields.length; f++) {
      for (let k = 0; k < n; k++) {
        if (this.keyRole[keys[k]] !== f) continue;
        const kind = this.valueKind[k];
        if (kind === OTHER) return -1;
        if (kind === STRING) {
          chars += this.valueChars[k];
          parts++;
        }
      }
    }
    return parts === 0 ? 0 : chars + 2 * (parts - 1);
  }

  private allStringsChars(): number {
    let chars = 0;
    let parts = 0;
    for (let k = 0; k < this.keyCount; k++) {
      if (this.valueKind[k] === STRING) {
        chars += this.valueChars[k];
        parts++;
      }
    }
    return parts === 0 ? 0 : chars + 2 * (parts - 1);
  }
}
