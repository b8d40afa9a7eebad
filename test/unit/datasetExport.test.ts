/**
 * "Export Kept Examples" (src/core/dataset/exportKept.ts): the kept rows byte for byte in file order
 * (CRLF, a BOM, a missing final newline, invalid lines, non-ASCII), the manifest, the JSONL with
 * scores added, and the Parquet file read back with an independent reader (hyparquet).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { JsonlFile, openRowSource, parseTempName, tempPathFor } from '../../src/core/jsonl';
import { exportKept, float32Number, manifestPath } from '../../src/core/dataset/exportKept';
import { decodeColumns, encodeFloat32, encodeUint32 } from '../../src/core/dataset/scoreColumns';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-export-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The manifest fields the tests read. */
interface Manifest {
  source: { sha256: string; rows: number };
  counts: Record<string, number>;
  askllm: { model: string; promptHash: string } | null;
  density: { sketch: Record<string, number>; seed: number } | null;
  thresholds: Record<string, unknown>;
  outputs: { kind: string }[];
}

/** Lines with the awkward bits: BOM on line 0, CRLF, unusual JSON spelling, invalid lines. */
const LINES = [
  '\ufeff{"instruction":"first","n":1}',
  '{ "instruction" : "spaced\\u00e9" , "n" : 2.50 }\r',
  '{"instruction":"東京 🚀","n":3,"tags":["a","b"],"ok":true}',
  '{"instruction": "broken',
  '{"instruction":"fifth","n":5,"extra":{"k":1}}',
  '{"instruction":"last","n":6}',
];

