/**
 * `winnow score` throughput on a real file (../shared/data/real/code-alpaca-2k.jsonl, read in
 * place; its first N rows are copied to a temp file), each figure as a ratio to its limit
 * measured or fixed in the same run:
 *
 * - local (in-process ONNX): the CLI as a process with an empty cache against the worker's
 *   scorer in this process on the same texts (AskLlmScorer.score, no cache): CLI / scorer is the
 *   CLI's overhead (reading, hashing, cache writes, output). The scorer's own ratio to raw
 *   `session.run` is `npm run bench:score`'s.
 * - remote: `winnow score --engine vllm --api completions --endpoint http://127.0.0.1:PORT/v1`
 *   against the stand-in engine (test/support/standInEngine.ts, served from this process, which
 *   is idle while the CLI runs) playing a batching GPU server: at most CAPACITY prompts per step
 *   of SERVICE ms, synthetic answers that cost almost no CPU. Its limit is the stand-in's own
 *   capacity at that service time and concurrency: min(CAPACITY, concurrency × 64 prompts per
 *   request) / SERVICE. The rows are the real file's, repeated with a `copy` field so every line
 *   is distinct content (one request per row).
 *
 * Remote rows are cut to --max-tokens (512) as locally: each row costs one POST /tokenize (no
 * service time) before its request.
 *
 * Usage: npm run bench:cli -- [--models tiny,flan,remote] [--rows N] [--flan-rows N]
 *        [--remote-rows N] [--service-ms MS] [--capacity P] [--concurrency C]
 *   tiny: the tiny-t5 fixture (2,000 rows by default); flan: a random-weight model of
 *   Flan-T5-small's shape (200 rows by default: about 5–10 rows/s on 2 cores); remote: 20,000
 *   rows through the stand-in (50 ms steps of 256 prompts, 8 requests of 64 prompts in flight:
 *   twice a step, so the engine's queue never runs dry; limit 5,120 rows/s).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectSchema, extractText, parseLine } from '../../src/core/jsonl';
import { AskLlmScorer, loadScorerModel } from '../../src/worker/askllm';
import { buildRandomModel, generateTinyT5 } from '../support/fixtures';
import { StandInEngine } from '../support/standInEngine';
import { syntheticBrain } from '../support/standInModel';

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
  return { ...summaryOf(r.stdout), wall };
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

/** The CLI's score summary (the `--json` line). */
function summaryOf(stdout: string): { rows: number; rate: number } {
  const s = JSON.parse(stdout.trim().split('\n').pop()!) as {
    counts: { rows: number };
    rowsPerSecond: number;
  };
  return { rows: s.counts.rows, rate: s.rowsPerSecond };
}

/** `winnow score --engine vllm` against `endpoint`, as a child process (this one keeps serving). */
function cliRemoteRun(
  file: string,
  endpoint: string,
  concurrency: number,
  cacheDir: string,
): Promise<{ rows: number; rate: number; wall: number }> {
  const t0 = performance.now();
  const args = [
    cli,
    'score',
    file,
    '--engine',
    'vllm',
    '--api',
    'completions',
    '--endpoint',
    endpoint,
    '--model',
    'tiny',
    '--concurrency',
    String(concurrency),
    '--out',
    join(cacheDir, 'out.jsonl'),
    '--cache-dir',
    cacheDir,
    '--json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', code => {
      if (code !== 0) return reject(new Error(`winnow score --engine vllm failed: ${err}`));
      resolve({ ...summaryOf(out), wall: (performance.now() - t0) / 1000 });
    });
  });
}

/** `total` rows: the real rows over and over, each pass with its own `copy` field. */
function distinctRows(lines: readonly string[], total: number): string {
  const rows = lines.filter(l => l.trim() !== '');
  const out: string[] = [];
  for (let i = 0; out.length < total; i++) {
    const line = rows[i % rows.length];
    out.push(`{"copy": ${Math.floor(i / rows.length)}, ${line.slice(1)}`);
  }
  return `${out.join('\n')}\n`;
}

/** The remote row: the CLI through the stand-in, as a ratio to the stand-in's capacity. */
async function remoteBench(dir: string, all: readonly string[]): Promise<void> {
  const rows = Number(arg('remote-rows', '20000'));
  const serviceMs = Number(arg('service-ms', '50'));
  const capacity = Number(arg('capacity', '256'));
  const concurrency = Number(arg('concurrency', '8'));
  const perRequest = 64; // vLLM completions (src/core/engines/vllm.ts)
  const limit = (Math.min(capacity, concurrency * perRequest) / serviceMs) * 1000;
  const file = join(dir, 'remote.jsonl');
  writeFileSync(file, distinctRows(all, rows));
  const engine = await StandInEngine.start({ brain: syntheticBrain(9, 10), serviceMs, capacity });
  try {
    const c = await cliRemoteRun(
      file,
      `${engine.url}/v1`,
      concurrency,
      mkdtempSync(join(dir, 'cache-')),
    );
    console.log(
      `stand-in engine (vllm completions, ${capacity} prompts per ${serviceMs} ms step, ${concurrency} requests × ${perRequest} prompts in flight): ` +
        `${c.rows} rows · CLI ${c.rate.toFixed(1)} rows/s scoring (${(c.rows / c.wall).toFixed(1)} rows/s for the whole process, ${c.wall.toFixed(1)} s) · ` +
        `stand-in capacity ${limit.toFixed(0)} rows/s · CLI/capacity ${(c.rate / limit).toFixed(2)}× · load average ${loadavg()[0].toFixed(1)}`,
    );
  } finally {
    await engine.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'winnow-bench-cli-'));
  try {
    const models = arg('models', 'tiny,flan,remote').split(',');
    const all = readFileSync(source, 'utf8').split('\n');
    console.log(
      `winnow score on ${source}, CPU, ${new Date().toISOString()}, load average ${loadavg()[0].toFixed(1)}`,
    );
    for (const m of models) {
      if (m === 'remote') {
        await remoteBench(dir, all);
        continue;
      }
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
