/**
 * The crash-safe score cache on real files, and its use by the scorer: hits skip the model,
 * cancelled runs keep their finished batches and the next run continues where it stopped.
 */
import { strict as assert } from 'node:assert';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ScoreCache, contentHash, crc32, scorerKey } from '../../src/core/askllm';
import { AskLlmScorer, type LoadedModel, loadScorerModel } from '../../src/worker/askllm';
import { contentHash as rowHash, legacyContentHash } from '../../src/core/jsonl';
import { Dataset } from '../../src/worker/dataset/dataset';
import { Logger } from '../../src/worker/logger';
import { rekeyLegacyScores } from '../../src/worker/askllm/legacyScores';
import { generateTinyT5 } from '../support/fixtures';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cache-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const score = (pYes: number) => ({
  pYes,
  pNo: 0.1,
  tokens: 10,
  truncated: false,
  modelId: 'm/x',
  promptId: 'paper',
});

describe('ScoreCache file format', () => {
  test('records survive reopen and carry model and prompt ids', async () => {
    const path = join(dir, 'a.log');
    const c = await ScoreCache.open(path);
    await c.putMany('k1', [
      { hash: 'h1', score: score(0.5) },
      { hash: 'h2', score: score(0.25) },
    ]);
    await c.putMany('k1', [{ hash: 'h1', score: score(0.75) }]);
    await c.close();
    const d = await ScoreCache.open(path);
    assert.equal(d.size, 2);
    assert.equal(d.get('k1', 'h1')?.pYes, 0.75, 'the later record wins');
    assert.equal(d.get('k1', 'h2')?.modelId, 'm/x');
    assert.equal(d.get('k1', 'h2')?.promptId, 'paper');
    assert.equal(d.get('k2', 'h1'), undefined);
    assert.deepEqual(d.loadReport, { records: 3, corrupt: 0, tornBytes: 0 });
    await d.close();
  });

  test('latest(): the newest score of a content under any scorer, filterable by model and prompt', async () => {
    const c = await ScoreCache.open(join(dir, 'latest.log'));
    await c.putMany('k1', [{ hash: 'h', score: { ...score(0.1), time: 1 } }]);
    await c.putMany('k2', [{ hash: 'h', score: { ...score(0.2), modelId: 'm/y', time: 2 } }]);
    assert.equal(c.latest('h')?.pYes, 0.2);
    assert.equal(c.latest('h')?.scorerKey, 'k2');
    assert.equal(c.latest('h', { modelId: 'm/x' })?.pYes, 0.1);
    assert.equal(c.latest('h', { promptId: 'other' }), undefined);
    assert.equal(c.latest('nope'), undefined);
    await c.close();
    const d = await ScoreCache.open(join(dir, 'latest.log'));
    assert.equal(d.latest('h', { modelId: 'm/x' })?.scorerKey, 'k1');
    await d.close();
  });

  test('a torn last record is ignored and cut off; appends after it are readable', async () => {
    const path = join(dir, 'torn.log');
    const c = await ScoreCache.open(path);
    await c.putMany('k', [
      { hash: 'a', score: score(0.1) },
      { hash: 'b', score: score(0.2) },
    ]);
    await c.close();
    const good = statSync(path).size;
    // Simulate a kill in the middle of writing the next record: half a line, no newline.
    const line = readFileSync(path, 'utf8').split('\n')[0];
    appendFileSync(path, line.slice(0, 25));
    const d = await ScoreCache.open(path);
    assert.equal(d.size, 2);
    assert.equal(d.loadReport.tornBytes, 25);
    assert.equal(statSync(path).size, good, 'the torn bytes were truncated away');
    await d.putMany('k', [{ hash: 'c', score: score(0.3) }]);
    await d.close();
    const e = await ScoreCache.open(path);
    assert.equal(e.size, 3);
    assert.equal(e.get('k', 'c')?.pYes, 0.3);
    assert.deepEqual(e.loadReport, { records: 3, corrupt: 0, tornBytes: 0 });
    await e.close();
  });

  test('a complete line with a bad checksum is skipped, the others load', async () => {
    const path = join(dir, 'corrupt.log');
    const c = await ScoreCache.open(path);
    await c.putMany('k', [
      { hash: 'a', score: score(0.1) },
      { hash: 'b', score: score(0.2) },
      { hash: 'c', score: score(0.3) },
    ]);
    await c.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[1] = lines[1].replace('"s":0.2', '"s":0.9');
    writeFileSync(path, lines.join('\n'));
    const d = await ScoreCache.open(path);
    assert.deepEqual(d.loadReport, { records: 2, corrupt: 1, tornBytes: 0 });
    assert.equal(d.get('k', 'b'), undefined);
    assert.equal(d.get('k', 'c')?.pYes, 0.3);
    await d.close();
  });

  test('bounds (answer token not returned) are kept apart from scores and survive reopen', async () => {
    const path = join(dir, 'bounds.log');
    const c = await ScoreCache.open(path);
    await c.putBounds('k', [
      { hash: 'a', bound: { upperBound: 0.01, pNo: Number.NaN, modelId: 'r', promptId: 'p' } },
    ]);
    await c.putMany('k', [{ hash: 'b', score: { ...score(0.4), pNo: Number.NaN } }]);
    assert.equal(c.get('k', 'a'), undefined, 'a bound is never read as a score');
    assert.equal(c.getBound('k', 'a')?.upperBound, 0.01);
    await c.close();
    const d = await ScoreCache.open(path);
    assert.deepEqual(d.loadReport, { records: 2, corrupt: 0, tornBytes: 0 });
    assert.equal(d.get('k', 'a'), undefined);
    assert.equal(d.getBound('k', 'a')?.upperBound, 0.01);
    assert.equal(d.latest('a'), undefined);
    assert.ok(Number.isNaN(d.get('k', 'b')!.pNo), 'an unknown P(no) stays unknown, not 0');
    // A later score of the same row replaces its bound.
    await d.putMany('k', [{ hash: 'a', score: score(0.3) }]);
    await d.close();
    const e = await ScoreCache.open(path);
    assert.equal(e.getBound('k', 'a'), undefined);
    assert.equal(e.get('k', 'a')?.pYes, 0.3);
    await e.close();
  });

  test('keys: crc32 matches the IEEE check value; scorer keys change with every component', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    const base = {
      modelId: 'm',
      dtype: 'fp32',
      promptId: 'p',
      promptHash: 'h',
      yesIds: [1],
      noIds: [2],
      maxTokens: 512,
    };
    const k = scorerKey(base);
    for (const change of [
      { modelId: 'n' },
      { dtype: 'q8' },
      { promptHash: 'x' },
      { yesIds: [1, 3] },
      { maxTokens: 256 },
    ])
      assert.notEqual(scorerKey({ ...base, ...change }), k, JSON.stringify(change));
    assert.equal(scorerKey({ ...base, yesIds: [1] }), k);
    assert.notEqual(contentHash('a'), contentHash('b'));
  });
});

