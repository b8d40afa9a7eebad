/**
 * The layout and the near-duplicate groups of a file's distinct contents, read from their cache
 * file when it matches the inputs exactly, else computed and saved: the one path the worker
 * (`winnow/getLayout`, `winnow/getDuplicateGroups`) and the CLI (`winnow map`, `winnow dedup`)
 * both take, so that for the same embeddings they give, and share, the same result.
 *
 * Items are the distinct content hashes of the valid rows, sorted; the cache key digests the
 * embedder configuration (the embedding cache's key), the options and the items' hashes.
 */
import { createHash } from 'node:crypto';
import { OrtLshHasher, sketchParams, type SketchParams } from '../density';
import type { EmbeddingStore } from '../embedStore';
import { computeLayout } from './layout';
import {
  GROUPS_MAGIC,
  LAYOUT_MAGIC,
  readMapFile,
  writeMapFile,
  type MapFileMeta,
} from './mapFiles';
import { findNearDuplicates, planBands, type BandPlan } from './nearDuplicates';

/** The distinct contents of a file's valid rows. */
export interface MapItems {
  /** Distinct content hashes, sorted. */
  readonly hashes: string[];
  /** Per row, its item, or −1 for a row that is not a valid JSON object. */
  readonly itemOfRow: Int32Array;
}

/** The items of `rowCount` rows; `hashOf(r)` is row r's content hash, undefined when invalid. */
export function mapItems(rowCount: number, hashOf: (r: number) => string | undefined): MapItems {
  const distinct = new Set<string>();
  for (let r = 0; r < rowCount; r++) {
    const h = hashOf(r);
    if (h !== undefined) distinct.add(h);
  }
  const hashes = [...distinct].sort();
  const index = new Map(hashes.map((h, i) => [h, i]));
  const itemOfRow = new Int32Array(rowCount).fill(-1);
  for (let r = 0; r < rowCount; r++) {
    const h = hashOf(r);
    if (h !== undefined) itemOfRow[r] = index.get(h) ?? -1;
  }
  return { hashes, itemOfRow };
}

export type MapCachePhase =
  'loading' | 'neighbours' | 'layout' | 'placing' | 'hashing' | 'grouping' | 'saving';
export type MapCacheProgress = (phase: MapCachePhase, done: number, total: number) => void;

interface Common {
  store: EmbeddingStore;
  /** The cache file. */
  path: string;
  signal?: AbortSignal;
  onProgress?: MapCacheProgress;
  /** A cache file that cannot be written is reported here, never fatal. */
  onSaveError?: (e: unknown) => void;
}

export interface LayoutMeta extends MapFileMeta {
  landmarks: number;
  seed: number;
  ms: { neighbours: number; layout: number; placing: number; total: number };
}

/** A layout of the embedded items (`embedded`, in the order given). */
export interface CachedLayout {
  /** The items laid out: those of the store, in item order. */
  embedded: string[];
  x: Float32Array;
  y: Float32Array;
  meta: LayoutMeta;
  cached: boolean;
}

function digest(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** The cache key of a layout of the embedded items. */
export function layoutKey(
  storeKey: string,
  seed: number,
  landmarks: number,
  embedded: readonly string[],
): string {
  return digest(['layout', 1, storeKey, seed, landmarks, embedded]);
}

/** The cache key of the groups of `hashes` (all items; `store` says which are embedded). */
export function groupsKey(
  store: EmbeddingStore,
  params: SketchParams,
  threshold: number,
  hashes: readonly string[],
): string {
  const embedded = hashes.map(h => (store.has(h) ? 1 : 0)).join('');
  return digest(['groups', 1, store.key, params, threshold, hashes, embedded]);
}

/** Rows of the item list read from the embedding cache per block. */
const READ_BLOCK = 8192;

/** The embeddings of `hashes` (all in the store), n × d. */
export async function readItemVectors(
  store: EmbeddingStore,
  hashes: readonly string[],
  signal?: AbortSignal,
  onProgress?: MapCacheProgress,
): Promise<Float32Array> {
  const d = store.dim;
  const out = new Float32Array(hashes.length * d);
  for (let s = 0; s < hashes.length; s += READ_BLOCK) {
    signal?.throwIfAborted();
    const block = hashes.slice(s, s + READ_BLOCK);
    await store.readRecords(
      block.map(h => store.recordOf(h)),
      out,
      s * d,
    );
    onProgress?.('loading', s + block.length, hashes.length);
  }
  return out;
}

async function saveQuietly(o: Common, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    o.onSaveError?.(e);
  }
}

