/**
 * The embedding cache: float16 conversion, the binary store's round trip and crash safety, and
 * what float16 storage does to DENSITY (hashes, scores, ranks) on generated clustered data.
 */
import { strict as assert } from 'node:assert';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  DensitySketch,
  OrtLshHasher,
  computeDensity,
  densityRanks,
  sketchParams,
} from '../../src/core/density';
import {
  EmbeddingStore,
  type DensityResults,
  decodeFloat16,
  encodeFloat16,
  fromHalfBits,
  storeFileName,
  toHalfBits,
} from '../../src/core/embedStore';
import { float32ToFloat16Bits } from '../../src/core/onnx';
import { contentHash, legacyContentHash } from '../../src/core/jsonl';
import { rekeyLegacyEmbeddings, rekeyLegacyResults } from '../../src/worker/density/densityService';
import { Dataset } from '../../src/worker/dataset/dataset';
import { Logger } from '../../src/worker/logger';
import { Rng } from '../support/fixtures';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-embstore-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function hashOf(i: number): string {
  return (i.toString(16).padStart(8, '0') + 'ab'.repeat(12)).slice(0, 32);
}

/** n unit vectors of dimension d in `clusters` anisotropic clusters. */
function clusteredUnitVectors(n: number, d: number, clusters: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const centres = rng.normals(clusters * d, 1);
  // Per-dimension scale: real sentence embeddings have a few large components.
  const scale = Float32Array.from({ length: d }, (_, k) => (k % 17 === 0 ? 3 : 1));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = rng.int(clusters);
    let s = 0;
    for (let k = 0; k < d; k++) {
      const v = (centres[c * d + k] + 0.6 * rng.normal()) * scale[k];
      x[i * d + k] = v;
      s += v * v;
    }
    const norm = Math.sqrt(s);
    for (let k = 0; k < d; k++) x[i * d + k] /= norm;
  }
  return x;
}

function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < a.length; i++)
    for (let j = i + 1; j < a.length; j++) {
      const s = Math.sign(a[i] - a[j]) * Math.sign(b[i] - b[j]);
      if (s > 0) concordant++;
      else if (s < 0) discordant++;
    }
  return (concordant - discordant) / ((a.length * (a.length - 1)) / 2);
}

describe('float16', () => {
  test('every finite half value survives decode → encode', () => {
    const half = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) half[h] = h;
    const f = decodeFloat16(half, new Float32Array(65536));
    for (let h = 0; h < 65536; h++) {
      if (((h >>> 10) & 0x1f) === 0x1f) continue;
      assert.equal(toHalfBits(f[h]), h, `half 0x${h.toString(16)}`);
    }
  });

  test('rounds to nearest even, like the ONNX writer, on a million random values', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 1_000_000; i++) {
      const v = Math.fround((rng.next() - 0.5) * 2 ** (rng.int(40) - 20));
      assert.equal(toHalfBits(v), float32ToFloat16Bits(v), `value ${v}`);
    }
    assert.equal(toHalfBits(1 + 2 ** -11), toHalfBits(1), 'tie goes to even');
    assert.equal(fromHalfBits(toHalfBits(1 + 3 * 2 ** -11)), 1 + 2 ** -9, 'tie goes to even (up)');
    assert.equal(fromHalfBits(toHalfBits(70000)), Infinity);
  });
});

