/**
 * DENSITY on accelerators: on every GPU device this machine offers (WebGPU, CUDA when its
 * provider library is installed), the embedder's output must match the CPU and the closed form,
 * and the ONNX hash graph must give the CPU's hashes (up to float rounding at bucket edges) and
 * the same ranks. Devices that are not available are skipped with the reason; on a CPU-only
 * machine only the skip reasons show.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DensitySketch,
  OrtLshHasher,
  computeDensity,
  densityRanks,
  sketchParams,
} from '../../src/core/density';
import type { DeviceName } from '../../src/worker/runtime/device';
import { loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { Rng, bertEmbedding, generateTinyBert, type TinyBert } from '../support/fixtures';
import { deviceSkipReason, loadOnDevice } from '../support/deviceAvailability';

const TEXTS = [
  'a day in the city',
  'science and knowledge for everyone',
  'cheap casino bonus click now',
  '',
  'the history of the theory of gravity explains the planet and the energy of the cell',
];

let root: string;
let bert: TinyBert;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'winnow-embed-device-'));
  bert = generateTinyBert(join(root, 'tiny-bert'), { d: 384 });
});
after(() => rmSync(root, { recursive: true, force: true }));

function unitVectors(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = rng.normals(n * d, 1);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k] ** 2;
    const norm = Math.sqrt(s);
    for (let k = 0; k < d; k++) x[i * d + k] /= norm;
  }
  return x;
}

/**
 * For each row, the most ranks it can move when the scores change from `cpu` to `gpu`: rows i and
 * j can swap order only if |cpu_i − cpu_j| ≤ |Δ_i| + |Δ_j|, so row i can pass at most the rows
 * whose CPU score lies within |Δ_i| + max |Δ| of its own. A shift beyond that is a wrong rank.
 */
