/**
 * The distilled scorer over a file's rows and the DENSITY embedding store
 * (docs/judge.md#distilled-scorer): a sample of the judge-scored rows that have embeddings is
 * drawn (by DENSITY, inverse propensity, when the rows have DENSITY scores, so the fit covers
 * the space; else uniformly), the ridge model is fitted on it, and every row with an embedding
 * is scored in blocks read from the store. What `winnow distill` and the worker run.
 */
import type { EmbeddingStore } from '../embedStore';
import { sampleByDensity } from '../density/sampling';
import { Xoshiro128 } from '../density/prng';
import { spearman } from './correlation';
import { type DistillFit, type DistilledModel, fitDistilled, scoreDistilled } from './distill';
import { rocAuc } from './curves';
import { sortLabelled } from './labelled';

export interface DistillRowsOptions {
  /** Rows to fit on (default 3000, at most the scored rows with embeddings). */
  readonly sample?: number;
  readonly seed?: number;
  /** DENSITY scores per row (NaN = none): the sample is drawn with probability ∝ 1/score. */
  readonly density?: ArrayLike<number>;
  /** Labels per row (1 keep, 0 drop, else none), for the AUC of the distilled scores. */
  readonly labels?: ArrayLike<number>;
  /** Rows read from the store per block (default 8192). */
  readonly block?: number;
  /** Stops the fit or the scoring between blocks (throws the signal's reason). */
  readonly signal?: AbortSignal;
  /** Progress: `fitting` (done 0 of 1, then 1), then `scoring` (rows done of the rows to score). */
  readonly onProgress?: (phase: 'fitting' | 'scoring', done: number, total: number) => void;
}

/** What a distillation over a file reports. */
export interface DistillRowsResult {
  readonly fit: DistillFit;
  /** Rows (file positions) the fit used. */
  readonly sampleRows: Uint32Array;
  /** How the sample was drawn: by DENSITY (∝ 1/score) or uniformly (no DENSITY score for some). */
  readonly sampling: 'density' | 'uniform';
  /** Distilled score per row (NaN where the row has no embedding): labelled distilled, never P(yes). */
  readonly scores: Float32Array;
  /** Rows scored by the distilled model. */
  readonly scored: number;
  /** Spearman of distilled against judge scores on the scored rows outside the sample. */
  readonly outOfSampleSpearman: number | null;
  /** AUC of the distilled scores against the labels (rows outside the sample), when given. */
  readonly auc: number | null;
}

