/**
 * Tier 2: the embedding map and near-duplicate groups through the real worker (dist/worker.js)
 * on a generated file embedded by the tiny-bert fixture: `winnow/getLayout` (progress, cancel,
 * determinism, the disk cache after a restart) and `winnow/getDuplicateGroups` (planted copies
 * and exact duplicates grouped, the groups equal to brute force on the same embeddings, the
 * `duplicates` column of `winnow/getColumns`).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import { decodeFloat16, encodeFloat16 } from '../../src/core/embedStore';
import { bruteForceGroups, compareGroupings, normalizeRows } from '../../src/core/map';
import {
  ComputeDensityRequest,
  GetDuplicateGroupsRequest,
  GetLayoutRequest,
  MapProgressNotification,
  type GetDuplicateGroupsResult,
  type GetLayoutResult,
  type MapProgressParams,
} from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import { loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { writeDensityDataset, type DensityDataset } from '../support/densityData';
import { generateTinyBert, type TinyBert } from '../support/fixtures';
import { WorkerSession } from './workerSession';

let dir: string;
let bert: TinyBert;
let data: DensityDataset;
let uri: string;
/** Lines appended as byte-for-byte copies of line `copyOf`. */
let copies: number[];
let copyOf: number;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-map-'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  data = writeDensityDataset(join(dir, 'data.jsonl'), { rows: 400 });
  copyOf = data.texts.findIndex((t, i) => t !== undefined && !data.duplicates.includes(i));
  copies = [data.lines.length, data.lines.length + 1];
  data.lines.push(data.lines[copyOf], data.lines[copyOf]);
  data.texts.push(data.texts[copyOf], data.texts[copyOf]);
  writeFileSync(data.path, data.lines.join('\n') + '\n');
  uri = pathToFileURL(data.path).toString();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const settings = (): WinnowSettingsSection => ({ device: 'cpu', density: { model: bert.dir } });
const floats = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};
const ints = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};