function rankShiftBounds(cpu: ArrayLike<number>, gpu: ArrayLike<number>): Uint32Array {
  const n = cpu.length;
  const delta = Float64Array.from({ length: n }, (_, i) => Math.abs(gpu[i] - cpu[i]));
  const maxDelta = delta.reduce((a, b) => Math.max(a, b), 0);
  const sorted = Float64Array.from(cpu).sort();
  /** The number of sorted scores < x (or ≤ x when `inclusive`). */
  const countBelow = (x: number, inclusive: boolean): number => {
    let [lo, hi] = [0, n];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < x || (inclusive && sorted[mid] === x)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return Uint32Array.from({ length: n }, (_, i) => {
    // A hair of slack for the rounding of the subtractions above.
    const w = (delta[i] + maxDelta) * (1 + 1e-9) + 1e-12;
    return countBelow(cpu[i] + w, true) - countBelow(cpu[i] - w, false) - 1;
  });
}

for (const device of ['webgpu', 'cuda'] as DeviceName[]) {
  describe(`on ${device}`, () => {
    test('embeddings match the CPU and the closed form', async t => {
      const reason = deviceSkipReason(device);
      if (reason) return t.skip(reason);
      const loaded = await loadOnDevice(device, () =>
        loadEmbeddingModel({ model: bert.dir, cacheDir: join(root, 'cache'), device }),
      );
      if ('skip' in loaded) return t.skip(loaded.skip);
      const model = loaded.value;
      const cpu = await loadEmbeddingModel({
        model: bert.dir,
        cacheDir: join(root, 'cache'),
        device: 'cpu',
      });
      try {
        assert.equal(model.device, device);
        const a = await model.embedBatch(TEXTS);
        const b = await cpu.embedBatch(TEXTS);
        let vsCpu = 0;
        let vsClosed = 0;
        TEXTS.forEach((text, i) => {
          const want = bertEmbedding(bert, model.tokenize(text));
          for (let k = 0; k < bert.d; k++) {
            vsCpu = Math.max(
              vsCpu,
              Math.abs(a.vectors[i * bert.d + k] - b.vectors[i * bert.d + k]),
            );
            vsClosed = Math.max(vsClosed, Math.abs(a.vectors[i * bert.d + k] - want[k]));
          }
        });
        t.diagnostic(
          `${device}: max |Δ| vs CPU ${vsCpu.toExponential(2)}, vs closed form ${vsClosed.toExponential(2)}`,
        );
        assert.ok(vsCpu < 1e-5 && vsClosed < 1e-5);
      } finally {
        await model.dispose();
        await cpu.dispose();
      }
    });

    test('the hash graph gives the CPU hashes and ranks; throughput', async t => {
      const reason = deviceSkipReason(device);
      if (reason) return t.skip(reason);
      const n = 20_000;
      const d = 384;
      const x = unitVectors(n, d, 5);
      const params = sketchParams({ dim: d });
      const loaded = await loadOnDevice(device, () =>
        OrtLshHasher.create(params, { executionProviders: [device] }),
      );
      if ('skip' in loaded) return t.skip(loaded.skip);
      const gpu: OrtLshHasher = loaded.value;
      const cpu = await OrtLshHasher.create(params, { executionProviders: ['cpu'] });
      try {
        const block = gpu.blockRows;
        const hg = await gpu.hash(x.subarray(0, block * d), block);
        const hc = await cpu.hash(x.subarray(0, block * d), block);
        let differ = 0;
        for (let i = 0; i < hg.length; i++) if (hg[i] !== hc[i]) differ++;
        const sg = await computeDensity(() => [x], gpu, new DensitySketch(params));
        const sc = await computeDensity(() => [x], cpu, new DensitySketch(params));
        const rg = densityRanks(sg.scores);
        const rc = densityRanks(sc.scores);
        let maxShift = 0;
        let changed = 0;
        let maxRel = 0;
        for (let i = 0; i < n; i++) {
          maxShift = Math.max(maxShift, Math.abs(rg[i] - rc[i]));
          if (sg.scores[i] !== sc.scores[i]) changed++;
          maxRel = Math.max(maxRel, Math.abs(sg.scores[i] - sc.scores[i]) / sc.scores[i]);
        }
        const shiftBound = rankShiftBounds(sc.scores, sg.scores);
        for (let i = 0; i < n; i++)
          assert.ok(
            Math.abs(rg[i] - rc[i]) <= shiftBound[i],
            `row ${i} moved ${rg[i] - rc[i]} ranks; its score change allows ${shiftBound[i]}`,
          );
        // Throughput of the projection alone (pass 1 hashing), best of 2, N × d × R multiply-adds.
        const time = async (h: OrtLshHasher): Promise<number> => {
          let best = Infinity;
          for (let rep = 0; rep < 2; rep++) {
            const t0 = performance.now();
            for (let s = 0; s < n; s += block)
              await h.hash(x.subarray(s * d, Math.min(n, s + block) * d), Math.min(block, n - s));
            best = Math.min(best, performance.now() - t0);
          }
          return best;
        };
        const [tg, tc] = [await time(gpu), await time(cpu)];
        const gflop = (2 * n * d * params.rows) / 1e9;
        t.diagnostic(
          `${device}: hashes differing from CPU ${differ}/${hg.length}; scores changed ${changed}/${n} ` +
            `(max relative ${maxRel.toExponential(2)}), max rank shift ${maxShift}; ` +
            `hashing ${n} rows: ${device} ${tg.toFixed(0)} ms (${(gflop / (tg / 1000)).toFixed(1)} GFLOP/s), ` +
            `cpu ${tc.toFixed(0)} ms (${(gflop / (tc / 1000)).toFixed(1)} GFLOP/s)`,
        );
        assert.ok(differ / hg.length < 1e-4, `${differ} hashes differ`);
        // One differing hash moves a counter that every row in that bucket reads, so many scores
        // change slightly; what matters is by how much.
        assert.ok(maxRel < 0.01, `max relative score change ${maxRel}`);
      } finally {
        await gpu.dispose();
        await cpu.dispose();
      }
    });
  });
}
