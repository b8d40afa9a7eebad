/**
 * The sparse line index (JsonlFile `lineIndex: 'sparse'`, src/core/jsonl/sparseLineIndex.ts):
 * the same rows as the full index on real files, for every read path (readRows windows, readRow,
 * spanOf, iterateRows batches, exportRows), with lines short and long (past 64 KiB), CRLF, BOM,
 * blank lines and a missing final newline; while indexing, after appends and rewrites; and at a
 * small fraction of the full index's memory.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CHECKPOINT_BYTES,
  CHECKPOINT_LINES,
  exportRows,
  JsonlFile,
  type JsonlFileOptions,
  type RawRow,
} from '../../src/core/jsonl';
import { expectedLines, Prng, tempDir, text, writeTemp } from './jsonlSupport';

const dir = tempDir('winnow-sparse-');
const SPARSE: JsonlFileOptions = { lineIndex: 'sparse' };

/** A file of `n` lines of random lengths, some past 64 KiB, with the usual line quirks. */
function corpus(rng: Prng, n: number, finalNewline: boolean): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (i === 0) lines.push('\ufeff{"bom":true}');
    else if (r < 0.05) lines.push('');
    else if (r < 0.08) lines.push(`{"crlf":${i}}\r`);
    else if (r < 0.1)
      lines.push(`{"long":"${'x'.repeat(CHECKPOINT_BYTES + rng.int(3 * CHECKPOINT_BYTES))}"}`);
    else if (r < 0.2) lines.push(`{"mid":"${'y'.repeat(rng.int(4000))}"}`);
    else lines.push(`{"i":${i},"t":"${'z'.repeat(rng.int(60))}"}`);
  }
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

const spanText = (s: { start: number; end: number; eolEnd: number }) =>
  `${s.start}-${s.end}-${s.eolEnd}`;

async function rowsOf(file: JsonlFile, batchBytes: number): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const batch of file.iterateRows(0, batchBytes)) out.push(...batch);
  return out;
}

for (const finalNewline of [true, false]) {
  test(`every read gives the full index's rows (final newline: ${finalNewline})`, async () => {
    const rng = new Prng(finalNewline ? 11 : 12);
    const content = corpus(rng, 2000, finalNewline);
    const path = writeTemp(dir, content);
    const full = await JsonlFile.open(path);
    const sparse = await JsonlFile.open(path, SPARSE);
    try {
      await Promise.all([full.whenIndexed(), sparse.whenIndexed()]);
      const expected = expectedLines(Buffer.from(content));
      assert.equal(sparse.lineCount, expected.length);
      assert.equal(sparse.lineCount, full.lineCount);
      for (let i = 0; i < full.lineCount; i++)
        assert.equal(spanText(await sparse.spanOf(i)), spanText(full.rowSpan(i)), `row ${i}`);
      for (let k = 0; k < 200; k++) {
        const start = rng.int(full.lineCount + 5);
        const count = rng.int(300);
        const [a, b] = await Promise.all([
          full.readRows(start, count),
          sparse.readRows(start, count),
        ]);
        assert.deepEqual(b.map(text), a.map(text), `window ${start}+${count}`);
        assert.deepEqual(
          b.map(r => [r.index, r.start]),
          a.map(r => [r.index, r.start]),
        );
      }
      for (const batchBytes of [1, 700, 64 << 10, 4 << 20]) {
        const rows = await rowsOf(sparse, batchBytes);
        assert.deepEqual(rows.map(text), expected.map(String), `batches of ${batchBytes}`);
        assert.deepEqual(
          rows.map(r => r.index),
          expected.map((_, i) => i),
        );
      }
      await assert.rejects(sparse.spanOf(full.lineCount), RangeError);
      assert.throws(() => sparse.rowSpan(0), /full line index/);
    } finally {
      await Promise.all([full.close(), sparse.close()]);
    }
  });
}

