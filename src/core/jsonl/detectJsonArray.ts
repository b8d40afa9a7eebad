/**
 * Detects a pretty-printed JSON document saved with a `.jsonl` name, the most common way a
 * "JSONL" file is not JSONL: its lines are fragments (`[`, `  {`, `    "a": 1,`), so every line
 * would be flagged. The view says so plainly instead of listing thousands of syntax errors.
 *
 * Only a file whose first lines read together as the start of one JSON value counts: a JSONL
 * file whose first line merely starts with `[` (a broken or truncated row) is not a JSON array,
 * and its lines keep their own errors.
 */
import { locateJsonError } from './parseLine';

const lenientDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** What kind of multi-line JSON document the file starts with, if any. */
export function detectPrettyPrintedJson(firstBytes: Uint8Array): 'array' | 'object' | undefined {
  let i = 0;
  if (firstBytes[0] === 0xef && firstBytes[1] === 0xbb && firstBytes[2] === 0xbf) i = 3;
  // Skip leading blank lines and spaces.
  while (i < firstBytes.length && isWs(firstBytes[i])) i++;
  const open = firstBytes[i];
  if (open !== 0x5b && open !== 0x7b) return undefined;
  let eol = firstBytes.indexOf(0x0a, i);
  if (eol < 0) eol = firstBytes.length;
  const firstLine = lenientDecoder.decode(firstBytes.subarray(i, eol)).trim();
  if (open === 0x7b) {
    // A JSONL file may start with a broken line; only a lone `{` is a sure sign of a document.
    return firstLine === '{' && startsOneJsonValue(firstBytes.subarray(i)) ? 'object' : undefined;
  }
  if (eol === firstBytes.length) return undefined;
  try {
    JSON.parse(firstLine);
    // A complete JSON value on the first line: a JSONL file whose line 0 is an array.
    return undefined;
  } catch {
    // `[` or `[{` followed by more lines: a JSON array spread over lines, if they fit together.
    return startsOneJsonValue(firstBytes.subarray(i)) ? 'array' : undefined;
  }
}

/**
 * True when the file starts like a pretty-printed JSON array (`[` on its own, or `[` followed by
 * content that continues on later lines) rather than one JSON object per line.
 */
export function detectJsonArrayFile(firstBytes: Uint8Array): boolean {
  return detectPrettyPrintedJson(firstBytes) === 'array';
}

/**
 * True when the complete lines of `head` are one JSON value, or the start of one: the only
 * error the JSON scanner finds is that the text ends too early. The last line is left out when
 * no newline ends it (the probe may have cut it short), unless the head is a whole JSON value.
 */
export function startsOneJsonValue(head: Uint8Array): boolean {
  const whole = lenientDecoder.decode(head);
  if (parses(whole)) return true;
  const lastNewline = head.lastIndexOf(0x0a);
  if (lastNewline < 0) return false;
  const text = lenientDecoder.decode(head.subarray(0, lastNewline + 1));
  if (parses(text)) return true;
  return locateJsonError(text).column === text.length + 1;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}
