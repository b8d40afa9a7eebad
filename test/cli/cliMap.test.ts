/**
 * `winnow map` and `winnow dedup` as real processes of dist/cli.js on a generated file embedded
 * by the tiny-bert fixture: the layout written equals core/map's computeLayout on the cached
 * embeddings and the real worker's `winnow/getLayout` on the same cache (which reads the CLI's
 * layout file: one key for both); a rerun is deterministic.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { EmbeddingStore, readStoreHeader } from '../../src/core/embedStore';
import { DEFAULT_LAYOUT_SEED, computeLayout, mapItems, readItemVectors } from '../../src/core/map';
import {
  ComputeDensityRequest,
  GetLayoutRequest,
  type GetLayoutResult,
} from '../../src/shared/protocol/worker';
import { writeDensityDataset, type DensityDataset } from '../support/densityData';
import { generateTinyBert, type TinyBert } from '../support/fixtures';
import { WorkerSession } from '../lsp/workerSession';
import { jsonlRows, runCliOk } from './cliRun';

let dir: string;
let bert: TinyBert;
let data: DensityDataset;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-map-'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  data = writeDensityDataset(join(dir, 'data.jsonl'), { rows: 300, duplicates: 12, invalid: 2 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const embed = () => ['--model', bert.dir, '--device', 'cpu'];

/** The embeddings the CLI cached, opened under their own key. */
async function openCache(path: string): Promise<EmbeddingStore> {
  const header = await readStoreHeader(path);
  assert.ok(typeof header === 'object', `${path}: ${String(header)}`);
  return await EmbeddingStore.open(path, { dim: header.dim, key: header.key });
}

describe('winnow map', () => {
  const cache = () => join(dir, 'cache');
  let rows: Record<string, unknown>[];
  let cachePath: string;

  it('writes line, content_hash, x, y of every valid row: the core layout of the cached embeddings', async () => {
    const out = join(dir, 'layout.jsonl');
    const r = await runCliOk([
      'map',
      data.path,
      '--out',
      out,
      ...embed(),
      '--cache-dir',
      cache(),
      '--json',
    ]);
    assert.equal(r.summary?.cached, false);
    cachePath = String(r.summary?.cache);
    rows = jsonlRows(readFileSync(out, 'utf8'));
    const valid = data.texts.filter(t => t !== undefined).length;
    assert.equal(rows.length, valid);
    assert.deepEqual(Object.keys(rows[0]), ['line', 'content_hash', 'x', 'y']);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as { winnow: string };
    assert.equal(manifest.winnow, 'layout');
    // The same layout from core/map, on the vectors of the cache, for the distinct contents.
    const store = await openCache(cachePath);
    try {
      const items = mapItems(rows.length, k => String(rows[k].content_hash));
      const vectors = await readItemVectors(store, items.hashes);
      const want = await computeLayout(vectors, items.hashes.length, store.dim, {
        seed: DEFAULT_LAYOUT_SEED,
      });
      rows.forEach((row, k) => {
        const i = items.itemOfRow[k];
        assert.equal(row.x, want.x[i], `line ${String(row.line)} x`);
        assert.equal(row.y, want.y[i], `line ${String(row.line)} y`);
      });
    } finally {
      await store.close();
    }
  });

  it('a rerun reads the cached layout; a fresh layout with the same seed is the same', async () => {
    const out = join(dir, 'layout.parquet');
    const again = await runCliOk([
      'map',
      data.path,
      '--out',
      out,
      ...embed(),
      '--cache-dir',
      cache(),
      '--json',
    ]);
    assert.equal(again.summary?.cached, true);
    const pq = await parquetReadObjects({ file: await asyncBufferFromFile(out) });
    assert.deepEqual(
      pq.map(r => [Number(r.line), r.content_hash, r.x, r.y]),
      rows.map(r => [r.line, r.content_hash, r.x, r.y]),
    );
    // Another cache folder: the embeddings and the layout computed again from nothing.
    const fresh = join(dir, 'fresh.jsonl');
    const r = await runCliOk([
      'map',
      data.path,
      '--out',
      fresh,
      ...embed(),
      '--cache-dir',
      join(dir, 'cache2'),
      '--json',
    ]);
    assert.equal(r.summary?.cached, false);
    assert.deepEqual(jsonlRows(readFileSync(fresh, 'utf8')), rows);
    const other = await runCliOk([
      'map',
      data.path,
      '--out',
      join(dir, 's7.jsonl'),
      '--seed',
      '7',
      ...embed(),
      '--cache-dir',
      cache(),
      '--json',
    ]);
    assert.equal(other.summary?.cached, false, 'another seed is another layout');
    assert.notDeepEqual(jsonlRows(readFileSync(join(dir, 's7.jsonl'), 'utf8')), rows);
  });

  it("the worker's getLayout on the same cache reads the CLI's layout and gives the same x, y", async () => {
    // Written by seed 7 last: the worker (default seed) must not take it.
    await runCliOk([
      'map',
      data.path,
      '--out',
      join(dir, 'again.jsonl'),
      ...embed(),
      '--cache-dir',
      cache(),
    ]);
    const session = await WorkerSession.start({
      storagePath: cache(),
      settings: { device: 'cpu', density: { model: bert.dir } },
    });
    try {
      const uri = pathToFileURL(data.path).toString();
      await session.openDataset(uri);
      await session.fileInfo(uri, true);
      await session.connection.sendRequest(ComputeDensityRequest.method, { uri });
      const l: GetLayoutResult = await session.connection.sendRequest(GetLayoutRequest.method, {
        uri,
      });
      assert.equal(l.cached, true, 'the layout file the CLI wrote');
      const b = Buffer.from(l.x, 'base64');
      const x = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      const c = Buffer.from(l.y, 'base64');
      const y = new Float32Array(c.buffer.slice(c.byteOffset, c.byteOffset + c.length));
      for (const row of rows) {
        const line = Number(row.line) - 1;
        assert.equal(x[line], row.x, `line ${line + 1}`);
        assert.equal(y[line], row.y, `line ${line + 1}`);
      }
    } finally {
      await session.shutdown();
    }
  });
});
