/**
 * Tier 2: compressed datasets in the real worker process (dist/worker.js, over IPC): a plain
 * file, its gzip copy and its zstd copy are opened as the dataset view opens them, validated,
 * scored with ASK-LLM (tiny-t5 fixture) and DENSITY (tiny-bert fixture). Rows, parse results and
 * both score columns of the compressed copies equal the plain file's, and their scores come from
 * the cache the plain file filled (the cache is keyed by the content hash of the row bytes, so
 * equal hashes are what makes this hit). A gzip or zstd file gets one Information diagnostic
 * (the text editor cannot show it); an xz file one Error with the command that unpacks it.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  ComputeDensityRequest,
  type ComputeDensityResult,
  type GetColumnsResult,
} from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import { writeDensityDataset } from '../support/densityData';
import { generateTinyBert, generateTinyT5 } from '../support/fixtures';
import { zstdStreamed } from '../support/zstdFixtures';
import { WorkerSession } from './workerSession';

let dir: string;
let session: WorkerSession;
const uris: Record<'plain' | 'gzip' | 'zstd', string> = { plain: '', gzip: '', zstd: '' };

function floats(b64: string | undefined): Float32Array {
  assert.ok(b64, 'a column');
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(new Uint8Array(bytes).buffer);
}

function computeDensity(uri: string): Promise<ComputeDensityResult> {
  return session.connection.sendRequest(ComputeDensityRequest.method, { uri });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-compressed-'));
  const t5 = generateTinyT5(join(dir, 'tiny-t5'));
  const bert = generateTinyBert(join(dir, 'tiny-bert'));
  const data = writeDensityDataset(join(dir, 'data.jsonl'), { rows: 120, duplicates: 10 });
  const plain = readFileSync(data.path);
  const gz = join(dir, 'data.jsonl.gz');
  const zst = join(dir, 'data.jsonl.zst');
  writeFileSync(gz, gzipSync(plain));
  writeFileSync(zst, await zstdStreamed(plain, 4096));
  uris.plain = pathToFileURL(data.path).toString();
  uris.gzip = pathToFileURL(gz).toString();
  uris.zstd = pathToFileURL(zst).toString();
  const settings: WinnowSettingsSection = {
    device: 'cpu',
    askllm: { model: t5.dir },
    density: { model: bert.dir },
  };
  session = await WorkerSession.start({ settings, storagePath: join(dir, 'storage') });
  for (const uri of Object.values(uris)) await session.openDataset(uri, 'datasetView');
});

after(async () => {
  await session?.shutdown().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('compressed datasets in the worker', () => {
  it('validates the gzip and zstd copies like the plain file', async () => {
    const plain = await session.fileInfo(uris.plain);
    assert.ok(plain.rowCount > 100);
    assert.ok(plain.invalidCount > 0, 'the dataset has invalid lines');
    for (const format of ['gzip', 'zstd'] as const) {
      const info = await session.fileInfo(uris[format]);
      assert.equal(info.compression, format);
      assert.equal(info.rowCount, plain.rowCount, format);
      assert.equal(info.invalidCount, plain.invalidCount, format);
      assert.equal(info.blankCount, plain.blankCount, format);
      assert.deepEqual(info.schema, plain.schema, format);
      assert.equal(info.bytes, readFileSync(new URL(uris[format])).length, 'bytes on disk');
    }
  });

  it('says once, as information, that the text editor cannot show a compressed file', async () => {
    for (const format of ['gzip', 'zstd']) {
      const uri = uris[format as 'gzip' | 'zstd'];
      await session.waitForDiagnostics(uri, x => x.length > 0, `${format} diagnostics`);
      const d = session.diagnostics.get(uri)!;
      assert.equal(d.length, 1, JSON.stringify(d));
      assert.equal(d[0]!.code, 'compressed');
      assert.equal(d[0]!.severity, 3);
      assert.match(String(d[0]!.message), new RegExp(`compressed \\(${format}\\).*Dataset View`));
    }
  });

  it('scores the compressed copies from the cache the plain file filled: equal hashes, equal scores', async () => {
    const first = await session.score(uris.plain).result;
    assert.equal(first.cancelled, false);
    assert.ok(first.newlyScored > 100, `${first.newlyScored} rows scored`);
    const plainColumns: GetColumnsResult = await session.columns(uris.plain);
    const want = floats(plainColumns.askllm?.data);
    for (const format of ['gzip', 'zstd'] as const) {
      const r = await session.score(uris[format]).result;
      assert.equal(r.scorable, first.scorable, format);
      assert.equal(r.newlyScored, 0, `${format}: every row's content hash was in the cache`);
      assert.equal(r.cached, first.scorable, format);
      const got = floats((await session.columns(uris[format])).askllm?.data);
      assert.deepEqual([...got].map(String), [...want].map(String), `${format} ASK-LLM column`);
    }
  });

  it('computes DENSITY on the compressed copies with the plain file scores and embeddings', async () => {
    const plain = await computeDensity(uris.plain);
    assert.ok(plain.embedded > 0);
    const want = floats((await session.columns(uris.plain)).density?.score);
    for (const format of ['gzip', 'zstd'] as const) {
      const r = await computeDensity(uris[format]);
      assert.equal(r.rows, plain.rows, format);
      assert.equal(r.invalidRows, plain.invalidRows, format);
      assert.equal(r.embedded, 0, `${format}: every embedding came from the cache`);
      const got = floats((await session.columns(uris[format])).density?.score);
      assert.deepEqual([...got].map(String), [...want].map(String), `${format} DENSITY column`);
    }
  });

  it('an xz file gets one error that says xz is not supported and how to unpack it', async () => {
    const path = join(dir, 'web.jsonl');
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), gzipSync('{}')]);
    writeFileSync(path, xz);
    const uri = pathToFileURL(path).toString();
    await session.openDataset(uri, 'datasetView');
    await session.waitForDiagnostics(uri, x => x.length > 0);
    const d = session.diagnostics.get(uri)!;
    assert.equal(d.length, 1);
    assert.equal(d[0]!.severity, 1);
    assert.match(String(d[0]!.message), /not xz\. Decompress it first.*unxz -k web\.jsonl$/);
    assert.equal((await session.fileInfo(uri)).compression, 'xz');
  });
});
