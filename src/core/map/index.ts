/**
 * The embedding map and near-duplicate groups (docs/map.md), over the embeddings DENSITY caches.
 *
 * ```ts
 * const layout = await computeLayout(vectors, n, 384, { seed });          // x, y in [−1, 1]
 * const plan = planBands(densityParams, 0.95);                             // bands of the sketch
 * const hasher = await OrtLshHasher.create(sketchParams({ ...densityParams, rows: plan.rowsUsed }));
 * const { groupOf } = await findNearDuplicates(vectors, n, hasher, plan);  // per distinct content
 * const groups = DuplicateGroups.fromItems(itemOfRow, groupOf);            // per row, exact copies too
 * const { keep, drop } = groups.keepOne('best', askllmScores);
 * ```
 */
export { CosineBlocks, CosineKnn, KNN_BLOCK_ROWS, normalizeRows, transposeRows } from './cosineKnn';
export type { Neighbours } from './cosineKnn';
export {
  DEFAULT_CHECK_ROWS,
  DEFAULT_DUPLICATE_THRESHOLD,
  DEFAULT_TARGET_RECALL,
  findNearDuplicates,
  planBands,
  rowDot,
} from './nearDuplicates';
export type {
  BandPlan,
  NearDuplicateOptions,
  NearDuplicateResult,
  NearDuplicateStats,
} from './nearDuplicates';
export { DuplicateGroups } from './duplicateGroups';
export type { KeepRule } from './duplicateGroups';
export { bruteForceGroups, compareGroupings } from './bruteForce';
export type { BruteForceGroups, GroupingAgreement } from './bruteForce';
export { DEFAULT_LANDMARKS, DEFAULT_LAYOUT_SEED, computeLayout, sampleIndices } from './layout';
export type { Layout, LayoutOptions, LayoutPhase } from './layout';
export { UnionFind } from './unionFind';
export {
  GROUPS_MAGIC,
  LAYOUT_MAGIC,
  decodeMapFile,
  encodeMapFile,
  readMapFile,
  writeMapFile,
} from './mapFiles';
export type { MapFile, MapFileMeta } from './mapFiles';
