/**
 * Compressed files recognised by their magic bytes (src/core/jsonl/compression.ts): real gzip
 * output from zlib, the zstd and xz magic from their format specifications; and the worker's
 * diagnostics, which say once that the file is compressed instead of listing every line.
 */
import { strict as assert } from 'node:assert';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { compressedFileMessage, detectCompression } from '../../src/core/jsonl';
import { buildDiagnostics } from '../../src/worker/editor/diagnostics';

const rows = Array.from({ length: 500 }, (_, i) => JSON.stringify({ text: `row ${i}` })).join('\n');

describe('compressed files', () => {
  test('gzip, zstd and xz are recognised from the first bytes; JSONL is not', () => {
    assert.equal(detectCompression(gzipSync(rows)), 'gzip');
    assert.equal(detectCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x10])), 'zstd');
    assert.equal(detectCompression(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0])), 'xz');
    assert.equal(detectCompression(Buffer.from(rows)), undefined);
    assert.equal(detectCompression(Uint8Array.from([0x1f])), undefined, 'too short to tell');
    assert.equal(
      detectCompression(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01])),
      undefined,
    );
  });

  test('the message says plainly that the file is compressed, and how to unpack it', () => {
    assert.equal(
      compressedFileMessage('gzip', 'data.jsonl'),
      'This file is compressed (gzip), not plain JSON Lines, so its lines cannot be read. ' +
        'Decompress it first, for example with: gunzip -k data.jsonl',
    );
  });

  test('a compressed file gets one diagnostic, not one per line', () => {
    const invalid = Array.from({ length: 556 }, (_, i) => ({
      index: i,
      error: { kind: 'invalid-utf8' as const, message: 'Invalid UTF-8', column: 1 },
      startChar: 0,
      endChar: 1,
    }));
    const d = buildDiagnostics({
      invalid,
      invalidCount: 556,
      maxProblems: 1000,
      jsonArray: false,
      compression: 'zstd',
      fileName: 'web.jsonl',
      firstLineLength: 40,
    });
    assert.equal(d.length, 1);
    assert.equal(d[0].code, 'compressed');
    assert.match(String(d[0].message), /^This file is compressed \(zstd\).*zstd -d web\.jsonl$/);
  });
});
