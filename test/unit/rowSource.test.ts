/**
 * One way to open any dataset (src/core/jsonl/rowSource.ts, compressedFile.ts): the reader is
 * picked by the magic bytes, not the name; a compressed file reads like its plain copy (rows,
 * offsets, content hashes), reports progress in bytes of the file on disk, follows the file on
 * disk (rewritten, deleted, back, replaced by a plain file); and export from a compressed source
 * writes the same bytes as from the plain copy, plain or compressed on request.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decompress as fzstdDecompress } from 'fzstd';
import {
  CompressedFile,
  contentHash,
  exportRows,
  fileHeadFacts,
  FileUnavailableError,
  JsonlFile,
  nativeZstdCompressAvailable,
  openRowSource,
  type IndexProgress,
  type RawRow,
  type RowSource,
} from '../../src/core/jsonl';
import { zstdFrames, zstdStreamed } from '../support/zstdFixtures';
import { Prng, tempDir, writeTemp } from './jsonlSupport';

const dir = tempDir('winnow-rowsource-');

function jsonl(n: number, seed: number): string {
  const rand = new Prng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 2 + rand.int(30) }, () => rand.pick(['a', 'bb', 'ccc']));
    lines.push(JSON.stringify({ id: i, text: words.join(' ') }));
  }
  return lines.join('\n') + '\n';
}

async function rowsOf(file: RowSource): Promise<RawRow[]> {
  await file.whenIndexed();
  return file.readRows(0, file.lineCount);
}

/** Polls `ready` every 20 ms for up to 5 s. */
async function until(what: string, ready: () => boolean): Promise<void> {
  for (let t = 0; t < 250; t++) {
    if (ready()) return;
    await new Promise(r => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** A plain file, its gzip copy and its zstd copy (several frames), all with the same rows. */
async function copies(n: number, seed: number) {
  const plain = Buffer.from(jsonl(n, seed));
  const cuts = [plain.length >> 2, plain.length >> 1];
  return {
    plain,
    plainPath: writeTemp(dir, plain, `p${seed}.jsonl`),
    gzPath: writeTemp(dir, gzipSync(plain), `p${seed}.jsonl.gz`),
    zstPath: writeTemp(dir, await zstdFrames(plain, cuts), `p${seed}.jsonl.zst`),
  };
}

describe('openRowSource', () => {
  test('picks the reader by the magic bytes, not the name', async () => {
    const plain = Buffer.from(jsonl(50, 1));
    const cases: [string, Buffer, string | undefined][] = [
      ['plain-named.jsonl.gz', plain, undefined],
      ['gzip-named.jsonl', gzipSync(plain), 'gzip'],
      ['zstd-named.txt', await zstdStreamed(plain), 'zstd'],
    ];
    for (const [name, bytes, compression] of cases) {
      const file = await openRowSource(writeTemp(dir, bytes, name));
      assert.equal(file.compression, compression, name);
      assert.equal(file instanceof CompressedFile, compression !== undefined, name);
      const rows = await rowsOf(file);
      assert.equal(rows.length, 50, name);
      assert.equal(Buffer.from(rows[49].bytes).toString(), plain.toString().split('\n')[49]);
      await file.close();
    }
  });

  test('an xz file opens as a plain file whose head says xz (not supported: one message)', async () => {
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), gzipSync('x')]);
    const file = await openRowSource(writeTemp(dir, xz, 'data.jsonl.xz'));
    assert.ok(file instanceof JsonlFile);
    assert.equal(file.compression, undefined);
    assert.equal(fileHeadFacts(await file.readHead(64)).compression, 'xz');
    await file.close();
  });

  test('a missing file rejects as JsonlFile.open does', async () => {
    await assert.rejects(openRowSource(join(dir, 'nope.jsonl.gz')), /ENOENT/);
  });

  test('gzip and zstd copies give the plain file rows, offsets and content hashes', async () => {
    const c = await copies(3000, 2);
    const plainFile = await openRowSource(c.plainPath);
    const plain = await rowsOf(plainFile);
    await plainFile.close();
    for (const path of [c.gzPath, c.zstPath]) {
      const file = await openRowSource(path);
      const rows = await rowsOf(file);
      assert.equal(rows.length, plain.length);
      for (let i = 0; i < rows.length; i += 97) {
        assert.equal(rows[i].start, plain[i].start);
        assert.equal(contentHash(rows[i].bytes), contentHash(plain[i].bytes), `${path} row ${i}`);
      }
      const head = await file.readHead(100);
      assert.equal(Buffer.from(head).toString(), c.plain.subarray(0, 100).toString());
      const span = file.rowSpan(10);
      assert.equal(
        (await file.readBytes(span.start, span.end)).toString(),
        Buffer.from(plain[10].bytes).toString(),
      );
      await file.close();
    }
  });
});

