/**
 * Full-vocabulary softmax at one position of a logits tensor (PAPER.md §2.4, §2.8). Logits are
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
  const read =
    data instanceof Uint16Array
      ? (i: number): number => float16ToNumber(data[i])
      : (i: number): number => data[i];
  let max = -Infinity;
  for (let i = 0; i < vocabSize; i++) {
    const v = read(offset + i);
    if (v > max) max = v;
    else if (Number.isNaN(v)) throw new Error('The model produced NaN logits');
  }
  if (!Number.isFinite(max)) throw new Error(`The model produced non-finite logits (max ${max})`);
  let sum = 0;
  for (let i = 0; i < vocabSize; i++) sum += Math.exp(read(offset + i) - max);
  const logSum = Math.log(sum) + max;
  let pYes = 0;
  for (const id of yesIds) pYes += Math.exp(read(offset + id) - logSum);
  let pNo = 0;
  for (const id of noIds) pNo += Math.exp(read(offset + id) - logSum);
  const logPYes =
    yesIds.length === 1 ? read(offset + yesIds[0]) - logSum : pYes > 0 ? Math.log(pYes) : -Infinity;
  return { pYes, logPYes, pNo };
}

/** The labelled variant P(yes) / (P(yes) + P(no)); undefined when both are 0. */
export function normalizedYes(pYes: number, pNo: number): number | undefined {
  const d = pYes + pNo;
  return d > 0 ? pYes / d : undefined;
}
