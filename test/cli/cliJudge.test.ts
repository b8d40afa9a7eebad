/**
 * `winnow calibrate`, `winnow compare` and `winnow distill` (docs/judge.md) as real processes
 * on generated files: the calibrate summary (last stdout line) carries auc, threshold,
 * precision, recall and kappa equal to a pairwise AUC count and a brute-force threshold search
 * here; compare counts the same flips a brute force counts; bad input is a clear error naming
 * the file and line. On a dataset scored by two fixture judges (`winnow score`, the score
 * cache) with a sidecar of decisions: `calibrate FILE` and `compare FILE` equal the same
 * figures from the score files and a labels file the test writes from the sidecar; `distill
 * FILE` fits on the sample it is asked for and writes distilled scores under their own name.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/cli/errors';
import { sidecarText } from '../../src/core/dataset/sidecar';
import { Xoshiro128 } from '../../src/core/density/prng';
import { spearman } from '../../src/core/judge';
import { generateTinyBert, generateTinyT5 } from '../support/fixtures';
import { writeDensityDataset } from '../support/densityData';
import { jsonlRows, runCli, runCliOk } from './cliRun';

const N = 400;
let dir: string;
const a: number[] = [];
const b: number[] = [];
const keep: boolean[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-judge-'));
  const rng = new Xoshiro128(44);
  for (let i = 0; i < N; i++) {
    const s = Math.round(rng.nextFloat() * 1e4) / 1e4;
    a.push(s);
    b.push(Math.round(Math.min(1, Math.max(0, s + (rng.nextFloat() - 0.5) * 0.5)) * 1e4) / 1e4);
    keep.push(rng.nextFloat() < s);
  }
  const rows = (v: number[]) =>
    v.map((s, line) => JSON.stringify({ line, askllm_score: s })).join('\n') + '\n';
  writeFileSync(join(dir, 'a.jsonl'), rows(a));
  writeFileSync(join(dir, 'b.jsonl'), rows(b));
  writeFileSync(
    join(dir, 'labels.jsonl'),
    keep.map((k, line) => JSON.stringify({ line, decision: k ? 'keep' : 'drop' })).join('\n'),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Pairwise AUC of `s` against the labels. */
function pairwiseAuc(s: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++)
      if (keep[i] && !keep[j]) {
        pairs++;
        wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
  return wins / pairs;
}

/** The lowest score whose precision (keep when ≥ it) reaches `target`, by brute force. */
function bruteThreshold(s: number[], target: number): { t: number; p: number; r: number } {
  const kept = keep.filter(Boolean).length;
  let best: { t: number; p: number; r: number } | undefined;
  for (const t of [...new Set(s)].sort((x, y) => y - x)) {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < N; i++) {
      if (s[i] < t) continue;
      if (keep[i]) tp++;
      else fp++;
    }
    if (tp / (tp + fp) >= target) best = { t, p: tp / (tp + fp), r: tp / kept };
  }
  assert.ok(best);
  return best;
}

describe('winnow calibrate and compare', () => {
  it('calibrate --scores --labels --json: the last line has the figures a brute force gives', async () => {
    const r = await runCliOk([
      'calibrate',
      '--scores',
      join(dir, 'a.jsonl'),
      '--labels',
      join(dir, 'labels.jsonl'),
      '--target-precision',
      '0.8',
      '--json',
    ]);
    const s = r.summary;
    assert.ok(s, r.stdout);
    for (const k of ['auc', 'threshold', 'precision', 'recall', 'kappa']) assert.ok(k in s, k);
    assert.ok(Math.abs((s.auc as number) - pairwiseAuc(a)) < 1e-12);
    const want = bruteThreshold(a, 0.8);
    assert.equal(s.threshold, want.t);
    assert.ok(Math.abs((s.precision as number) - want.p) < 1e-12);
    assert.ok(Math.abs((s.recall as number) - want.r) < 1e-12);
    assert.equal(typeof s.kappa, 'number');
    assert.equal(s.labelled, N);
  });

  it('compare: flips at the same keep rate equal a brute-force count', async () => {
    const r = await runCliOk([
      'compare',
      join(dir, 'a.jsonl'),
      join(dir, 'b.jsonl'),
      '--keep-rate',
      '0.3',
      '--json',
    ]);
    const s = r.summary as { rows: number; atKeepRate: { flips: number }; flipLines: number[] };
    const k = Math.ceil(0.3 * N);
    const tA = [...a].sort((x, y) => y - x)[k - 1];
    const tB = [...b].sort((x, y) => y - x)[k - 1];
    let flips = 0;
    for (let i = 0; i < N; i++) if (a[i] >= tA !== b[i] >= tB) flips++;
    assert.equal(s.rows, N);
    assert.equal(s.atKeepRate.flips, flips);
    assert.ok(flips > 0);
    const text = await runCliOk(['compare', join(dir, 'a.jsonl'), join(dir, 'b.jsonl')]);
    assert.match(text.stdout, /Spearman 0\.\d+/);
  });

  it('bad input: a clear error naming the file and line, exit code of a failure', async () => {
    writeFileSync(
      join(dir, 'bad.jsonl'),
      '{"line":0,"decision":"keep"}\n{"line":1,"decision":"maybe"}\n',
    );
    const r = await runCli([
      'calibrate',
      '--scores',
      join(dir, 'a.jsonl'),
      '--labels',
      join(dir, 'bad.jsonl'),
    ]);
    assert.notEqual(r.code, ExitCode.ok);
    assert.match(r.stderr, /bad\.jsonl:2/);
    const u = await runCli(['calibrate', '--scores', join(dir, 'a.jsonl')]);
    assert.equal(u.code, ExitCode.usage);
  });
});

