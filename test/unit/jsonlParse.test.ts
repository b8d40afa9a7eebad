/**
 * parseLine: every quirk of real JSONL lines gets the exact result or error kind, column and
 * message that the Problems panel and the dataset view show.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { locateJsonError, parseLine, type ParsedRow } from '../../src/core/jsonl';

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map(p => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

function ok(r: ParsedRow): Record<string, unknown> {
  if (!r.ok) assert.fail(`expected ok, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}

function err(r: ParsedRow, kind: string, column?: number, message?: RegExp): void {
  if (r.ok) assert.fail(`expected ${kind}, got ok ${JSON.stringify(r.value)}`);
  assert.equal(r.error.kind, kind, r.error.message);
  assert.equal(r.error.column, column, `column for ${r.error.message}`);
  if (message) assert.match(r.error.message, message);
}

test('a JSON object parses, key order and values intact', () => {
  const v = ok(parseLine(enc('{"b":1,"a":[true,null,2.5e3],"c":{"d":"x"}}')));
  assert.deepEqual(Object.keys(v), ['b', 'a', 'c']);
  assert.deepEqual(v, { b: 1, a: [true, null, 2500], c: { d: 'x' } });
});

test('a trailing \\r (CRLF file) is stripped; a \\r elsewhere is not', () => {
  assert.deepEqual(ok(parseLine(enc('{"a":1}\r'))), { a: 1 });
  assert.deepEqual(ok(parseLine(enc('{"a":"x\\r"}\r'))), { a: 'x\r' });
});

test('a BOM is stripped on line 0 only; elsewhere it is a syntax error at column 1', () => {
  const line = bytes([0xef, 0xbb, 0xbf], '{"a":1}');
  assert.deepEqual(ok(parseLine(line, { firstLine: true })), { a: 1 });
  err(parseLine(line), 'syntax', 1, /byte order mark/);
});

test('\\u escapes decode, including surrogate pairs and lone surrogates', () => {
  const v = ok(parseLine(enc('{"s":"caf\\u00e9 \\ud83d\\ude00","t":"\\u0000","l":"\\ud800"}')));
  assert.equal(v.s, 'café 😀');
  assert.equal(v.t, '\u0000');
  assert.equal(v.l, '\ud800');
  // Raw UTF-8 multi-byte characters, 2, 3 and 4 bytes long.
  assert.equal(ok(parseLine(enc('{"s":"é€😀"}'))).s, 'é€😀');
});

test('invalid UTF-8 is flagged with the byte and the column of the first bad byte', () => {
  err(parseLine(bytes('{"a":"x', [0xff], '"}')), 'invalid-utf8', 8, /0xFF at byte 8/);
  // A multi-byte character before the bad byte counts as one column.
  err(parseLine(bytes('{"é":"', [0xc3, 0x28], '"}')), 'invalid-utf8', 7, /0xC3 at byte 8/);
  // Overlong encoding, an encoded surrogate, a sequence cut off at the end of the line.
  err(parseLine(bytes('{"a":"', [0xc0, 0x80], '"}')), 'invalid-utf8', 7);
  err(parseLine(bytes('{"a":"', [0xed, 0xa0, 0x80], '"}')), 'invalid-utf8', 7);
  err(parseLine(bytes('{"a":"', [0xe2, 0x82])), 'invalid-utf8', 7);
  // A stray continuation byte.
  err(parseLine(bytes('{"a":', [0x80], '1}')), 'invalid-utf8', 6);
});

test('empty and whitespace-only lines are "empty"', () => {
  for (const s of ['', ' ', '\t  ', '\r', '  \r'])
    err(parseLine(enc(s)), 'empty', undefined, /Empty line/);
  // A BOM alone on line 0 is an empty line too.
  err(parseLine(bytes([0xef, 0xbb, 0xbf]), { firstLine: true }), 'empty');
});

test('a Python dict repr is recognised, with the column of the first Python-only token', () => {
  err(parseLine(enc("{'a': 1, 'b': True}")), 'python-repr', 2, /Python dict/);
  err(parseLine(enc('{"a": 1, "b": None}')), 'python-repr', 15);
  err(parseLine(enc('{"a": (1, 2), "b": False}')), 'python-repr', 7);
  err(parseLine(enc("{'nested': {'x': [1, 'two', None]}, 'u': u'text'}")), 'python-repr', 2);
  // Single quotes inside a broken JSON line do not make it a Python dict.
  err(parseLine(enc('{"a": "it\'s", }')), 'syntax', 13, /Trailing comma/);
});

test('lines over the cap are "too-long" and are not parsed; the \\r does not count', () => {
  const line = enc('{"a":"12345"}'); // 13 bytes
  err(parseLine(line, { maxLineBytes: 12 }), 'too-long', undefined, /13 bytes.*12 bytes/);
  assert.deepEqual(ok(parseLine(line, { maxLineBytes: 13 })), { a: '12345' });
  assert.deepEqual(ok(parseLine(bytes('{"a":"12345"}\r'), { maxLineBytes: 13 })), { a: '12345' });
  // The cap applies before anything else: a long invalid line is too-long, not invalid.
  err(parseLine(new Uint8Array(20).fill(0xff), { maxLineBytes: 10 }), 'too-long');
});

test('valid JSON that is not an object is "not-object"', () => {
  err(parseLine(enc('[1,2]')), 'not-object', 1, /a JSON array, not a JSON object/);
  err(parseLine(enc('"text"')), 'not-object', 1, /a JSON string/);
  err(parseLine(enc(' 42 ')), 'not-object', 1, /a JSON number/);
  err(parseLine(enc('null')), 'not-object', 1, /null/);
  err(parseLine(enc('true')), 'not-object', 1, /JSON true/);
});

test('syntax errors report the column of the first error', () => {
  const cases: [string, number, RegExp][] = [
    ['{"a":1,}', 7, /Trailing comma/],
    ['[1,]', 3, /Trailing comma/],
    ['{"a" 1}', 6, /expected ':'/],
    ['{"a":1', 7, /end of line/],
    ['{a:1}', 2, /property name/],
    ['{\'a":1}', 2, /double quotes/],
    ['{"a":01}', 6, /Invalid number/],
    ['{"a":1.}', 6, /Invalid number/],
    ['{"a":-}', 6, /Invalid number/],
    ['{"a":"x\\q"}', 8, /Invalid escape/],
    ['{"a":"\\u12G4"}', 7, /\\u escape/],
    ['{"a":1} {"b":2}', 9, /after the JSON value/],
    ['{"a":"tab\there"}', 10, /control character/],
    ['{"a": NaN}', 7, /'NaN'/],
    ['{"a":"abc', 6, /Unterminated string/],
    ['{"a":1 "b":2}', 8, /',' or '}'/],
    ['{"a":[1 2]}', 9, /',' or ']'/],
    ['{"é":1,}', 7, /Trailing comma/],
    ['{"😀":1,}', 8, /Trailing comma/],
    ['}', 1, /expected a value/],
  ];
  for (const [line, column, message] of cases) {
    const r = parseLine(enc(line));
    assert.ok(!r.ok, line);
    assert.deepEqual(
      { kind: r.error.kind, column: r.error.column, match: message.test(r.error.message) },
      { kind: 'syntax', column, match: true },
      `${line}: ${r.error.message}`,
    );
  }
});

test('deeply nested input does not crash the parser or the error locator', () => {
  const deep = '{"a":' + '['.repeat(200000);
  const r = parseLine(enc(deep));
  assert.ok(!r.ok);
  assert.equal(r.error.kind, 'syntax');
  assert.equal(r.error.column, deep.length + 1);
  const python = '{"a":' + '('.repeat(100000);
  assert.equal(parseLine(enc(python)).ok, false);
});

test('locateJsonError agrees with JSON.parse on which lines are valid', () => {
  // On valid JSON the locator runs off the end; parseLine only calls it after JSON.parse fails.
  assert.match(locateJsonError('{"a":1').message, /end of line/);
});

test('a 100 MB line parses', () => {
  const big = Buffer.alloc(100 * 1024 * 1024, 0x61);
  big.write('{"text":"', 0);
  big.write('"}', big.length - 2);
  const v = ok(parseLine(big));
  assert.equal((v.text as string).length, big.length - 11);
  err(parseLine(big, { maxLineBytes: big.length - 1 }), 'too-long');
});
