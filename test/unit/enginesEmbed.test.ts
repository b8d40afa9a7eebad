/**
 * Remote embeddings for DENSITY (src/core/engines/embeddings.ts) against the stand-in engine on
 * the tiny-bert fixture: OpenAI-compatible `/v1/embeddings` (whose vectors the stand-in leaves
 * unnormalised on purpose) and TEI's `/embed` give unit vectors equal to the local embedder and to
 * the closed form, in input order, in batches, through faults.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RemoteEmbedder } from '../../src/core/engines';
import { type EmbeddingModel, loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { type FixtureSet, bertEmbedding, generateFixtureSet } from '../support/fixtures';
import { StandInEngine } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';

const TEXTS = Array.from(
  { length: 10 },
  (_, i) =>
    `${['science and energy', 'cheap casino bonus', 'the city at night', 'knowledge'][i % 4]} ${i}`,
);

let fx: FixtureSet;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
let engine: StandInEngine;
let local: EmbeddingModel;

before(async () => {
  fx = generateFixtureSet('winnow-engine-embed-');
  brain = await fixtureBrain(fx.qwen2.dir, fx.root, fx.bert.dir);
  engine = await StandInEngine.start({ brain });
  local = await loadEmbeddingModel({
    model: fx.bert.dir,
    cacheDir: join(fx.root, 'c'),
    device: 'cpu',
  });
});
after(async () => {
  await engine.close();
  await local.dispose();
  await brain.dispose();
  fx.cleanup();
});

function check(vectors: Float32Array, dim: number): void {
  assert.equal(vectors.length, TEXTS.length * dim);
  TEXTS.forEach((text, i) => {
    const v = vectors.subarray(i * dim, (i + 1) * dim);
    let norm = 0;
    for (const x of v) norm += x * x;
    assert.ok(Math.abs(Math.sqrt(norm) - 1) < 1e-6, `row ${i} is a unit vector`);
    const want = bertEmbedding(fx.bert, local.tokenize(text));
    for (let k = 0; k < dim; k++)
      assert.ok(Math.abs(v[k] - want[k]) < 1e-5, `row ${i}[${k}] vs closed form`);
  });
}

describe('remote embeddings', () => {
  for (const api of ['openai', 'tei'] as const)
    test(`${api}: L2-normalised, batched, in order, equal to local and the closed form`, async () => {
      const route = api === 'openai' ? '/v1/embeddings' : '/embed';
      const before = engine.requests.get(route) ?? 0;
      const e = await RemoteEmbedder.create({
        api,
        endpoint: api === 'openai' ? `${engine.url}/v1` : engine.url,
        model: api === 'openai' ? 'tiny' : undefined,
        batchSize: 3,
        concurrency: 2,
      });
      assert.equal(e.dim, fx.bert.d);
      const r = await e.embedBatch(TEXTS);
      check(r.vectors, e.dim);
      assert.equal(
        (engine.requests.get(route) ?? 0) - before,
        1 + 4,
        'the probe, then 4 batches of ≤ 3',
      );
      const l = await local.embedBatch(TEXTS);
      for (let i = 0; i < l.vectors.length; i++)
        assert.ok(Math.abs(l.vectors[i] - r.vectors[i]) < 1e-6);
      e.close();
    });

  test('faults are retried and change nothing', async () => {
    const e = await RemoteEmbedder.create({
      api: 'openai',
      endpoint: `${engine.url}/v1`,
      model: 'tiny',
      batchSize: 4,
      retry: { baseMs: 10, maxMs: 50 },
    });
    engine.inject({ kind: 'status', status: 503 }, 1);
    engine.inject({ kind: 'partial' }, 1);
    engine.inject({ kind: 'drop' }, 1);
    const r = await e.embedBatch(TEXTS);
    assert.equal(engine.pendingFaults, 0);
    check(r.vectors, e.dim);
    e.close();
  });

  test('an endpoint that refuses the probe gets one clear error', async () => {
    await assert.rejects(
      RemoteEmbedder.create({ api: 'openai', endpoint: `${engine.url}/v1`, model: 'other' }),
      /refused the probe: .*HTTP 404/,
    );
  });
});
