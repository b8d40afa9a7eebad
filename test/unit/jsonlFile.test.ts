/**
 * JsonlFile: the line index and row reads on real files in a temp folder. Exact rows for every
 * line-ending quirk, rows while indexing, bounded cache, huge lines, and change detection.
 */
import { strict as assert } from 'node:assert';
import {
  appendFileSync,
  mkdirSync,
  renameSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  FileUnavailableError,
  JsonlFile,
  NewlineScanner,
  parseRow,
  type IndexProgress,
} from '../../src/core/jsonl';
import { OffsetList } from '../../src/core/jsonl/offsetList';
import { expectedLines, openAll, Prng, tempDir, text, writeTemp } from './jsonlSupport';

const dir = tempDir();

test('CRLF, BOM, empty lines and a missing final newline give exact rows and offsets', async () => {
  const content = '\ufeff{"a":1}\r\n\r\n{"b":2}\n\n   \n{"c":3}\r\n{"d":4}';
  const { file, rows } = await openAll(writeTemp(dir, content));
  try {
    assert.equal(file.lineCount, 7);
    assert.deepEqual(
      rows.map(r => [r.index, r.start, text(r)]),
      [
        [0, 0, '\ufeff{"a":1}\r'],
        [1, 12, '\r'],
        [2, 14, '{"b":2}'],
        [3, 22, ''],
        [4, 23, '   '],
        [5, 27, '{"c":3}\r'],
        [6, 36, '{"d":4}'],
      ],
    );
    assert.deepEqual(
      rows.map(r => {
        const p = parseRow(r);
        return p.ok ? p.value : p.error.kind;
      }),
      [{ a: 1 }, 'empty', { b: 2 }, 'empty', 'empty', { c: 3 }, { d: 4 }],
    );
  } finally {
    await file.close();
  }
});

test('a final newline does not start a row; empty files have none; blank lines do', async () => {
  const cases: [string, string[]][] = [
    ['', []],
    ['\n', ['']],
    ['\n\n', ['', '']],
    ['{}', ['{}']],
    ['{}\n', ['{}']],
    ['{}\n{}', ['{}', '{}']],
    ['\r\n', ['\r']],
  ];
  for (const [content, expected] of cases) {
    const { file, rows } = await openAll(writeTemp(dir, content));
    assert.deepEqual(rows.map(text), expected, JSON.stringify(content));
    assert.equal(file.lineCount, expected.length);
    await file.close();
  }
});

test('the SIMD and the indexOf scanners index identically across buffer boundaries', async () => {
  const rng = new Prng(7);
  const parts: string[] = [];
  let size = 0;
  while (size < 600_000) {
    // Line lengths from 0 to ~3000 with newline clusters, so boundaries fall everywhere.
    const n = rng.int(8) === 0 ? 0 : rng.int(rng.int(2) ? 60 : 3000);
    const line = 'x'.repeat(n) + (rng.int(5) === 0 ? '\r' : '');
    parts.push(line);
    size += line.length + 1;
  }
  const content = parts.join('\n');
  const path = writeTemp(dir, content);
  const simd = await openAll(path, { readBufferBytes: 64 << 10 });
  const scalar = await openAll(path, { readBufferBytes: 64 << 10, scalarScan: true });
  try {
    const expected = expectedLines(Buffer.from(content));
    assert.equal(simd.file.lineCount, expected.length);
    assert.equal(scalar.file.lineCount, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.ok(Buffer.from(simd.rows[i].bytes).equals(expected[i]), `simd row ${i}`);
      assert.ok(Buffer.from(scalar.rows[i].bytes).equals(expected[i]), `scalar row ${i}`);
    }
  } finally {
    await simd.file.close();
    await scalar.file.close();
  }
});

test('rows are readable while indexing runs; progress is monotonic and ends done', async () => {
  const line = JSON.stringify({ text: 'lorem ipsum '.repeat(20) });
  const count = 60_000;
  const path = writeTemp(dir, `${line}\n`.repeat(count));
  // Small slices: indexing takes hundreds of event-loop turns, so the test does not race it.
  const file = await JsonlFile.open(path, { readBufferBytes: 64 << 10, sliceBytes: 4096 });
  const progress: IndexProgress[] = [];
  file.onProgress(p => progress.push(p));
  try {
    const first = await file.readRows(0, 100);
    assert.equal(first.length, 100);
    assert.ok(first.every(r => text(r) === line));
    assert.ok(file.bytesIndexedSoFar < file.totalBytes, 'first rows arrived before the end');
    assert.equal(file.indexed, false);
    // A row far ahead waits for the index to reach it.
    const far = await file.readRow(count - 1);
    assert.equal(far.start, (count - 1) * (line.length + 1));
    await file.whenIndexed();
    assert.equal(file.lineCount, count);
    assert.ok(progress.length >= 2);
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i].bytesIndexed >= progress[i - 1].bytesIndexed);
      assert.ok(progress[i].lines >= progress[i - 1].lines);
    }
    assert.deepEqual(progress[progress.length - 1], {
      lines: count,
      bytesIndexed: file.totalBytes,
      totalBytes: file.totalBytes,
      done: true,
    });
  } finally {
    await file.close();
  }
});

