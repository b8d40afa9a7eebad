/**
 * Tier 2: DENSITY through the real worker process (dist/worker.js) over the real IPC connection:
 * `winnow/computeDensity` on a generated file with the tiny-bert fixture as embedder, the density
 * column of `winnow/getColumns` (checked against computeDensity run directly on the same
 * float16-stored embeddings), planted duplicates ranking as dense, the hover, sampling,
 * cancellation, and scores that come back after a restart without recomputing.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, type MarkupContent } from 'vscode-languageserver-protocol/node';
import {
  DensitySketch,
  OrtLshHasher,
  computeDensity,
  densityRanks,
  sketchParams,
} from '../../src/core/density';
import { decodeFloat16, encodeFloat16 } from '../../src/core/embedStore';
import {
  ComputeDensityRequest,
  DensityProgressNotification,
  SampleByDensityRequest,
  type ComputeDensityResult,
  type DensityProgressParams,
  type SampleByDensityResult,
} from '../../src/shared/protocol/worker';
import type { GetColumnsResult } from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import { loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { writeDensityDataset, type DensityDataset } from '../support/densityData';
import { generateTinyBert, type TinyBert } from '../support/fixtures';
import { WorkerSession } from './workerSession';

let dir: string;
let bert: TinyBert;
let data: DensityDataset;
let uri: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-density-'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  data = writeDensityDataset(join(dir, 'data.jsonl'));
  uri = pathToFileURL(data.path).toString();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const settings = (): WinnowSettingsSection => ({ device: 'cpu', density: { model: bert.dir } });

function decodeDensity(result: GetColumnsResult): { scores: Float32Array; ranks: Uint32Array } {
  assert.ok(result.density, 'a density column');
  const s = Buffer.from(result.density.score, 'base64');
  const r = Buffer.from(result.density.rank, 'base64');
  assert.equal(s.length, result.rowCount * 4);
  assert.equal(r.length, result.rowCount * 4);
  return {
    scores: new Float32Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.length)),
    ranks: new Uint32Array(r.buffer.slice(r.byteOffset, r.byteOffset + r.length)),
  };
}

/** computeDensity run directly on the valid lines' embeddings, as the cache stores them. */
async function reference(): Promise<Float64Array> {
  const model = await loadEmbeddingModel({
    model: bert.dir,
    cacheDir: join(dir, 'ref-models'),
    device: 'cpu',
  });
  try {
    const texts = data.texts.filter((t): t is string => t !== undefined);
    const { vectors } = await model.embedBatch(texts);
    const x = decodeFloat16(
      encodeFloat16(vectors, new Uint16Array(vectors.length)),
      new Float32Array(vectors.length),
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

function hoverText(hover: { contents: unknown } | null): string {
  assert.ok(hover, 'a hover');
  // What the user reads: backslash escapes and emphasis markers removed.
  return (hover.contents as MarkupContent).value
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/\*\*|\*/g, '');
}

describe('DENSITY in the worker', () => {
  let session: WorkerSession;
  const storagePath = () => join(dir, 'storage');
  const progress: DensityProgressParams[] = [];

  before(async () => {
    session = await WorkerSession.start({ storagePath: storagePath(), settings: settings() });
    session.connection.onNotification(
      DensityProgressNotification.method,
      (p: DensityProgressParams) => {
        progress.push(p);
      },
    );
    await session.openDataset(uri);
    await session.fileInfo(uri, true);
  });
  after(async () => {
    await session.shutdown();
  });

  it('before any run: no density column, and the hover says how to compute it', async () => {
    const cols = await session.columns(uri);
    assert.equal(cols.density, undefined);
    assert.match(
      hoverText(await session.hover(uri, data.duplicates[0])),
      /DENSITY: not computed yet \(run Winnow: Compute Density\)/,
    );
  });

  it('computes DENSITY; getColumns matches computeDensity run directly; duplicates rank as dense', async t => {
    const r: ComputeDensityResult = await session.connection.sendRequest(
      ComputeDensityRequest.method,
      { uri },
    );
    const valid = data.lines.length - data.invalid.length;
    assert.equal(r.uri, uri);
    assert.equal(r.rows, valid);
    assert.equal(r.invalidRows, data.invalid.length);
    assert.equal(r.embedded, valid);
    assert.equal(r.device, 'cpu');
    assert.equal(r.pipeline, 'last_hidden_state → mean → L2');
    assert.deepEqual(r.params, {
      rows: 1000,
      buckets: 20000,
      hashesPerRow: 1,
      bandwidth: 1,
      seed: 24301,
    });
    assert.ok(r.sketchPath.startsWith(join(storagePath(), 'density')));
    t.diagnostic(
      `${valid} rows in ${r.ms.total.toFixed(0)} ms (embed ${r.ms.embed.toFixed(0)}, sketch ${r.ms.sketch.toFixed(0)})`,
    );
    assert.deepEqual(
      [...new Set(progress.filter(p => p.uri === uri).map(p => p.phase))],
      ['loading', 'embedding', 'sketching', 'scoring', 'saving'],
    );
    await session.waitFor('didChangeColumns(density)', () =>
      session.columnChanges.some(c => c.uri === uri && c.kinds.includes('density')),
    );

    const cols = await session.columns(uri);
    assert.equal(cols.rowCount, data.lines.length);
    assert.deepEqual(cols.density?.meta, {
      model: bert.dir,
      rows: 1000,
      buckets: 20000,
      hashesPerRow: 1,
      bandwidth: 1,
      seed: 24301,
    });
    const { scores, ranks } = decodeDensity(cols);
    const want = await reference();
    const wantRanks = densityRanks(want);
    let k = 0;
    for (let i = 0; i < data.lines.length; i++) {
      if (data.invalid.includes(i)) {
        assert.ok(Number.isNaN(scores[i]), `invalid line ${i} has no score`);
        assert.equal(ranks[i], 0);
        continue;
      }
      assert.equal(scores[i], Math.fround(want[k]), `score of line ${i}`);
      assert.equal(ranks[i], wantRanks[k], `rank of line ${i}`);
      k++;
    }
    for (const i of data.duplicates)
      assert.ok(ranks[i] > 0.9 * valid, `duplicate line ${i}: rank ${ranks[i]} of ${valid}`);
  });

  it('the hover shows the rank and score next to ASK-LLM', async () => {
    const cols = decodeDensity(await session.columns(uri));
    const line = data.duplicates[0];
    const text = hoverText(await session.hover(uri, line));
    const valid = data.lines.length - data.invalid.length;
    assert.match(
      text,
      new RegExp(
        `DENSITY: rank ${cols.ranks[line].toLocaleString('en-US')} of ${valid.toLocaleString('en-US')} \\(1 = most isolated\\)`,
      ),
    );
    assert.match(text, /score \d/);
    assert.match(text, /ASK-LLM/);
    assert.ok(
      text.indexOf('ASK-LLM') < text.indexOf('DENSITY'),
      'ASK-LLM first, DENSITY next to it',
    );
    assert.match(text, /≤ 256 tokens\), sketch R=1000 B=20000 w=1 seed=24301/);
  });

  it('samples with probability ∝ 1/score: deterministic per seed, never invalid lines', async t => {
    const ask = (seed: number, target: { count: number } | { percent: number }) =>
      session.connection.sendRequest<SampleByDensityResult>(SampleByDensityRequest.method, {
        uri,
        target,
        seed,
      });
    const a = await ask(3, { count: 50 });
    const b = await ask(3, { count: 50 });
    assert.deepEqual(a.lines, b.lines);
    assert.equal(a.lines.length, 50);
    assert.equal(a.seed, 3);
    for (const l of a.lines) assert.ok(!data.invalid.includes(l));
    // Over many seeds the planted duplicates (dense) are drawn about as often as their share of
    // the weights 1/score says, which is below their share of the rows.
    const { scores } = decodeDensity(await session.columns(uri));
    let wDup = 0;
    let wAll = 0;
    scores.forEach((s, i) => {
      if (Number.isNaN(s)) return;
      wAll += 1 / s;
      if (data.duplicates.includes(i)) wDup += 1 / s;
    });
    let drawn = 0;
    const seeds = 60;
    for (let seed = 100; seed < 100 + seeds; seed++)
      drawn += (await ask(seed, { count: 10 })).lines.filter(l =>
        data.duplicates.includes(l),
      ).length;
    const share = drawn / (seeds * 10);
    const uniform = data.duplicates.length / a.eligible;
    t.diagnostic(
      `duplicates: ${(share * 100).toFixed(1)} % of samples, weight share ${((wDup / wAll) * 100).toFixed(1)} %, row share ${(uniform * 100).toFixed(1)} %`,
    );
    assert.ok(wDup / wAll < uniform, 'duplicates carry less weight than their row share');
    assert.ok(
      Math.abs(share - wDup / wAll) < 0.35 * (wDup / wAll) + 0.01,
      `sampled share ${share}`,
    );
    assert.equal((await ask(3, { percent: 20 })).lines.length, Math.round(a.eligible * 0.2));
    await assert.rejects(
      ask(3, { count: 1_000_000 }),
      /Sample size must be an integer between 0 and/,
    );
  });

  it('a cancelled run answers RequestCancelled; the next run finishes from the cache', async () => {
    const big = writeDensityDataset(join(dir, 'big.jsonl'), { rows: 4000, seed: 77 });
    const bigUri = pathToFileURL(big.path).toString();
    await session.openDataset(bigUri);
    await session.fileInfo(bigUri, true);
    const source = new CancellationTokenSource();
    const seen = progress.length;
    const run = session.connection.sendRequest(
      ComputeDensityRequest.method,
      { uri: bigUri },
      source.token,
    );
    await session.waitFor(
      'embedding progress',
      () => progress.slice(seen).some(p => p.uri === bigUri && p.phase === 'embedding'),
      30_000,
    );
    source.cancel();
    await assert.rejects(run, (e: unknown) => (e as { code?: number }).code === -32800);
    const r: ComputeDensityResult = await session.connection.sendRequest(
      ComputeDensityRequest.method,
      { uri: bigUri },
    );
    assert.ok(r.cachedRows > 0, 'batches finished before the cancel are cached');
    assert.equal(r.embedded + r.cachedRows, r.rows);
  });

  it('rows appended during a run are embedded and scored by it, and the result counts them', async () => {
    const grown = writeDensityDataset(join(dir, 'grown.jsonl'), {
      rows: 4000,
      seed: 78,
      invalid: 0,
    });
    const grownUri = pathToFileURL(grown.path).toString();
    await session.openDataset(grownUri);
    await session.fileInfo(grownUri, true);
    const seen = progress.length;
    const run = session.connection.sendRequest<ComputeDensityResult>(ComputeDensityRequest.method, {
      uri: grownUri,
    });
    await session.waitFor(
      'embedding progress',
      () => progress.slice(seen).some(p => p.uri === grownUri && p.phase === 'embedding'),
      30_000,
    );
    const extra = writeDensityDataset(join(dir, 'extra.jsonl'), {
      rows: 100,
      seed: 79,
      invalid: 0,
    });
    appendFileSync(grown.path, extra.lines.map(l => `${l}\n`).join(''));
    const rows = grown.lines.length + extra.lines.length;
    const r: ComputeDensityResult = await run;
    assert.equal(r.rows, rows, 'rows of the file as it is now');
    assert.equal(r.invalidRows, 0);
    const cols = await session.columns(grownUri);
    assert.equal(cols.rowCount, rows);
    const { scores, ranks } = decodeDensity(cols);
    for (let i = 0; i < rows; i++)
      assert.ok(scores[i] > 0 && ranks[i] > 0, `row ${i} has a density score and rank`);
    await session.closeDataset(grownUri);
  });

  it('a file rewritten in place during a run is scored as it is now', async () => {
    const first = writeDensityDataset(join(dir, 'rewritten.jsonl'), {
      rows: 4000,
      seed: 80,
      invalid: 0,
    });
    const firstUri = pathToFileURL(first.path).toString();
    await session.openDataset(firstUri);
    await session.fileInfo(firstUri, true);
    const seen = progress.length;
    const run = session.connection.sendRequest<ComputeDensityResult>(ComputeDensityRequest.method, {
      uri: firstUri,
    });
    await session.waitFor(
      'embedding progress',
      () => progress.slice(seen).some(p => p.uri === firstUri && p.phase === 'embedding'),
      30_000,
    );
    const now = writeDensityDataset(first.path, { rows: 1200, seed: 81, invalid: 0 });
    const r: ComputeDensityResult = await run;
    assert.equal(r.rows, now.lines.length, 'rows of the file as it is now');
    const cols = await session.columns(firstUri);
    assert.equal(cols.rowCount, now.lines.length);
    const { scores } = decodeDensity(cols);
    assert.ok(
      scores.every(v => v > 0),
      'every row of the new content has a density score',
    );
    await session.closeDataset(firstUri);
  });

  it('a restarted worker serves the stored column at once, without recomputing', async () => {
    const before = decodeDensity(await session.columns(uri));
    const second = await WorkerSession.start({ storagePath: storagePath(), settings: settings() });
    try {
      await second.openDataset(uri);
      await second.fileInfo(uri, true);
      const again = decodeDensity(await second.columns(uri));
      assert.deepEqual([...again.ranks], [...before.ranks]);
      assert.deepEqual([...again.scores].map(String), [...before.scores].map(String));
    } finally {
      await second.shutdown();
    }
  });

  it('a file deleted from disk is never embedded: the run fails with a clear message', async () => {
    const copy = join(dir, 'deleted-density.jsonl');
    copyFileSync(data.path, copy);
    const copyUri = pathToFileURL(copy).toString();
    await session.openDataset(copyUri);
    await session.fileInfo(copyUri, true);
    rmSync(copy);
    await session.waitForDiagnostics(
      copyUri,
      d => d.length === 1 && d[0]?.code === 'file-unavailable',
      'the file-gone diagnostic',
    );
    await assert.rejects(
      session.connection.sendRequest(ComputeDensityRequest.method, { uri: copyUri }),
      /deleted-density\.jsonl is no longer on disk: DENSITY of deleted-density\.jsonl stopped/,
    );
    await session.closeDataset(copyUri);
  });

  it('Restricted Mode: no model is loaded', async () => {
    const untrusted = await WorkerSession.start({
      storagePath: join(dir, 'storage-untrusted'),
      settings: settings(),
      trusted: false,
    });
    try {
      await untrusted.openDataset(uri);
      await assert.rejects(
        untrusted.connection.sendRequest(ComputeDensityRequest.method, { uri }),
        /Restricted Mode: Winnow does not load embedding models here/,
      );
    } finally {
      await untrusted.shutdown();
    }
  });
});
