/**
 * The gzip row index (src/core/jsonl/gzipIndex.ts) against real gzip data from Node's zlib:
 * single-member and multi-member files (members cut at arbitrary bytes, as concatenated pigz or
 * bgzip output is), CRLF lines, a last line without a newline, an empty file, truncated and
 * corrupt files, and random reads across checkpoints, each compared with a full decompression
 * (`gunzipSync`) of the same file and with the plain file read by JsonlFile.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { constants as zlibConstants, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import {
  contentHash,
  GzipFormatError,
  GzipJsonl,
  type GzipIndexProgress,
  type GzipJsonlOptions,
  type RawRow,
} from '../../src/core/jsonl';
import { expectedLines, openAll, Prng, tempDir, writeTemp } from './jsonlSupport';

const dir = tempDir('winnow-gzip-');

/** `n` JSONL rows of varied length, with some non-ASCII text; `eol` ends every line. */
function jsonl(n: number, seed: number, eol = '\n'): string {
  const rand = new Prng(seed);
  const words = ['alpha', 'beta', 'gamma', 'δέλτα', 'epsilon', '数据', 'zeta', 'eta', 'theta'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const text = Array.from({ length: 1 + rand.int(60) }, () => rand.pick(words)).join(' ');
    lines.push(JSON.stringify({ id: i, text }) + eol);
  }
  return lines.join('');
}

/** gzip members of `plain` cut at `parts` random byte positions (mid-line too), concatenated. */
function multiMember(plain: Buffer, parts: number, seed: number): Buffer {
  const rand = new Prng(seed);
  const cuts = Array.from({ length: parts - 1 }, () => rand.int(plain.length)).sort(
    (a, b) => a - b,
  );
  const bounds = [0, ...cuts, plain.length];
  const members: Buffer[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    members.push(gzipSync(plain.subarray(bounds[k], bounds[k + 1]), { level: 1 + (k % 9) }));
  }
  return Buffer.concat(members);
}

/**
 * One gzip member with a sync flush every `blockBytes` of input, as pigz writes it (each block
 * still uses the window of the block before, so only a restart with that window is exact).
 */
async function syncFlushed(plain: Buffer, blockBytes: number, level = 6): Promise<Buffer> {
  const gz = createGzip({ level });
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  for (let at = 0; at < plain.length; at += blockBytes) {
    gz.write(plain.subarray(at, at + blockBytes));
    await new Promise<void>(resolve => gz.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
  }
  await new Promise(resolve => gz.on('end', resolve).end());
  return Buffer.concat(out);
}

async function allRows(file: GzipJsonl): Promise<RawRow[]> {
  await file.whenIndexed();
  return file.readRows(0, file.lineCount);
}

async function iterated(file: GzipJsonl, start = 0, batchBytes?: number): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const batch of file.iterateRows(start, batchBytes)) out.push(...batch);
  return out;
}

function bytesOf(rows: RawRow[]): string[] {
  return rows.map(r => Buffer.from(r.bytes).toString('latin1'));
}

/** Opens `gz` and checks every row, by window and by full pass, against a full decompression. */
async function checkAgainstGunzip(gz: Buffer, opts?: GzipJsonlOptions): Promise<GzipJsonl> {
  const path = writeTemp(dir, gz, `f${Math.random().toString(36).slice(2)}.jsonl.gz`);
  const plain = gunzipSync(gz);
  const expected = expectedLines(plain).map(b => b.toString('latin1'));
  const file = await GzipJsonl.open(path, opts);
  const rows = await allRows(file);
  assert.equal(file.lineCount, expected.length);
  assert.deepEqual(bytesOf(rows), expected);
  assert.deepEqual(bytesOf(await iterated(file, 0, 1000)), expected);
  assert.equal(file.bytesIndexedSoFar, plain.length);
  for (const r of rows) {
    assert.equal(
      Buffer.from(r.bytes).toString('latin1'),
      plain.subarray(r.start, r.start + r.bytes.length).toString('latin1'),
    );
  }
  return file;
}

