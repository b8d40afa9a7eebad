/**
 * `winnow map` and `winnow dedup` as real processes of dist/cli.js on a generated file embedded
 * by the tiny-bert fixture: the layout written equals core/map's computeLayout on the cached
 * embeddings and the real worker's `winnow/getLayout` on the same cache (which reads the CLI's
 * layout file: one key for both); a rerun is deterministic.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import {
  DecisionBaseline,
  DecisionColumn,
  DROP,
  KEEP,
  UNDECIDED,
} from '../../src/core/dataset/decisions';
import { readSidecar } from '../../src/core/dataset/sidecar';
import { EmbeddingStore, readStoreHeader } from '../../src/core/embedStore';
import { contentHash } from '../../src/core/jsonl';
import {
  DEFAULT_LAYOUT_SEED,
  DuplicateGroups,
  bruteForceGroups,
  compareGroupings,
  computeLayout,
  mapItems,
  normalizeRows,
  readItemVectors,
} from '../../src/core/map';
import {
  ComputeDensityRequest,
  GetLayoutRequest,
  type GetLayoutResult,
} from '../../src/shared/protocol/worker';
import { writeDensityDataset, type DensityDataset } from '../support/densityData';
import { generateTinyBert, generateTinyT5, type TinyBert, type TinyT5 } from '../support/fixtures';
import { WorkerSession } from '../lsp/workerSession';
import { jsonlRows, runCliOk } from './cliRun';

let dir: string;
let bert: TinyBert;
let data: DensityDataset;
let t5: TinyT5;
/** Lines appended as byte-for-byte copies of line `copyOf` (0-based). */
let copies: number[];
let copyOf: number;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-map-'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  data = writeDensityDataset(join(dir, 'data.jsonl'), { rows: 300, duplicates: 12, invalid: 2 });
  copyOf = data.texts.findIndex((t, i) => t !== undefined && !data.duplicates.includes(i));
  copies = [data.lines.length, data.lines.length + 1];
  data.lines.push(data.lines[copyOf], data.lines[copyOf]);
  data.texts.push(data.texts[copyOf], data.texts[copyOf]);
  writeFileSync(data.path, data.lines.join('\n') + '\n');
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

/** The sidecar's decisions per line (0-based), matched to rows as the extension does. */
async function decisionsPerLine(): Promise<Uint8Array> {
  const saved = await readSidecar(data.path);
  const hashes = data.lines.map(l => contentHash(Buffer.from(l, 'utf8')));
  const columns = {
    scanned: hashes.length,
    hashPrefix: (i: number) => parseInt(hashes[i].slice(0, 8), 16) >>> 0,
    hashHex: (i: number) => hashes[i],
    hasLegacyHashes: false,
    legacyHashHex: () => '',
  };
  const decisions = new DecisionColumn();
  decisions.resize(hashes.length);
  new DecisionBaseline(saved.keep, saved.drop).applyTo(columns, decisions, 0, hashes.length);
  return decisions.codes.slice(0, hashes.length);
}

