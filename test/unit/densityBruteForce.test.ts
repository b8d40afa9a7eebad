/**
 * DENSITY scores by brute force, compared exactly with the production pipeline.
 *
 * The expected scores here are computed from the definition (PAPER.md §3.3, Algorithm 2), written
 * out in this file and sharing nothing with src/core/density except the random projection values
 * (createProjection, the seeded generator):
 * - hash function r (K = 1): h_r(x) = ⌊(a_r·x + b_r)/w⌋, in float64;
 * - its bucket: the non-negative residue of h_r(x) mod B;
 * - pass 1: one counter per (r, bucket), incremented once per row of the data;
 * - pass 2: score(x) = mean over r of the counter that x's bucket selects.
 * The production side is computeDensity with the ONNX Runtime hasher (float32) and DensitySketch.
 * The data is drawn so that no (a_r·x + b_r)/w lies within 1e-4 of an integer: float32 and
 * float64 then give the same ⌊·⌋, and the scores must agree bit for bit.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  DensitySketch,
  OrtLshHasher,
  type SketchParams,
  computeDensity,
  createProjection,
  scoreEmbeddings,
  sketchParams,
} from '../../src/core/density';
import { Rng } from '../support/fixtures';

/** How far from a bucket edge every hash argument must be for float32 to agree with float64. */
const EDGE_MARGIN = 1e-4;

/** The hash functions' vectors and biases, from the production projection (d × R row-major). */
function hashFunctions(params: SketchParams): { a: number[][]; b: number[] } {
  const { matrix, bias } = createProjection(params);
  const a = Array.from({ length: params.rows }, (_, r) =>
    Array.from({ length: params.dim }, (_, i) => matrix[i * params.rows + r]),
  );
  return { a, b: Array.from(bias) };
}

/** (a_r·x + b_r)/w for every hash function r, in float64. */
function hashArguments(fns: { a: number[][]; b: number[] }, w: number, x: number[]): number[] {
  return fns.a.map((a, r) => (a.reduce((s, ai, i) => s + ai * x[i], 0) + fns.b[r]) / w);
}

/** True when no hash argument of `x` is within EDGE_MARGIN of an integer. */
function clearOfEdges(args: number[]): boolean {
  return args.every(v => Math.abs(v - Math.round(v)) > EDGE_MARGIN);
}

/**
 * `n` unit vectors (float32 values), about a third of them exact copies of earlier ones so that
 * buckets are shared, each clear of every bucket edge.
 */
function generateRows(params: SketchParams, n: number, seed: number): number[][] {
  const fns = hashFunctions(params);
  const rng = new Rng(seed);
  const rows: number[][] = [];
  while (rows.length < n) {
    if (rows.length > 3 && rng.next() < 0.3) {
      rows.push(rows[rng.int(rows.length)]);
      continue;
    }
    const v = Array.from({ length: params.dim }, () => rng.normal());
    const norm = Math.hypot(...v);
    const x = v.map(c => Math.fround(c / norm));
    if (clearOfEdges(hashArguments(fns, params.bandwidth, x))) rows.push(x);
  }
  return rows;
}

/** The sketch scores of `rows` (pass 1 over `rows`, pass 2 over `queries`), by brute force. */
function bruteForceScores(
  params: SketchParams,
  rows: number[][],
  queries: number[][],
): { scores: number[]; counters: Map<string, number> } {
  const fns = hashFunctions(params);
  const B = params.buckets;
  const bucketsOf = (x: number[]): number[] =>
    hashArguments(fns, params.bandwidth, x).map(v => {
      const h = Math.floor(v);
      const residue = h % B; // JavaScript keeps the sign of h here
      return residue < 0 ? residue + B : residue;
    });
  const counters = new Map<string, number>();
  for (const x of rows)
    bucketsOf(x).forEach((bucket, r) => {
      const key = `${r},${bucket}`;
      counters.set(key, (counters.get(key) ?? 0) + 1);
    });
  const scores = queries.map(x => {
    const selected = bucketsOf(x).map((bucket, r) => counters.get(`${r},${bucket}`) ?? 0);
    return selected.reduce((s, c) => s + c, 0) / params.rows;
  });
  return { scores, counters };
}

/** Rows as a row-major Float32Array. */
function flat(rows: number[][], d: number): Float32Array {
  const x = new Float32Array(rows.length * d);
  rows.forEach((row, i) => x.set(row, i * d));
  return x;
}

const CASES: { name: string; init: Parameters<typeof sketchParams>[0] }[] = [
  // Few buckets: negative hashes wrap, and unrelated hash values share buckets.
  { name: 'B = 5, w = 0.5', init: { dim: 12, rows: 40, buckets: 5, bandwidth: 0.5, seed: 11 } },
  // The paper's bucket count and the default w = 1 (the graph folds the division away).
  { name: 'B = 20,000, w = 1', init: { dim: 24, rows: 64, seed: 0x5eed } },
];

describe('DENSITY scores equal the brute-force definition exactly', () => {
  for (const { name, init } of CASES)
    test(`${name}: computeDensity's sketch and scores, in uneven chunks and blocks`, async () => {
      const params = sketchParams(init);
      const rows = generateRows(params, 150, init.seed ?? 1);
      const want = bruteForceScores(params, rows, rows);
      // Some scores must differ, or equality would say little.
      assert.ok(
        new Set(want.scores).size > 10,
        `only ${new Set(want.scores).size} distinct scores`,
      );

      const hasher = await OrtLshHasher.create(params, { blockRows: 16 });
      try {
        const x = flat(rows, params.dim);
        const d = params.dim;
        const chunks = () => [
          x.subarray(0, 7 * d),
          x.subarray(7 * d, 100 * d),
          x.subarray(100 * d),
        ];
        const got = await computeDensity(chunks, hasher, new DensitySketch(params));
        assert.equal(got.sketch.count, rows.length);
        assert.deepEqual(Array.from(got.scores), want.scores);
        // Every counter, zero or not, is the brute-force count (counter (r, b) at b·R + r).
        for (let b = 0; b < params.buckets; b++)
          for (let r = 0; r < params.rows; r++)
            assert.equal(
              got.sketch.counters[b * params.rows + r],
              want.counters.get(`${r},${b}`) ?? 0,
              `counter (${r}, ${b})`,
            );

        // Pass 2 alone, for points that were not added.
        const queries = generateRows(params, 20, 977);
        const outside = bruteForceScores(params, rows, queries).scores;
        const scored = await scoreEmbeddings(got.sketch, hasher, flat(queries, d));
        assert.deepEqual(Array.from(scored), outside);
      } finally {
        await hasher.dispose();
      }
    });
});
