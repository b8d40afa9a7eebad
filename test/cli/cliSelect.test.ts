/**
 * From scores to a training set with the CLI: `sample` (DENSITY inverse-propensity sampling and
 * ASK-LLM top-k, checked against the core's sampler and a sort), `--mark keep` into the
 * decisions sidecar the extension reads, `export` of the kept rows byte for byte with the
 * manifest, the scored JSONL and Parquet, and `info` (schema, counts, cached scores). On a
 * generated file and on a real file read in place (its decisions go to a file of the test's).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { float32Number } from '../../src/core/dataset/exportKept';
import { readSidecar, sidecarPath } from '../../src/core/dataset/sidecar';
import { contentHash } from '../../src/core/jsonl';
import { sampleByDensity } from '../../src/core/density';
import { ExitCode } from '../../src/cli/errors';
import { generateTinyBert, generateTinyT5, type TinyBert, type TinyT5 } from '../support/fixtures';
import { writeDensityDataset, type DensityDataset } from '../support/densityData';
import { jsonlRows, realDataDir, runCli, runCliOk } from './cliRun';

let dir: string;
let t5: TinyT5;
let bert: TinyBert;
let data: DensityDataset;
let scores: string;
let density: string;

const cache = () => ['--cache-dir', join(dir, 'cache')];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-select-'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  data = writeDensityDataset(join(dir, 'data.jsonl'), { rows: 200, duplicates: 10, invalid: 2 });
  scores = join(dir, 'scores.jsonl');
  density = join(dir, 'density.parquet');
  await runCliOk([
    'score',
    data.path,
    '--model',
    t5.dir,
    '--device',
    'cpu',
    '--out',
    scores,
    ...cache(),
  ]);
  await runCliOk([
    'density',
    data.path,
    '--model',
    bert.dir,
    '--device',
    'cpu',
    '--out',
    density,
    ...cache(),
  ]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The lines of the dataset (0-based index → the line's text). */
const lines = () => readFileSync(data.path, 'utf8').split('\n');

describe('winnow sample', () => {
  it('--by density: the core inverse-propensity sample of the scored rows, reproducible by seed', async () => {
    const out = join(dir, 'picked.jsonl');
    const r = await runCliOk([
      'sample',
      data.path,
      '--scores',
      density,
      '--size',
      '10%',
      '--seed',
      '5',
      '--out',
      out,
      '--json',
    ]);
    const picked = jsonlRows(readFileSync(out, 'utf8'));
    const all = (await parquetReadObjects({ file: await asyncBufferFromFile(density) })) as {
      line: bigint;
      density_score: number;
    }[];
    const want = sampleByDensity(
      all.map(x => x.density_score),
      { percent: 10 },
      5,
    ).indices;
    assert.deepEqual(
      picked.map(p => p.line),
      Array.from(want, k => Number(all[k].line)),
    );
    assert.deepEqual(
      [r.summary?.eligible, r.summary?.selected],
      [all.length, Math.round(all.length / 10)],
    );
    const again = join(dir, 'picked2.jsonl');
    await runCliOk([
      'sample',
      data.path,
      '--scores',
      density,
      '--size',
      '10%',
      '--seed',
      '5',
      '--out',
      again,
    ]);
    assert.equal(readFileSync(again, 'utf8'), readFileSync(out, 'utf8'));
    const other = join(dir, 'picked3.jsonl');
    await runCliOk([
      'sample',
      data.path,
      '--scores',
      density,
      '--size',
      '10%',
      '--seed',
      '6',
      '--out',
      other,
    ]);
    assert.notEqual(readFileSync(other, 'utf8'), readFileSync(out, 'utf8'));
  });

  it('--by askllm: the top N by P(yes), ties by line', async () => {
    const r = await runCliOk([
      'sample',
      data.path,
      '--by',
      'askllm',
      '--scores',
      scores,
      '--size',
      '15',
      '--out',
      '-',
    ]);
    const picked = r.stdout
      .trim()
      .split('\n')
      .slice(0, 15)
      .map(l => JSON.parse(l) as { line: number; score: number });
    const rows = jsonlRows(readFileSync(scores, 'utf8')) as {
      line: number;
      askllm_score: number;
    }[];
    const top = [...rows]
      .sort((a, b) => b.askllm_score - a.askllm_score || a.line - b.line)
      .slice(0, 15)
      .map(x => x.line)
      .sort((a, b) => a - b);
    assert.deepEqual(
      picked.map(p => p.line),
      top,
    );
  });

  it('usage errors: no --size, no scores of the kind asked for', async () => {
    assert.equal(
      (await runCli(['sample', data.path, '--scores', density, '--out', '-'])).code,
      ExitCode.usage,
    );
    const r = await runCli([
      'sample',
      data.path,
      '--by',
      'askllm',
      '--scores',
      density,
      '--size',
      '3',
      '--out',
      '-',
    ]);
    assert.equal(r.code, ExitCode.failed);
    assert.match(r.stderr, /has no askllm scores/);
  });
});