describe('winnow calibrate, compare and distill FILE: the cache and the sidecar', () => {
  let data: string;
  let cache: string;
  let judgeA: string;
  let judgeB: string;
  let bert: string;
  let scoresA: Record<string, unknown>[];

  before(async () => {
    judgeA = generateTinyT5(join(dir, 'judge-a'), { seed: 1234 }).dir;
    judgeB = generateTinyT5(join(dir, 'judge-b'), { seed: 777 }).dir;
    bert = generateTinyBert(join(dir, 'tiny-bert')).dir;
    data = writeDensityDataset(join(dir, 'data.jsonl'), {
      rows: 160,
      duplicates: 8,
      invalid: 1,
    }).path;
    cache = join(dir, 'cache');
    for (const [m, out] of [
      [judgeA, 'sa.jsonl'],
      [judgeB, 'sb.jsonl'],
    ])
      await runCliOk([
        'score',
        data,
        '--model',
        m,
        '--device',
        'cpu',
        '--out',
        join(dir, out),
        '--cache-dir',
        cache,
      ]);
    scoresA = jsonlRows(readFileSync(join(dir, 'sa.jsonl'), 'utf8'));
    // Decisions on about two rows in three, keep more likely the higher judge A ranks the row.
    const rng = new Xoshiro128(9);
    const byHash = new Map<string, boolean>();
    const ranked = scoresA.map(r => r.askllm_score as number).sort((x, y) => x - y);
    for (const r of scoresA) {
      const rank = ranked.indexOf(r.askllm_score as number) / ranked.length;
      if (rng.nextFloat() < 0.66 && !byHash.has(r.content_hash as string))
        byHash.set(r.content_hash as string, rng.nextFloat() < 0.1 + 0.8 * rank);
    }
    const keepHashes = [...byHash].filter(([, k]) => k).map(([h]) => h);
    const dropHashes = [...byHash].filter(([, k]) => !k).map(([h]) => h);
    writeFileSync(
      `${data}.winnow.json`,
      sidecarText('data.jsonl', { keep: keepHashes.sort(), drop: dropHashes.sort(), rules: [] }),
    );
    const labelRows = scoresA
      .filter(r => byHash.has(r.content_hash as string))
      .map(r =>
        JSON.stringify({
          line: r.line,
          decision: byHash.get(r.content_hash as string) ? 'keep' : 'drop',
        }),
      );
    writeFileSync(join(dir, 'file-labels.jsonl'), `${labelRows.join('\n')}\n`);
    assert.ok(
      keepHashes.length > 5 && dropHashes.length > 5,
      `${keepHashes.length} ${dropHashes.length}`,
    );
  });

  it('calibrate FILE equals calibrate --scores --labels of the same scores and decisions', async () => {
    const fromFile = await runCliOk([
      'calibrate',
      data,
      '--scorer',
      judgeA,
      '--cache-dir',
      cache,
      '--json',
    ]);
    const fromFiles = await runCliOk([
      'calibrate',
      '--scores',
      join(dir, 'sa.jsonl'),
      '--labels',
      join(dir, 'file-labels.jsonl'),
      '--json',
    ]);
    const a = fromFile.summary!;
    const b = fromFiles.summary!;
    for (const k of ['auc', 'threshold', 'precision', 'recall', 'kappa', 'labelled', 'intervals'])
      assert.deepEqual(a[k], b[k], k);
    assert.equal(typeof a.auc, 'number');
    assert.equal((a.scorer as { model: string }).model, judgeA);
    const text = await runCliOk(['calibrate', data, '--scorer', '1', '--cache-dir', cache]);
    assert.match(text.stdout, /judge-a .*\n.*\nAUC 0\.\d+ \(95%: /);
    // Two cached scorers and no --scorer: a usage error that lists both.
    const u = await runCli(['calibrate', data, '--cache-dir', cache]);
    assert.equal(u.code, ExitCode.usage);
    assert.match(u.stderr, /2 scorers/);
    assert.ok(u.stderr.includes(judgeA) && u.stderr.includes(judgeB), u.stderr);
    // An empty cache: a clear error naming the command to run.
    const none = await runCli(['calibrate', data, '--cache-dir', join(dir, 'empty-cache')]);
    assert.notEqual(none.code, ExitCode.ok);
    assert.match(none.stderr, /no cached ASK-LLM scores.*winnow score/);
  });

  it('compare FILE equals compare A.jsonl B.jsonl --labels of the same data', async () => {
    const fromFile = await runCliOk(['compare', data, '--cache-dir', cache, '--json']);
    const fromFiles = await runCliOk([
      'compare',
      join(dir, 'sa.jsonl'),
      join(dir, 'sb.jsonl'),
      '--labels',
      join(dir, 'file-labels.jsonl'),
      '--json',
    ]);
    const a = fromFile.summary!;
    const b = fromFiles.summary!;
    // The registry lists scorers in the order they were first run: A, then B.
    assert.equal((a.scorerA as { model: string }).model, judgeA);
    assert.equal((a.scorerB as { model: string }).model, judgeB);
    for (const k of ['rows', 'spearman', 'kendall', 'atThresholds', 'atKeepRate', 'flipLines'])
      assert.deepEqual(a[k], b[k], k);
    assert.ok((a.flipLines as number[]).length > 0);
  });

  it('distill FILE: fits on the sample asked for, scores every row, labelled distilled', async () => {
    const out = join(dir, 'distilled.jsonl');
    const r = await runCliOk([
      'distill',
      data,
      '--scorer',
      judgeA,
      '--model',
      bert,
      '--device',
      'cpu',
      '--sample',
      '80',
      '--out',
      out,
      '--cache-dir',
      cache,
      '--json',
    ]);
    const s = r.summary!;
    const rows = jsonlRows(readFileSync(out, 'utf8'));
    assert.equal(rows.length, scoresA.length);
    assert.deepEqual(Object.keys(rows[0]), [
      'line',
      'content_hash',
      'distilled_score',
      'in_fit_sample',
    ]);
    assert.equal(rows.filter(x => x.in_fit_sample).length, 80);
    assert.equal(s.sample, 80);
    assert.ok(
      rows.every(x => (x.distilled_score as number) > 0 && (x.distilled_score as number) < 1),
    );
    // Out-of-sample Spearman against the judge, recomputed here from the two files by line.
    const judge = new Map(scoresA.map(x => [x.line as number, x.askllm_score as number]));
    const outside = rows.filter(x => !x.in_fit_sample);
    const rho = spearman(
      outside.map(x => x.distilled_score as number),
      outside.map(x => judge.get(x.line as number)!),
    );
    assert.ok(
      Math.abs(rho - (s.outOfSampleSpearman as number)) < 1e-3,
      `${rho} ${s.outOfSampleSpearman}`,
    );
    const m = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as Record<string, unknown>;
    assert.equal(m.kind, 'distilled');
    assert.equal((m.judge as { model: string }).model, judgeA);
    assert.match(m.score as string, /not a judge score/);
    // Distilled scores are refused where judge scores are asked for.
    const refused = await runCli([
      'sample',
      data,
      '--by',
      'askllm',
      '--scores',
      out,
      '--size',
      '5',
      '--out',
      join(dir, 'x.jsonl'),
    ]);
    assert.notEqual(refused.code, ExitCode.ok);
    assert.match(refused.stderr, /distilled scores/);
  });
});
