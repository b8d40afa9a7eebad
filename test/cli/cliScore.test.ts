/**
 * `winnow score` through the real dist/cli.js with the tiny-t5 fixture (P(yes) in closed form):
 * the row fields and the manifest on a generated file with invalid, blank and duplicate lines;
 * Parquet with the same columns; every file of ../shared/data/real (read in place); resume from
 * the cache; and kill-and-resume: a run SIGKILLed mid-way loses no finished row, leaves no
 * half-written output, and the rerun scores only the rest and writes the same bytes as a clean
 * run.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { PAPER_PROMPT, promptHash, renderPrompt } from '../../src/core/askllm';
import { contentHash, parseLine } from '../../src/core/jsonl';
import { ExitCode } from '../../src/cli/errors';
import { Rng, allWords, generateTinyT5, t5Distribution, type TinyT5 } from '../support/fixtures';
import { assertProbability } from '../support/probability';
import { jsonlRows, realDataDir, runCli, runCliOk, sameScores } from './cliRun';

let dir: string;
let t5: TinyT5;
let tok: PreTrainedTokenizer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-score-'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  tok = await AutoTokenizer.from_pretrained(t5.dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const model = () => ['--model', t5.dir, '--device', 'cpu'];

/** Generated lines: texts of fixture words, with an invalid line, a blank line and a duplicate. */
function generated(n: number, seed: number): { lines: string[]; texts: (string | undefined)[] } {
  const rng = new Rng(seed);
  const words = allWords();
  const lines: string[] = [];
  const texts: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const text = Array.from({ length: 3 + rng.int(30) }, () => words[rng.int(words.length)]).join(
      ' ',
    );
    lines.push(JSON.stringify({ id: i, text }));
    texts.push(text);
  }
  lines.splice(3, 0, '{"text": "broken');
  texts.splice(3, 0, undefined);
  lines.splice(7, 0, '   ');
  texts.splice(7, 0, undefined);
  lines.push(lines[0]);
  texts.push(texts[0]);
  return { lines, texts };
}

/** The valid lines of a file (what the CLI scores): 1-based line and content hash. */
function validLines(path: string): { line: number; hash: string }[] {
  const bytes = readFileSync(path);
  const out: { line: number; hash: string }[] = [];
  let start = 0;
  for (let i = 0; start < bytes.length; i++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const line = bytes.subarray(start, end);
    if (parseLine(line, { firstLine: i === 0 }).ok)
      out.push({ line: i + 1, hash: contentHash(line) });
    start = end + 1;
  }
  return out;
}

/** The manifest fields these tests read. */
interface ScoreManifest {
  winnow: string;
  kind: string;
  engine: string;
  model: string;
  mode: string;
  prompt: { hash: string };
  answerTokens: { token: string; id: number }[];
  counts: Record<string, number>;
  timing: Record<string, number>;
  output: { rows: number };
}

