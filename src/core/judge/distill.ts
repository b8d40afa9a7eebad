/**
 * The distilled scorer (docs/judge.md#distilled-scorer), the FineWeb-Edu recipe: a ridge
 * regression from a row's DENSITY embedding to the judge's log-odds, fitted on a scored sample
 * and then applied to every other row as one matrix product. Its outputs are sigmoid(x·w + b),
 * a P(yes)-like number in (0, 1) that is always labelled as distilled, never as a judge score.
 *
 * The penalty λ is chosen on a validation part of the training rows (the λ grid is solved once
 * through an eigendecomposition of the Gram matrix), then the model is refitted on all training
 * rows; the held-out rows were never seen by either step.
 */
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { Xoshiro128 } from '../density/prng';
import { spearman } from './correlation';

/** A fitted distilled scorer. */
export interface DistilledModel {
  readonly kind: 'ridge-logit';
  readonly dim: number;
  readonly weights: Float32Array;
  readonly bias: number;
  readonly lambda: number;
}

/** What a fit reports. */
export interface DistillFit {
  readonly model: DistilledModel;
  /** Rows (positions in the input) used to fit, and held out. */
  readonly trainRows: Uint32Array;
  readonly heldOutRows: Uint32Array;
  /** Spearman ρ of the distilled scores against the judge's on the held-out rows. */
  readonly heldOutSpearman: number | null;
  /** The λ grid tried and the validation MSE (log-odds²) of each. */
  readonly lambdas: readonly { lambda: number; mse: number }[];
}

export interface DistillOptions {
  /** Share of the sample held out for the report (default 0.2). */
  readonly heldOutShare?: number;
  /** Seed of the split (default 1). */
  readonly seed?: number;
  /** λ multipliers of trace(G)/d to try (default 1e-4 … 10). */
  readonly lambdaGrid?: readonly number[];
}

/** P(yes) is clipped to [EPS, 1 − EPS] before the log-odds (a P of 1e-13 is a log-odds of −30). */
const EPS = 1e-9;

/** The log-odds of a probability, clipped. */
export function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q) - Math.log1p(-q);
}

/** Column means of rows `rows` of an n × d row-major matrix. */
function columnMeans(x: Float32Array, dim: number, rows: ArrayLike<number>): Float64Array {
  const mean = new Float64Array(dim);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * dim;
    for (let j = 0; j < dim; j++) mean[j] += x[o + j];
  }
  for (let j = 0; j < dim; j++) mean[j] /= Math.max(1, rows.length);
  return mean;
}

/**
 * G = Σ (x − μ)(x − μ)ᵀ and b = Σ (x − μ)(y − ȳ) over `rows`, as a d × d Float64Array (upper
 * triangle mirrored). A typed-array loop: ml-matrix's own product would first copy the n × d
 * sample into nested arrays.
 */
function gram(
  x: Float32Array,
  dim: number,
  y: Float64Array,
  rows: ArrayLike<number>,
  mu: Float64Array,
  yMean: number,
): { g: Float64Array; b: Float64Array } {
  const g = new Float64Array(dim * dim);
  const b = new Float64Array(dim);
  const c = new Float64Array(dim);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * dim;
    for (let j = 0; j < dim; j++) c[j] = x[o + j] - mu[j];
    const dy = y[rows[k]] - yMean;
    for (let i = 0; i < dim; i++) {
      const ci = c[i];
      b[i] += ci * dy;
      const gi = i * dim;
      for (let j = i; j < dim; j++) g[gi + j] += ci * c[j];
    }
  }
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) g[i * dim + j] = g[j * dim + i];
  return { g, b };
}

function toMatrix(g: Float64Array, dim: number): Matrix {
  const m = new Matrix(dim, dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) m.set(i, j, g[i * dim + j]);
  return m;
}

/** Seeded split of 0..n−1 into (train, held out). */
function split(n: number, share: number, seed: number): [Uint32Array, Uint32Array] {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const rng = new Xoshiro128(seed, 15);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const held = Math.min(n - 2, Math.max(0, Math.round(n * share)));
  return [order.slice(held).sort(), order.slice(0, held).sort()];
}

/** x·w over `rows` (row-major x): one matrix-vector product. */
function predict(
  x: Float32Array,
  dim: number,
  w: ArrayLike<number>,
  bias: number,
  rows: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * dim;
    let s = bias;
    for (let j = 0; j < dim; j++) s += x[o + j] * w[j];
    out[k] = s;
  }
  return out;
}

/**
 * Picks λ from `grid` (multiples of trace(G)/d) by validation MSE: fits on `fitRows`, measures
 * on `valRows`. One eigendecomposition of the Gram matrix serves every λ.
 */
