/**
 * Fuzz: random bytes and random mutations of valid JSON lines never crash the parser, every
 * result is well formed, and every line of a random file is accounted for exactly once.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { JsonlFile, parseLine, parseRow, type ParsedRow } from '../../src/core/jsonl';
import { expectedLines, Prng, tempDir, writeTemp } from './jsonlSupport';

const dir = tempDir();
const KINDS = new Set(['syntax', 'not-object', 'empty', 'invalid-utf8', 'python-repr', 'too-long']);

/** Checks the shape of a result and that it agrees with JSON.parse on the same bytes. */
function checkResult(
  bytes: Uint8Array,
  r: ParsedRow,
  maxLineBytes: number,
  firstLine = false,
): void {
  let body = Buffer.from(firstLine ? stripBom(bytes) : bytes);
  if (body[body.length - 1] === 0x0d) body = body.subarray(0, -1);
  if (r.ok) {
    assert.equal(typeof r.value, 'object');
    assert.ok(!Array.isArray(r.value));
    const reparsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    assert.deepEqual(r.value, reparsed);
    return;
  }
  assert.ok(KINDS.has(r.error.kind), r.error.kind);
  assert.ok(r.error.message.length > 0);
  if (r.error.column !== undefined) {
    assert.ok(Number.isInteger(r.error.column) && r.error.column >= 1);
    assert.ok(r.error.column <= body.length + 1, `column ${r.error.column} > ${body.length + 1}`);
  }
  if (r.error.kind === 'too-long') assert.ok(body.length > maxLineBytes);
  if (r.error.kind === 'syntax' || r.error.kind === 'python-repr') {
    // A line that JSON.parse accepts as an object is never reported as broken.
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      return;
    }
    assert.fail(`valid JSON ${JSON.stringify(parsed)} reported as ${r.error.kind}`);
  }
}

const ALPHABET = Buffer.from('{}[]:,"\'\\ abcTrueNonefalsenull0123456789.eE+-\t\r');

test('random bytes: zero crashes, well-formed results', () => {
  const rng = new Prng(99);
  for (let n = 0; n < 10_000; n++) {
    const len = rng.int(120);
    const line = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      line[i] = rng.int(3) === 0 ? rng.int(256) : ALPHABET[rng.int(ALPHABET.length)];
      if (line[i] === 0x0a) line[i] = 0x20;
    }
    const max = rng.int(10) === 0 ? rng.int(100) : 1000;
    const firstLine = rng.int(2) === 0;
    checkResult(line, parseLine(line, { maxLineBytes: max, firstLine }), max, firstLine);
  }
});

test('random mutations of valid JSON objects: zero crashes, results agree with JSON.parse', () => {
  const rng = new Prng(5);
  const insertions = [
    '"',
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '\\',
    "'",
    'True',
    'None',
    '\t',
    '\u0001',
    '\\u12',
    '1e',
    '-',
  ];
  for (let n = 0; n < 10_000; n++) {
    const obj = {
      text: 'héllo "world" 😀'.slice(0, rng.int(16)),
      n: rng.next() * 100,
      list: [1, null, true, { x: 'y' }],
      nested: { a: { b: [] } },
    };
    let s = rng.int(4) === 0 ? `{'text': 'x', 'ok': True, 'n': None}` : JSON.stringify(obj);
    let bytes = Buffer.from(s);
    const mutations = 1 + rng.int(3);
    for (let m = 0; m < mutations; m++) {
      const at = rng.int(s.length + 1);
      switch (rng.int(5)) {
        case 0:
          s = s.slice(0, at) + s.slice(at + 1);
          break;
        case 1:
          s = s.slice(0, at) + rng.pick(insertions) + s.slice(at);
          break;
        case 2:
          s = s.slice(0, at);
          break;
        case 3:
          s =
            s.slice(0, at) +
            s
              .slice(at, at + 2)
              .split('')
              .reverse()
              .join('') +
            s.slice(at + 2);
          break;
        default:
          s = ' '.repeat(rng.int(3)) + s;
      }
      bytes = Buffer.from(s);
    }
    if (rng.int(20) === 0) bytes = Buffer.concat([bytes, Buffer.from([0xc3])]);
    checkResult(bytes, parseLine(bytes), 1000);
  }
});

test('a random-bytes file: every line is a row, accounted for once, and parses to a result', async () => {
  const rng = new Prng(31337);
  for (let f = 0; f < 12; f++) {
    const size = rng.int(200_000);
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i++) content[i] = rng.int(30) === 0 ? 0x0a : rng.int(256);
    const path = writeTemp(dir, content);
    const file = await JsonlFile.open(path, { readBufferBytes: 64 << 10 });
    try {
      await file.whenIndexed();
      const expected = expectedLines(content);
      assert.equal(file.lineCount, expected.length);
      let bytes = 0;
      let results = 0;
      for await (const batch of file.iterateRows(0)) {
        for (const row of batch) {
          assert.ok(Buffer.from(row.bytes).equals(expected[row.index]));
          const r = parseRow(row, 1000);
          checkResult(row.bytes, r, 1000, row.index === 0);
          bytes += row.bytes.length + 1;
          results++;
        }
      }
      assert.equal(results, expected.length);
      // Every byte is in a row or is a row's newline.
      const trailing = size > 0 && content[size - 1] !== 0x0a ? 1 : 0;
      assert.equal(bytes - trailing, size);
    } finally {
      await file.close();
    }
  }
});

function stripBom(b: Uint8Array): Uint8Array {
  return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
}
