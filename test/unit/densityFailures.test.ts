/**
 * DENSITY with a row the embedder fails on (issue 17, defect 1): the row is reported with its
 * line and the reason, gets no score and no cached embedding, and every other row is scored.
 * The DensityService runs on a real Dataset with the tiny-bert fixture; the loaded embedder is
 * made to fail on one text, the way a tokenizer failed on long rows.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import {
  decodeColumns,
  encodeFloat32,
  encodeUint32,
  rowScores,
} from '../../src/core/dataset/scoreColumns';
import { Dataset } from '../../src/worker/dataset/dataset';
import { resolveDensitySettings } from '../../src/worker/density/densitySettings';
import { DensityService } from '../../src/worker/density/densityService';
import { renderDensityHover } from '../../src/worker/density/densityHover';
import type { EmbeddingModel } from '../../src/worker/density/embeddingModel';
import { Logger } from '../../src/worker/logger';
import { Rng, allWords, generateTinyBert, type TinyBert } from '../support/fixtures';

const warnings: string[] = [];
const logger = new Logger({
  error: () => {},
  warn: m => warnings.push(m),
  info: () => {},
  debug: () => {},
});

let root: string;
let bert: TinyBert;
let service: DensityService;
const opened: Dataset[] = [];

before(() => {
  root = mkdtempSync(join(tmpdir(), 'winnow-density-failures-'));
  bert = generateTinyBert(join(root, 'tiny-bert'));
  service = new DensityService({
    storageDir: () => join(root, 'storage'),
    modelCacheDir: () => join(root, 'models'),
    logger,
  });
});
after(async () => {
  await service.dispose();
  for (const d of opened) await d.close();
  rmSync(root, { recursive: true, force: true });
});

async function open(name: string, texts: string[]): Promise<Dataset> {
  const path = join(root, name);
  writeFileSync(path, texts.map((text, id) => `${JSON.stringify({ id, text })}\n`).join(''));
  const d = await Dataset.open(
    pathToFileURL(path).toString(),
    path,
    { maxLineBytes: 1 << 20, detailCap: 100 },
    logger,
  );
  opened.push(d);
  return d;
}

test('a row the embedder fails on is reported and left out; the other rows are scored', async () => {
  const rng = new Rng(3);
  const words = allWords();
  const texts = Array.from({ length: 40 }, () =>
    Array.from({ length: 4 + rng.int(20) }, () => words[rng.int(words.length)]).join(' '),
  );
  const settings = resolveDensitySettings({ device: 'cpu', density: { model: bert.dir } });
  // Loads the model (and scores a first file).
  await service.compute(await open('warm.jsonl', texts.slice(0, 5)), settings);
  const model = await (service as unknown as { model: { model: Promise<EmbeddingModel> } }).model
    .model;
  const embedBatch = model.embedBatch.bind(model);
  model.embedBatch = async (batch: readonly string[]) => {
    if (batch.some(t => t.includes('POISON')))
      throw new RangeError('Maximum call stack size exceeded');
    return embedBatch(batch);
  };
  texts[17] = `${texts[17]} POISON`;
  const dataset = await open('data.jsonl', texts);
  const r = await service.compute(dataset, settings);
  assert.equal(r.failedRows, 1);
  assert.deepEqual(r.failures, [
    { line: 18, reason: 'RangeError: Maximum call stack size exceeded' },
  ]);
  assert.equal(r.rows, 39);
  assert.equal(r.invalidRows, 0);
  const column = await service.column(dataset);
  assert.ok(column);
  assert.ok(Number.isNaN(column.scores[17]), 'no score for the failed row');
  for (let i = 0; i < texts.length; i++)
    if (i !== 17) assert.ok(column.scores[i] > 0, `row ${i} has a score`);
  assert.ok(
    warnings.some(w => /line 18 could not be embedded: RangeError: Maximum call stack/.test(w)),
  );
  // The hover says why the row has no DENSITY score.
  assert.match(service.failureFor(dataset, 17) ?? '', /Maximum call stack/);
  assert.equal(service.failureFor(dataset, 16), undefined);
  assert.match(
    renderDensityHover(column, 17, false, true, service.failureFor(dataset, 17)).join('\n'),
    // The reason is Markdown-escaped (`\\:`).
    /^\*\*DENSITY:\*\* none: this row could not be embedded \(RangeError\\?: Maximum call stack/,
  );
  // The dataset view's column says so too: the row's Density cell reads "failed", with the reason.
  assert.deepEqual(service.failuresOf(dataset, dataset.rows.count), [
    { row: 17, reason: 'RangeError: Maximum call stack size exceeded' },
  ]);
  const cols = decodeColumns({
    rowCount: 40,
    fileVersion: 'v',
    density: {
      score: encodeFloat32(column.scores),
      rank: encodeUint32(column.ranks),
      meta: { model: 'm', rows: 39, buckets: 1, hashesPerRow: 1, bandwidth: 1, seed: 1 },
      failed: service.failuresOf(dataset, 40),
    },
  });
  assert.match(rowScores(cols, 17).densityFailed ?? '', /Maximum call stack/);
  assert.equal(rowScores(cols, 16).densityFailed, undefined);
  // Nothing was cached for it: with the embedder well again, a run embeds just that row.
  model.embedBatch = embedBatch;
  const again = await service.compute(dataset, settings);
  assert.equal(again.failedRows, 0);
  assert.equal(service.failureFor(dataset, 17), undefined, 'the failure is gone once embedded');
  assert.deepEqual(service.failuresOf(dataset, 40), []);
  assert.equal(again.embedded, 1);
  assert.equal(again.rows, 40);
});