describe('CompressedFile', () => {
  test('progress counts compressed bytes up to the file size; fileBytesAt maps offsets', async () => {
    const c = await copies(20000, 3);
    const seen: IndexProgress[] = [];
    const file = await openRowSource(c.gzPath);
    file.onProgress(p => seen.push(p));
    await file.whenIndexed();
    const size = readFileSync(c.gzPath).length;
    assert.equal(file.totalBytes, size);
    assert.equal(file.bytesIndexedSoFar, size);
    const last = seen[seen.length - 1];
    assert.deepEqual([last.done, last.bytesIndexed, last.totalBytes], [true, size, size]);
    assert.equal(last.lines, file.lineCount);
    assert.equal(file.fileBytesAt(c.plain.length), size);
    const half = file.fileBytesAt(c.plain.length / 2);
    assert.ok(Math.abs(half - size / 2) <= 1, `${half} of ${size}`);
    await file.close();
  });

  test('line batches (for the row scan) hold the rows where iterateRows puts them', async () => {
    const c = await copies(5000, 10);
    const file = (await openRowSource(c.zstPath)) as CompressedFile;
    const rows = await rowsOf(file);
    let next = 17;
    for await (const b of file.iterateLineBatches(17, 20_000)) {
      assert.equal(b.first, next);
      assert.ok(b.count > 0);
      for (let k = 0; k < b.count; k++) {
        const row = rows[b.first + k];
        assert.equal(b.start + b.starts[k], row.start);
        const got = Buffer.from(b.data.subarray(b.starts[k], b.ends[k]));
        assert.deepEqual(got, Buffer.from(row.bytes), `row ${b.first + k}`);
      }
      next += b.count;
    }
    assert.equal(next, rows.length);
    assert.deepEqual(await file.spanOf(40), file.rowSpan(40));
    const st = statSync(c.zstPath);
    assert.deepEqual(file.stamp, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    await file.close();
  });

  test('a file rewritten on disk is re-indexed ("rebuilt"); a full pass over the old one fails', async () => {
    const path = writeTemp(dir, gzipSync(jsonl(30000, 4)), 'rewritten.jsonl.gz');
    const file = await openRowSource(path);
    file.watch();
    await file.whenIndexed();
    const pass = file.iterateRows(0, 1000);
    await pass.next();
    const changes: string[] = [];
    file.onDidChange(kind => changes.push(kind));
    writeFileSync(path + '.tmp', gzipSync('{"new":1}\n{"new":2}\n'));
    renameSync(path + '.tmp', path);
    await until('the rebuild', () => changes.includes('rebuilt'));
    await assert.rejects(
      (async () => {
        for await (const _ of pass) void _;
      })(),
      /rewritten on disk during a full pass/,
    );
    const rows = await rowsOf(file);
    assert.deepEqual(
      rows.map(r => Buffer.from(r.bytes).toString()),
      ['{"new":1}', '{"new":2}'],
    );
    assert.equal(await file.checkForChanges(), 'unchanged');
    await file.close();
  });

  test('a deleted file is unavailable, and is read again when it is back', async () => {
    const path = writeTemp(dir, await zstdStreamed(Buffer.from(jsonl(100, 5))), 'gone.jsonl.zst');
    const file = await openRowSource(path);
    await file.whenIndexed();
    rmSync(path);
    await assert.rejects(file.checkForChanges(), FileUnavailableError);
    assert.match(String(file.unavailable), /is no longer on disk/);
    assert.equal(file.lineCount, 100, 'the rows read before are still served');
    writeFileSync(path, await zstdStreamed(Buffer.from(jsonl(7, 6))));
    assert.equal(await file.checkForChanges(), 'rebuilt');
    assert.equal(file.unavailable, undefined);
    assert.equal((await rowsOf(file)).length, 7);
    await file.close();
  });

  test('a compressed file replaced by a plain one says so instead of reading it wrongly', async () => {
    const path = writeTemp(dir, gzipSync(jsonl(10, 7)), 'was-gzip.jsonl.gz');
    const file = await openRowSource(path);
    await file.whenIndexed();
    writeFileSync(path, jsonl(3, 8));
    await assert.rejects(file.checkForChanges(), /no longer gzip-compressed on disk \(now plain\)/);
    assert.match(String(file.unavailable), /close it and open it again/);
    await file.close();
  });
});

describe('export from a compressed source', () => {
  const awkward = '\ufeff{"a":1}\n{"b":"é"}\r\n' + jsonl(4000, 9) + '{"last":"no newline"}';

  async function sources() {
    const plain = Buffer.from(awkward);
    return [
      await JsonlFile.open(writeTemp(dir, plain)),
      await openRowSource(writeTemp(dir, gzipSync(plain), 'x.jsonl.gz')),
      await openRowSource(
        writeTemp(dir, await zstdFrames(plain, [100, plain.length >> 1]), 'x.jsonl.zst'),
      ),
    ];
  }

  test('writes the same bytes as the plain copy: in order, out of order, repeats, BOM, last line', async () => {
    const [plain, gz, zst] = await sources();
    await plain.whenIndexed();
    const n = plain.lineCount;
    const orders = [
      Array.from({ length: n }, (_, i) => i),
      [n - 1, 0, 5, 5, 1, 3000, 2],
      [0, 1, n - 1],
      [],
    ];
    for (const order of orders) {
      const want = join(dir, 'want.jsonl');
      await exportRows(plain, order, want);
      for (const file of [gz, zst]) {
        const got = join(dir, `got-${file.compression}.jsonl`);
        const r = await exportRows(file, order, got);
        assert.deepEqual(readFileSync(got), readFileSync(want), `${file.compression} ${order}`);
        assert.equal(r.rows, order.length);
        assert.equal(r.bytes, readFileSync(want).length);
      }
    }
    assert.deepEqual(
      readFileSync(join(dir, 'want.jsonl')).length,
      0,
      'the last order exported nothing',
    );
    await Promise.all([plain.close(), gz.close(), zst.close()]);
  });

  test('compresses the output on request: gzip always, zstd where Node has it', async () => {
    const [plain, gz, zst] = await sources();
    await plain.whenIndexed();
    const rows = [0, 2, 7, plain.lineCount - 1];
    const want = join(dir, 'want2.jsonl');
    await exportRows(plain, rows, want);
    const gzOut = join(dir, 'out.jsonl.gz');
    const r = await exportRows(zst, rows, gzOut, { compression: 'gzip' });
    assert.deepEqual(gunzipSync(readFileSync(gzOut)), readFileSync(want));
    assert.equal(r.bytes, readFileSync(gzOut).length);
    assert.equal(r.contentBytes, readFileSync(want).length);
    const zstOut = join(dir, 'out.jsonl.zst');
    if (nativeZstdCompressAvailable()) {
      await exportRows(gz, rows, zstOut, { compression: 'zstd' });
      assert.deepEqual(Buffer.from(fzstdDecompress(readFileSync(zstOut))), readFileSync(want));
    } else {
      await assert.rejects(
        exportRows(gz, rows, zstOut, { compression: 'zstd' }),
        /Writing zstd with Node's zlib needs Node\.js 22\.15 or newer.*plain JSON Lines or gzip/,
      );
      assert.throws(() => readFileSync(zstOut), /ENOENT/, 'nothing was written');
    }
    await Promise.all([plain.close(), gz.close(), zst.close()]);
  });
});