function chooseLambda(
  x: Float32Array,
  dim: number,
  y: Float64Array,
  fitRows: Uint32Array,
  valRows: Uint32Array,
  grid: readonly number[],
): { lambda: number; tried: { lambda: number; mse: number }[] } {
  const mu = columnMeans(x, dim, fitRows);
  let yMean = 0;
  for (const r of fitRows) yMean += y[r];
  yMean /= fitRows.length;
  const { g, b } = gram(x, dim, y, fitRows, mu, yMean);
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += g[i * dim + i];
  const scale = trace / dim || 1;
  const evd = new EigenvalueDecomposition(toMatrix(g, dim), { assumeSymmetric: true });
  const s = evd.realEigenvalues;
  const v = evd.eigenvectorMatrix;
  const vtb = v
    .transpose()
    .mmul(Matrix.columnVector(Array.from(b)))
    .getColumn(0);
  const tried: { lambda: number; mse: number }[] = [];
  for (const m of grid) {
    const lambda = m * scale;
    const coef = Matrix.columnVector(vtb.map((t, i) => t / (Math.max(0, s[i]) + lambda)));
    const w = v.mmul(coef).getColumn(0);
    let bias = yMean;
    for (let j = 0; j < dim; j++) bias -= mu[j] * w[j];
    const pred = predict(x, dim, w, bias, valRows);
    let mse = 0;
    for (let k = 0; k < valRows.length; k++) mse += (pred[k] - y[valRows[k]]) ** 2;
    tried.push({ lambda, mse: mse / Math.max(1, valRows.length) });
  }
  const best = tried.reduce((a, c) => (c.mse < a.mse ? c : a));
  return { lambda: best.lambda, tried };
}

/**
 * Fits the distilled scorer on `n` embeddings (`x`, n × dim, row-major) and the judge's P(yes)
 * of the same rows. Needs at least 10 rows; throws otherwise.
 */
export function fitDistilled(
  x: Float32Array,
  dim: number,
  pYes: ArrayLike<number>,
  options: DistillOptions = {},
): DistillFit {
  const n = pYes.length;
  if (x.length !== n * dim)
    throw new RangeError(`${x.length} embedding values for ${n} rows of dimension ${dim}`);
  if (n < 10) throw new Error(`The distilled scorer needs at least 10 scored rows, got ${n}`);
  const y = Float64Array.from(pYes, logit);
  const [train, heldOut] = split(n, options.heldOutShare ?? 0.2, options.seed ?? 1);
  const [fitPart, valPart] = split(train.length, 0.2, (options.seed ?? 1) + 1);
  const grid = options.lambdaGrid ?? [1e-4, 1e-3, 1e-2, 0.1, 1, 10];
  const { lambda, tried } = chooseLambda(
    x,
    dim,
    y,
    fitPart.map(i => train[i]),
    valPart.map(i => train[i]),
    grid,
  );
  const mu = columnMeans(x, dim, train);
  let yMean = 0;
  for (const r of train) yMean += y[r];
  yMean /= train.length;
  const { g, b } = gram(x, dim, y, train, mu, yMean);
  for (let i = 0; i < dim; i++) g[i * dim + i] += lambda;
  const w = new CholeskyDecomposition(toMatrix(g, dim))
    .solve(Matrix.columnVector(Array.from(b)))
    .getColumn(0);
  let bias = yMean;
  for (let j = 0; j < dim; j++) bias -= mu[j] * w[j];
  const model: DistilledModel = {
    kind: 'ridge-logit',
    dim,
    weights: Float32Array.from(w),
    bias,
    lambda,
  };
  const pred = predict(x, dim, model.weights, bias, heldOut);
  const rho =
    heldOut.length >= 3
      ? spearman(
          pred,
          Float64Array.from(heldOut, i => y[i]),
        )
      : NaN;
  return {
    model,
    trainRows: train,
    heldOutRows: heldOut,
    heldOutSpearman: Number.isFinite(rho) ? rho : null,
    lambdas: tried,
  };
}

/**
 * Distilled scores of `rows` embeddings (`x`, rows × dim): sigmoid(x·w + b), one
 * matrix-vector product. Written into `out` when given.
 */
export function scoreDistilled(
  model: DistilledModel,
  x: Float32Array,
  out = new Float32Array(x.length / model.dim),
): Float32Array {
  const dim = model.dim;
  const rows = x.length / dim;
  if (!Number.isInteger(rows)) throw new RangeError(`${x.length} values are not rows of ${dim}`);
  const w = model.weights;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = model.bias;
    for (let j = 0; j < dim; j++) s += x[o + j] * w[j];
    out[r] = 1 / (1 + Math.exp(-s));
  }
  return out;
}