describe('export of kept rows', () => {
  test('writes kept rows byte for byte in file order, plus a manifest', async () => {
    // No final newline: the last line must still end with one when it is not the last written.
    const source = join(dir, 'src.jsonl');
    const text = LINES.join('\n');
    writeFileSync(source, text);
    const file = await JsonlFile.open(source);
    await file.whenIndexed();
    const bytes = readFileSync(source);
    const lineBytes = (i: number) => {
      const parts = bytes.toString('latin1').split('\n');
      return Buffer.from(parts[i], 'latin1');
    };
    const n = LINES.length;
    const askllm = Float32Array.from([0.9, 0.12345678, NaN, 0.5, 0.7, 0.3]);
    const density = Float32Array.from([1, 2, 3, 4, NaN, 6]);
    const scores = decodeColumns({
      rowCount: n,
      fileVersion: 'v',
      askllm: {
        data: encodeFloat32(askllm),
        scored: 5,
        meta: {
          model: 'org/tiny-causal',
          dtype: 'fp32',
          promptName: 'ask-llm-paper',
          promptHash: 'feedface',
          answerTokens: ['yes', 'Yes'],
          maxTokens: 512,
          variant: 'p-yes',
        },
      },
      density: {
        score: encodeFloat32(density),
        rank: encodeUint32(Uint32Array.from([1, 2, 3, 4, 0, 5])),
        meta: {
          model: 'org/tiny-embed',
          rows: 6,
          buckets: 20000,
          hashesPerRow: 1,
          bandwidth: 1,
          seed: 1234,
        },
      },
    });
    const kept = Uint32Array.from([1, 2, 3, 5]);
    const target = join(dir, 'out.jsonl');
    const result = await exportKept({
      file,
      rows: kept,
      target,
      scoredJsonl: join(dir, 'out.scored.jsonl'),
      parquet: join(dir, 'out.parquet'),
      scores,
      counts: { keep: 4, drop: 1, undecided: 1 },
      rules: [
        {
          kind: 'topPercent',
          decision: 'keep',
          rows: 4,
          percent: 66,
          threshold: 0.3,
          at: '2026-01-01T00:00:00Z',
        },
      ],
      sidecar: `${source}.winnow.json`,
      maxLineBytes: 1 << 20,
    });
    await file.close();

    // Byte for byte: CRLF kept, the last source line gets its newline only because... it is last.
    const out = readFileSync(target);
    const expected = Buffer.concat([
      lineBytes(1),
      Buffer.from('\n'),
      lineBytes(2),
      Buffer.from('\n'),
      lineBytes(3),
      Buffer.from('\n'),
      lineBytes(5),
    ]);
    assert.equal(out.toString('hex'), expected.toString('hex'));
    assert.deepEqual(
      readdirSync(dir).filter(f => f.endsWith('.tmp')),
      [],
      'no temp files left',
    );

    // The manifest.
    assert.equal(result.manifest, manifestPath(target));
    const m = JSON.parse(readFileSync(result.manifest, 'utf8')) as Manifest;
    assert.equal(m.source.sha256, sha(bytes));
    assert.equal(m.source.rows, n);
    assert.deepEqual(m.counts, {
      rows: n,
      kept: 4,
      dropped: 1,
      undecided: 1,
      exported: 4,
      keptInvalid: 1,
    });
    assert.equal(m.askllm?.model, 'org/tiny-causal');
    assert.equal(m.askllm?.promptHash, 'feedface');
    assert.deepEqual(m.density?.sketch, { rows: 6, buckets: 20000, hashesPerRow: 1, bandwidth: 1 });
    assert.equal(m.density?.seed, 1234);
    assert.equal(m.thresholds.askllmTopPercent, 66);
    assert.equal(m.thresholds.askllmMinScore, 0.3);
    assert.deepEqual(m.thresholds.keptAskllmScores, {
      min: float32Number(0.12345678),
      max: 0.5,
      scored: 3,
    });
    const jsonlOut = m.outputs.find(o => o.kind === 'jsonl');
    assert.deepEqual(jsonlOut, {
      kind: 'jsonl',
      file: 'out.jsonl',
      rows: 4,
      bytes: out.length,
      sha256: sha(out),
      compression: null,
    });

    // The scored JSONL: valid kept rows only, fields added, shortest float32 decimals.
    const scored = readFileSync(join(dir, 'out.scored.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map(l => JSON.parse(l));
    assert.deepEqual(scored, [
      { instruction: 'spacedé', n: 2.5, askllm_score: 0.12345678, density_score: 2 },
      {
        instruction: '東京 🚀',
        n: 3,
        tags: ['a', 'b'],
        ok: true,
        askllm_score: null,
        density_score: 3,
      },
      { instruction: 'last', n: 6, askllm_score: 0.3, density_score: 6 },
    ]);

    // The Parquet file, read back by another implementation.
    const pq = readFileSync(join(dir, 'out.parquet'));
    const ab = pq.buffer.slice(pq.byteOffset, pq.byteOffset + pq.byteLength);
    const meta = parquetMetadata(ab);
    assert.equal(Number(meta.num_rows), 3);
    assert.deepEqual(
      meta.schema.slice(1).map(s => s.name),
      ['instruction', 'n', 'tags', 'ok', 'askllm_score', 'density_score'],
    );
    const rows = (await parquetReadObjects({ file: ab })) as Record<string, unknown>[];
    assert.equal(rows.length, 3);
    assert.deepEqual(
      rows.map(r => r.instruction),
      ['spacedé', '東京 🚀', 'last'],
    );
    assert.deepEqual(
      rows.map(r => r.n),
      [2.5, 3, 6],
    );
    assert.deepEqual(rows[1].tags, ['a', 'b']);
    assert.deepEqual(
      rows.map(r => r.ok),
      [null, true, null],
    );
    assert.ok(Math.abs((rows[0].askllm_score as number) - 0.12345678) < 1e-6);
    assert.equal(rows[1].askllm_score, null);
    assert.deepEqual(
      rows.map(r => r.density_score),
      [2, 3, 6],
    );
  });

  test('exporting every row reproduces the file exactly; the BOM stays on line 0', async () => {
    const source = join(dir, 'all.jsonl');
    writeFileSync(source, LINES.join('\n') + '\n');
    const file = await JsonlFile.open(source);
    await file.whenIndexed();
    const target = join(dir, 'all.kept.jsonl');
    await exportKept({
      file,
      rows: Uint32Array.from({ length: LINES.length }, (_, i) => i),
      target,
      counts: { keep: LINES.length, drop: 0, undecided: 0 },
      rules: [],
      maxLineBytes: 1 << 20,
    });
    await file.close();
    assert.equal(sha(readFileSync(target)), sha(readFileSync(source)));
    const m = JSON.parse(readFileSync(manifestPath(target), 'utf8')) as Manifest;
    assert.equal(m.askllm, null, 'no scores: no model in the manifest');
    assert.equal(m.density, null);
    assert.equal(m.outputs.length, 1);
  });

  test('a gzip source exports its kept rows plain, or gzip on request; the manifest says which', async () => {
    const plain = Buffer.from(LINES.join('\n') + '\n');
    const source = join(dir, 'src.jsonl.gz');
    writeFileSync(source, gzipSync(plain));
    const file = await openRowSource(source);
    await file.whenIndexed();
    const rows = Uint32Array.from([0, 2, 5]);
    const base = {
      file,
      rows,
      counts: { keep: 3, drop: 0, undecided: 3 },
      rules: [],
      maxLineBytes: 1 << 20,
    };
    const plainTarget = join(dir, 'gz.kept.jsonl');
    const gzTarget = join(dir, 'gz.kept.jsonl.gz');
    const plainResult = await exportKept({ ...base, target: plainTarget });
    await exportKept({ ...base, target: gzTarget, compression: 'gzip' });
    await file.close();
    const want = [0, 2, 5].map(i => LINES[i] + '\n').join('');
    assert.equal(readFileSync(plainTarget, 'utf8'), want);
    assert.equal(gunzipSync(readFileSync(gzTarget)).toString('utf8'), want);
    type Out = { compression: string | null; bytes: number; sha256: string };
    const manifest = (p: string) =>
      JSON.parse(readFileSync(manifestPath(p), 'utf8')) as {
        source: { compression: string | null; bytes: number; sha256: string; rows: number };
        outputs: (Out & { uncompressedBytes?: number })[];
      };
    const m = manifest(gzTarget);
    assert.deepEqual(
      [m.source.compression, m.source.bytes, m.source.rows],
      ['gzip', readFileSync(source).length, LINES.length],
    );
    assert.equal(m.source.sha256, sha(readFileSync(source)), 'the hash of the file on disk');
    assert.equal(m.outputs[0].compression, 'gzip');
    assert.equal(m.outputs[0].bytes, readFileSync(gzTarget).length);
    assert.equal(m.outputs[0].uncompressedBytes, Buffer.byteLength(want));
    assert.equal(m.outputs[0].sha256, sha(readFileSync(gzTarget)));
    assert.equal(manifest(plainTarget).outputs[0].compression, null);
    assert.equal(plainResult.outputs[0].bytes, Buffer.byteLength(want));
  });

  test('float32 scores print as their shortest decimal', () => {
    assert.equal(float32Number(Math.fround(0.83)), 0.83);
    assert.equal(float32Number(Math.fround(1 / 3)), 0.33333334);
    assert.equal(float32Number(0), 0);
  });

  test('removes the temporary files a killed export left behind, only ours and only when the owner is gone', async () => {
    const out = join(dir, 'stale');
    mkdirSync(out);
    const source = join(dir, 'stale.jsonl');
    writeFileSync(source, LINES.join('\n') + '\n');
    // A process that has exited: its id names no running process now.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const hourAgo = new Date(Date.now() - 3600_000);
    const make = (name: string, old = true) => {
      const path = join(out, name);
      writeFileSync(path, 'x'.repeat(1000));
      if (old) utimesSync(path, hourAgo, hourAgo);
      return path;
    };
    const killed = make(`.out.jsonl.${dead}-ce905b69.tmp`);
    const killedParquet = make(`.out.parquet.${dead}-0badf00d.tmp`);
    const live = make(`.out.jsonl.${process.ppid}-ce905b69.tmp`, true);
    const fresh = make(`.out.jsonl.${dead}-00000001.tmp`, false);
    const foreign = make(`.out.jsonl.tmp`);
    const foreign2 = make(`.notes.${dead}.tmp`);
    const file = await JsonlFile.open(source);
    const result = await exportKept({
      file,
      rows: Uint32Array.from([0, 2]),
      target: join(out, 'out.jsonl'),
      counts: { keep: 2, drop: 0, undecided: 4 },
      rules: [],
      maxLineBytes: 1 << 20,
    });
    await file.close();
    assert.deepEqual(
      result.removedTempFiles.map(t => t.path).sort(),
      [killed, killedParquet].sort(),
    );
    assert.deepEqual(
      result.removedTempFiles.map(t => t.bytes),
      [1000, 1000],
    );
    assert.ok(!existsSync(killed) && !existsSync(killedParquet));
    for (const kept of [live, fresh, foreign, foreign2]) assert.ok(existsSync(kept), kept);
  });

  test('temporary files are named with their owner, so a later export can tell them stale', () => {
    const tmp = tempPathFor(join(dir, 'x.jsonl'));
    assert.deepEqual(parseTempName(tmp.slice(dir.length + 1)), {
      target: 'x.jsonl',
      pid: process.pid,
    });
    assert.equal(parseTempName('.x.jsonl.ce905b69.tmp'), undefined);
  });
});