describe('an old-format score log (keyed by content hash version 1, SHA-256)', () => {
  /** A record as Winnow wrote it before content hash version 2: no `v`. */
  const v1Record = (k: string, h: string, pYes: number) => {
    const json = JSON.stringify({
      k,
      h,
      s: pYes,
      n: 0.1,
      t: 10,
      tr: 0,
      m: 'm/x',
      p: 'paper',
      at: 5,
    });
    return `${json}\t${crc32(Buffer.from(json)).toString(16).padStart(8, '0')}\n`;
  };
  const logger = new Logger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });

  test('loads, and its scores follow the rows of a file to their new hashes, once', async () => {
    const data = join(dir, 'legacy.jsonl');
    const rows = [0, 1, 2].map(i => JSON.stringify({ text: `row ${i}` }));
    writeFileSync(data, rows.join('\n') + '\n');
    const path = join(dir, 'legacy.log');
    const old = (i: number) => legacyContentHash(Buffer.from(rows[i]));
    const fresh = (i: number) => rowHash(Buffer.from(rows[i]));
    const gone = legacyContentHash(Buffer.from('{"text":"not in the file"}'));
    writeFileSync(
      path,
      v1Record('k', old(0), 0.25) +
        v1Record('k2', old(0), 0.5) +
        v1Record('k', old(2), 0.75) +
        v1Record('k', gone, 0.125),
    );
    const c = await ScoreCache.open(path);
    assert.deepEqual(c.loadReport, { records: 4, corrupt: 0, tornBytes: 0 });
    assert.equal(c.legacyHashes, 3);
    assert.equal(c.get('k', fresh(0)), undefined, 'not under the new hash before the pass');
    const dataset = await Dataset.open(
      'file:///legacy.jsonl',
      data,
      { maxLineBytes: 1 << 20, detailCap: 10 },
      logger,
    );
    try {
      await dataset.whenValidated();
      assert.equal(await rekeyLegacyScores(dataset, c), 3);
      assert.equal(c.get('k', dataset.rows.hash(0))?.pYes, 0.25);
      assert.equal(c.get('k2', dataset.rows.hash(0))?.pYes, 0.5);
      assert.equal(c.get('k', dataset.rows.hash(1)), undefined);
      assert.equal(c.get('k', dataset.rows.hash(2))?.pYes, 0.75);
      assert.equal(dataset.rows.hash(2), fresh(2));
      assert.equal(c.get('k', fresh(2))?.time, 5, 'the score keeps its time and ids');
      assert.equal(c.legacyHashes, 1, 'the row that is not in the file stays legacy');
      assert.equal(await rekeyLegacyScores(dataset, c), 0, 'nothing is copied twice');
    } finally {
      await dataset.close();
      await c.close();
    }
    // After a restart the copies are there and the migrated hashes are not legacy any more.
    const d = await ScoreCache.open(path);
    assert.equal(d.get('k', fresh(0))?.pYes, 0.25);
    assert.equal(d.get('k', fresh(2))?.modelId, 'm/x');
    assert.equal(d.legacyHashes, 1);
    assert.ok(d.hasLegacy(gone));
    assert.ok(!d.hasLegacy(old(0)));
    await d.close();
  });
});