describe('winnow score', () => {
  let path: string;
  let texts: (string | undefined)[];

  before(() => {
    const g = generated(40, 11);
    path = join(dir, 'gen.jsonl');
    writeFileSync(path, `${g.lines.join('\n')}\n`);
    texts = g.texts;
  });

  it('writes one row per valid line: line, content_hash, the closed-form P(yes), status ok; and a manifest', async () => {
    const out = join(dir, 'gen.scores.jsonl');
    const cache = join(dir, 'cache-gen');
    const r = await runCliOk([
      'score',
      path,
      ...model(),
      '--out',
      out,
      '--cache-dir',
      cache,
      '--json',
    ]);
    const rows = jsonlRows(readFileSync(out, 'utf8'));
    const valid = validLines(path);
    assert.deepEqual(
      rows.map(x => [x.line, x.content_hash]),
      valid.map(v => [v.line, v.hash]),
    );
    for (const row of rows) {
      const text = texts[Number(row.line) - 1]!;
      const ids = tok.encode(renderPrompt(PAPER_PROMPT, text));
      assert.equal(row.askllm_status, 'ok');
      assert.equal(row.askllm_upper_bound, null);
      assert.equal(row.askllm_error, null);
      assert.equal(row.askllm_tokens, ids.length);
      assert.equal(row.askllm_truncated, false);
      assertProbability(
        Number(row.askllm_score),
        t5Distribution(t5, ids)[t5.yesId],
        `line ${row.line}`,
      );
    }
    const m = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as ScoreManifest;
    assert.equal(m.winnow, 'scores');
    assert.equal(m.kind, 'askllm');
    assert.equal(m.engine, 'local');
    assert.equal(m.model, t5.dir);
    assert.equal(m.mode, 'exact');
    assert.equal(m.prompt.hash, promptHash(PAPER_PROMPT));
    assert.deepEqual(
      m.answerTokens.map((a: { id: number }) => a.id),
      [t5.yesId],
    );
    assert.deepEqual(
      {
        lines: m.counts.lines,
        valid: m.counts.valid,
        blank: m.counts.blank,
        invalid: m.counts.invalid,
        rows: m.counts.rows,
        ok: m.counts.ok,
      },
      { lines: 43, valid: 41, blank: 1, invalid: 1, rows: 41, ok: 41 },
    );
    // The duplicate line is scored once.
    assert.equal(m.counts.newlyScored, 40);
    assert.ok(m.timing.elapsedMs > 0 && m.timing.rowsPerSecond > 0);
    assert.equal(m.output.rows, 41);
    assert.equal(r.summary?.out, out);

    // A rerun answers every row from the cache and writes the same bytes.
    const again = join(dir, 'gen.scores.2.jsonl');
    const r2 = await runCliOk([
      'score',
      path,
      ...model(),
      '--out',
      again,
      '--cache-dir',
      cache,
      '--json',
    ]);
    assert.deepEqual(r2.summary?.counts, {
      lines: 43,
      rows: 41,
      ok: 41,
      bound: 0,
      error: 0,
      cachedAtStart: 41,
      newlyScored: 0,
    });
    assert.equal(readFileSync(again, 'utf8'), readFileSync(out, 'utf8'));
  });

  it('--format parquet writes the same columns and values', async () => {
    const cache = join(dir, 'cache-gen');
    const jsonl = join(dir, 'gen.scores.jsonl');
    const out = join(dir, 'gen.scores.parquet');
    await runCliOk(['score', path, ...model(), '--out', out, '--cache-dir', cache]);
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(out) })) as Record<
      string,
      unknown
    >[];
    const want = jsonlRows(readFileSync(jsonl, 'utf8'));
    assert.equal(rows.length, want.length);
    rows.forEach((row, i) => {
      const plain = Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]),
      );
      assert.deepEqual(plain, want[i]);
    });
  });
});

