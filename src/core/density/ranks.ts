/**
 * Density ranks. Rank 1 is the most isolated row: the lowest DENSITY score, i.e. the highest
 * coverage value 1/score and the highest inclusion weight under inverse-propensity sampling.
 */

/** Throws unless every score is a finite number ≥ 0. */
export function checkScores(scores: ArrayLike<number>): void {
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (!(s >= 0) || s === Infinity)
      throw new RangeError(`Density score ${i} is ${s}; scores must be finite and ≥ 0`);
  }
}

/**
 * The order of rows from most isolated to most crowded: ascending score, ties by row index.
 * @returns Row indices; element 0 is the row with rank 1.
 */
export function densityOrder(scores: ArrayLike<number>): Uint32Array {
  checkScores(scores);
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Typed-array sort with a comparator is stable only by accident, so ties compare indices.
  order.sort((a, b) => scores[a] - scores[b] || a - b);
  return order;
}

/**
 * 1-based ranks per row, a permutation of 1..N: rank[i] = 1 for the lowest score. Equal scores get consecutive
 * ranks in row order, so every rank from 1 to N is used exactly once.
 */
export function densityRanks(scores: ArrayLike<number>): Uint32Array {
  const order = densityOrder(scores);
  const ranks = new Uint32Array(order.length);
  for (let k = 0; k < order.length; k++) ranks[order[k]] = k + 1;
  return ranks;
}
