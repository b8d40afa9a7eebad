/**
 * The path users run (ORT projection → WebAssembly counting kernel, DensitySketch.addProjections /
 * scoreProjections) against the JavaScript path (ORT's Floor → Cast hash graph →
 * addHashes / scoreHashes), through real ONNX Runtime on random embeddings: both passes must give
 * the same counters and the same scores, bit for bit, for several shapes, seeds and bandwidths
 * (w = 0.3 keeps the Div node in both graphs), and a bad embedding must fail the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LshHasher } from '../../src/core/density/hasher';
import { OrtLshHasher } from '../../src/core/density/ortHasher';
import { sketchParams, type SketchParams } from '../../src/core/density/params';
import { addEmbeddings, computeDensity } from '../../src/core/density/passes';
import { Xoshiro128 } from '../../src/core/density/prng';
import { DensitySketch } from '../../src/core/density/sketch';
import { randomUnitVectors } from './densityData';

/** The ORT hasher with `project` hidden: the passes then take the int-hash JS loops. */
function hashesOnly(h: OrtLshHasher): LshHasher {
  return {
    params: h.params,
    blockRows: h.blockRows,
    hash: (x, n) => h.hash(x, n),
    dispose: () => h.dispose(),
  };
}

/** Counts how often each path ran, to prove the test compares the two paths. */
function counting(h: LshHasher): LshHasher & { projected: number; hashed: number } {
  const t = {
    params: h.params,
    blockRows: h.blockRows,
    projected: 0,
    hashed: 0,
    hash(x: Float32Array, n: number) {
      t.hashed++;
      return h.hash(x, n);
    },
    project: h.project
      ? (x: Float32Array, n: number, out: Float32Array) => {
          t.projected++;
          return h.project!(x, n, out);
        }
      : undefined,
    dispose: () => h.dispose(),
  };
  return t;
}

/** Random embeddings: unit vectors, and with `scale` some rows stretched so |h| ≥ B happens. */
function embeddings(n: number, d: number, seed: number, scale: boolean): Float32Array {
  const x = randomUnitVectors(n, d, seed);
  if (scale) {
    const g = new Xoshiro128(seed, 7);
    for (let i = 0; i < n; i += 5) {
      const f = 1 + g.nextFloat() * 4e4;
      for (let k = 0; k < d; k++) x[i * d + k] *= f;
    }
  }
  return x;
}

describe('DENSITY: WebAssembly path equals the JavaScript path through real ORT', () => {
  const cases: { init: Parameters<typeof sketchParams>[0]; n: number; block: number }[] = [
    { init: { dim: 32, rows: 1000, seed: 1 }, n: 700, block: 256 },
    { init: { dim: 17, rows: 13, buckets: 50, seed: 2 }, n: 301, block: 64 },
    { init: { dim: 8, rows: 7, bandwidth: 0.3, buckets: 1000, seed: 3 }, n: 513, block: 100 },
    { init: { dim: 24, rows: 64, bandwidth: 0.5, seed: 4 }, n: 999, block: 1000 },
  ];
  for (const [i, c] of cases.entries())
    for (const scale of [false, true])
      test(`case ${i} (${JSON.stringify(c.init)}, n=${c.n}, scaled rows: ${scale})`, async () => {
        const params: SketchParams = sketchParams(c.init);
        const x = embeddings(c.n, params.dim, 100 + i, scale);
        const ort = await OrtLshHasher.create(params, { blockRows: c.block });
        try {
          const wasm = counting(ort);
          const js = counting(hashesOnly(ort));
          const a = await computeDensity(
            () => [x.subarray(0, 50 * params.dim), x.subarray(50 * params.dim)],
            wasm,
          );
          const b = await computeDensity(() => [x], js);
          assert.ok(wasm.projected > 0 && wasm.hashed === 0, 'the Wasm path ran');
          assert.ok(js.hashed > 0, 'the JS path ran');
          assert.equal(a.sketch.count, c.n);
          assert.deepEqual(a.sketch.counters, b.sketch.counters);
          assert.deepEqual(a.scores, b.scores);
          assert.ok(a.scores.every(s => s >= 1));
        } finally {
          await ort.dispose();
        }
      });

  let ort: OrtLshHasher;
  const params = sketchParams({ dim: 16, rows: 30, seed: 9 });
  before(async () => {
    ort = await OrtLshHasher.create(params, { blockRows: 40 });
  });
  after(() => ort.dispose());

  for (const bad of [NaN, Infinity, 3e38])
    test(`an embedding holding ${bad} fails at its row on both paths; the sketch is unchanged`, async () => {
      const x = embeddings(100, 16, 5, false);
      x[57 * 16 + 3] = bad;
      const results = [];
      for (const h of [ort, hashesOnly(ort)]) {
        const sketch = new DensitySketch(params);
        await addEmbeddings(sketch, h, x.subarray(0, 40 * 16));
        const before = sketch.counters.slice();
        await assert.rejects(
          addEmbeddings(sketch, h, x.subarray(40 * 16), undefined, 40),
          /embedding 57 /,
        );
        assert.equal(sketch.count, 40);
        assert.deepEqual(sketch.counters, before);
        results.push(before);
      }
      assert.deepEqual(results[0], results[1]);
    });
});