describe('the map and near-duplicates in the worker', () => {
  let session: WorkerSession;
  const storagePath = () => join(dir, 'storage');
  const progress: MapProgressParams[] = [];
  /** Called on every map progress notification (one handler per method on a connection). */
  let onProgress: ((p: MapProgressParams) => void) | undefined;
  let first: GetLayoutResult;

  before(async () => {
    session = await WorkerSession.start({ storagePath: storagePath(), settings: settings() });
    session.connection.onNotification(MapProgressNotification.method, (p: MapProgressParams) => {
      progress.push(p);
      onProgress?.(p);
    });
    await session.openDataset(uri);
    await session.fileInfo(uri, true);
  });
  after(async () => {
    await session.shutdown();
  });

  it('before DENSITY: getLayout says to compute DENSITY first', async () => {
    await assert.rejects(
      session.connection.sendRequest(GetLayoutRequest.method, { uri }),
      /run "Winnow: Compute Density" first/,
    );
  });

  it('a cancelled layout stops with RequestCancelled', async () => {
    await session.connection.sendRequest(ComputeDensityRequest.method, { uri });
    // Cancelled once UMAP is running, so the cancel surely lands mid-computation.
    const cts = new CancellationTokenSource();
    onProgress = p => p.phase === 'layout' && cts.cancel();
    const pending = session.connection.sendRequest(GetLayoutRequest.method, { uri }, cts.token);
    await assert.rejects(pending, /cancelled/i);
    onProgress = undefined;
  });

  it('lays out every valid row with progress; the same layout again comes from memory', async t => {
    progress.length = 0;
    first = await session.connection.sendRequest(GetLayoutRequest.method, { uri });
    const valid = data.texts.filter(x => x !== undefined).length;
    assert.equal(first.rowCount, data.lines.length);
    assert.equal(first.placed, valid);
    assert.equal(first.items, valid - copies.length, 'exact copies are one item');
    assert.equal(first.cached, false);
    const x = floats(first.x);
    const y = floats(first.y);
    for (const i of data.invalid) assert.ok(Number.isNaN(x[i]) && Number.isNaN(y[i]));
    for (const i of copies) assert.deepEqual([x[i], y[i]], [x[copyOf], y[copyOf]]);
    for (let i = 0; i < x.length; i++)
      if (!data.invalid.includes(i)) assert.ok(Math.abs(x[i]) <= 1 && Math.abs(y[i]) <= 1);
    // The planted rows share one embedding, so they land close together.
    const [px, py] = [x[data.duplicates[0]], y[data.duplicates[0]]];
    for (const i of data.duplicates) assert.ok(Math.hypot(x[i] - px, y[i] - py) < 0.1, `line ${i}`);
    const phases = new Set(progress.filter(p => p.task === 'layout').map(p => p.phase));
    for (const p of ['loading', 'neighbours', 'layout', 'saving'])
      assert.ok(phases.has(p as never), `${p} in ${[...phases].join(', ')}`);
    t.diagnostic(`layout of ${valid} rows: ${JSON.stringify(first.ms)}`);
    const again: GetLayoutResult = await session.connection.sendRequest(GetLayoutRequest.method, {
      uri,
    });
    assert.equal(again.x, first.x);
  });

  it('groups the planted copies and the exact duplicates; the groups equal brute force', async () => {
    const r: GetDuplicateGroupsResult = await session.connection.sendRequest(
      GetDuplicateGroupsRequest.method,
      { uri },
    );
    assert.equal(r.threshold, 0.95);
    assert.equal(r.cached, false);
    const group = ints(r.group);
    const planted = group[data.duplicates[0]];
    assert.ok(planted >= 0);
    for (const i of data.duplicates) assert.equal(group[i], planted, `planted line ${i}`);
    for (const i of copies) assert.equal(group[i], group[copyOf], `copy line ${i}`);
    assert.ok(group[copyOf] >= 0);
    for (const i of data.invalid) assert.equal(group[i], -1);
    // Brute force over the same float16-stored embeddings, one item per distinct line.
    const rows = data.texts
      .map((_, i) => i)
      .filter(i => data.texts[i] !== undefined && !copies.includes(i));
    const model = await loadEmbeddingModel({
      model: bert.dir,
      cacheDir: join(dir, 'ref'),
      device: 'cpu',
    });
    const { vectors } = await model.embedBatch(rows.map(i => data.texts[i]!));
    await model.dispose();
    const x = decodeFloat16(
      encodeFloat16(vectors, new Uint16Array(vectors.length)),
      new Float32Array(vectors.length),
    );
    const d = x.length / rows.length;
    const brute = await bruteForceGroups(normalizeRows(x, rows.length, d), rows.length, d, 0.95);
    const ours = Int32Array.from(rows, i => (group[i] < 0 ? -1 - i : group[i]));
    const agreement = compareGroupings(brute.groupOf, ours);
    assert.equal(agreement.precision, 1, JSON.stringify(agreement));
    assert.ok(agreement.recall >= 0.99, JSON.stringify(agreement));
    await session.waitFor('didChangeColumns(duplicates)', () =>
      session.columnChanges.some(c => c.uri === uri && c.kinds.includes('duplicates')),
    );
    const cols = await session.columns(uri);
    assert.equal(cols.duplicates?.group, r.group);
    assert.equal(cols.duplicates?.count, r.count);
  });

  it('after a restart both come from the disk cache, unchanged', async () => {
    await session.shutdown();
    session = await WorkerSession.start({ storagePath: storagePath(), settings: settings() });
    await session.openDataset(uri);
    await session.fileInfo(uri, true);
    const cols = await session.columns(uri);
    assert.ok(cols.duplicates, 'the duplicates column is back without asking');
    const layout: GetLayoutResult = await session.connection.sendRequest(GetLayoutRequest.method, {
      uri,
    });
    assert.equal(layout.cached, true);
    assert.equal(layout.x, first.x);
    assert.equal(layout.y, first.y);
    const r: GetDuplicateGroupsResult = await session.connection.sendRequest(
      GetDuplicateGroupsRequest.method,
      { uri },
    );
    assert.equal(r.cached, true);
    assert.equal(r.group, cols.duplicates.group);
  });
});