describe('GzipJsonl', () => {
  test('a single-member file reads like its full decompression', async () => {
    const file = await checkAgainstGunzip(gzipSync(jsonl(3000, 1)));
    assert.equal(file.checkpointCount, 1, 'one member, one restart point');
    await file.close();
  });

  test('a multi-member file (members cut mid-line) reads like its full decompression', async () => {
    const plain = Buffer.from(jsonl(5000, 2));
    const file = await checkAgainstGunzip(multiMember(plain, 40, 3), { checkpointInterval: 1 });
    assert.equal(file.checkpointCount, 40, 'every member is a checkpoint at interval 1');
    await file.close();
  });

  test('a single member with sync flushes (pigz) gets checkpoints at its flush points', async () => {
    const plain = Buffer.from(jsonl(30000, 40));
    const gz = await syncFlushed(plain, 128 << 10);
    const interval = 256 << 10;
    const file = await checkAgainstGunzip(gz, { checkpointInterval: interval });
    assert.ok(
      file.flushPointCount >= plain.length / interval / 2,
      `${file.flushPointCount} flush points`,
    );
    assert.equal(
      file.checkpointCount,
      file.flushPointCount + 1,
      'the member start and the flush points',
    );
    assert.ok(file.checkpointBytes > file.flushPointCount * (32 << 10), 'each keeps its window');
    await file.close();
  });

  test('flush-marker bytes inside stored data are not taken for flush points', async () => {
    // Level 0 stores the bytes as they are: every row holds 00 00 ff ff, and none is a flush point.
    const rows = Array.from(
      { length: 20000 },
      (_, i) => `{"id":${i},"b":"\u0000"}\0\0\xff\xff${'x'.repeat(i % 50)}\n`,
    );
    const plain = Buffer.from(rows.join(''), 'latin1');
    assert.ok(plain.includes(Buffer.from([0, 0, 0xff, 0xff])));
    const file = await checkAgainstGunzip(gzipSync(plain, { level: 0 }), { checkpointInterval: 1 });
    assert.equal(file.flushPointCount, 0);
    await file.close();
  });

  test('checkpoints are kept at most every checkpointInterval bytes of output', async () => {
    const plain = Buffer.from(jsonl(5000, 4));
    const interval = 64 << 10;
    const file = await checkAgainstGunzip(multiMember(plain, 200, 5), {
      checkpointInterval: interval,
    });
    assert.ok(file.checkpointCount > 1, `${file.checkpointCount} checkpoints`);
    assert.ok(file.checkpointCount <= Math.ceil(plain.length / interval) + 1);
    assert.equal(file.checkpointBytes, file.checkpointCount * 16);
    await file.close();
  });

  test('a member whose deflate data ends exactly at the end of a read is followed correctly', async () => {
    // Stored (level 0) deflate data of 262,109 bytes takes exactly 256 KiB, the reader's read size,
    // so the inflater has consumed all it was given when the member ends.
    const first = Buffer.from(jsonl(3000, 20)).subarray(0, 262109);
    const member = gzipSync(first, { level: 0 });
    assert.equal(member.length - 18, 256 << 10);
    const gz = Buffer.concat([member, gzipSync(jsonl(100, 21)), member]);
    const file = await checkAgainstGunzip(gz, { checkpointInterval: 1 });
    assert.equal(file.checkpointCount, 3);
    await file.close();
  });

  test('CRLF lines keep their \\r, and a last line without a newline is a row', async () => {
    const text = jsonl(200, 6, '\r\n') + '{"id":"last","text":"no newline"}';
    const file = await checkAgainstGunzip(multiMember(Buffer.from(text), 7, 7));
    const rows = await allRows(file);
    assert.equal(rows.length, 201);
    assert.equal(rows[0].bytes[rows[0].bytes.length - 1], 0x0d);
    assert.equal(Buffer.from(rows[200].bytes).toString(), '{"id":"last","text":"no newline"}');
    await file.close();
  });

  test('an empty file, gzipped, has no rows', async () => {
    const file = await checkAgainstGunzip(gzipSync(Buffer.alloc(0)));
    assert.equal(file.lineCount, 0);
    assert.deepEqual(await file.readRows(0, 10), []);
    await file.close();
  });

  test('rows and content hashes equal those of the plain file', async () => {
    const text = jsonl(2000, 8) + jsonl(50, 9, '\r\n') + '\uFEFF{"bom":"not first"}\n{"x":1}';
    const plainPath = writeTemp(dir, '\uFEFF' + text);
    const gzPath = writeTemp(dir, multiMember(readFileSync(plainPath), 9, 10), 'same.jsonl.gz');
    const { file: plainFile, rows: plainRows } = await openAll(plainPath);
    const gz = await GzipJsonl.open(gzPath);
    const gzRows = await allRows(gz);
    assert.equal(gzRows.length, plainRows.length);
    for (let i = 0; i < plainRows.length; i++) {
      assert.equal(gzRows[i].start, plainRows[i].start, `row ${i} start`);
      assert.deepEqual(Buffer.from(gzRows[i].bytes), Buffer.from(plainRows[i].bytes), `row ${i}`);
      assert.equal(contentHash(gzRows[i].bytes), contentHash(plainRows[i].bytes), `row ${i} hash`);
    }
    await Promise.all([plainFile.close(), gz.close()]);
  });

  test('random reads across checkpoints equal a full decompression', async () => {
    const plain = Buffer.from(jsonl(20000, 11));
    const expected = expectedLines(plain).map(b => b.toString('latin1'));
    const pigzLike = await syncFlushed(plain, 16 << 10);
    for (const gz of [gzipSync(plain), multiMember(plain, 300, 12), pigzLike]) {
      const path = writeTemp(dir, gz, `r${gz.length}.jsonl.gz`);
      const file = await GzipJsonl.open(path, { checkpointInterval: 32 << 10 });
      await file.whenIndexed();
      const rand = new Prng(13);
      for (let k = 0; k < 60; k++) {
        const start = rand.int(expected.length);
        const count = 1 + rand.int(400);
        const got = bytesOf(await file.readRows(start, count));
        assert.deepEqual(got, expected.slice(start, start + count), `rows ${start}+${count}`);
        const tail = await iterated(file, start, 5000);
        assert.equal(tail.length, expected.length - start);
        assert.equal(Buffer.from(tail[0].bytes).toString('latin1'), expected[start]);
      }
      await file.close();
    }
  });

  test('the first rows are readable before the whole file is indexed', async () => {
    const plain = Buffer.from(jsonl(4000, 14).repeat(20));
    const path = writeTemp(dir, multiMember(plain, 50, 15), 'big.jsonl.gz');
    const events: string[] = [];
    const file = await GzipJsonl.open(path, {
      onProgress: p => {
        if (p.done) events.push('indexed');
      },
    });
    const rows = await file.readRows(0, 10);
    events.push('first rows');
    await file.whenIndexed();
    assert.deepEqual(events, ['first rows', 'indexed']);
    assert.deepEqual(
      bytesOf(rows),
      expectedLines(plain)
        .slice(0, 10)
        .map(b => b.toString('latin1')),
    );
    await file.close();
  });
});

