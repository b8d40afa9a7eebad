/**
 * Property test: for many generated files (seeded), indexing, reading (by row, by window and
 * sequentially) and exporting round-trip the bytes exactly, with both scanners.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportRows, JsonlFile } from '../../src/core/jsonl';
import { expectedLines, Prng, tempDir, writeTemp } from './jsonlSupport';

const dir = tempDir();

const WORDS = ['a', 'é', '😀', '"', '\\', '\t', 'lorem', '\u2028', '中文', ' '];

function randomLine(rng: Prng): string {
  switch (rng.int(8)) {
    case 0:
      return '';
    case 1:
      // Occasionally longer than a 64 KiB read buffer and page.
      return 'x'.repeat(rng.int(6) === 0 ? 65_000 + rng.int(10_000) : rng.int(200));
    case 2:
      return "{'python': True}";
    default: {
      const obj: Record<string, unknown> = {};
      const keys = rng.int(5);
      for (let k = 0; k < keys; k++) {
        const words = Array.from({ length: rng.int(12) }, () => rng.pick(WORDS));
        obj[`k${rng.int(100)}`] = rng.int(4) === 0 ? rng.next() * 1e6 : words.join('');
      }
      return JSON.stringify(obj);
    }
  }
}

function randomFile(rng: Prng): Buffer {
  const lines = Array.from({ length: rng.int(rng.int(4) === 0 ? 300 : 40) }, () => {
    const eol = rng.int(6) === 0 ? '\r\n' : '\n';
    return randomLine(rng) + eol;
  });
  let content = lines.join('');
  if (rng.int(3) === 0) content = content.replace(/\r?\n$/, '');
  if (rng.int(6) === 0) content = '\ufeff' + content;
  return Buffer.from(content, 'utf8');
}

/** What exporting `indices` must produce, derived from the raw bytes alone. */
function expectedExport(content: Buffer, indices: number[]): Buffer {
  const lines = expectedLines(content);
  const lastHasNewline = content.length > 0 && content[content.length - 1] === 0x0a;
  const parts: Buffer[] = [];
  indices.forEach((idx, k) => {
    let line = lines[idx];
    if (idx === 0 && k > 0 && line.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) {
      line = line.subarray(3);
    }
    const isLastSource = idx === lines.length - 1;
    const eol = isLastSource && !lastHasNewline ? (k < indices.length - 1 ? '\n' : '') : '\n';
    parts.push(line, Buffer.from(eol));
  });
  return Buffer.concat(parts);
}

test('index, read and export round-trip 200 generated files byte for byte', async () => {
  const rng = new Prng(2024);
  for (let n = 0; n < 200; n++) {
    const content = randomFile(rng);
    const path = writeTemp(dir, content);
    const lines = expectedLines(content);
    const file = await JsonlFile.open(path, {
      readBufferBytes: 64 << 10,
      pageCacheBytes: 128 << 10,
      scalarScan: rng.int(2) === 0,
    });
    try {
      // Random windows, possibly before indexing finished.
      for (let k = 0; k < 5; k++) {
        const start = rng.int(lines.length + 2);
        const rows = await file.readRows(start, rng.int(20));
        for (const r of rows)
          assert.ok(Buffer.from(r.bytes).equals(lines[r.index]), `file ${n} row ${r.index}`);
      }
      await file.whenIndexed();
      assert.equal(file.lineCount, lines.length, `file ${n} line count`);
      const seen: Buffer[] = [];
      for await (const batch of file.iterateRows(0, 1 + rng.int(100_000))) {
        for (const r of batch) seen.push(Buffer.from(r.bytes));
      }
      assert.equal(Buffer.concat(seen).length, Buffer.concat(lines).length);
      seen.forEach((b, i) => assert.ok(b.equals(lines[i]), `file ${n} iterate row ${i}`));

      const all = join(dir, `all-${n}.jsonl`);
      await exportRows(
        file,
        lines.map((_, i) => i),
        all,
      );
      assert.ok(readFileSync(all).equals(content), `file ${n} full export`);

      const subset = Array.from({ length: rng.int(lines.length + 1) }, () => rng.int(lines.length));
      const part = join(dir, `part-${n}.jsonl`);
      await exportRows(file, subset, part);
      assert.ok(readFileSync(part).equals(expectedExport(content, subset)), `file ${n} subset`);
    } finally {
      await file.close();
    }
  }
});
