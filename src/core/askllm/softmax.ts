/**
 * Full-vocabulary softmax at one position of a logits tensor (docs/askllm.md#score). Logits are
 * read as float32 (fp16 logits are widened first) and reduced in float64, so the result is at
 * least as precise as an fp32 log-softmax.
 */

/** Probabilities of the answer tokens at one logits row. */
export interface AnswerProbabilities {
  /** Σ softmax(z)[t] over the yes ids: the ASK-LLM score. */
  pYes: number;
  /** log of pYes (−Infinity when it underflows). */
  logPYes: number;
  /** Σ softmax(z)[t] over the no ids (0 when there are none). */
  pNo: number;
}

/** Logits data as returned by ONNX Runtime: float32, or float16 bits as Uint16Array. */
export type LogitsData = Float32Array | Uint16Array | Float64Array;

/** Converts IEEE half-precision bits to a number. */
export function float16ToNumber(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m === 0 ? s * Infinity : Number.NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Softmax over `vocabSize` logits starting at `offset`, evaluated at the yes and no ids.
 * Throws on NaN logits (a broken model or numeric overflow must not become a score).
 */
export function answerProbabilities(
  data: LogitsData,
  offset: number,
  vocabSize: number,
  yesIds: readonly number[],
  noIds: readonly number[],
): AnswerProbabilities {
  // fp16 logits are widened once; float32/float64 rows are read in place. The loops below stay
  // monomorphic (no per-element callback), which matters: they run over the whole vocabulary
  // (32k–150k logits) for every row.
  const row =
    data instanceof Uint16Array
      ? Float64Array.from(data.subarray(offset, offset + vocabSize), float16ToNumber)
      : data.subarray(offset, offset + vocabSize);
  let max = -Infinity;
  for (let i = 0; i < vocabSize; i++) {
    const v = row[i];
    if (v > max) max = v;
    else if (v !== v) throw new Error('The model produced NaN logits');
  }
  if (!Number.isFinite(max)) throw new Error(`The model produced non-finite logits (max ${max})`);
  let sum = 0;
  for (let i = 0; i < vocabSize; i++) sum += Math.exp(row[i] - max);
  const logSum = Math.log(sum) + max;
  let pYes = 0;
  for (const id of yesIds) pYes += Math.exp(row[id] - logSum);
  let pNo = 0;
  for (const id of noIds) pNo += Math.exp(row[id] - logSum);
  const logPYes =
    yesIds.length === 1 ? row[yesIds[0]] - logSum : pYes > 0 ? Math.log(pYes) : -Infinity;
  return { pYes, logPYes, pNo };
}

/** The labelled variant P(yes) / (P(yes) + P(no)); undefined when both are 0. */
export function normalizedYes(pYes: number, pNo: number): number | undefined {
  const d = pYes + pNo;
  return d > 0 ? pYes / d : undefined;
}
