/**
 * `winnow score` throughput on a real file (../shared/data/real/code-alpaca-2k.jsonl, read in
 * place; its first N rows are copied to a temp file). For each model it runs the CLI as a
 * process with an empty cache, and, as the baseline measured in the same run, the worker's
 * scorer in this process on the same texts (AskLlmScorer.score, no cache), then prints rows/s of
 * both and their ratio (the CLI's overhead: reading, hashing, cache writes, output).
 *
 * Usage: npm run bench:cli -- [--models tiny,flan] [--rows N] [--flan-rows N]
 *   tiny: the tiny-t5 fixture (2,000 rows by default); flan: a random-weight model of
 *   Flan-T5-small's shape (200 rows by default: about 5–10 rows/s on 2 cores).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectSchema, extractText, parseLine } from '../../src/core/jsonl';
import { AskLlmScorer, loadScorerModel } from '../../src/worker/askllm';
import { buildRandomModel, generateTinyT5 } from '../support/fixtures';

const repo = join(__dirname, '..', '..', '..');
const cli = join(repo, 'dist', 'cli.js');
const source = join(repo, '..', 'shared', 'data', 'real', 'code-alpaca-2k.jsonl');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** The CLI on `file` with `model`: rows/s over the scoring phase and over the whole process. */
function cliRun(
  file: string,
  model: string,
  cacheDir: string,
): { rows: number; rate: number; wall: number } {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      cli,
      'score',
      file,
      '--model',
      model,
      '--device',
      'cpu',
      '--out',
      join(cacheDir, 'out.jsonl'),
      '--cache-dir',
      cacheDir,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`winnow score failed: ${r.stderr}`);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    counts: { rows: number };
    rowsPerSecond: number;
  };
  return { rows: s.counts.rows, rate: s.rowsPerSecond, wall };
}

/** The worker's scorer in process on the same texts: rows/s of `score` alone. */
async function baseline(file: string, model: string): Promise<number> {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(l => l.trim() !== '');
  const values = lines.map(l => parseLine(Buffer.from(l))).flatMap(p => (p.ok ? [p.value] : []));
  const schema = detectSchema(values.slice(0, 200));
  const texts = values.map(v => extractText(v, schema));
  const loaded = await loadScorerModel({
    model,
    cacheDir: join(tmpdir(), 'winnow-bench-models'),
    device: 'cpu',
  });
  const scorer = AskLlmScorer.create(loaded, {});
  try {
    const t0 = performance.now();
    await scorer.score(texts, { hashes: texts.map((_, i) => String(i)) });
    return texts.length / ((performance.now() - t0) / 1000);
  } finally {
    await scorer.dispose();
    await loaded.dispose();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'winnow-bench-cli-'));
  try {
    const models = arg('models', 'tiny,flan').split(',');
    const all = readFileSync(source, 'utf8').split('\n');
    console.log(`winnow score on ${source}, CPU, ${new Date().toISOString()}`);
    for (const m of models) {
      const rows = Number(m === 'flan' ? arg('flan-rows', '200') : arg('rows', '2000'));
      const file = join(dir, `${m}.jsonl`);
      writeFileSync(file, `${all.slice(0, rows).join('\n')}\n`);
      const folder =
        m === 'flan'
          ? buildRandomModel(join(dir, 'flan-t5-small'), 'flan-t5-small').dir
          : generateTinyT5(join(dir, 'tiny-t5')).dir;
      const c = cliRun(file, folder, mkdtempSync(join(dir, 'cache-')));
      const b = await baseline(file, folder);
      console.log(
        `${m === 'flan' ? 'Flan-T5-small shape' : 'tiny-t5 fixture'}: ${c.rows} rows · CLI ${c.rate.toFixed(1)} rows/s scoring ` +
          `(${(c.rows / c.wall).toFixed(1)} rows/s for the whole process, ${c.wall.toFixed(1)} s) · in-process scorer ` +
          `${b.toFixed(1)} rows/s · CLI/scorer ${(c.rate / b).toFixed(2)}×`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