describe('EmbeddingStore', () => {
  const d = 48;
  const key = JSON.stringify({ model: 'test', maxTokens: 8 });

  test('round trip: float32 exactly, float16 within half an ulp (≤ 2^-12 for unit vectors)', async t => {
    const x = clusteredUnitVectors(300, d, 4, 1);
    for (const precision of ['float32', 'float16'] as const) {
      const path = join(dir, `rt-${precision}.wnde`);
      const store = await EmbeddingStore.open(path, { dim: d, key, precision });
      const entries = Array.from({ length: 300 }, (_, i) => ({
        hash: hashOf(i),
        vector: x.subarray(i * d, (i + 1) * d),
        tokens: 3 + (i % 250),
        truncated: i % 250 === 249,
      }));
      assert.equal(await store.append(entries.slice(0, 200)), 200);
      assert.equal(await store.append(entries), 100, 'stored hashes are skipped');
      await store.close();
      assert.equal(statSync(path).size, 24 + Buffer.byteLength(key) + 300 * store.recordBytes);
      const again = await EmbeddingStore.open(path, { dim: d, key, precision });
      assert.deepEqual(again.report, { records: 300, corrupt: 0, tornBytes: 0 });
      assert.deepEqual(again.infoOf(hashOf(7)), { tokens: 10, truncated: false });
      assert.deepEqual(again.infoOf(hashOf(249)), { tokens: 252, truncated: true });
      assert.equal(again.infoOf(hashOf(1000)), undefined);
      // Reverse order exercises the reordering around coalesced reads.
      const records = Array.from({ length: 300 }, (_, i) => again.recordOf(hashOf(299 - i)));
      const out = new Float32Array(300 * d);
      await again.readRecords(records, out);
      let worst = 0;
      let worstRel = 0;
      for (let i = 0; i < 300; i++)
        for (let k = 0; k < d; k++) {
          const want = x[(299 - i) * d + k];
          const err = Math.abs(out[i * d + k] - want);
          worst = Math.max(worst, err);
          if (Math.abs(want) > 2 ** -14) worstRel = Math.max(worstRel, err / Math.abs(want));
        }
      await again.close();
      if (precision === 'float32') assert.equal(worst, 0);
      else {
        t.diagnostic(
          `float16: max abs error ${worst.toExponential(2)}, max rel error ${worstRel.toExponential(2)}`,
        );
        assert.ok(worst <= 2 ** -12, `max abs error ${worst}`);
        assert.ok(worstRel <= 2 ** -11, `max rel error ${worstRel}`);
      }
    }
  });

  test('a torn tail is ignored, then overwritten by the next append', async () => {
    const path = join(dir, 'torn.wnde');
    const x = clusteredUnitVectors(10, d, 2, 2);
    const entry = (i: number) => ({ hash: hashOf(i), vector: x.subarray(i * d, (i + 1) * d) });
    const store = await EmbeddingStore.open(path, { dim: d, key });
    await store.append([0, 1, 2, 3, 4].map(entry));
    await store.close();
    // A crash in the middle of the next write: half a record reached the disk.
    const full = statSync(path).size;
    appendFileSync(path, Buffer.alloc(store.recordBytes / 2, 7));
    const reopened = await EmbeddingStore.open(path, { dim: d, key });
    assert.equal(reopened.report.records, 5);
    assert.equal(reopened.report.tornBytes, store.recordBytes / 2);
    await reopened.append([5, 6].map(entry));
    await reopened.close();
    assert.equal(statSync(path).size, full + 2 * store.recordBytes, 'the torn bytes were cut off');
    const last = await EmbeddingStore.open(path, { dim: d, key });
    assert.deepEqual(last.report, { records: 7, corrupt: 0, tornBytes: 0 });
    const v = await last.get(hashOf(6));
    assert.ok(v && Math.abs(v[0] - x[6 * d]) < 1e-3);
    await last.close();
    // A crash that cut a record short: the partial record is ignored.
    truncateSync(path, statSync(path).size - 5);
    const cut = await EmbeddingStore.open(path, { dim: d, key });
    assert.equal(cut.report.records, 6);
    assert.equal(cut.has(hashOf(6)), false);
    await cut.close();
  });

  test('a corrupted record is skipped (and can be stored again); other records survive', async () => {
    const path = join(dir, 'corrupt.wnde');
    const x = clusteredUnitVectors(4, d, 1, 3);
    const store = await EmbeddingStore.open(path, { dim: d, key });
    await store.append(
      [0, 1, 2, 3].map(i => ({ hash: hashOf(i), vector: x.subarray(i * d, (i + 1) * d) })),
    );
    await store.close();
    const bytes = readFileSync(path);
    bytes[24 + Buffer.byteLength(key) + store.recordBytes + 20] ^= 0xff;
    writeFileSync(path, bytes);
    const again = await EmbeddingStore.open(path, { dim: d, key });
    assert.deepEqual(again.report, { records: 3, corrupt: 1, tornBytes: 0 });
    assert.equal(again.has(hashOf(1)), false);
    assert.equal(await again.append([{ hash: hashOf(1), vector: x.subarray(d, 2 * d) }]), 1);
    assert.ok(again.has(hashOf(1)));
    await again.close();
  });

  test('a file of another configuration is moved aside, never mixed in', async () => {
    const path = join(dir, 'other.wnde');
    const s1 = await EmbeddingStore.open(path, { dim: d, key });
    await s1.append([{ hash: hashOf(1), vector: new Float32Array(d).fill(0.1) }]);
    await s1.close();
    const s2 = await EmbeddingStore.open(path, { dim: d, key: key + 'x' });
    assert.equal(s2.size, 0);
    assert.match(s2.report.movedAside ?? '', /other\.wnde\.stale-\d+$/);
    await s2.close();
    assert.ok(readdirSync(dir).some(f => f.startsWith('other.wnde.stale-')));
    writeFileSync(join(dir, 'junk.wnde'), 'not a store');
    const s3 = await EmbeddingStore.open(join(dir, 'junk.wnde'), { dim: d, key });
    assert.ok(s3.report.movedAside);
    await s3.close();
    assert.match(storeFileName(key), /^embeddings-[0-9a-f]{16}\.wnde$/);
  });
});

