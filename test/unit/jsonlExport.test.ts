/** Export (byte-exact, atomic), content hashes and duplicates, and JSON-array detection. */
import { strict as assert } from 'node:assert';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  contentDigest,
  contentHash,
  countDuplicates,
  legacyContentHash,
  murmur3x86128,
  detectJsonArrayFile,
  detectPrettyPrintedJson,
  exportRows,
} from '../../src/core/jsonl';
import { openAll, tempDir, writeTemp } from './jsonlSupport';

const dir = tempDir();
/** contentHash v2 of `abc` (MurmurHash3 x86_128, seed 0). */
const CONTENT_ABC = 'd1c6cd75a506b0a2a506b0a2a506b0a2';

test('export copies rows byte for byte: key order, number format, escapes, CRLF', async () => {
  const lines = [
    '{"z":1,"a":1.50,"e":1E+3}\r\n',
    '{"s":"\\u00e9\\ud83d\\ude00","raw":"é"}\n',
    'not json at all\n',
    '\n',
    '{"big":12345678901234567890}\n',
  ];
  const { file } = await openAll(writeTemp(dir, lines.join('')));
  try {
    const target = join(dir, 'subset.jsonl');
    const result = await exportRows(file, [4, 0, 2], target);
    const expected = lines[4] + lines[0] + lines[2];
    assert.equal(readFileSync(target, 'utf8'), expected);
    const bytes = Buffer.byteLength(expected);
    assert.deepEqual(result, { rows: 3, bytes, contentBytes: bytes });
  } finally {
    await file.close();
  }
});

test('exporting all rows reproduces the file; the last line and the BOM are handled', async () => {
  const content = '\ufeff{"a":1}\n{"b":2}\n{"c":3}';
  const { file } = await openAll(writeTemp(dir, content));
  try {
    const all = join(dir, 'all.jsonl');
    await exportRows(file, [0, 1, 2], all);
    assert.equal(readFileSync(all, 'utf8'), content);
    // The newline-less last line gets a newline when rows follow it; the BOM goes only first.
    const reordered = join(dir, 'reordered.jsonl');
    await exportRows(file, [2, 0, 1], reordered);
    assert.equal(readFileSync(reordered, 'utf8'), '{"c":3}\n{"a":1}\n{"b":2}\n');
    const empty = join(dir, 'empty.jsonl');
    assert.deepEqual(await exportRows(file, [], empty), {
      rows: 0,
      bytes: 0,
      contentBytes: 0,
    });
    assert.equal(readFileSync(empty, 'utf8'), '');
  } finally {
    await file.close();
  }
});

test('a failed export leaves the target untouched and no temporary file behind', async () => {
  const sub = join(dir, 'atomic');
  mkdirSync(sub);
  const source = writeTemp(sub, '{"a":1}\n{"b":2}\n', 'source.jsonl');
  const target = writeTemp(sub, 'precious\n', 'target.jsonl');
  const { file } = await openAll(source);
  try {
    await assert.rejects(exportRows(file, [0, 1, 7], target), RangeError);
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    // The source is rewritten (same size) without the index knowing: the export notices.
    writeFileSync(source, '{"x":1}\n{"y":2}\n');
    utimesSync(source, new Date(), new Date(Date.now() + 5000));
    await assert.rejects(exportRows(file, [0, 1], target), /changed on disk during the export/);
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    // The source shrinks under the export: reading fails midway.
    await file.whenIndexed();
    truncateSync(source, 3);
    await assert.rejects(exportRows(file, [0, 1], target), /changed on disk/);
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.deepEqual(readdirSync(sub).sort(), ['source.jsonl', 'target.jsonl']);
    await assert.rejects(exportRows(file, [0], join(sub, 'no-such-dir', 'x.jsonl')), /ENOENT/);
  } finally {
    await file.close();
  }
});