describe('winnow dedup', () => {
  const cache = () => join(dir, 'cache');
  /** Per 0-based line: the CLI's group, or −1. */
  let groupOfLine: Int32Array;
  let grouped: Record<string, unknown>[];

  it('writes the groups: planted near-duplicates and exact copies, equal to brute force', async () => {
    const out = join(dir, 'groups.jsonl');
    const r = await runCliOk([
      'dedup',
      data.path,
      '--out',
      out,
      ...embed(),
      '--cache-dir',
      cache(),
      '--json',
    ]);
    grouped = jsonlRows(readFileSync(out, 'utf8'));
    assert.deepEqual(Object.keys(grouped[0]), [
      'line',
      'content_hash',
      'group',
      'group_size',
      'representative',
    ]);
    assert.equal(r.summary?.groups, new Set(grouped.map(g => g.group)).size);
    assert.equal(r.summary?.rowsInGroups, grouped.length);
    assert.equal(r.summary?.threshold, 0.95);
    groupOfLine = new Int32Array(data.lines.length).fill(-1);
    for (const g of grouped) groupOfLine[Number(g.line) - 1] = Number(g.group);
    const planted = groupOfLine[data.duplicates[0]];
    assert.ok(planted >= 0);
    for (const i of data.duplicates) assert.equal(groupOfLine[i], planted, `planted line ${i + 1}`);
    for (const i of copies) assert.equal(groupOfLine[i], groupOfLine[copyOf], `copy line ${i + 1}`);
    for (const i of data.invalid) assert.equal(groupOfLine[i], -1);
    for (const g of grouped)
      assert.equal(g.group_size, grouped.filter(o => o.group === g.group).length);
    // Brute force over the cached embeddings of the distinct contents, expanded to rows.
    const valid = data.lines.map((_, i) => i).filter(i => data.texts[i] !== undefined);
    const hashes = valid.map(i => contentHash(Buffer.from(data.lines[i], 'utf8')));
    const items = mapItems(valid.length, k => hashes[k]);
    const store = await openCache(
      String(
        (
          await runCliOk([
            'map',
            data.path,
            '--out',
            join(dir, 'l.jsonl'),
            ...embed(),
            '--cache-dir',
            cache(),
            '--json',
          ])
        ).summary?.cache,
      ),
    );
    let brute;
    try {
      const x = await readItemVectors(store, items.hashes);
      brute = await bruteForceGroups(
        normalizeRows(x, items.hashes.length, store.dim),
        items.hashes.length,
        store.dim,
        0.95,
      );
    } finally {
      await store.close();
    }
    const reference = DuplicateGroups.fromItems(items.itemOfRow, brute.groupOf).groupOfRow;
    const ours = Int32Array.from(valid, i => groupOfLine[i]);
    const label = (g: Int32Array) => g.map((v, k) => (v < 0 ? -1 - k : v));
    const agreement = compareGroupings(label(reference), label(ours));
    assert.equal(agreement.precision, 1, JSON.stringify(agreement));
    assert.ok(agreement.recall >= 0.99, JSON.stringify(agreement));
    assert.ok(agreement.referencePairs > 0);
  });

  it('--keep first keeps the first row of each group and drops the others in the sidecar', async () => {
    const before = readFileSync(data.path, 'utf8');
    const r = await runCliOk([
      'dedup',
      data.path,
      '--keep',
      'first',
      ...embed(),
      '--cache-dir',
      cache(),
      '--json',
    ]);
    assert.equal(r.summary?.cached, true, 'the groups of the first run');
    assert.equal(readFileSync(data.path, 'utf8'), before, 'the dataset is not written');
    const codes = await decisionsPerLine();
    const hashOf = (i: number) => contentHash(Buffer.from(data.lines[i], 'utf8'));
    for (let i = 0; i < data.lines.length; i++) {
      const g = groupOfLine[i];
      if (g < 0) {
        assert.equal(codes[i], UNDECIDED, `line ${i + 1} is in no group`);
        continue;
      }
      const first = groupOfLine.indexOf(g);
      // An exact copy of the kept row shares its decision (the sidecar is by content).
      const want = i === first || hashOf(i) === hashOf(first) ? KEEP : DROP;
      assert.equal(codes[i], want, `line ${i + 1} of group ${g}`);
    }
    const saved = await readSidecar(data.path);
    assert.deepEqual(saved.rules.at(-1)?.kind, 'duplicates');
    assert.equal(saved.rules.at(-1)?.keep, 'first');
  });

  it('--keep best without ASK-LLM scores is a clear error and writes nothing', async () => {
    const sidecar = readFileSync(`${data.path}.winnow.json`, 'utf8');
    const r = await runCliOk(
      ['dedup', data.path, '--keep', 'best', ...embed(), '--cache-dir', cache()],
      {},
      1,
    );
    assert.match(r.stderr, /no cached ASK-LLM scores.*winnow score/);
    assert.equal(readFileSync(`${data.path}.winnow.json`, 'utf8'), sidecar);
  });

  it('--keep best keeps the highest cached ASK-LLM score of each group', async () => {
    const scored = join(dir, 'scores.jsonl');
    await runCliOk([
      'score',
      data.path,
      '--model',
      t5.dir,
      '--device',
      'cpu',
      '--out',
      scored,
      '--cache-dir',
      cache(),
    ]);
    const score = new Map(
      jsonlRows(readFileSync(scored, 'utf8')).map(r => [
        Number(r.line) - 1,
        Number(r.askllm_score),
      ]),
    );
    await runCliOk(['dedup', data.path, '--keep', 'best', ...embed(), '--cache-dir', cache()]);
    const codes = await decisionsPerLine();
    const hashOf = (i: number) => contentHash(Buffer.from(data.lines[i], 'utf8'));
    for (const g of new Set(groupOfLine)) {
      if (g < 0) continue;
      const lines = [...groupOfLine.keys()].filter(i => groupOfLine[i] === g);
      const best = lines.reduce((a, b) =>
        (score.get(b) ?? -Infinity) > (score.get(a) ?? -Infinity) ? b : a,
      );
      for (const i of lines)
        assert.equal(
          codes[i],
          i === best || hashOf(i) === hashOf(best) ? KEEP : DROP,
          `line ${i + 1} of group ${g}`,
        );
    }
    for (let i = 0; i < data.lines.length; i++)
      if (groupOfLine[i] < 0) assert.equal(codes[i], UNDECIDED, `line ${i + 1}`);
  });
});
