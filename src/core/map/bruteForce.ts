/**
 * The brute-force reference for near-duplicate grouping: every pair's cosine (ORT MatMul
 * blocks), pairs at or above the threshold joined with union-find. O(n²·d): for tests and the
 * benchmark's recall check only. Pairs within 10⁻⁵ of the threshold in float32 are decided by
 * the same float64 dot product {@link findNearDuplicates} verifies with, so the two agree on
 * what "above the threshold" means.
 */
import { CosineBlocks, transposeRows } from './cosineKnn';
import { rowDot } from './nearDuplicates';
import { UnionFind } from './unionFind';

const BLOCK = 2048;
const MARGIN = 1e-5;

export interface BruteForceGroups {
  /** Per item, the smallest item of its group (connected components of the pairs). */
  groupOf: Int32Array;
  /** Pairs (a < b) at or above the threshold, as a·n + b. */
  pairs: number[];
}

/**
 * @param vectors n × d unit rows (`normalizeRows`).
 */
export async function bruteForceGroups(
  vectors: Float32Array,
  n: number,
  d: number,
  threshold: number,
): Promise<BruteForceGroups> {
  const blocks = await CosineBlocks.create(d);
  const sets = new UnionFind(n);
  const pairs: number[] = [];
  try {
    for (let cs = 0; cs < n; cs += BLOCK) {
      const ce = Math.min(n, cs + BLOCK);
      const cols = Array.from({ length: ce - cs }, (_, j) => cs + j);
      const rt = transposeRows(vectors, d, cols);
      for (let rs = 0; rs < ce; rs += BLOCK) {
        const re = Math.min(n, rs + BLOCK);
        const s = await blocks.block(vectors.subarray(rs * d), re - rs, rt, d);
        const m = ce - cs;
        for (let i = rs; i < re; i++)
          for (let j = Math.max(cs, i + 1); j < ce; j++) {
            const v = s[(i - rs) * m + (j - cs)];
            if (v < threshold - MARGIN) continue;
            if (v < threshold + MARGIN && rowDot(vectors, i, j, d) < threshold) continue;
            pairs.push(i * n + j);
            sets.union(i, j);
          }
      }
    }
  } finally {
    await blocks.dispose();
  }
  return { groupOf: sets.smallestMembers(), pairs };
}

/** Pair-level agreement of two groupings of the same items (pairs that share a group). */
export interface GroupingAgreement {
  /** Pairs grouped together by the reference. */
  referencePairs: number;
  /** Pairs grouped together by the candidate. */
  candidatePairs: number;
  /** Pairs grouped together by both. */
  commonPairs: number;
  /** commonPairs / referencePairs (1 when the reference has none). */
  recall: number;
  /** commonPairs / candidatePairs (1 when the candidate has none). */
  precision: number;
}

/**
 * Compares two groupings by the pairs of items they put in one group: counted per pair of
 * groups (sizes multiply), so it costs O(n), not O(n²).
 */
export function compareGroupings(reference: Int32Array, candidate: Int32Array): GroupingAgreement {
  const pairsIn = (counts: Map<number | string, number>) => {
    let p = 0;
    for (const c of counts.values()) p += (c * (c - 1)) / 2;
    return p;
  };
  const count = (key: (i: number) => number | string) => {
    const m = new Map<number | string, number>();
    for (let i = 0; i < reference.length; i++) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
    return m;
  };
  const referencePairs = pairsIn(count(i => reference[i]));
  const candidatePairs = pairsIn(count(i => candidate[i]));
  const commonPairs = pairsIn(count(i => `${reference[i]}:${candidate[i]}`));
  return {
    referencePairs,
    candidatePairs,
    commonPairs,
    recall: referencePairs === 0 ? 1 : commonPairs / referencePairs,
    precision: candidatePairs === 0 ? 1 : commonPairs / candidatePairs,
  };
}
