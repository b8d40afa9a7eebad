/**
 * DENSITY in the worker, below the protocol: the DensityService on a real Dataset (the worker's
 * own file index) with the tiny-bert fixture as embedder. Scores must equal computeDensity run
 * directly on the same (float16-stored) embeddings; planted duplicates must rank as dense; the
 * cache must make a second run embed nothing; sketch and scores must be on disk and reproducible.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  DensitySketch,
  OrtLshHasher,
  computeDensity,
  readSketchFile,
  scoreEmbeddings,
  sketchParams,
} from '../../src/core/density';
import { decodeFloat16, encodeFloat16, readDensityResults } from '../../src/core/embedStore';
import { Dataset } from '../../src/worker/dataset/dataset';
import { resolveDensitySettings } from '../../src/worker/density/densitySettings';
import { DensityService, type DensityProgress } from '../../src/worker/density/densityService';
import { loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { Logger } from '../../src/worker/logger';
import { repoRoot } from '../lsp/workerSession';
import { writeDensityDataset, type DensityDataset } from '../support/densityData';
import { generateTinyBert, type TinyBert } from '../support/fixtures';

const logger = new Logger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });

let root: string;
let bert: TinyBert;
let data: DensityDataset;
let dataset: Dataset;
let service: DensityService;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-density-'));
  bert = generateTinyBert(join(root, 'tiny-bert'));
  data = writeDensityDataset(join(root, 'data.jsonl'));
  dataset = await Dataset.open(
    pathToFileURL(data.path).toString(),
    data.path,
    { maxLineBytes: 1 << 20, detailCap: 100 },
    logger,
  );
  service = new DensityService({
    storageDir: () => join(root, 'storage'),
    modelCacheDir: () => join(root, 'models'),
    logger,
  });
});
after(async () => {
  await service.dispose();
  await dataset.close();
  rmSync(root, { recursive: true, force: true });
});

const settings = () => resolveDensitySettings({ device: 'cpu', density: { model: bert.dir } });

/** Reference: embed the valid lines directly, round through float16, run both passes. */
async function referenceScores(): Promise<Float64Array> {
  const model = await loadEmbeddingModel({
    model: bert.dir,
    cacheDir: join(root, 'models'),
    device: 'cpu',
  });
  try {
    const texts = data.texts.filter((t): t is string => t !== undefined);
    const r = await model.embedBatch(texts);
    const x = decodeFloat16(
      encodeFloat16(r.vectors, new Uint16Array(r.vectors.length)),
      new Float32Array(r.vectors.length),
    );
    const params = sketchParams({ dim: model.dim });
    const hasher = await OrtLshHasher.create(params);
    try {
      return (await computeDensity(() => [x], hasher, new DensitySketch(params))).scores;
    } finally {
      await hasher.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe('DensityService', () => {
  test('scores equal computeDensity on the same embeddings; ranks are a permutation; duplicates are dense', async t => {
    const phases = new Set<string>();
    const s = await service.compute(dataset, settings(), undefined, (p: DensityProgress) =>
      phases.add(p.phase),
    );
    const valid = data.lines.length - data.invalid.length;
    assert.equal(s.rows, valid);
    assert.equal(s.invalidRows, data.invalid.length);
    assert.equal(s.embedded, valid, 'every distinct line embedded once');
    assert.equal(s.cachedRows, 0);
    assert.equal(s.dim, bert.d);
    assert.equal(s.maxTokens, 256);
    assert.deepEqual(s.params, {
      rows: 1000,
      buckets: 20000,
      hashesPerRow: 1,
      bandwidth: 1,
      seed: 0x5eed,
    });
    assert.deepEqual([...phases].sort(), [
      'embedding',
      'loading',
      'saving',
      'scoring',
      'sketching',
    ]);
    t.diagnostic(
      `${valid} rows: embed ${s.ms.embed.toFixed(0)} ms, sketch ${s.ms.sketch.toFixed(0)} ms`,
    );

    const column = await service.column(dataset);
    assert.ok(column);
    const want = await referenceScores();
    let k = 0;
    for (let i = 0; i < data.lines.length; i++) {
      if (data.invalid.includes(i)) {
        assert.ok(Number.isNaN(column.scores[i]));
        assert.equal(column.ranks[i], 0);
        continue;
      }
      assert.equal(column.scores[i], Math.fround(want[k++]), `line ${i}`);
    }
    const ranks = [...column.ranks].filter(r => r > 0).sort((a, b) => a - b);
    assert.deepEqual(
      ranks,
      Array.from({ length: valid }, (_, i) => i + 1),
    );
    const threshold = 0.9 * valid;
    for (const i of data.duplicates)
      assert.ok(column.ranks[i] > threshold, `duplicate line ${i} has rank ${column.ranks[i]}`);
    // Rank 1 is the lowest score.
    const first = column.ranks.indexOf(1);
    for (let i = 0; i < data.lines.length; i++)
      if (column.ranks[i] > 0) assert.ok(column.scores[i] >= column.scores[first]);
  });

  test('the sketch file reproduces the stored scores; the results carry their provenance', async () => {
    const results = await readDensityResults(service.resultsPath(dataset));
    assert.ok(results);
    assert.equal(results.meta.model, bert.dir);
    assert.equal(results.meta.maxTokens, 256);
    assert.equal(results.meta.seed, 0x5eed);
    assert.equal(results.meta.points, data.lines.length - data.invalid.length);
    const sketch = await readSketchFile(service.sketchPath(dataset));
    assert.equal(sketch.count, results.meta.points);
    const model = await loadEmbeddingModel({
      model: bert.dir,
      cacheDir: join(root, 'models'),
      device: 'cpu',
    });
    const hasher = await OrtLshHasher.create(sketch.params);
    try {
      const line = data.duplicates[0];
      const r = await model.embedBatch([data.texts[line]!]);
      const x = decodeFloat16(
        encodeFloat16(r.vectors, new Uint16Array(bert.d)),
        new Float32Array(bert.d),
      );
      const [score] = await scoreEmbeddings(sketch, hasher, x);
      const column = await service.column(dataset);
      assert.equal(Math.fround(score), column!.scores[line]);
    } finally {
      await hasher.dispose();
      await model.dispose();
    }
  });

  test('a second run embeds nothing (cache hits) and gives identical scores', async () => {
    const before = Float32Array.from((await service.column(dataset))!.scores);
    const s = await service.compute(dataset, settings());
    assert.equal(s.embedded, 0);
    assert.equal(s.cachedRows, s.rows);
    const after = (await service.column(dataset))!.scores;
    assert.deepEqual([...after].map(String), [...before].map(String));
  });

  test('sampling is deterministic per seed, honours count and percent, and never picks invalid lines', async () => {
    const a = await service.sample(dataset, { count: 40 }, 7);
    const b = await service.sample(dataset, { count: 40 }, 7);
    const c = await service.sample(dataset, { count: 40 }, 8);
    assert.deepEqual(a.lines, b.lines);
    assert.notDeepEqual(a.lines, c.lines);
    assert.equal(a.lines.length, 40);
    assert.equal(a.eligible, data.lines.length - data.invalid.length);
    for (const l of a.lines) assert.ok(!data.invalid.includes(l));
    assert.deepEqual(
      a.lines,
      [...a.lines].sort((x, y) => x - y),
    );
    const pct = await service.sample(dataset, { percent: 10 }, 7);
    assert.equal(pct.lines.length, Math.round(a.eligible / 10));
    await assert.rejects(service.sample(dataset, { count: 100_000 }, 1), /between 0 and/);
  });

  test('after an edit, old lines keep their scores by content and the new line has none', async () => {
    appendFileSync(data.path, JSON.stringify({ id: 'new', text: 'a brand new line' }) + '\n');
    await dataset.file.checkForChanges();
    await dataset.whenValidated();
    const column = await service.column(dataset);
    assert.ok(column);
    assert.equal(column.scores.length, data.lines.length + 1);
    assert.ok(Number.isNaN(column.scores[data.lines.length]));
    assert.equal(column.ranks[data.lines.length], 0);
    assert.ok(column.ranks[data.duplicates[0]] > 0);
  });

  test('cancellation stops a run; the next run completes', async () => {
    const abort = new AbortController();
    abort.abort(new DOMException('Cancelled', 'AbortError'));
    await assert.rejects(
      service.compute(dataset, settings(), abort.signal),
      (e: unknown) => (e as Error).name === 'AbortError',
    );
    const s = await service.compute(dataset, settings());
    assert.equal(s.embedded, 1, 'only the appended line');
  });

  test('a missing model gives a clear error and no files', async () => {
    const other = new DensityService({
      storageDir: () => join(root, 'storage2'),
      modelCacheDir: () => join(root, 'models'),
      logger,
    });
    await assert.rejects(
      other.compute(
        dataset,
        resolveDensitySettings({ device: 'cpu', density: { model: join(root, 'nope') } }),
      ),
      /folder not found/,
    );
    assert.equal(existsSync(other.resultsPath(dataset)), false);
    await other.dispose();
  });
});

describe('shards: sketches are additive', () => {
  test("scoring each shard against the other shard's sketch equals one pass over both; the CLI merge is bit-exact", async () => {
    const dir = join(root, 'shards');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const all = writeDensityDataset(join(dir, 'all.jsonl'), {
      rows: 160,
      duplicates: 10,
      invalid: 1,
      seed: 9,
    });
    const half = Math.floor(all.lines.length / 2);
    writeFileSync(join(dir, 'a.jsonl'), all.lines.slice(0, half).join('\n') + '\n');
    writeFileSync(join(dir, 'b.jsonl'), all.lines.slice(half).join('\n') + '\n');
    const open = (name: string) =>
      Dataset.open(
        pathToFileURL(join(dir, name)).toString(),
        join(dir, name),
        { maxLineBytes: 1 << 20, detailCap: 100 },
        logger,
      );
    const [a, b, c] = await Promise.all([open('a.jsonl'), open('b.jsonl'), open('all.jsonl')]);
    try {
      const own = settings();
      await service.compute(c, own);
      await service.compute(a, own);
      // b scored against itself plus a's sketch; then a against itself plus b's sketch.
      const sb = await service.compute(b, { ...own, shardSketches: [service.sketchPath(a)] });
      await service.compute(a, { ...own, shardSketches: [service.sketchPath(b)] });
      assert.equal(sb.rows + (await service.column(a))!.scored, (await service.column(c))!.scored);
      const colC = (await service.column(c))!;
      const colA = (await service.column(a))!;
      const colB = (await service.column(b))!;
      for (let i = 0; i < all.lines.length; i++) {
        const got = i < half ? colA.scores[i] : colB.scores[i - half];
        assert.equal(String(got), String(colC.scores[i]), `line ${i}`);
      }
      const resultsB = await readDensityResults(service.resultsPath(b));
      assert.deepEqual(resultsB?.meta.shardSketches, [service.sketchPath(a)]);
      assert.equal(resultsB?.meta.points, colC.scored);
      // The saved sketches stay per shard, so the CLI (winnow merge) can sum them.
      const merged = join(dir, 'merged.wnds');
      const cli = join(repoRoot, 'dist', 'cli.js');
      const out = execFileSync(
        process.execPath,
        [cli, 'merge', merged, service.sketchPath(a), service.sketchPath(b)],
        {
          encoding: 'utf8',
        },
      );
      assert.match(out, new RegExp(`${colC.scored} points from 2 sketches`));
      const m = await readSketchFile(merged);
      const whole = await readSketchFile(service.sketchPath(c));
      assert.ok(m.equals(whole), 'merged shard sketches equal the single-pass sketch bit for bit');
      assert.match(
        execFileSync(process.execPath, [cli, 'info', merged], { encoding: 'utf8' }),
        /R=1000 B=20000 K=1 w=1 seed=24301/,
      );
      // Mismatched parameters are refused with both descriptions.
      await assert.rejects(
        service.compute(b, { ...own, seed: 1, shardSketches: [service.sketchPath(a)] }),
        /seed=24301.*this run uses.*seed=1/,
      );
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});
