/**
 * Length-bucketed batch planning (docs/askllm.md#batching). Rows are sorted by token length
 * so that each batch pads to a similar length, and the batch size adapts to the length: a token
 * budget bounds rows × padded length, so short rows go in big batches and long rows in small ones.
 */

/** How to group rows into batches. */
export interface BatchPlanOptions {
  /**
   * Most rows per batch. With `tokenBudget` the effective size shrinks for long rows; a fixed
   * size is `{ maxBatchSize: n, tokenBudget: Infinity }`.
   */
  maxBatchSize: number;
  /** Upper bound on rows × padded length per batch (default: no bound). */
  tokenBudget?: number;
  /** Sort by length before batching (default true). False keeps input order ("naive"). */
  bucketing?: boolean;
}

/**
 * Default plans per model kind on a GPU. A GPU run has a fixed cost per `session.run` (kernel
 * dispatch, transfers) and idle compute at a few rows, so batches are bigger than on a CPU; 8,192
 * padded tokens keep a batch's activations in the hundreds of MB for models up to ~1.5B
 * parameters (the `batchSize` setting lowers it).
 */
export const GPU_BATCHING: Readonly<Record<'seq2seq' | 'causal', Required<BatchPlanOptions>>> = {
  seq2seq: { maxBatchSize: 64, tokenBudget: 8192, bucketing: true },
  causal: { maxBatchSize: 32, tokenBudget: 8192, bucketing: true },
};

/** The default plan for a model kind on a device. */
export function defaultBatching(
  kind: 'seq2seq' | 'causal',
  device: string,
): Required<BatchPlanOptions> {
  return device === 'cpu' ? DEFAULT_BATCHING[kind] : GPU_BATCHING[kind];
}

/** Default plans per model kind on the CPU, from the measurements in docs/runtime.md#throughput. */
export const DEFAULT_BATCHING: Readonly<Record<'seq2seq' | 'causal', Required<BatchPlanOptions>>> =
  {
    // B≈8 at 256 tokens was the sweet spot for Flan-T5-small on CPU; 32 at short lengths.
    seq2seq: { maxBatchSize: 32, tokenBudget: 2048, bucketing: true },
    // Batching gave no gain for decoder-only models on 2 cores and costs logits memory.
    causal: { maxBatchSize: 8, tokenBudget: 1024, bucketing: true },
  };

/**
 * Splits row positions `0..lengths.length-1` into batches. Every position appears exactly once.
 * A row longer than the budget still gets a batch of its own.
 */
export function planBatches(lengths: readonly number[], options: BatchPlanOptions): number[][] {
  const maxRows = Math.max(1, Math.floor(options.maxBatchSize));
  const budget = options.tokenBudget ?? Infinity;
  const order = lengths.map((_, i) => i);
  // Stable sort: equal lengths keep file order, which keeps results deterministic.
  if (options.bucketing ?? true) order.sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let maxLen = 0;
  for (const i of order) {
    const len = Math.max(1, lengths[i]);
    const nextMax = Math.max(maxLen, len);
    if (
      current.length > 0 &&
      (current.length >= maxRows || (current.length + 1) * nextMax > budget)
    ) {
      batches.push(current);
      current = [];
      maxLen = 0;
    }
    current.push(i);
    maxLen = Math.max(maxLen, len);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Total padded tokens of a plan: Σ rows × max length. Used to compare plans. */
export function paddedTokens(
  lengths: readonly number[],
  batches: readonly (readonly number[])[],
): number {
  let total = 0;
  for (const b of batches) {
    let max = 0;
    for (const i of b) max = Math.max(max, lengths[i]);
    total += max * b.length;
  }
  return total;
}
