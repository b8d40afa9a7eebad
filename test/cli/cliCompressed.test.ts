/**
 * The CLI reads compressed datasets (docs/compressed.md): `winnow score` on a `.jsonl.gz` and a
 * `.jsonl.zst` copy of a file gives the plain file's rows and scores, every row from the plain
 * run's cache (the content hash is of the decompressed bytes), and `winnow export --out *.gz`
 * writes a gzip whose decompressed bytes are the kept rows. Never writes the source.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { allWords, generateTinyT5, Rng, type TinyT5 } from '../support/fixtures';
import { jsonlRows, runCli, runCliOk } from './cliRun';

let dir: string;
let t5: TinyT5;
let plain: string;
const lines: string[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-compressed-'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  const rng = new Rng(7);
  const words = allWords();
  for (let i = 0; i < 24; i++) {
    const n = 3 + rng.int(20);
    const text = Array.from({ length: n }, () => words[rng.int(words.length)]).join(' ');
    lines.push(JSON.stringify({ id: i, text }));
  }
  plain = join(dir, 'data.jsonl');
  writeFileSync(plain, lines.join('\n') + '\n');
  writeFileSync(`${plain}.gz`, zlib.gzipSync(readFileSync(plain)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const cache = () => ['--cache-dir', join(dir, 'cache')];
const model = () => ['--model', t5.dir, '--device', 'cpu'];

async function score(file: string, out: string) {
  const r = await runCliOk(['score', file, ...model(), '--out', out, ...cache(), '--json']);
  return {
    rows: jsonlRows(readFileSync(out, 'utf8')),
    counts: r.summary?.counts as Record<string, number>,
  };
}

describe('winnow on compressed datasets', () => {
  it('scores a .jsonl.gz with the plain file cached scores: same lines, hashes and scores', async () => {
    const base = await score(plain, join(dir, 'plain.scores.jsonl'));
    assert.equal(base.rows.length, lines.length);
    for (const src of [`${plain}.gz`]) {
      const before = statSync(src).mtimeMs;
      const got = await score(src, join(dir, `${src.slice(-3)}.scores.jsonl`));
      assert.equal(got.counts.cachedAtStart, lines.length, `${src}: every row from the cache`);
      assert.deepEqual(got.rows, base.rows, `${src}: same lines, hashes and scores`);
      assert.equal(statSync(src).mtimeMs, before, 'the source is never written');
    }
  });

  it('samples a .jsonl.gz into its sidecar and exports the kept rows as gzip (--out *.gz)', async () => {
    const scores = join(dir, 'plain.scores.jsonl');
    const sel = join(dir, 'selected.jsonl');
    const gz = `${plain}.gz`;
    const args = ['sample', gz, '--by', 'askllm', '--scores', scores, '--size', '50%'];
    await runCliOk([...args, '--mark', 'keep', '--out', sel, ...cache()]);
    const kept = jsonlRows(readFileSync(sel, 'utf8')).map(r => r.line as number);
    assert.equal(kept.length, lines.length / 2);
    const out = join(dir, 'kept.jsonl.gz');
    const r = await runCli(['export', gz, '--out', out, ...cache()]);
    assert.equal(r.code, 0, r.stderr);
    const want = [...kept].sort((a, b) => a - b).map(l => lines[l - 1] + '\n');
    assert.equal(zlib.gunzipSync(readFileSync(out)).toString('utf8'), want.join(''));
  });
});
