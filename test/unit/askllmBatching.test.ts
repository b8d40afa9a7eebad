/**
 * The ASK-LLM batch planner: every row once, length buckets, the token budget and row cap, file
 * order when bucketing is off, and bigger default batches on a GPU than on the CPU.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  DEFAULT_BATCHING,
  GPU_BATCHING,
  defaultBatching,
  paddedTokens,
  planBatches,
} from '../../src/core/askllm';
import { Rng } from '../support/fixtures';

/** Prompt lengths like the bench's: 75 to 512 tokens, log-uniform. */
function lengths(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Math.round(75 * (512 / 75) ** rng.next()));
}

test('every row is planned exactly once, within the row cap and the token budget', () => {
  for (const seed of [1, 2, 3]) {
    const ls = lengths(500, seed);
    for (const opts of [
      { maxBatchSize: 8, tokenBudget: 1024 },
      { maxBatchSize: 64, tokenBudget: 8192 },
      { maxBatchSize: 5, tokenBudget: 300 },
    ]) {
      const plan = planBatches(ls, opts);
      assert.deepEqual(
        plan.flat().sort((a, b) => a - b),
        ls.map((_, i) => i),
      );
      for (const b of plan) {
        assert.ok(b.length <= opts.maxBatchSize);
        const max = Math.max(...b.map(i => ls[i]));
        // A row longer than the budget runs alone; otherwise rows × padded length fits.
        assert.ok(b.length === 1 || b.length * max <= opts.tokenBudget, `${b.length} × ${max}`);
      }
      // Buckets: lengths never decrease from one batch to the next.
      const flat = plan.flat().map(i => ls[i]);
      for (let i = 1; i < flat.length; i++) assert.ok(flat[i - 1] <= flat[i]);
    }
  }
});

test('bucketing pads far less than file order; off, file order is kept', () => {
  const ls = lengths(256, 7);
  const bucketed = planBatches(ls, { maxBatchSize: 32, tokenBudget: Infinity });
  const naive = planBatches(ls, { maxBatchSize: 32, tokenBudget: Infinity, bucketing: false });
  assert.deepEqual(
    naive.flat(),
    ls.map((_, i) => i),
  );
  assert.ok(paddedTokens(ls, naive) > 1.5 * paddedTokens(ls, bucketed));
});

test('a GPU gets bigger batches than the CPU; the CPU plan is unchanged', () => {
  const ls = lengths(256, 9);
  for (const kind of ['seq2seq', 'causal'] as const) {
    assert.equal(defaultBatching(kind, 'cpu'), DEFAULT_BATCHING[kind]);
    for (const gpu of ['webgpu', 'cuda'])
      assert.equal(defaultBatching(kind, gpu), GPU_BATCHING[kind]);
    const cpu = planBatches(ls, DEFAULT_BATCHING[kind]).length;
    const gpu = planBatches(ls, GPU_BATCHING[kind]).length;
    assert.ok(gpu * 2 < cpu, `${kind}: ${gpu} GPU batches vs ${cpu} CPU batches`);
  }
});