test('readRows clips at the end; out-of-range and invalid windows are rejected', async () => {
  const { file } = await openAll(writeTemp(dir, '{"i":0}\n{"i":1}\n{"i":2}\n'));
  try {
    assert.deepEqual((await file.readRows(1, 10)).map(text), ['{"i":1}', '{"i":2}']);
    assert.deepEqual(await file.readRows(3, 5), []);
    assert.deepEqual(await file.readRows(0, 0), []);
    await assert.rejects(file.readRow(3), RangeError);
    await assert.rejects(file.readRows(-1, 2), RangeError);
    await assert.rejects(file.readRows(0.5, 2), RangeError);
    assert.throws(() => file.rowSpan(3), RangeError);
    assert.deepEqual(file.rowSpan(2), { start: 16, end: 23, eolEnd: 24 });
  } finally {
    await file.close();
  }
});

test('random reads stay within the page cache bound and return exact bytes', async () => {
  const rng = new Prng(11);
  const lines = Array.from({ length: 20_000 }, (_, i) =>
    JSON.stringify({ i, s: 'y'.repeat(rng.int(400)) }),
  );
  const path = writeTemp(dir, lines.join('\n') + '\n');
  const { file } = await openAll(path, { pageCacheBytes: 256 << 10 });
  try {
    for (let k = 0; k < 500; k++) {
      const start = rng.int(lines.length);
      const rows = await file.readRows(start, 1 + rng.int(50));
      rows.forEach(r => assert.equal(text(r), lines[r.index]));
      assert.ok(file.pageCacheSize <= 256 << 10, `cache ${file.pageCacheSize}`);
    }
    assert.ok(file.pageCacheSize > 0);
  } finally {
    await file.close();
  }
});

test('a 100 MB line is indexed and read whole, between ordinary rows', async () => {
  const big = Buffer.alloc(100 * 1024 * 1024, 0x62);
  big.write('{"text":"', 0);
  big.write('"}', big.length - 2);
  const path = join(dir, 'big.jsonl');
  writeFileSync(path, Buffer.concat([Buffer.from('{"a":1}\n'), big, Buffer.from('\n{"b":2}\n')]));
  const file = await JsonlFile.open(path);
  try {
    const row = await file.readRow(1);
    assert.equal(row.start, 8);
    assert.ok(Buffer.from(row.bytes).equals(big));
    const parsed = parseRow(row);
    assert.ok(parsed.ok);
    assert.equal(text(await file.readRow(2)), '{"b":2}');
    const tooLong = parseRow(row, 1024);
    assert.ok(!tooLong.ok && tooLong.error.kind === 'too-long');
    assert.equal(file.lineCount, 3);
  } finally {
    await file.close();
  }
});

test('iterateRows walks every row in order in bounded batches', async () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `{"i":${i}}`);
  const { file } = await openAll(writeTemp(dir, lines.join('\n')));
  try {
    const seen: string[] = [];
    let batches = 0;
    for await (const batch of file.iterateRows(10, 4096)) {
      batches++;
      for (const r of batch) {
        assert.equal(r.index, 10 + seen.length);
        seen.push(text(r));
      }
    }
    assert.deepEqual(seen, lines.slice(10));
    assert.ok(batches > 10);
  } finally {
    await file.close();
  }
});

test('appends extend the index; rows before stay, the cache does not serve stale bytes', async () => {
  const path = writeTemp(dir, '{"i":0}\n{"i":1}\n');
  const { file } = await openAll(path);
  const events: string[] = [];
  file.onDidChange(k => events.push(k));
  try {
    assert.equal(await file.checkForChanges(), 'unchanged');
    appendFileSync(path, '{"i":2}\n{"i":');
    assert.equal(await file.checkForChanges(), 'appended');
    assert.equal(file.lineCount, 4);
    assert.deepEqual((await file.readRows(0, 10)).map(text), [
      '{"i":0}',
      '{"i":1}',
      '{"i":2}',
      '{"i":',
    ]);
    // The last line had no newline: an append continues it.
    appendFileSync(path, '34}\n{"i":5}\n');
    assert.equal(await file.checkForChanges(), 'appended');
    assert.deepEqual((await file.readRows(2, 10)).map(text), ['{"i":2}', '{"i":34}', '{"i":5}']);
    assert.deepEqual(events, ['appended', 'appended']);
  } finally {
    await file.close();
  }
});

