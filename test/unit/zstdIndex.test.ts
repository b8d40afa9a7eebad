/**
 * The zstd row index (src/core/jsonl/zstdIndex.ts, zstdFrames.ts) against real zstd data from the
 * reference encoder (libzstd in WebAssembly, test/support/zstdFixtures.ts): single frames with and
 * without a content size, multi-frame files (frames cut mid-line, as pzstd or `cat` makes them),
 * skippable frames, CRLF lines, a last line without a newline, empty files, truncated and corrupt
 * files, and random reads across checkpoints, each compared with the plain bytes and with the
 * plain file read by JsonlFile. Every test runs with both decoders: fzstd (pure JS) and Node's
 * zlib zstd (skipped where the runtime has none, as Node 20).
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  contentHash,
  nativeZstdAvailable,
  ZstdFormatError,
  ZstdJsonl,
  type CompressedIndexProgress,
  type RawRow,
  type ZstdDecoderKind,
} from '../../src/core/jsonl';
import { skippableFrame, zstdFrame, zstdFrames, zstdStreamed } from '../support/zstdFixtures';
import { expectedLines, openAll, Prng, tempDir, writeTemp } from './jsonlSupport';

const dir = tempDir('winnow-zstd-');

/** `n` JSONL rows of varied length, with some non-ASCII text; `eol` ends every line. */
function jsonl(n: number, seed: number, eol = '\n'): string {
  const rand = new Prng(seed);
  const words = ['alpha', 'beta', 'gamma', 'δέλτα', 'epsilon', '数据', 'zeta', 'eta', 'theta'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const text = Array.from({ length: 1 + rand.int(60) }, () => rand.pick(words)).join(' ');
    lines.push(JSON.stringify({ id: i, text, r: rand.next() }) + eol);
  }
  return lines.join('');
}

function randomCuts(length: number, parts: number, seed: number): number[] {
  const rand = new Prng(seed);
  return Array.from({ length: parts - 1 }, () => rand.int(length));
}

function bytesOf(rows: RawRow[]): string[] {
  return rows.map(r => Buffer.from(r.bytes).toString('latin1'));
}

async function iterated(file: ZstdJsonl, start = 0, batchBytes?: number): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const batch of file.iterateRows(start, batchBytes)) out.push(...batch);
  return out;
}

/**
 * Two frames written by the zstd CLI 1.5.4 with `--check` (a content checksum after the last
 * block, which the encoder used elsewhere does not write): `printf '{"id":0,...}\n{"id":1,...}\n'
 * | zstd -c --check -19` and `printf '{"id":2,...}\n' | zstd -c --check`.
 */
const CHECKED_FRAME_1 = Buffer.from(
  '28b52ffd0468ad010012c30a10c0ebb69ed096112eccbfbd0b37f9b5dca0f96a350fcf0f21bd1aa01953d9bcab' +
    'd534f117de41101b350b0200a008c3a09c5ccd6aa9',
  'hex',
);
const CHECKED_FRAME_2 = Buffer.from(
  '28b52ffd04580902007b226964223a322c2274657874223a227365636f6e64206672616d652c207772697474656e' +
    '206279207a73746420312e352077697468202d2d636865636b227d0aca4d3030',
  'hex',
);

const decoders: { kind: ZstdDecoderKind; skip: string | false }[] = [
  { kind: 'fzstd', skip: false },
  { kind: 'native', skip: nativeZstdAvailable() ? false : `Node ${process.version} has no zstd` },
];