describe('winnow sample --mark and winnow export', () => {
  it('marks the sample keep in the sidecar, and exports exactly those rows byte for byte, with scores', async () => {
    const picked = join(dir, 'mark.jsonl');
    await runCliOk([
      'sample',
      data.path,
      '--scores',
      density,
      '--size',
      '20',
      '--seed',
      '9',
      '--mark',
      'keep',
      '--out',
      picked,
    ]);
    const sidecar = await readSidecar(data.path);
    const chosen = jsonlRows(readFileSync(picked, 'utf8'));
    assert.deepEqual(
      [...sidecar.keep].sort(),
      [...new Set(chosen.map(c => String(c.content_hash)))].sort(),
    );
    assert.equal(sidecar.rules.at(-1)?.kind, 'densitySample');
    assert.equal(sidecar.rules.at(-1)?.seed, 9);

    const kept = join(dir, 'kept.jsonl');
    const r = await runCliOk([
      'export',
      data.path,
      '--out',
      kept,
      '--scores',
      scores,
      '--scores',
      density,
      '--scored-jsonl',
      join(dir, 'kept.scored.jsonl'),
      '--parquet',
      join(dir, 'kept.parquet'),
      '--json',
    ]);
    const keepHashes = new Set(sidecar.keep);
    // Every line whose content is kept (planted duplicates included), in file order, as bytes.
    const want = lines().filter(l => l !== '' && keepHashes.has(contentHash(Buffer.from(l))));
    const got = readFileSync(kept, 'utf8').trimEnd().split('\n');
    assert.ok(want.length >= chosen.length);
    assert.deepEqual(got, want);
    assert.equal(r.summary?.kept, got.length);
    const manifest = JSON.parse(readFileSync(`${kept}.manifest.json`, 'utf8')) as {
      askllm: { model: string; promptHash: string };
      density: { model: string; seed: number };
      counts: { kept: number };
      rules: { kind: string }[];
    };
    assert.equal(manifest.askllm.model, t5.dir);
    assert.equal(manifest.density.model, bert.dir);
    assert.equal(manifest.density.seed, 24301);
    assert.equal(manifest.counts.kept, got.length);
    assert.equal(manifest.rules.at(-1)?.kind, 'densitySample');
    // The scored copies carry each kept row's scores from the score files (as float32).
    const byHash = new Map(
      jsonlRows(readFileSync(scores, 'utf8')).map(x => [
        String(x.content_hash),
        Number(x.askllm_score),
      ]),
    );
    const scored = jsonlRows(readFileSync(join(dir, 'kept.scored.jsonl'), 'utf8'));
    assert.deepEqual(
      scored.map(x => x.askllm_score),
      want.map(l => float32Number(byHash.get(contentHash(Buffer.from(l)))!)),
    );
    assert.ok(scored.every(x => typeof x.density_score === 'number'));
    const pq = (await parquetReadObjects({
      file: await asyncBufferFromFile(join(dir, 'kept.parquet')),
    })) as Record<string, unknown>[];
    assert.equal(pq.length, got.length);
    pq.forEach((row, k) =>
      assert.ok(
        Math.abs(Number(row.askllm_score) - Number(scored[k].askllm_score)) <=
          1e-6 * Number(scored[k].askllm_score),
      ),
    );
  });

  it('export without kept rows exits 1 and says how to mark some', async () => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '{"text": "x"}\n');
    const r = await runCli(['export', empty, '--out', join(dir, 'none.jsonl')]);
    assert.equal(r.code, ExitCode.failed);
    assert.match(r.stderr, /no row of .* is marked keep in .*empty\.jsonl\.winnow\.json/);
  });

  it('a real file in a read-only folder: decisions go to --decisions, the data folder is not written', async () => {
    const path = join(realDataDir, 'dolly-15k-head.jsonl');
    const decisions = join(dir, 'dolly.winnow.json');
    const s = join(dir, 'dolly.scores.jsonl');
    await runCliOk(['score', path, '--model', t5.dir, '--device', 'cpu', '--out', s, ...cache()]);
    await runCliOk([
      'sample',
      path,
      '--by',
      'askllm',
      '--scores',
      s,
      '--size',
      '20%',
      '--mark',
      'keep',
      '--decisions',
      decisions,
    ]);
    const kept = join(dir, 'dolly.kept.jsonl');
    await runCliOk(['export', path, '--out', kept, '--decisions', decisions]);
    const src = readFileSync(path, 'utf8').split('\n');
    const got = readFileSync(kept, 'utf8').trimEnd().split('\n');
    assert.equal(got.length, Math.round(49 * 0.2));
    for (const l of got) assert.ok(src.includes(l));
    assert.throws(() => readFileSync(sidecarPath(path)), /ENOENT/);
  });
});

describe('winnow info', () => {
  it('shows the schema, the counts and the cached scores of a file', async () => {
    const r = await runCliOk(['info', data.path, ...cache(), '--json']);
    const s = r.summary as {
      counts: Record<string, number>;
      schema: { kind: string };
      cachedScores: { model: string; scored: number }[];
      invalidLines: { line: number }[];
    };
    assert.equal(s.schema.kind, 'text');
    assert.equal(s.counts.lines, lines().length - 1);
    assert.equal(s.counts.invalid, 2);
    assert.deepEqual(
      s.invalidLines.map(x => x.line),
      data.invalid.map(i => i + 1),
    );
    assert.deepEqual(
      s.cachedScores.map(c => [c.model, c.scored]),
      [[t5.dir, s.counts.valid]],
    );
    const text = await runCliOk(['info', data.path, ...cache()]);
    assert.match(text.stdout, /Schema: Text \(text\)/);
    assert.match(
      text.stdout,
      new RegExp(
        `${t5.dir.replace(/[/.]/g, '\\$&')} .*: ${s.counts.valid} of ${s.counts.valid} rows`,
      ),
    );
  });
});
