/**
 * DENSITY (Sachdeva et al. 2024, docs/density.md): a p-stable L2 LSH kernel-density sketch over
 * embeddings, density scores and ranks, and inverse-propensity sampling.
 *
 * Typical use in the worker:
 * ```ts
 * const params = sketchParams({ dim: 384 });            // R = 1000, B = 20000, K = 1, w = 1
 * const hasher = await OrtLshHasher.create(params);     // ONNX Runtime, CPU by default
 * const { sketch, scores } = await computeDensity(() => embeddingChunks(), hasher);
 * await writeSketchFile(sketchPath, sketch);
 * const ranks = densityRanks(scores);                   // 1 = most isolated
 * const sample = sampleByDensity(scores, { percent: 10 }, seed);
 * await hasher.dispose();
 * ```
 */
export {
  DEFAULT_BANDWIDTH,
  DEFAULT_BUCKETS,
  DEFAULT_HASHES_PER_ROW,
  DEFAULT_ROWS,
  DEFAULT_SEED,
  describeParams,
  hashCount,
  sameParams,
  sketchParams,
} from './params';
export type { SketchParams, SketchParamsInit } from './params';
export { collisionProbability, exactKernelSums, normalCdf } from './kernel';
export { createProjection, projectionFingerprint } from './projection';
export type { Projection } from './projection';
export { INVALID_HASH, bucketIndices, murmur3Words, positiveMod } from './buckets';
export { DensitySketch, MAX_SKETCH_POINTS, mergeSketches } from './sketch';
export { ScalarLshHasher, hashMajor, scalarHashRow } from './hasher';
export type { LshHasher } from './hasher';
export {
  DEFAULT_BLOCK_ROWS,
  OrtLshHasher,
  buildHashModel,
  buildProjectionModel,
} from './ortHasher';
export type { OrtHasherOptions } from './ortHasher';
export { addEmbeddings, computeDensity, scoreEmbeddings } from './passes';
export type { DensityResult, EmbeddingChunks, PassOptions } from './passes';
export { densityOrder, densityRanks } from './ranks';
export { sampleByDensity, sampleSize, samplingKeys } from './sampling';
export type { DensitySample, SampleTarget } from './sampling';
export { decodeSketch, encodeSketch, readSketchFile, writeSketchFile } from './serialize';
