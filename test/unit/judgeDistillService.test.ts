/**
 * The worker's distilled scorer (src/worker/judge/distillService.ts) over a real embedding
 * store: the fit recovers a planted linear relation through `DistillService.distill` (held-out
 * Spearman ≥ 0.95), draws its sample by DENSITY from the judged rows, reports the AUC against
 * the saved labels, keeps the model, and a fresh service scores the rows again from it under a
 * key that is never a judge scorer's. A cancelled run stops with the signal's reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Xoshiro128 } from '../../src/core/density/prng';
import { EmbeddingStore } from '../../src/core/embedStore';
import { spearman } from '../../src/core/judge';
import type { Dataset } from '../../src/worker/dataset/dataset';
import type { DensityService } from '../../src/worker/density/densityService';
import { DistillService } from '../../src/worker/judge/distillService';
import { uncertainOrder } from '../../src/core/dataset/viewEngine';
import type { Logger } from '../../src/worker/logger';

const dim = 32;
const n = 1200;
const judged = 900;

interface Planted {
  store: EmbeddingStore;
  truth: Float64Array;
  judge: Float32Array;
  density: Float32Array;
  hashes: string[];
}

async function plant(dir: string): Promise<Planted> {
  const rng = new Xoshiro128(5);
  const w = Float64Array.from({ length: dim }, () => rng.nextNormal());
  const store = await EmbeddingStore.open(join(dir, 'e.wnde'), { dim, key: 'emb', sync: false });
  const truth = new Float64Array(n);
  const judge = new Float32Array(n).fill(NaN);
  const density = new Float32Array(n);
  const hashes: string[] = [];
  const entries = [];
  for (let i = 0; i < n; i++) {
    const v = Float32Array.from({ length: dim }, () => rng.nextNormal());
    const norm = Math.hypot(...v);
    let z = -0.5;
    for (let j = 0; j < dim; j++) z += 5 * (v[j] /= norm) * w[j];
    truth[i] = z;
    if (i < judged) judge[i] = 1 / (1 + Math.exp(-(z + 0.2 * rng.nextNormal())));
    density[i] = 1 + rng.nextFloat() * 9;
    hashes.push(i.toString(16).padStart(32, '0'));
    entries.push({ hash: hashes[i], vector: v });
  }
  await store.append(entries);
  return { store, truth, judge, density, hashes };
}

/** A dataset as the service sees it: validated rows with content hashes and saved labels. */
function fakeDataset(p: Planted, keep: number[], drop: number[]): Dataset {
  return {
    uri: 'file:///planted.jsonl',
    version: 'v1',
    validated: true,
    whenValidated: () => Promise.resolve(),
    rows: { count: n, ok: () => true, hash: (i: number) => p.hashes[i] },
    savedDecisions: {
      rowsIn: () => ({ keep: Uint32Array.from(keep), drop: Uint32Array.from(drop) }),
    },
  } as unknown as Dataset;
}

function fakeDensity(p: Planted, dir: string): DensityService {
  return {
    embeddingsFor: () =>
      Promise.resolve({ results: { meta: { model: 'fixture-embedder' } }, store: p.store }),
    columnFor: () => ({ scores: p.density }),
    derivedPath: (_d: Dataset, suffix: string) => join(dir, `planted.${suffix}`),
  } as unknown as DensityService;
}

const logger = { debug: () => {}, warn: () => {}, error: () => {} } as unknown as Logger;

function fakeJudge(p: Planted) {
  const meta = { model: 'fixture-judge', promptName: 'default' };
  return {
    judgeColumn: () =>
      Promise.resolve({ values: p.judge.slice(), scored: judged, meta, key: 'judge-key' }),
    judgeKey: () => Promise.resolve('judge-key'),
  } as never;
}