describe('winnow score on the real datasets (read in place)', () => {
  const files = existsSync(realDataDir)
    ? readdirSync(realDataDir)
        .filter(f => f.endsWith('.jsonl'))
        .sort()
    : [];
  const cache = () => join(dir, 'cache-real');

  it(
    'scores every valid row of every file',
    { skip: files.length === 0 ? 'no ../shared/data/real' : false },
    async () => {
      for (const f of files) {
        const path = join(realDataDir, f);
        const out = join(dir, `${f}.scores.jsonl`);
        const r = await runCliOk([
          'score',
          path,
          ...model(),
          '--out',
          out,
          '--cache-dir',
          cache(),
          '--json',
        ]);
        const valid = validLines(path);
        const rows = jsonlRows(readFileSync(out, 'utf8'));
        assert.deepEqual(
          rows.map(x => x.line),
          valid.map(v => v.line),
          f,
        );
        assert.ok(
          rows.every(
            x =>
              x.askllm_status === 'ok' &&
              typeof x.askllm_score === 'number' &&
              x.askllm_score > 0 &&
              x.askllm_score < 1,
          ),
          f,
        );
        assert.equal((r.summary?.counts as { rows: number }).rows, valid.length, f);
      }
    },
  );

  it(
    'kill -9 mid-run loses no finished row; the rerun scores the rest and writes what a clean run writes',
    { skip: files.length === 0 ? 'no ../shared/data/real' : false },
    async () => {
      const path = join(realDataDir, 'code-alpaca-2k.jsonl');
      const clean = join(dir, 'code-alpaca-2k.jsonl.scores.jsonl');
      if (!existsSync(clean))
        await runCliOk(['score', path, ...model(), '--out', clean, '--cache-dir', cache()]);
      const killedCache = join(dir, 'cache-killed');
      const outDir = mkdtempSync(join(dir, 'killed-'));
      const out = join(outDir, 'scores.jsonl');
      const log = join(killedCache, 'askllm', 'scores.log');
      const recordsIn = () =>
        existsSync(log)
          ? readFileSync(log, 'utf8')
              .split('\n')
              .filter(l => l.includes('\t')).length
          : 0;
      const killed = await runCli(
        ['score', path, ...model(), '--out', out, '--cache-dir', killedCache],
        {
          onStart: child => {
            const poll = setInterval(() => {
              if (recordsIn() >= 200) {
                clearInterval(poll);
                child.kill('SIGKILL');
              }
            }, 20);
            child.on('exit', () => clearInterval(poll));
          },
        },
      );
      assert.equal(
        killed.signal,
        'SIGKILL',
        `the run was killed mid-way (exit ${killed.code}): ${killed.stderr}`,
      );
      const finished = recordsIn();
      assert.ok(finished >= 200, `${finished} rows were durable before the kill`);
      assert.ok(!existsSync(out), 'no output under the target name from the killed run');

      const rerun = await runCliOk([
        'score',
        path,
        ...model(),
        '--out',
        out,
        '--cache-dir',
        killedCache,
        '--json',
      ]);
      const c = rerun.summary?.counts as Record<string, number>;
      const distinct = new Set(validLines(path).map(v => v.hash)).size;
      assert.ok(
        c.cachedAtStart >= finished,
        `every row finished before the kill came from the cache (${c.cachedAtStart} ≥ ${finished})`,
      );
      assert.ok(c.newlyScored <= distinct - finished, 'only the rest was scored');
      assert.equal(c.ok, c.rows);
      sameScores(jsonlRows(readFileSync(out, 'utf8')), jsonlRows(readFileSync(clean, 'utf8')));
      // What the killed run was writing stays a hidden temp file of its pid (removed by a later
      // run once a minute old, core/jsonl tempFiles.ts), never a file under the target's name.
      assert.deepEqual(
        readdirSync(outDir)
          .filter(n => n !== 'scores.jsonl' && n !== 'scores.jsonl.manifest.json')
          .map(n => n.replace(/\d+-[0-9a-f]{8}/, 'PID')),
        readdirSync(outDir).filter(n => n.endsWith('.tmp')).length ? ['.scores.jsonl.PID.tmp'] : [],
      );
    },
  );

  it("SIGTERM (a scheduler's cancel) stops between batches with exit 143 and keeps the finished rows", async () => {
    const path = join(realDataDir, 'code-alpaca-2k.jsonl');
    const termCache = join(dir, 'cache-term');
    const log = join(termCache, 'askllm', 'scores.log');
    const r = await runCli(
      [
        'score',
        path,
        ...model(),
        '--out',
        join(dir, 'term.jsonl'),
        '--cache-dir',
        termCache,
        '--json',
      ],
      {
        onStart: child => {
          const poll = setInterval(() => {
            if (existsSync(log) && readFileSync(log, 'utf8').includes('\n')) {
              clearInterval(poll);
              child.kill('SIGTERM');
            }
          }, 20);
          child.on('exit', () => clearInterval(poll));
        },
      },
    );
    assert.equal(r.code, ExitCode.terminated, r.stderr);
    assert.match(r.stderr, /^winnow score: stopped by SIGTERM: finished rows are in the cache/m);
    assert.equal(r.summary?.exitCode, 143);
    assert.ok(!existsSync(join(dir, 'term.jsonl')));
    const again = await runCliOk([
      'score',
      path,
      ...model(),
      '--out',
      join(dir, 'term.jsonl'),
      '--cache-dir',
      termCache,
      '--json',
    ]);
    assert.ok((again.summary?.counts as Record<string, number>).cachedAtStart > 0);
  });

  it('rows in error exit 3, name the reason, and are not cached (the next run asks again)', async () => {
    // The paper's prompt alone is longer than 16 tokens: every row fails on its own.
    const path = join(realDataDir, 'dolly-15k-head.jsonl');
    const out = join(dir, 'errors.jsonl');
    const args = [
      'score',
      path,
      ...model(),
      '--max-tokens',
      '16',
      '--out',
      out,
      '--cache-dir',
      join(dir, 'cache-err'),
      '--json',
    ];
    const r = await runCli(args);
    assert.equal(r.code, ExitCode.incomplete, r.stderr);
    assert.match(r.stdout + r.stderr, /rows in error: run the same command again to retry them/);
    const rows = jsonlRows(readFileSync(out, 'utf8'));
    assert.equal(rows.length, validLines(path).length);
    for (const x of rows) {
      assert.equal(x.askllm_status, 'error');
      assert.equal(x.askllm_score, null);
      assert.match(String(x.askllm_error), /more than the max-token setting \(16\)/);
    }
    const again = await runCli(args);
    const c = again.summary?.counts as Record<string, number>;
    assert.equal(again.code, ExitCode.incomplete);
    assert.deepEqual([c.cachedAtStart, c.error], [0, rows.length]);
  });
});