/** `count` of `candidates`, by DENSITY when there are scores for them, else uniformly (seeded). */
function drawSample(
  candidates: Uint32Array,
  count: number,
  seed: number,
  density: ArrayLike<number> | undefined,
): { rows: Uint32Array; sampling: DistillRowsResult['sampling'] } {
  const values = density ? Float64Array.from(candidates, r => density[r]) : undefined;
  const byDensity = !!values && values.every(v => Number.isFinite(v) && v > 0);
  const sampling = byDensity ? 'density' : 'uniform';
  if (count >= candidates.length) return { rows: candidates, sampling };
  if (byDensity)
    return {
      rows: Uint32Array.from(
        sampleByDensity(values, { count }, seed >>> 0).indices,
        i => candidates[i],
      ),
      sampling,
    };
  const order = Uint32Array.from(candidates);
  const rng = new Xoshiro128(seed, 16);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng.nextFloat() * (order.length - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { rows: order.subarray(0, count).sort(), sampling };
}

/**
 * Fits the distilled scorer on a sample of `judge` (P(yes) per row, NaN = not scored) and the
 * store's embeddings of `hashes` (per row), then scores every row that has an embedding.
 */
export async function distillRows(
  store: EmbeddingStore,
  hashes: readonly string[],
  judge: ArrayLike<number>,
  options: DistillRowsOptions = {},
): Promise<DistillRowsResult> {
  const n = hashes.length;
  if (judge.length !== n) throw new RangeError(`${judge.length} judge scores for ${n} rows`);
  const dim = store.dim;
  const records = Int32Array.from(hashes, h => store.recordOf(h));
  const candidates = Uint32Array.from(
    [...records.keys()].filter(r => records[r] >= 0 && Number.isFinite(judge[r])),
  );
  const { rows: sampleRows, sampling } = drawSample(
    candidates,
    options.sample ?? 3000,
    options.seed ?? 1,
    options.density,
  );
  options.onProgress?.('fitting', 0, 1);
  const x = new Float32Array(sampleRows.length * dim);
  await store.readRecords(
    Array.from(sampleRows, r => records[r]),
    x,
  );
  options.signal?.throwIfAborted();
  const fit = fitDistilled(
    x,
    dim,
    Float64Array.from(sampleRows, r => judge[r]),
    {
      seed: options.seed ?? 1,
    },
  );
  options.onProgress?.('fitting', 1, 1);
  const scores = await scoreStoredRows(store, records, fit.model, options);
  return {
    fit,
    sampleRows,
    sampling,
    scores,
    scored: scores.reduce((c, v) => (Number.isFinite(v) ? c + 1 : c), 0),
    ...outOfSample(scores, judge, sampleRows, options.labels),
  };
}

/**
 * Distilled scores of every row that has an embedding (`records`: the store's record per row,
 * −1 = none; NaN for those), read from the store in blocks: one matrix-vector product each.
 */
export async function scoreStoredRows(
  store: EmbeddingStore,
  records: Int32Array,
  model: DistilledModel,
  options: Pick<DistillRowsOptions, 'block' | 'signal' | 'onProgress'> = {},
): Promise<Float32Array> {
  const dim = store.dim;
  if (model.dim !== dim)
    throw new RangeError(`The distilled model is ${model.dim}-d, the embeddings ${dim}-d`);
  const scores = new Float32Array(records.length).fill(NaN);
  const withEmbedding = Uint32Array.from([...records.keys()].filter(r => records[r] >= 0));
  const block = options.block ?? 8192;
  const buf = new Float32Array(block * dim);
  const out = new Float32Array(block);
  for (let k = 0; k < withEmbedding.length; k += block) {
    options.signal?.throwIfAborted();
    options.onProgress?.('scoring', k, withEmbedding.length);
    const rows = withEmbedding.subarray(k, k + block);
    await store.readRecords(
      Array.from(rows, r => records[r]),
      buf,
    );
    scoreDistilled(model, buf.subarray(0, rows.length * dim), out);
    for (let i = 0; i < rows.length; i++) scores[rows[i]] = out[i];
  }
  options.onProgress?.('scoring', withEmbedding.length, withEmbedding.length);
  return scores;
}

/** Spearman against the judge and AUC against the labels, on the rows outside the sample. */
function outOfSample(
  scores: Float32Array,
  judge: ArrayLike<number>,
  sample: Uint32Array,
  labels: ArrayLike<number> | undefined,
): Pick<DistillRowsResult, 'outOfSampleSpearman' | 'auc'> {
  const inSample = new Set(sample);
  const d: number[] = [];
  const j: number[] = [];
  const ls: number[] = [];
  const ll: number[] = [];
  for (let r = 0; r < scores.length; r++) {
    if (inSample.has(r) || !Number.isFinite(scores[r])) continue;
    if (Number.isFinite(judge[r])) {
      d.push(scores[r]);
      j.push(judge[r]);
    }
    const l = labels?.[r];
    if (l === 1 || l === 0) {
      ls.push(scores[r]);
      ll.push(l);
    }
  }
  const rho = d.length >= 3 ? spearman(d, j) : NaN;
  const auc = ll.length > 0 ? rocAuc(sortLabelled(ls, ll)) : NaN;
  return {
    outOfSampleSpearman: Number.isFinite(rho) ? rho : null,
    auc: Number.isFinite(auc) ? auc : null,
  };
}