describe('GzipJsonl progress and close', () => {
  test('progress grows to the decompressed size and ends with the line count', async () => {
    const plain = Buffer.from(jsonl(3000, 30).repeat(10));
    const path = writeTemp(dir, multiMember(plain, 20, 31), 'progress.jsonl.gz');
    const seen: GzipIndexProgress[] = [];
    const file = await GzipJsonl.open(path, { onProgress: p => seen.push(p) });
    await file.whenIndexed();
    const last = seen[seen.length - 1];
    assert.equal(last.done, true);
    assert.equal(last.lines, expectedLines(plain).length);
    assert.equal(last.bytesIndexed, plain.length);
    assert.equal(last.compressedBytesRead, last.totalCompressedBytes);
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i].bytesIndexed >= seen[i - 1].bytesIndexed);
    await file.close();
  });

  test('closing while indexing stops it; later reads reject', async () => {
    const plain = Buffer.from(jsonl(3000, 32).repeat(20));
    const path = writeTemp(dir, gzipSync(plain), 'close.jsonl.gz');
    const file = await GzipJsonl.open(path);
    const pending = assert.rejects(file.whenIndexed(), /is closed/);
    await file.close();
    await pending;
    await assert.rejects(file.readRows(0, 1), /is closed/);
  });

  test('a 0-byte file is an empty dataset, not an error', async () => {
    const file = await GzipJsonl.open(writeTemp(dir, Buffer.alloc(0), 'zero.jsonl.gz'));
    await file.whenIndexed();
    assert.equal(file.lineCount, 0);
    await file.close();
  });
});

describe('GzipJsonl on bad input', () => {
  const plain = Buffer.from(jsonl(3000, 16));

  async function failure(gz: Buffer, name: string): Promise<Error> {
    const path = writeTemp(dir, gz, name);
    const file = await GzipJsonl.open(path);
    const err = await file.whenIndexed().then(
      () => assert.fail('indexing should fail'),
      (e: unknown) => e as Error,
    );
    assert.ok(err instanceof GzipFormatError, String(err));
    assert.ok(err.message.startsWith(path), err.message);
    assert.match(err.message, /byte \d+/);
    await assert.rejects(file.readRows(0, 1), GzipFormatError);
    await file.close();
    return err;
  }

  test('a truncated file fails with the file and the byte where it ends', async () => {
    const gz = gzipSync(plain);
    const cut = Math.floor(gz.length / 2);
    const err = await failure(gz.subarray(0, cut), 'cut.jsonl.gz');
    assert.match(err.message, new RegExp(`ends early at byte ${cut}\\b`));
  });

  test('a file cut inside its trailer fails the same way', async () => {
    const gz = gzipSync(plain);
    const err = await failure(gz.subarray(0, gz.length - 3), 'trailer.jsonl.gz');
    assert.match(err.message, /ends early/);
  });

  test('corrupt deflate data fails with the compressed byte range', async () => {
    const gz = Buffer.from(gzipSync(plain));
    for (let i = 100; i < 140; i++) gz[i] ^= 0x5a;
    const err = await failure(gz, 'corrupt.jsonl.gz');
    assert.match(err.message, /corrupt gzip data in compressed bytes \d+\.\.\d+/);
  });

  test('a wrong CRC in a member trailer is reported as corrupt', async () => {
    const gz = Buffer.from(gzipSync(plain));
    gz[gz.length - 8] ^= 0xff;
    const err = await failure(gz, 'crc.jsonl.gz');
    assert.match(err.message, /CRC-32 mismatch in the gzip member at byte 0/);
  });

  test('garbage after the last member is reported at its offset', async () => {
    const gz = gzipSync(plain);
    const err = await failure(Buffer.concat([gz, Buffer.from('not gzip')]), 'tail.jsonl.gz');
    assert.match(err.message, new RegExp(`not gzip data at byte ${gz.length}\\b`));
  });

  test('zero padding after the last member is ignored', async () => {
    const gz = Buffer.concat([gzipSync(plain), Buffer.alloc(512)]);
    const file = await checkAgainstGunzip(gz);
    await file.close();
  });
});