describe('float16 storage and DENSITY', () => {
  test('hashes, scores and ranks barely move (N = 4,000, d = 384, R = 1,000)', async t => {
    const n = 4000;
    const dim = 384;
    const x = clusteredUnitVectors(n, dim, 12, 11);
    const h = new Uint16Array(x.length);
    const x16 = decodeFloat16(encodeFloat16(x, h), new Float32Array(x.length));
    let maxAbs = 0;
    let maxDelta = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const e = x16[i * dim + k] - x[i * dim + k];
        maxAbs = Math.max(maxAbs, Math.abs(e));
        s += e * e;
      }
      maxDelta = Math.max(maxDelta, Math.sqrt(s));
    }
    const params = sketchParams({ dim });
    const hasher = await OrtLshHasher.create(params, { intraOpNumThreads: 1 });
    try {
      const h32 = await hasher.hash(x, n);
      const hashes32 = h32.slice();
      const hashes16 = await hasher.hash(x16, n);
      let differing = 0;
      for (let i = 0; i < hashes32.length; i++) if (hashes32[i] !== hashes16[i]) differing++;
      const a = await computeDensity(() => [x], hasher, new DensitySketch(params));
      const b = await computeDensity(() => [x16], hasher, new DensitySketch(params));
      let maxRel = 0;
      for (let i = 0; i < n; i++)
        maxRel = Math.max(maxRel, Math.abs(a.scores[i] - b.scores[i]) / a.scores[i]);
      const ra = densityRanks(a.scores);
      const rb = densityRanks(b.scores);
      let maxRankShift = 0;
      for (let i = 0; i < n; i++) maxRankShift = Math.max(maxRankShift, Math.abs(ra[i] - rb[i]));
      const tau = kendallTau(a.scores, b.scores);
      const fraction = differing / hashes32.length;
      // For scale: the sketch's own randomness, i.e. the same float32 data under another seed.
      const other = sketchParams({ dim, seed: 12345 });
      const hasher2 = await OrtLshHasher.create(other, { intraOpNumThreads: 1 });
      const c = await computeDensity(() => [x], hasher2, new DensitySketch(other)).finally(() =>
        hasher2.dispose(),
      );
      const tauSeed = kendallTau(a.scores, c.scores);
      t.diagnostic(
        `float16 vs float32: max |Δx| ${maxAbs.toExponential(2)}, max ‖Δx‖ ${maxDelta.toExponential(2)}, ` +
          `hashes differing ${differing}/${hashes32.length} (${(fraction * 100).toFixed(4)} %), ` +
          `max relative score change ${maxRel.toExponential(2)}, Kendall τ ${tau.toFixed(5)}, ` +
          `max rank shift ${maxRankShift} of ${n}; for scale, float32 under another seed: Kendall τ ${tauSeed.toFixed(4)}`,
      );
      assert.ok(
        1 - tau < (1 - tauSeed) / 5,
        'float16 moves ranks far less than the sketch seed does',
      );
      assert.ok(maxAbs <= 2 ** -12);
      assert.ok(fraction < 1e-3, `hash disagreement ${fraction}`);
      assert.ok(maxRel < 0.01, `score change ${maxRel}`);
      assert.ok(tau > 0.99, `Kendall tau ${tau}`);
    } finally {
      await hasher.dispose();
    }
  });
});