describe('scorer with the cache', () => {
  let model: LoadedModel;
  let modelDir: string;
  before(async () => {
    modelDir = join(dir, 'tiny-t5');
    generateTinyT5(modelDir);
    model = await loadScorerModel({
      model: modelDir,
      cacheDir: join(dir, 'hf'),
      offline: true,
      device: 'cpu',
    });
  });
  after(async () => {
    await model.dispose().catch(() => undefined);
  });

  const docs = Array.from(
    { length: 12 },
    (_, i) => `document number ${i} about science and ${'history '.repeat(i)}`,
  );

  test('cancel between batches keeps finished scores; the next run continues; hits skip the model', async () => {
    const path = join(dir, 'scores.log');
    const scorer = AskLlmScorer.create(model, { batchSize: 3, tokenBudget: Infinity });
    const cache = await ScoreCache.open(path);
    const ac = new AbortController();
    let batchesDone = 0;
    const first = await scorer.score(docs, {
      cache,
      signal: ac.signal,
      // Cancel once 2 batches have finished.
      onBatch: () => {
        if (++batchesDone >= 2) ac.abort();
      },
    });
    assert.equal(first.cancelled, true);
    // Batches run one after the other: no batch starts after the abort.
    assert.equal(first.batches, 2);
    const finished = first.batches * 3;
    assert.equal(first.scores.filter(Boolean).length, finished);
    await cache.close();

    // Reopen as a new process would: the finished scores are on disk.
    const reopened = await ScoreCache.open(path);
    assert.equal(reopened.size, finished);
    const progress: number[] = [];
    const second = await scorer.score(docs, {
      cache: reopened,
      onProgress: p => progress.push(p.done),
    });
    assert.equal(second.cancelled, false);
    assert.equal(second.batches, 4 - first.batches, 'only the missing rows ran');
    assert.equal(second.scores.filter(s => s?.cached).length, finished);
    assert.equal(progress[0], finished);
    assert.equal(progress[progress.length - 1], 12);
    for (let i = 0; i < finished; i++) assert.equal(second.scores[i]?.pYes, first.scores[i]?.pYes);

    // All 12 cached: no forward pass at all, even with the model's sessions released.
    await model.dispose();
    const third = await scorer.score(docs, { cache: reopened });
    assert.equal(third.batches, 0);
    assert.ok(third.scores.every(s => s?.cached));
    assert.deepEqual(
      third.scores.map(s => s?.pYes),
      second.scores.map(s => s?.pYes),
    );
    await reopened.close();
  });

  test('duplicate documents are scored once', async () => {
    const fresh = await loadScorerModel({
      model: modelDir,
      cacheDir: join(dir, 'hf'),
      offline: true,
      device: 'cpu',
    });
    try {
      const r = await AskLlmScorer.create(fresh, { batchSize: 1 }).score([
        'same text',
        'other',
        'same text',
      ]);
      assert.equal(r.batches, 2);
      assert.equal(r.scores[0]?.pYes, r.scores[2]?.pYes);
      assert.equal(r.scores[2]?.index, 2);
    } finally {
      await fresh.dispose();
    }
  });
});
