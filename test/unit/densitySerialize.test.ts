/**
 * Sketch files: round trips (sparse and dense), atomic writes and corruption detection.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ScalarLshHasher } from '../../src/core/density/hasher';
import { sketchParams } from '../../src/core/density/params';
import { addEmbeddings, computeDensity, scoreEmbeddings } from '../../src/core/density/passes';
import { crc32 } from '../../src/core/density/projection';
import {
  decodeSketch,
  encodeSketch,
  readSketchFile,
  writeSketchFile,
} from '../../src/core/density/serialize';
import { DensitySketch } from '../../src/core/density/sketch';
import { randomUnitVectors } from './densityData';

/** Re-seals a modified header so that only the check under test can fail. */
function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(60, crc32(bytes.subarray(64), crc32(bytes.subarray(0, 60))), true);
  return bytes;
}

describe('sketch files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'winnow-density-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a default-size sketch round-trips through a compact sparse file and scores identically', async () => {
    const params = sketchParams({ dim: 16, seed: 99, bandwidth: 0.8 });
    const x = randomUnitVectors(300, 16, 2);
    const hasher = new ScalarLshHasher(params);
    const { sketch, scores } = await computeDensity(() => [x], hasher);
    const path = join(dir, 'default.wnds');
    const size = await writeSketchFile(path, sketch);
    // 1,000 rows × ~10 used buckets × 8 bytes, instead of 80 MB of dense counters.
    assert.ok(size < 200_000, `file is ${size} bytes`);
    assert.equal((await readFile(path)).length, size);
    const back = await readSketchFile(path);
    assert.ok(back.equals(sketch));
    assert.deepEqual(back.params, params);
    assert.equal(back.count, 300);
    // The stored parameters regenerate the same hash functions, so the scores reproduce.
    assert.deepEqual(await scoreEmbeddings(back, new ScalarLshHasher(back.params), x), scores);
    // The temp file is gone.
    assert.deepEqual((await readdir(dir)).sort(), ['default.wnds']);
  });

  test('a full sketch uses the dense encoding and round-trips', async () => {
    const params = sketchParams({ dim: 4, rows: 5, buckets: 3, hashesPerRow: 2, seed: 1 });
    const sketch = new DensitySketch(params);
    await addEmbeddings(sketch, new ScalarLshHasher(params), randomUnitVectors(200, 4, 3));
    const bytes = encodeSketch(sketch);
    assert.equal(bytes.length, 64 + 5 * 3 * 4);
    assert.ok(decodeSketch(bytes).equals(sketch));
  });

  test('an empty sketch round-trips', () => {
    const sketch = new DensitySketch(sketchParams({ dim: 3, rows: 2, buckets: 4 }));
    const back = decodeSketch(encodeSketch(sketch));
    assert.equal(back.count, 0);
    assert.ok(back.equals(sketch));
  });

  test('corrupt, truncated and foreign files are rejected with a clear reason', async () => {
    const params = sketchParams({ dim: 8, rows: 20, buckets: 50, seed: 5 });
    const sketch = new DensitySketch(params);
    await addEmbeddings(sketch, new ScalarLshHasher(params), randomUnitVectors(40, 8, 4));
    const good = encodeSketch(sketch);
    const copy = (): Uint8Array => Uint8Array.from(good);

    const flipped = copy();
    flipped[good.length - 3] ^= 0x10;
    assert.throws(
      () => decodeSketch(flipped, 'f.wnds'),
      /f\.wnds: not a valid density sketch \(checksum mismatch/,
    );
    assert.throws(() => decodeSketch(good.subarray(0, good.length - 8)), /truncated/);
    assert.throws(() => decodeSketch(good.subarray(0, 10)), /too short/);
    assert.throws(
      () => decodeSketch(new TextEncoder().encode('{"not":"a sketch"}'.padEnd(80))),
      /magic/,
    );
    const future = copy();
    new DataView(future.buffer).setUint32(4, 2, true);
    assert.throws(() => decodeSketch(reseal(future)), /format version 2/);

    // A different seed in the header: checksum valid, but the rows no longer match the hash
    // functions it was built with.
    const reseeded = copy();
    new DataView(reseeded.buffer).setUint32(40, 6, true);
    assert.throws(
      () => decodeSketch(reseal(reseeded)),
      /hash functions regenerated from its seed differ/,
    );

    // Counters inconsistent with the point count.
    const recount = copy();
    new DataView(recount.buffer).setUint32(48, 41, true);
    assert.throws(() => decodeSketch(reseal(recount)), /row 0 sums to 40, expected 41/);
  });

  test('writes are atomic: a failed write leaves the old file and no temp file', async () => {
    const params = sketchParams({ dim: 4, rows: 3, buckets: 10 });
    const path = join(dir, 'atomic.wnds');
    const first = new DensitySketch(params);
    await addEmbeddings(first, new ScalarLshHasher(params), randomUnitVectors(5, 4, 1));
    await writeSketchFile(path, first);
    const before = await readFile(path);
    // Writing into a missing folder fails before anything is renamed.
    await assert.rejects(writeSketchFile(join(dir, 'missing', 'x.wnds'), first), /ENOENT/);
    // Overwriting replaces the file as a whole.
    const second = first.clone();
    await addEmbeddings(second, new ScalarLshHasher(params), randomUnitVectors(5, 4, 2));
    await writeSketchFile(path, second);
    assert.notDeepEqual(await readFile(path), before);
    assert.equal((await readSketchFile(path)).count, 10);
    // A path that is a directory cannot be replaced; the temp file is cleaned up.
    await assert.rejects(writeSketchFile(dir, second));
    const left = (await readdir(dir)).filter(f => f.endsWith('.tmp'));
    assert.deepEqual(left, []);
  });
});