for (const { kind, skip } of decoders) {
  /** Opens `zst` and checks every row, by window and by full pass, against `plain`. */
  async function checkAgainstPlain(
    zst: Buffer,
    plain: Buffer,
    checkpointInterval?: number,
  ): Promise<ZstdJsonl> {
    const path = writeTemp(dir, zst, `f${Math.random().toString(36).slice(2)}.jsonl.zst`);
    const expected = expectedLines(plain).map(b => b.toString('latin1'));
    const file = await ZstdJsonl.open(path, {
      decoder: kind,
      ...(checkpointInterval ? { checkpointInterval } : {}),
    });
    await file.whenIndexed();
    const rows = await file.readRows(0, file.lineCount);
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

  describe(`ZstdJsonl (${kind})`, { skip }, () => {
    test('a one-shot frame (content size in the header) reads like the plain bytes', async () => {
      const plain = Buffer.from(jsonl(3000, 1));
      const file = await checkAgainstPlain(await zstdFrame(plain), plain);
      assert.equal(file.checkpointCount, 1, 'one frame, one restart point');
      await file.close();
    });

    test('a streamed frame (no content size, many blocks) reads like the plain bytes', async () => {
      const plain = Buffer.from(jsonl(30000, 2));
      assert.ok(plain.length > 2 << 20, 'long enough for many 128 KiB blocks');
      const file = await checkAgainstPlain(await zstdStreamed(plain, 50_000, 9), plain, 1);
      assert.equal(file.checkpointCount, 1, 'a single frame restarts from its start only');
      await file.close();
    });

    test('a multi-frame file (frames cut mid-line) gets a checkpoint per frame', async () => {
      const plain = Buffer.from(jsonl(5000, 3));
      const zst = await zstdFrames(plain, randomCuts(plain.length, 40, 4));
      const file = await checkAgainstPlain(zst, plain, 1);
      assert.equal(file.checkpointCount, 40, 'every frame is a checkpoint at interval 1');
      await file.close();
    });

    test('checkpoints are kept at most every checkpointInterval bytes of output', async () => {
      const plain = Buffer.from(jsonl(20000, 5));
      const zst = await zstdFrames(plain, randomCuts(plain.length, 200, 6));
      const interval = 256 << 10;
      const file = await checkAgainstPlain(zst, plain, interval);
      assert.ok(file.checkpointCount > 3, `${file.checkpointCount} checkpoints`);
      assert.ok(file.checkpointCount <= Math.ceil(plain.length / interval) + 1);
      assert.equal(file.checkpointBytes, file.checkpointCount * 16, 'offsets only, no windows');
      await file.close();
    });

    test('skippable frames (before, between and after frames) are stepped over', async () => {
      const plain = Buffer.from(jsonl(2000, 7));
      const half = plain.length >> 1;
      const zst = Buffer.concat([
        skippableFrame(Buffer.from('seek table or pzstd header'), 0),
        await zstdFrame(plain.subarray(0, half)),
        skippableFrame(Buffer.alloc(0), 15),
        skippableFrame(Buffer.alloc(70_000, 7), 3),
        await zstdStreamed(plain.subarray(half)),
        skippableFrame(Buffer.from('end'), 1),
      ]);
      const file = await checkAgainstPlain(zst, plain, 1);
      await file.close();
    });

    test('CRLF lines keep their \\r; a last line without a newline is a row; empty frames add nothing', async () => {
      const plain = Buffer.from(jsonl(200, 8, '\r\n') + '{"last":"no newline"}');
      const zst = Buffer.concat([
        await zstdFrame(Buffer.alloc(0)),
        await zstdFrame(plain),
        await zstdStreamed(Buffer.alloc(0)),
      ]);
      const file = await checkAgainstPlain(zst, plain);
      const [first] = await file.readRows(0, 1);
      assert.equal(first.bytes[first.bytes.length - 1], 13, 'the \\r is kept');
      assert.equal(bytesOf(await file.readRows(200, 1))[0], '{"last":"no newline"}');
      await file.close();
    });

    test('incompressible and repetitive data (raw and RLE blocks) read back exactly', async () => {
      const rand = new Prng(9);
      // Random bytes without a newline: one line of noise, one of a single repeated byte.
      const noise = Buffer.from(Array.from({ length: 300_000 }, () => 11 + rand.int(245)));
      const plain = Buffer.concat([noise, Buffer.from('\n'), Buffer.alloc(500_000, 0x41), noise]);
      const file = await checkAgainstPlain(await zstdStreamed(plain, 100_000, 1), plain);
      assert.equal(file.lineCount, 2);
      await file.close();
    });

    test('an empty file and a 0-byte file have no rows', async () => {
      for (const zst of [await zstdFrame(Buffer.alloc(0)), Buffer.alloc(0)]) {
        const file = await checkAgainstPlain(zst, Buffer.alloc(0));
        assert.equal(file.lineCount, 0);
        assert.deepEqual(await file.readRows(0, 10), []);
        await file.close();
      }
    });

    test('rows and content hashes equal those of the plain file', async () => {
      const text = jsonl(2000, 10) + jsonl(50, 11, '\r\n') + '\uFEFF{"bom":"not first"}\n{"x":1}';
      const plain = Buffer.from('\uFEFF' + text);
      const plainPath = writeTemp(dir, plain);
      const zstPath = writeTemp(
        dir,
        await zstdFrames(plain, randomCuts(plain.length, 9, 12)),
        'same.jsonl.zst',
      );
      const { file: plainFile, rows: plainRows } = await openAll(plainPath);
      const zst = await ZstdJsonl.open(zstPath, { decoder: kind });
      await zst.whenIndexed();
      const zstRows = await zst.readRows(0, zst.lineCount);
      assert.equal(zstRows.length, plainRows.length);
      for (let i = 0; i < plainRows.length; i++) {
        assert.equal(zstRows[i].start, plainRows[i].start, `row ${i} start`);
        assert.deepEqual(Buffer.from(zstRows[i].bytes), Buffer.from(plainRows[i].bytes));
        assert.equal(contentHash(zstRows[i].bytes), contentHash(plainRows[i].bytes), `hash ${i}`);
      }
      await Promise.all([plainFile.close(), zst.close()]);
    });

    test('random reads across checkpoints equal the plain bytes', async () => {
      const plain = Buffer.from(jsonl(20000, 13));
      const expected = expectedLines(plain).map(b => b.toString('latin1'));
      const multi = await zstdFrames(plain, randomCuts(plain.length, 150, 14));
      for (const zst of [await zstdStreamed(plain), multi]) {
        const path = writeTemp(dir, zst, `r${zst.length}.jsonl.zst`);
        const file = await ZstdJsonl.open(path, { decoder: kind, checkpointInterval: 32 << 10 });
        await file.whenIndexed();
        const rand = new Prng(15);
        for (let k = 0; k < 40; k++) {
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
      // Distinct rows, so the compressed file takes many reads (a repeated block would not).
      const plain = Buffer.from(jsonl(60000, 16));
      const path = writeTemp(dir, await zstdStreamed(plain), 'big.jsonl.zst');
      const events: string[] = [];
      const file = await ZstdJsonl.open(path, {
        decoder: kind,
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

    test('progress grows to the decompressed size; closing while indexing rejects waiters', async () => {
      const plain = Buffer.from(jsonl(3000, 17).repeat(10));
      const path = writeTemp(dir, await zstdStreamed(plain), 'progress.jsonl.zst');
      const seen: CompressedIndexProgress[] = [];
      const file = await ZstdJsonl.open(path, { decoder: kind, onProgress: p => seen.push(p) });
      await file.whenIndexed();
      const last = seen[seen.length - 1];
      assert.equal(last.done, true);
      assert.equal(last.lines, expectedLines(plain).length);
      assert.equal(last.bytesIndexed, plain.length);
      assert.equal(last.compressedBytesRead, last.totalCompressedBytes);
      await file.close();
      const again = await ZstdJsonl.open(path, { decoder: kind });
      const pending = assert.rejects(again.whenIndexed(), /is closed/);
      await again.close();
      await pending;
      await assert.rejects(again.readRows(0, 1), /is closed/);
    });
  });

  describe(`ZstdJsonl on bad input (${kind})`, { skip }, () => {
    const plain = Buffer.from(jsonl(3000, 20));

    async function failure(zst: Buffer, name: string): Promise<Error> {
      const path = writeTemp(dir, zst, name);
      const file = await ZstdJsonl.open(path, { decoder: kind });
      const err = await file.whenIndexed().then(
        () => assert.fail('indexing should fail'),
        (e: unknown) => e as Error,
      );
      assert.ok(err instanceof ZstdFormatError, String(err));
      assert.ok(err.message.startsWith(path), err.message);
      assert.match(err.message, /byte \d+/);
      await assert.rejects(file.readRows(0, 1), ZstdFormatError);
      await file.close();
      return err;
    }

    test('a truncated file fails with the byte where it ends', async () => {
      const zst = await zstdStreamed(plain);
      const cut = Math.floor(zst.length / 2);
      const err = await failure(zst.subarray(0, cut), 'cut.jsonl.zst');
      assert.match(err.message, new RegExp(`ends early at byte ${cut}\\b.*frame at byte 0`));
    });

    test('frames with a content checksum (the zstd CLI writes one) read, and a cut checksum fails', async () => {
      const zst = Buffer.concat([CHECKED_FRAME_1, CHECKED_FRAME_2]);
      assert.ok(CHECKED_FRAME_1[4] & 4 && CHECKED_FRAME_2[4] & 4, 'both frames have a checksum');
      const path = writeTemp(dir, zst, 'checked.jsonl.zst');
      const file = await ZstdJsonl.open(path, { decoder: kind, checkpointInterval: 1 });
      await file.whenIndexed();
      assert.deepEqual(
        bytesOf(await file.readRows(0, 3)).map(l => (JSON.parse(l) as { id: number }).id),
        [0, 1, 2],
      );
      assert.equal(file.checkpointCount, 2);
      await file.close();
      const err = await failure(zst.subarray(0, zst.length - 2), 'sum.jsonl.zst');
      assert.match(err.message, /ends early/);
    });

    test('corrupt block data fails with the compressed byte range', async () => {
      const zst = Buffer.from(await zstdStreamed(plain));
      // The first block's literals and sequences headers (after the 6-byte frame header and the
      // 3-byte block header): garbage there is a decoding error, not just wrong text (without a
      // checksum, corrupt literals would decode to wrong bytes silently, as with any decoder).
      assert.equal(zst[4] & 0xe0, 0, 'no content size, a window descriptor: a 6-byte header');
      for (let i = 9; i < 16; i++) zst[i] ^= 0xff;
      const err = await failure(zst, 'corrupt.jsonl.zst');
      assert.match(err.message, /corrupt zstd data (in compressed bytes \d+\.\.\d+|at byte \d+)/);
    });

    test('garbage after the last frame is reported at its offset', async () => {
      const zst = await zstdFrame(plain);
      const err = await failure(Buffer.concat([zst, Buffer.from('not zstd')]), 'tail.jsonl.zst');
      assert.match(err.message, new RegExp(`not zstd data at byte ${zst.length}\\b`));
    });

    test('a frame that needs a dictionary says so', async () => {
      const frame = await zstdFrame(Buffer.from('{"a":1}\n'));
      // Dictionary_ID_flag 1: one byte of dictionary id after the window descriptor.
      const descriptor = frame[4];
      assert.equal(descriptor & 3, 0);
      const windowBytes = descriptor & 0x20 ? 0 : 1;
      const at = 5 + windowBytes;
      const withDict = Buffer.concat([
        frame.subarray(0, 4),
        Buffer.from([descriptor | 1]),
        frame.subarray(5, at),
        Buffer.from([42]),
        frame.subarray(at),
      ]);
      const err = await failure(withDict, 'dict.jsonl.zst');
      assert.match(err.message, /needs dictionary 42/);
    });
  });
}