/** The layout of the items the store holds: from the cache file, else computed and saved. */
export async function cachedLayout(
  o: Common & { hashes: readonly string[]; seed: number; landmarks: number },
): Promise<CachedLayout> {
  const t0 = performance.now();
  const embedded = o.hashes.filter(h => o.store.has(h));
  const key = layoutKey(o.store.key, o.seed, o.landmarks, embedded);
  const file = await readMapFile<LayoutMeta>(LAYOUT_MAGIC, o.path);
  if (file && file.meta.key === key)
    return {
      embedded,
      x: new Float32Array(file.columns[0].buffer),
      y: new Float32Array(file.columns[1].buffer),
      meta: file.meta,
      cached: true,
    };
  const vectors = await readItemVectors(o.store, embedded, o.signal, o.onProgress);
  const layout = await computeLayout(vectors, embedded.length, o.store.dim, {
    seed: o.seed,
    landmarks: o.landmarks,
    signal: o.signal,
    onProgress: o.onProgress,
  });
  const meta: LayoutMeta = {
    key,
    items: embedded.length,
    landmarks: layout.landmarks.length,
    seed: o.seed,
    ms: { ...layout.ms, total: performance.now() - t0 },
  };
  o.onProgress?.('saving', 0, 1);
  await saveQuietly(o, () => writeMapFile(LAYOUT_MAGIC, o.path, meta, [layout.x, layout.y]));
  return { embedded, x: layout.x, y: layout.y, meta, cached: false };
}

export interface GroupsMeta extends MapFileMeta {
  threshold: number;
  embeddedItems: number;
  plan: BandPlan;
}

/** Near-duplicate groups of the items: per item, the smallest item of its group. */
export interface CachedGroups {
  groupOfItem: Int32Array;
  meta: GroupsMeta;
  cached: boolean;
  stats?: { candidates: number; verified: number; joined: number };
  ms: { hash: number; group: number };
}

type GroupsInput = Common & { hashes: readonly string[]; params: SketchParams; threshold: number };

/** The groups of the cache file when it matches these inputs exactly. */
export async function readCachedGroups(o: GroupsInput): Promise<CachedGroups | undefined> {
  const file = await readMapFile<GroupsMeta>(GROUPS_MAGIC, o.path);
  if (!file || file.meta.key !== groupsKey(o.store, o.params, o.threshold, o.hashes))
    return undefined;
  const groupOfItem = new Int32Array(file.columns[0].buffer);
  return { groupOfItem, meta: file.meta, cached: true, ms: { hash: 0, group: 0 } };
}

/**
 * The near-duplicate groups of the items at `threshold`, candidates from the bands of the
 * DENSITY sketch `params` (planBands): from the cache file, else computed and saved. Items
 * without an embedding are alone.
 */
export async function cachedGroups(o: GroupsInput): Promise<CachedGroups> {
  const known = await readCachedGroups(o);
  if (known) return known;
  const embedded: number[] = [];
  o.hashes.forEach((h, i) => o.store.has(h) && embedded.push(i));
  const vectors = await readItemVectors(
    o.store,
    embedded.map(i => o.hashes[i]),
    o.signal,
    o.onProgress,
  );
  const plan = planBands(o.params, o.threshold);
  const hasher = await OrtLshHasher.create(sketchParams({ ...o.params, rows: plan.rowsUsed }), {
    allowSpinning: false,
  });
  let found;
  try {
    found = await findNearDuplicates(vectors, embedded.length, hasher, plan, {
      signal: o.signal,
      onProgress: o.onProgress,
    });
  } finally {
    await hasher.dispose();
  }
  const groupOfItem = Int32Array.from(o.hashes, (_, i) => i);
  embedded.forEach((item, k) => (groupOfItem[item] = embedded[found.groupOf[k]]));
  o.onProgress?.('saving', 0, 1);
  const meta: GroupsMeta = {
    key: groupsKey(o.store, o.params, o.threshold, o.hashes),
    items: o.hashes.length,
    threshold: o.threshold,
    embeddedItems: embedded.length,
    plan,
  };
  await saveQuietly(o, () => writeMapFile(GROUPS_MAGIC, o.path, meta, [groupOfItem]));
  const { stats } = found;
  return {
    groupOfItem,
    meta,
    cached: false,
    stats: { candidates: stats.candidates, verified: stats.verified, joined: stats.joined },
    ms: stats.ms,
  };
}