test('rewrites, truncation and replacement rebuild the index and drop cached rows', async () => {
  const path = writeTemp(dir, '{"v":"aaaa"}\n{"v":"bbbb"}\n');
  const { file } = await openAll(path);
  const events: string[] = [];
  file.onDidChange(k => events.push(k));
  try {
    assert.equal(text(await file.readRow(0)), '{"v":"aaaa"}');
    // Same size, different bytes (mtime moved on explicitly, as a later write would).
    writeFileSync(path, '{"v":"cccc"}\n{"v":"dd"}\n\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.equal(await file.checkForChanges(), 'rebuilt');
    await file.whenIndexed();
    assert.deepEqual((await file.readRows(0, 5)).map(text), ['{"v":"cccc"}', '{"v":"dd"}', '']);

    truncateSync(path, 12);
    assert.equal(await file.checkForChanges(), 'rebuilt');
    await file.whenIndexed();
    assert.deepEqual((await file.readRows(0, 5)).map(text), ['{"v":"cccc"}']);

    // Growth that changes earlier bytes is not an append.
    writeFileSync(path, '{"v":"eeee"}\n{"v":"ffff"}\n');
    utimesSync(path, new Date(), new Date(Date.now() + 10000));
    assert.equal(await file.checkForChanges(), 'rebuilt');
    await file.whenIndexed();
    assert.equal(text(await file.readRow(0)), '{"v":"eeee"}');

    // An atomic save replaces the inode.
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, '{"v":"gggg"}\n');
    renameSync(tmp, path);
    assert.equal(await file.checkForChanges(), 'rebuilt');
    await file.whenIndexed();
    assert.deepEqual((await file.readRows(0, 5)).map(text), ['{"v":"gggg"}']);
    assert.deepEqual(events, ['rebuilt', 'rebuilt', 'rebuilt', 'rebuilt']);
  } finally {
    await file.close();
  }
});

test('watch() notices an append on its own', async () => {
  const path = writeTemp(dir, '{"i":0}\n');
  const { file } = await openAll(path);
  try {
    const changed = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no change event within 5 s')), 5000);
      file.onDidChange(k => {
        clearTimeout(timer);
        resolve(k);
      });
    });
    file.watch();
    appendFileSync(path, '{"i":1}\n');
    assert.equal(await changed, 'appended');
    assert.equal(file.lineCount, 2);
  } finally {
    await file.close();
  }
});

/** Resolves with the next event of `subscribe` (a change kind, or the availability). */
function nextEvent<T>(subscribe: (fn: (v: T) => void) => () => void, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5000);
    const off = subscribe(v => {
      clearTimeout(timer);
      off();
      resolve(v);
    });
  });
}

test('watch() follows a deleted file from its folder and re-indexes it when it comes back', async () => {
  const path = writeTemp(dir, '{"old":0}\n{"old":1}\n');
  const { file } = await openAll(path);
  try {
    file.watch();
    const gone = nextEvent(fn => file.onDidChangeAvailability(() => fn(undefined)), 'gone');
    rmSync(path);
    await gone;
    assert.match(file.unavailable ?? '', /is no longer on disk/);
    await assert.rejects(file.checkForChanges(), FileUnavailableError);
    const back = nextEvent<string>(fn => file.onDidChange(fn), 'change after re-creation');
    writeFileSync(path, '{"new":0}\n{"new":1}\n{"new":2}\n');
    assert.equal(await back, 'rebuilt');
    await file.whenIndexed();
    assert.equal(file.unavailable, undefined);
    assert.equal(file.lineCount, 3);
    assert.equal(text(await file.readRow(2)), '{"new":2}');
  } finally {
    await file.close();
  }
});

test('a file replaced by a folder is unavailable, and readable again once it is a file', async () => {
  const path = writeTemp(dir, '{"i":0}\n');
  const { file } = await openAll(path);
  try {
    file.watch();
    const unreadable = nextEvent(
      fn => file.onDidChangeAvailability(() => fn(undefined)),
      'unreadable',
    );
    rmSync(path);
    mkdirSync(path);
    await unreadable;
    // Deleting first may report "no longer on disk" before the folder appears: wait for the folder.
    while (!/is now a folder, not a file/.test(file.unavailable ?? ''))
      await nextEvent(fn => file.onDidChangeAvailability(() => fn(undefined)), 'the folder');
    const back = nextEvent<string>(fn => file.onDidChange(fn), 'change after the file is back');
    rmSync(path, { recursive: true });
    writeFileSync(path, '{"i":1}\n{"i":2}\n');
    assert.equal(await back, 'rebuilt');
    await file.whenIndexed();
    assert.equal(file.unavailable, undefined);
    assert.equal(file.lineCount, 2);
  } finally {
    await file.close();
  }
});