test('content hashes are stable, ignore CR and BOM, and see every other byte', () => {
  const h = contentHash(Buffer.from('{"a":1}'));
  assert.match(h, /^[0-9a-f]{32}$/);
  assert.equal(contentHash(Buffer.from('{"a":1}')), h);
  assert.equal(contentHash(Buffer.from('{"a":1}\r')), h);
  assert.equal(contentHash(Buffer.from('\ufeff{"a":1}')), h);
  assert.notEqual(contentHash(Buffer.from('{"a": 1}')), h);
  assert.notEqual(contentHash(Buffer.from('{"a":1} ')), h);
  // Version 1 (what old caches are keyed by): the SHA-256 of the bytes, truncated, a known value.
  assert.equal(legacyContentHash(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223');
  assert.equal(legacyContentHash(Buffer.from('\ufeffabc\r')), 'ba7816bf8f01cfea414140de5dae2223');
  // Version 2 is pinned: a change would orphan every cache keyed by it.
  assert.equal(contentHash(Buffer.from('abc')), CONTENT_ABC);
  const digest = new Uint8Array(20);
  contentDigest(Buffer.from('abc\r'), digest, 2);
  assert.equal(Buffer.from(digest.subarray(2, 18)).toString('hex'), CONTENT_ABC);
});

test('MurmurHash3 x86_128 passes SMHasher verification (0xB3ECE62A)', () => {
  // SMHasher's VerificationTest: hash bytes 0..i-1 with seed 256-i for i = 0..255, then the 4 KiB
  // of digests with seed 0; the first 4 bytes, little-endian, are the algorithm's fingerprint.
  const key = new Uint8Array(256);
  const digests = new Uint8Array(16 * 256);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    murmur3x86128(key, 0, i, digests, i * 16, 256 - i);
  }
  const final = new Uint8Array(16);
  murmur3x86128(digests, 0, digests.length, final, 0, 0);
  const verification = (final[0] | (final[1] << 8) | (final[2] << 16) | (final[3] << 24)) >>> 0;
  assert.equal(verification.toString(16), 'b3ece62a');
  // A range inside a larger array hashes like the same bytes on their own.
  const a = new Uint8Array(16);
  const b = new Uint8Array(16);
  murmur3x86128(digests, 7, 7 + 45, a, 0);
  murmur3x86128(digests.slice(7, 52), 0, 45, b, 0);
  assert.deepEqual(a, b);
  // And so does a view that starts inside its buffer, alternating with other buffers.
  for (const offset of [1, 3, 0, 5]) {
    const c = new Uint8Array(16);
    murmur3x86128(digests.subarray(7 - offset, 60), offset, offset + 45, c, 0);
    murmur3x86128(key, 0, 9, new Uint8Array(16), 0);
    assert.deepEqual(c, b);
  }
});

test('countDuplicates counts rows whose content appeared before', async () => {
  const { file } = await openAll(
    writeTemp(dir, '{"a":1}\n{"b":2}\n{"a":1}\r\n\n\n{"a":1}\n{"c":3}'),
  );
  try {
    assert.deepEqual(await countDuplicates(file), { rows: 7, distinct: 4, duplicates: 3 });
  } finally {
    await file.close();
  }
});

test('a pretty-printed JSON array saved as .jsonl is recognised; JSONL is not', () => {
  const b = (s: string) => Buffer.from(s);
  assert.equal(detectJsonArrayFile(b('[\n  {\n    "a": 1\n  }\n]\n')), true);
  assert.equal(detectJsonArrayFile(b('\ufeff  \n[{"a": 1},\n {"a": 2}]\n')), true);
  assert.equal(detectJsonArrayFile(b('[\r\n  {"a": 1}\r\n]')), true);
  assert.equal(detectJsonArrayFile(b('{"a":1}\n{"a":2}\n')), false);
  assert.equal(detectJsonArrayFile(b('[1,2]\n[3,4]\n')), false);
  assert.equal(detectJsonArrayFile(b('')), false);
  assert.equal(detectJsonArrayFile(b('[{"a":1}]')), false);
  assert.equal(detectPrettyPrintedJson(b('{\n  "a": 1\n}\n')), 'object');
  assert.equal(detectPrettyPrintedJson(b('{"a": \n')), undefined);
});
