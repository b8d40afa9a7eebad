/**
 * The DENSITY embedding cache: a compact binary store of sentence embeddings keyed by row content
 * hash (float16 by default), crash-safe on append.
 *
 * ```ts
 * const store = await EmbeddingStore.open(join(dir, storeFileName(key)), { dim: 384, key });
 * if (!store.has(hash)) await store.append([{ hash, vector }]);
 * await store.readRecords([store.recordOf(hash)], out);
 * await store.close();
 * ```
 */
import { createHash } from 'node:crypto';

export {
  EmbeddingStore,
  EmbeddingStoreError,
  readStoreHeader,
  writeAtomically,
} from './embeddingStore';
export type {
  EmbeddingEntry,
  EmbeddingInfo,
  EmbeddingPrecision,
  EmbeddingStoreOptions,
  EmbeddingStoreReport,
  StoredHeader,
} from './embeddingStore';
export { decodeFloat16, encodeFloat16, fromHalfBits, toHalfBits } from './float16';

/** File name of the store for an embedder configuration key: `embeddings-<16 hex>.wnde`. */
export function storeFileName(key: string): string {
  return `embeddings-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.wnde`;
}
export {
  decodeDensityResults,
  encodeDensityResults,
  readDensityResults,
  writeDensityResults,
} from './densityResults';
export type { DensityResults, DensityResultsMeta } from './densityResults';
