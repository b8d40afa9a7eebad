/**
 * Compressed files recognised by their magic bytes (src/core/jsonl/compression.ts): real gzip
 * output from zlib, the zstd and xz magic from their format specifications; and the worker's
 * diagnostics, which say once that the file is compressed instead of listing every line (that
 * the dataset view reads it for gzip and zstd, how to unpack it for xz).
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

  test('the message says plainly that the file is compressed, and what to do', () => {
    assert.equal(
      compressedFileMessage('gzip', 'data.jsonl'),
      'This file is compressed (gzip), so the text editor cannot show its lines. ' +
        'Open it in the Winnow Dataset View, which reads it directly (read-only).',
    );
    assert.equal(
      compressedFileMessage('xz', 'data.jsonl'),
      'This file is compressed (xz), not plain JSON Lines, so its lines cannot be read: ' +
        'Winnow reads gzip and zstd files directly, but not xz. ' +
        'Decompress it first, for example with: unxz -k data.jsonl',
    );
  });

  test('a compressed file gets one diagnostic, not one per line: information for zstd, an error for xz', () => {
    const invalid = Array.from({ length: 556 }, (_, i) => ({
      index: i,
      error: { kind: 'invalid-utf8' as const, message: 'Invalid UTF-8', column: 1 },
      startChar: 0,
      endChar: 1,
    }));
    const input = {
      invalid,
      invalidCount: 556,
      maxProblems: 1000,
      jsonArray: false,
      fileName: 'web.jsonl',
      firstLineLength: 40,
    };
    const zstd = buildDiagnostics({ ...input, compression: 'zstd' });
    assert.equal(zstd.length, 1);
    assert.equal(zstd[0].code, 'compressed');
    assert.equal(zstd[0].severity, 3, 'Information: the file is read');
    assert.match(String(zstd[0].message), /^This file is compressed \(zstd\).*Dataset View/);
    const xz = buildDiagnostics({ ...input, compression: 'xz' });
    assert.equal(xz.length, 1);
    assert.equal(xz[0].severity, 1, 'Error: the file cannot be read');
    assert.match(String(xz[0].message), /^This file is compressed \(xz\).*unxz -k web\.jsonl$/);
  });
});
