/**
 * The sentence-embedding head in plain TypeScript: pooling of token states over the attention
 * mask, the optional sentence-transformers Dense layer, and L2 normalisation. Sums run in
 * float64, so the result is the exact float32 rounding of the closed form.
 */

/** How token states become one vector (sentence-transformers' `1_Pooling/config.json`). */
export type PoolingMode = 'mean' | 'cls' | 'max';

/** A Dense layer y = act(W x + b), W stored [out, in] row-major as in PyTorch. */
export interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  weight: Float32Array;
  bias?: Float32Array;
  activation: 'identity' | 'tanh';
}

/**
 * Pools `hidden` [B, L, H] over `mask` [B, L] (1 = real token) into [B, H].
 * A row with no real token pools to zeros.
 */
export function pool(
  hidden: Float32Array,
  dims: readonly [number, number, number],
  mask: ArrayLike<number>,
  mode: PoolingMode,
): Float32Array {
  const [B, L, H] = dims;
  if (hidden.length < B * L * H) throw new RangeError('pool: hidden states shorter than B × L × H');
  if (mask.length < B * L) throw new RangeError('pool: mask shorter than B × L');
  const out = new Float32Array(B * H);
  const acc = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    if (mode === 'cls') {
      out.set(hidden.subarray(b * L * H, b * L * H + H), b * H);
      continue;
    }
    acc.fill(mode === 'max' ? -Infinity : 0);
    let n = 0;
    for (let t = 0; t < L; t++) {
      if (!mask[b * L + t]) continue;
      n++;
      const o = (b * L + t) * H;
      if (mode === 'max') for (let k = 0; k < H; k++) acc[k] = Math.max(acc[k], hidden[o + k]);
      else for (let k = 0; k < H; k++) acc[k] += hidden[o + k];
    }
    if (n === 0) continue;
    for (let k = 0; k < H; k++) out[b * H + k] = mode === 'max' ? acc[k] : acc[k] / n;
  }
  return out;
}

/** Applies a Dense layer to [B, in] rows, giving [B, out]. */
export function applyDense(x: Float32Array, rows: number, dense: DenseLayer): Float32Array {
  const { inFeatures: I, outFeatures: O, weight: W, bias } = dense;
  if (x.length < rows * I) throw new RangeError(`Dense: expected ${rows} × ${I} inputs`);
  const out = new Float32Array(rows * O);
  for (let r = 0; r < rows; r++) {
    const xo = r * I;
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o] : 0;
      const wo = o * I;
      for (let i = 0; i < I; i++) s += W[wo + i] * x[xo + i];
      out[r * O + o] = dense.activation === 'tanh' ? Math.tanh(s) : s;
    }
  }
  return out;
}

/** L2-normalises each of the `rows` rows of `x` in place (a zero row stays zero). */
export function l2Normalize(x: Float32Array, rows: number): Float32Array {
  const d = x.length / rows;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[r * d + k] * x[r * d + k];
    const norm = Math.sqrt(s);
    if (norm === 0) continue;
    for (let k = 0; k < d; k++) x[r * d + k] /= norm;
  }
  return x;
}