test('a checkpoint every 64 lines, or sooner after 64 KiB: a sixteenth of the full index', async () => {
  const n = 200_000;
  const lines = Array.from({ length: n }, (_, i) => `{"i":${i}}`);
  const path = writeTemp(dir, lines.join('\n') + '\n');
  const full = await JsonlFile.open(path);
  const sparse = await JsonlFile.open(path, SPARSE);
  try {
    await Promise.all([full.whenIndexed(), sparse.whenIndexed()]);
    assert.equal(sparse.lineCount, n);
    assert.ok(
      sparse.indexBytes * 10 < full.indexBytes,
      `sparse ${sparse.indexBytes} B vs full ${full.indexBytes} B`,
    );
    assert.ok(sparse.indexBytes / n < 0.6, `${sparse.indexBytes / n} bytes per line`);
    const [row] = await sparse.readRows(n - 1, 1);
    assert.equal(text(row), lines[n - 1]);
  } finally {
    await Promise.all([full.close(), sparse.close()]);
  }
  // Long lines: every line past 64 KiB from its block's start begins a block.
  const long = Array.from({ length: 10 }, (_, i) => `"${String(i).repeat(CHECKPOINT_BYTES)}"`);
  const longFile = await JsonlFile.open(writeTemp(dir, long.join('\n')), SPARSE);
  try {
    await longFile.whenIndexed();
    assert.deepEqual(
      (await longFile.readRows(0, 10)).map(r => r.bytes.length),
      long.map(l => l.length),
    );
    assert.ok(CHECKPOINT_LINES === 64);
  } finally {
    await longFile.close();
  }
});

test('rows are read while the sparse index is still being built', async () => {
  const n = 300_000;
  const lines = Array.from({ length: n }, (_, i) => `{"row":${i},"pad":"${'p'.repeat(i % 50)}"}`);
  const path = writeTemp(dir, lines.join('\n'));
  const file = await JsonlFile.open(path, { ...SPARSE, sliceBytes: 64 << 10 });
  try {
    const seen: string[] = [];
    // Reads of rows as they are indexed, and one pass that follows the indexer to the end.
    const [first] = await file.readRows(0, 1);
    assert.equal(text(first), lines[0]);
    for await (const batch of file.iterateRows(0, 100_000))
      for (const r of batch) seen.push(text(r));
    assert.equal(seen.length, n);
    assert.deepEqual(seen.slice(-3), lines.slice(-3));
    assert.ok(file.indexed);
  } finally {
    await file.close();
  }
});

test('appends and rewrites: the sparse index follows the file like the full one', async () => {
  const path = writeTemp(dir, '{"i":0}\n{"i":1}\n');
  const file = await JsonlFile.open(path, SPARSE);
  try {
    await file.whenIndexed();
    const more = Array.from({ length: 500 }, (_, i) => `{"i":${i + 2}}`).join('\n');
    appendFileSync(path, `${more}\n{"i":`);
    assert.equal(await file.checkForChanges(), 'appended');
    assert.equal(file.lineCount, 503);
    assert.equal(text(await file.readRow(502)), '{"i":');
    appendFileSync(path, '502}\n');
    assert.equal(await file.checkForChanges(), 'appended');
    assert.deepEqual((await file.readRows(500, 5)).map(text), [
      '{"i":500}',
      '{"i":501}',
      '{"i":502}',
    ]);
    writeFileSync(path, '{"v":"new"}\n{"v":"rows"}\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.equal(await file.checkForChanges(), 'rebuilt');
    await file.whenIndexed();
    assert.deepEqual((await file.readRows(0, 10)).map(text), ['{"v":"new"}', '{"v":"rows"}']);
    assert.deepEqual((await rowsOf(file, 4)).map(text), ['{"v":"new"}', '{"v":"rows"}']);
  } finally {
    await file.close();
  }
});

test('exportRows over a sparse index writes the same bytes as over the full index', async () => {
  const rng = new Prng(5);
  const content = corpus(rng, 1500, false);
  const path = writeTemp(dir, content);
  const full = await JsonlFile.open(path);
  const sparse = await JsonlFile.open(path, SPARSE);
  try {
    await Promise.all([full.whenIndexed(), sparse.whenIndexed()]);
    const picked: number[] = [];
    for (let i = 0; i < full.lineCount; i++) if (rng.next() < 0.3) picked.push(i);
    picked.push(full.lineCount - 1, 0, 17);
    await exportRows(full, picked, join(dir, 'full.jsonl'));
    await exportRows(sparse, picked, join(dir, 'sparse.jsonl'));
    assert.ok(
      readFileSync(join(dir, 'sparse.jsonl')).equals(readFileSync(join(dir, 'full.jsonl'))),
    );
  } finally {
    await Promise.all([full.close(), sparse.close()]);
  }
});
