// Tolerances for comparing P(yes) with its closed form. An absolute bound means nothing across
// the range P(yes) takes (about 3e-13 for a spam row, 0.9 for a good one), so these compare
// log P(yes): |ln got − ln want| ≤ tolerance, i.e. a relative error of about the tolerance.
import { strict as assert } from 'node:assert';

/** The precision a model computes its logits in. */
export type Precision = 'fp32' | 'fp16';

/**
 * Largest |ln got − ln want| per precision. fp32 logits carry a relative error of about 1e-7 per
 * operation; through the tiny fixtures' layers and a log-softmax over their logits the CPU shows
 * at most 3.3e-6 (askllmScore's diagnostics), so 1e-4 leaves 30× for GPU kernels' reordered sums.
 * fp16 has a 10-bit mantissa (relative 1e-3 per operation), so its bound is 2e-2.
 */
export const LOG_P_TOLERANCE: Record<Precision, number> = { fp32: 1e-4, fp16: 2e-2 };

/**
 * The log tolerance for a probability printed to `digits` significant digits: rounding moves it
 * by at most half a unit in the last digit, 5·10^−digits relative, i.e. 1e-5 for six digits.
 */
export function printedLogTolerance(digits: number): number {
  return 10 ** (1 - digits);
}

/** |ln got − ln want|; Infinity when either is not a positive finite number. */
export function logError(got: number, want: number): number {
  if (!(got > 0 && want > 0 && Number.isFinite(got) && Number.isFinite(want))) return Infinity;
  return Math.abs(Math.log(got) - Math.log(want));
}

/** Options for {@link assertProbability}. */
export interface ProbabilityCheck {
  /** The model's precision. Default fp32. */
  readonly precision?: Precision;
  /**
   * The value was read back from text: allow its rounding. `true` is six significant digits
   * (hovers, tooltips); a number gives the digits (inline hints show three).
   */
  readonly printed?: boolean | number;
}

/**
 * Asserts that `got` equals `want` within the tolerance of the precision (plus print rounding),
 * compared as log probabilities. Returns the log error, for diagnostics.
 */
export function assertProbability(
  got: number,
  want: number,
  message: string,
  { precision = 'fp32', printed = false }: ProbabilityCheck = {},
): number {
  const digits = printed === true ? 6 : printed === false ? 0 : printed;
  const tolerance = LOG_P_TOLERANCE[precision] + (digits ? printedLogTolerance(digits) : 0);
  const err = logError(got, want);
  assert.ok(
    err <= tolerance,
    `${message}: ${got} vs ${want} (|Δ ln P| ${err.toExponential(2)} > ${tolerance} for ${precision})`,
  );
  return err;
}