test('after close, reads and waits reject', async () => {
  const file = await JsonlFile.open(writeTemp(dir, '{"i":0}\n'));
  await file.close();
  await assert.rejects(file.readRow(0), /closed/);
  await assert.rejects(file.whenIndexed(), /closed/);
  await assert.rejects(JsonlFile.open(join(dir, 'missing.jsonl')), /ENOENT/);
});

test('the SIMD scanner matches a byte loop at every density, including only newlines', () => {
  const rng = new Prng(3);
  const simd = new NewlineScanner(128 << 10);
  const plain = new NewlineScanner(128 << 10, true);
  assert.equal(simd.simd, true, 'WebAssembly SIMD is available in Node 20');
  for (let trial = 0; trial < 28; trial++) {
    const length = trial === 0 ? simd.bufferBytes : rng.int(simd.bufferBytes + 1);
    // From no newlines to only newlines.
    const density = trial === 0 ? 1 : [0, 0.0005, 0.01, 0.1, 0.5, 0.9, 1][trial % 7];
    const data = simd.buffer();
    for (let i = 0; i < length; i++) data[i] = rng.next() < density ? 10 : 32 + rng.int(90);
    plain.buffer().set(data.subarray(0, length));
    const expected: number[] = [];
    for (let i = 0; i < length; i++) if (data[i] === 10) expected.push(1e12 + i);
    for (const scanner of [simd, plain]) {
      const got: number[] = [];
      scanner.scan(length, 1e12, offsets => {
        for (const o of offsets) got.push(o);
      });
      assert.equal(got.length, expected.length, `trial ${trial} simd=${scanner.simd}`);
      const bad = got.findIndex((o, i) => o !== expected[i]);
      assert.equal(bad, -1, `trial ${trial} simd=${scanner.simd}: offset ${got[bad]}`);
    }
  }
});

test('a file of nothing but newlines is one empty row per newline', async () => {
  const { file, rows } = await openAll(writeTemp(dir, '\n'.repeat(300_000)));
  try {
    assert.equal(file.lineCount, 300_000);
    assert.ok(rows.every((r, i) => r.bytes.length === 0 && r.start === i));
  } finally {
    await file.close();
  }
});

test('a full pass that outlives a rewrite fails instead of mixing two versions', async () => {
  const path = writeTemp(dir, Array.from({ length: 100 }, (_, i) => `{"i":${i}}`).join('\n'));
  const { file } = await openAll(path);
  try {
    const pass = file.iterateRows(0, 64);
    const first = await pass.next();
    assert.equal(first.done, false);
    writeFileSync(path, '{"new":true}\n');
    assert.equal(await file.checkForChanges(), 'rebuilt');
    await assert.rejects(pass.next(), /rewritten on disk during a full pass/);
    // A new pass sees the new file.
    const rows: string[] = [];
    for await (const batch of file.iterateRows()) rows.push(...batch.map(text));
    assert.deepEqual(rows, ['{"new":true}']);
  } finally {
    await file.close();
  }
});

test('the offset list keeps every offset exact: 4 bytes per entry, float64 where lines span 4 GiB', () => {
  const list = new OffsetList();
  const expected: number[] = [];
  let offset = 0;
  const rng = new Prng(7);
  // Three chunks of 2^20 entries: short lines, then a chunk that crosses 4 GiB of line bytes
  // in its middle (it is widened), then short lines again far past 2^32.
  const total = 3 * (1 << 20) + 12345;
  let batch: number[] = [];
  for (let i = 0; i < total; i++) {
    const chunk = i >>> 20;
    offset += chunk === 1 && (i & 0xfffff) > 600_000 ? 9_000 + rng.int(5_000) : 1 + rng.int(200);
    expected.push(offset);
    batch.push(offset);
    if (batch.length === 777 || i === total - 1) {
      list.pushAll(Float64Array.from(batch));
      batch = [];
    }
  }
  assert.ok(offset > 2 ** 32, `the offsets reach ${offset}`);
  assert.equal(list.length, total);
  for (let i = 0; i < total; i++) if (list.get(i) !== expected[i]) assert.fail(`entry ${i}`);
  assert.equal(list.last(), expected[total - 1]);
  // Chunks 0, 2 and 3 are narrow, chunk 1 is wide.
  const narrow = (1 << 20) * 4;
  assert.equal(list.byteSize, narrow + (1 << 20) * 8 + narrow + narrow);
  list.clear();
  assert.equal(list.length, 0);
  assert.equal(list.byteSize, 0);
});
