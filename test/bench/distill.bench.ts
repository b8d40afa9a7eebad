/**
 * The distilled scorer against the judge (docs/judge.md#distilled-scorer), on the same machine
 * in the same run:
 *
 * - the judge: ASK-LLM rows/s through the production scorer on a random-weight Flan-T5-small
 *   shaped model (full depth by default; the paper's judge is larger, so this is its best case);
 * - the distilled scorer: the fit time on a sample, and rows/s of scoring (one matrix-vector
 *   product over 384-d embeddings), in memory and read from a real float16 embedding store.
 *
 * Usage: npm run bench:distill -- [--judge-rows N] [--rows N] [--dim N] [--sample N] [--layers N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Xoshiro128 } from '../../src/core/density/prng';
import { EmbeddingStore } from '../../src/core/embedStore';
import { fitDistilled, scoreDistilled } from '../../src/core/judge';
import { AskLlmScorer, loadScorerModel } from '../../src/worker/askllm';
import { Rng, allWords, buildRandomModel } from '../support/fixtures';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`--${name} needs a positive number`);
  return v;
}

const judgeRows = arg('judge-rows', 48);
const rows = arg('rows', 50_000);
const dim = arg('dim', 384);
const sample = arg('sample', 3000);
const layersArg = process.argv.includes('--layers') ? arg('layers', 8) : undefined;

/** Rows/s of the judge through the production scorer. */
async function judgeRate(root: string): Promise<number> {
  const built = buildRandomModel(join(root, 't5'), 'flan-t5-small', { layers: layersArg });
  const model = await loadScorerModel({
    model: built.dir,
    cacheDir: join(root, 'cache'),
    device: 'cpu',
  });
  const rng = new Rng(3);
  const words = allWords();
  const docs = Array.from({ length: judgeRows }, () =>
    Array.from({ length: 40 + rng.int(160) }, () => words[rng.int(words.length)]).join(' '),
  );
  const scorer = AskLlmScorer.create(model, { maxTokens: 512 });
  await scorer.score(docs.slice(0, 4)); // warm-up
  const t0 = performance.now();
  await scorer.score(docs);
  const ms = performance.now() - t0;
  await scorer.dispose();
  await model.dispose();
  console.log(
    `judge (Flan-T5-small shape, ${layersArg ?? 8} layers, random weights, CPU): ${judgeRows} rows in ${(ms / 1000).toFixed(1)} s`,
  );
  return (judgeRows / ms) * 1000;
}

/** Unit-norm random embeddings with a planted linear log-odds. */
function embeddings(n: number): { x: Float32Array; p: Float64Array } {
  const rng = new Xoshiro128(7);
  const w = Float64Array.from({ length: dim }, () => rng.nextNormal());
  const x = new Float32Array(n * dim);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (x[i * dim + j] = rng.nextNormal()) ** 2;
    norm = Math.sqrt(norm);
    let z = -2;
    for (let j = 0; j < dim; j++) z += 4 * (x[i * dim + j] /= norm) * w[j];
    p[i] = 1 / (1 + Math.exp(-(z + 0.3 * rng.nextNormal())));
  }
  return { x, p };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'winnow-bench-distill-'));
  try {
    const { x, p } = embeddings(rows);
    let t0 = performance.now();
    const fit = fitDistilled(x.subarray(0, sample * dim), dim, p.subarray(0, sample));
    const fitMs = performance.now() - t0;
    console.log(
      `distilled fit: ${sample} rows × ${dim} d in ${(fitMs / 1000).toFixed(2)} s, held-out Spearman ${fit.heldOutSpearman?.toFixed(3)}, λ ${fit.model.lambda.toPrecision(3)}`,
    );
    const out = new Float32Array(rows);
    scoreDistilled(fit.model, x.subarray(0, 1000 * dim)); // warm-up
    t0 = performance.now();
    scoreDistilled(fit.model, x, out);
    const memMs = performance.now() - t0;
    // The same rows read back from a float16 embedding store, as the worker would.
    const store = await EmbeddingStore.open(join(root, 'e.wnde'), {
      dim,
      key: 'bench',
      sync: false,
    });
    const entries = Array.from({ length: rows }, (_, i) => ({
      hash: i.toString(16).padStart(32, '0'),
      vector: x.subarray(i * dim, (i + 1) * dim),
      tokens: 1,
      truncated: false,
    }));
    for (let i = 0; i < rows; i += 5000) await store.append(entries.slice(i, i + 5000));
    const records = Uint32Array.from({ length: rows }, (_, i) => store.recordOf(entries[i].hash));
    const buf = new Float32Array(rows * dim);
    t0 = performance.now();
    await store.readRecords(records, buf);
    scoreDistilled(fit.model, buf, out);
    const storeMs = performance.now() - t0;
    await store.close();
    const judge = await judgeRate(root);
    const mem = (rows / memMs) * 1000;
    const fromStore = (rows / storeMs) * 1000;
    console.log(`\njudge:                          ${judge.toFixed(2)} rows/s`);
    console.log(
      `distilled, in memory:           ${Math.round(mem).toLocaleString('en-US')} rows/s (${Math.round(mem / judge).toLocaleString('en-US')}× the judge)`,
    );
    console.log(
      `distilled, from the store (f16): ${Math.round(fromStore).toLocaleString('en-US')} rows/s (${Math.round(fromStore / judge).toLocaleString('en-US')}× the judge)`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main().catch(e => {
  console.error(e);
  process.exit(1);
});