describe('an embedding store from before content hash version 2 (SHA-256 keys)', () => {
  /** A record as Winnow wrote it then: hash, info word (no version bit), float32 values, CRC. */
  function v1Record(legacyHash: string, vector: number[], tokens: number, truncated: boolean) {
    const rec = Buffer.alloc(16 + 4 + vector.length * 4 + 4);
    Buffer.from(legacyHash, 'hex').copy(rec, 0);
    rec.writeUInt32LE((tokens | (truncated ? 0x80000000 : 0)) >>> 0, 16);
    vector.forEach((v, i) => rec.writeFloatLE(v, 20 + 4 * i));
    rec.writeUInt32LE(zlibCrc32(rec.subarray(0, rec.length - 4)), rec.length - 4);
    return rec;
  }

  test('loads, and the density pass re-keys its embeddings to the rows new hashes', async () => {
    const path = join(dir, 'legacy.wnde');
    const options = { dim: 3, key: 'legacy-cfg', precision: 'float32' as const, sync: false };
    await (await EmbeddingStore.open(path, options)).close(); // the header
    const rows = [0, 1, 2].map(i => Buffer.from(JSON.stringify({ text: `row ${i}` })));
    const gone = legacyContentHash(Buffer.from('{"text":"gone"}'));
    appendFileSync(path, v1Record(legacyContentHash(rows[0]), [1, 2, 3], 7, false));
    appendFileSync(path, v1Record(legacyContentHash(rows[2]), [0.5, -1, 4], 9, true));
    appendFileSync(path, v1Record(gone, [9, 9, 9], 1, false));
    const store = await EmbeddingStore.open(path, options);
    try {
      assert.equal(store.report.records, 3);
      assert.equal(store.legacyHashes, 3);
      assert.equal(store.has(contentHash(rows[0])), false);
      const batch = rows.map((bytes, index) => ({ index, start: 0, bytes }));
      assert.equal(await rekeyLegacyEmbeddings(store, batch), 2);
      assert.deepEqual(Array.from((await store.get(contentHash(rows[0])))!), [1, 2, 3]);
      assert.deepEqual(Array.from((await store.get(contentHash(rows[2])))!), [0.5, -1, 4]);
      assert.deepEqual(store.infoOf(contentHash(rows[2])), { tokens: 9, truncated: true });
      assert.deepEqual(store.infoOf(contentHash(rows[0])), { tokens: 7, truncated: false });
      assert.equal(store.has(contentHash(rows[1])), false);
      assert.equal(store.legacyHashes, 1, 'the embedding of a row not in the file stays');
      assert.equal(await rekeyLegacyEmbeddings(store, batch), 0, 'nothing is copied twice');
    } finally {
      await store.close();
    }
    // The copies are durable; new records carry the version bit, old ones stay legacy.
    const again = await EmbeddingStore.open(path, options);
    assert.deepEqual(Array.from((await again.get(contentHash(rows[2])))!), [0.5, -1, 4]);
    assert.ok(again.hasLegacy(gone));
    assert.equal(again.report.movedAside, undefined);
    await again.close();
  });
});

test('DENSITY results stored before content hash version 2 come back keyed by the new hashes', async () => {
  const path = join(dir, 'legacy-results.jsonl');
  const rows = [0, 1, 2].map(i => JSON.stringify({ text: `density row ${i}` }));
  writeFileSync(path, rows.join('\n') + '\n');
  const logger = new Logger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });
  const opts = { maxLineBytes: 1 << 20, detailCap: 10 };
  const dataset = await Dataset.open('file:///legacy-results.jsonl', path, opts, logger);
  try {
    const meta = { rows: 3, computedAt: 'then' } as unknown as DensityResults['meta'];
    const old = (i: number) => legacyContentHash(Buffer.from(rows[i]));
    const legacy: DensityResults = {
      meta,
      scores: new Map([
        [old(0), 0.5],
        [old(2), 2.5],
      ]),
    };
    const back = await rekeyLegacyResults(dataset, legacy);
    assert.equal(back.meta.contentHashVersion, 2);
    assert.deepEqual(
      [...back.scores].sort(),
      [
        [contentHash(Buffer.from(rows[0])), 0.5],
        [contentHash(Buffer.from(rows[2])), 2.5],
      ].sort(),
    );
    // Current results pass through untouched.
    assert.equal(await rekeyLegacyResults(dataset, back), back);
  } finally {
    await dataset.close();
  }
});