describe('DistillService (winnow/distill)', () => {
  test('recovers a planted linear relation and keeps the model for a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'winnow-distill-service-'));
    try {
      const p = await plant(dir);
      const keep: number[] = [];
      const drop: number[] = [];
      for (let i = judged; i < n; i += 2) (p.truth[i] > -0.5 ? keep : drop).push(i);
      const ds = fakeDataset(p, keep, drop);
      const phases = new Set<string>();
      const service = new DistillService(fakeJudge(p), fakeDensity(p, dir), logger);
      const r = await service.distill(ds, {
        sample: 500,
        seed: 1,
        signal: new AbortController().signal,
        onProgress: phase => phases.add(phase),
      });
      assert.deepEqual([...phases], ['fitting', 'scoring']);
      assert.equal(r.meta.sample, 500);
      assert.equal(r.meta.sampling, 'density');
      assert.ok((r.meta.heldOutSpearman ?? 0) >= 0.95, `held-out ρ ${r.meta.heldOutSpearman}`);
      assert.ok((r.meta.outOfSampleSpearman ?? 0) >= 0.95);
      assert.equal(r.meta.labelled, keep.length + drop.length);
      assert.ok((r.meta.auc ?? 0) > 0.9, `AUC ${r.meta.auc}`);
      assert.match(r.meta.scorerKey, /^distilled:[0-9a-f]{32}$/);
      assert.notEqual(r.meta.scorerKey, r.meta.judge.scorerKey);
      assert.equal(r.meta.judge.scorerKey, 'judge-key');
      assert.equal(r.scored, n);
      assert.equal(r.unjudged, n - judged);
      const col = service.known(ds);
      assert.ok(col);
      // The rows the judge never saw follow the planted relation.
      assert.ok(spearman(col.values.subarray(judged), p.truth.subarray(judged)) >= 0.95);

      // A fresh service (a restart) scores the rows again from the kept model.
      const again = await new DistillService(fakeJudge(p), fakeDensity(p, dir), logger).column(ds);
      assert.ok(again);
      assert.equal(again.meta.scorerKey, r.meta.scorerKey);
      for (let i = 0; i < n; i += 97) assert.ok(Math.abs(again.values[i] - col.values[i]) < 1e-3);
      await p.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a cancelled distillation stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'winnow-distill-cancel-'));
    try {
      const p = await plant(dir);
      const abort = new AbortController();
      abort.abort(new DOMException('Cancelled', 'AbortError'));
      const service = new DistillService(fakeJudge(p), fakeDensity(p, dir), logger);
      await assert.rejects(
        service.distill(fakeDataset(p, [], []), {
          sample: 300,
          seed: 1,
          signal: abort.signal,
          onProgress: () => {},
        }),
        /Cancelled/,
      );
      assert.equal(service.known(fakeDataset(p, [], [])), undefined);
      await p.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('review uncertain with a distilled scorer', () => {
  // Rows: judge P(yes), distilled score; the calibrated threshold is 0.6.
  const judge = Float32Array.from([0.9, 0.55, 0.62, 0.2, 0.7, NaN, 0.59, 0.625]);
  const distilled = Float32Array.from([0.8, 0.9, 0.1, 0.25, 0.5, 0.9, 0.58, 0.3]);
  const rows = Uint32Array.from(judge.keys());

  test('puts the rows where judge and distilled disagree most first, then the threshold', () => {
    const order = [...uncertainOrder(rows, { score: judge, distilled }, 0.6)];
    // Disagreeing about 0.6: 2 (|0.62−0.1| = 0.52), 1 (0.35), 7 (0.325), 4 (0.2); then by
    // |P(yes) − 0.6|: 6 (0.01), 3 (0.4), 0 (0.3 → before 3); the unscored row 5 last.
    assert.deepEqual(order, [2, 1, 7, 4, 6, 0, 3, 5]);
  });

  test('without distilled scores it is the nearest-to-threshold order', () => {
    const order = [...uncertainOrder(rows, { score: judge }, 0.6)];
    assert.deepEqual(order, [6, 2, 7, 1, 4, 0, 3, 5]);
  });
});
