/**
 * The 2-D map of a file's DENSITY embeddings (docs/map.md#layout).
 *
 * 1. **Landmarks.** Up to `landmarks` items, a seeded uniform sample (all items when there are
 *    fewer), are laid out with UMAP (`umap-js`) on their exact cosine kNN graph, computed on
 *    ONNX Runtime (cosineKnn.ts) instead of umap-js's JavaScript NN-descent.
 * 2. **Placement.** Every other item goes to a weighted mean of the positions of its
 *    `placeNeighbors` nearest landmarks (by cosine, on ORT), weights falling off with the
 *    distance beyond the nearest one, so a row lands where its neighbours are.
 *
 * Why landmarks: umap-js optimises about 5,000 points per 10 s of CPU here (its graph set-up
 * uses Map-backed sparse matrices), so 100k rows in one UMAP would take minutes; placement is
 * one MatMul per block. A fixed seed gives the same layout: the sample, umap-js's random
 * source and the placement are all deterministic.
 *
 * Output coordinates are scaled to fit [−1, 1] (aspect ratio kept), centred on 0.
 */
import { UMAP } from 'umap-js';
import { Xoshiro128 } from '../density/prng';
import { CosineKnn, KNN_BLOCK_ROWS, normalizeRows, transposeRows } from './cosineKnn';

/** Default number of landmarks laid out by UMAP. */
export const DEFAULT_LANDMARKS = 5000;
/** Default seed of the layout (sample and UMAP). */
export const DEFAULT_LAYOUT_SEED = 0x5eed;
/** PRNG stream of the landmark sample (apart from DENSITY's streams 1–3). */
const LANDMARK_STREAM = 11;
const UMAP_STREAM = 12;

export interface LayoutOptions {
  seed?: number;
  /** Most items laid out by UMAP itself (default {@link DEFAULT_LANDMARKS}). */
  landmarks?: number;
  /** UMAP neighbours (default 15). */
  neighbors?: number;
  /** UMAP epochs (default 200). */
  epochs?: number;
  /** Landmarks averaged to place each other item (default 6). */
  placeNeighbors?: number;
  /** ORT intra-op threads (ORT's default when absent). */
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (phase: LayoutPhase, done: number, total: number) => void;
}

export type LayoutPhase = 'neighbours' | 'layout' | 'placing';

export interface Layout {
  /** Per item, x and y in [−1, 1]. */
  readonly x: Float32Array;
  readonly y: Float32Array;
  /** Items laid out by UMAP, ascending. */
  readonly landmarks: Uint32Array;
  /** Wall time of the landmarks' kNN graph, their UMAP, and placing the other items. */
  readonly ms: { neighbours: number; layout: number; placing: number };
}

/** `count` distinct indices of 0..n−1 (a seeded partial Fisher–Yates), ascending. */
export function sampleIndices(n: number, count: number, seed: number): Uint32Array {
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  if (count >= n) return all;
  const rng = new Xoshiro128(seed, LANDMARK_STREAM);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng.nextFloat() * (n - i));
    const t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  return all.slice(0, count).sort();
}

const yieldToEventLoop = () => new Promise<void>(resolve => setImmediate(resolve));

/** Nearest-neighbour queries of `rows` of x against a reference set, block by block. */
async function neighboursOf(
  knn: CosineKnn,
  x: Float32Array,
  d: number,
  rows: Uint32Array,
  k: number,
  options: LayoutOptions,
  phase: LayoutPhase,
  each: (row: number, indices: Int32Array, sims: Float32Array, at: number, k: number) => void,
): Promise<void> {
  const block = new Float32Array(KNN_BLOCK_ROWS * d);
  for (let s = 0; s < rows.length; s += KNN_BLOCK_ROWS) {
    options.signal?.throwIfAborted();
    const n = Math.min(KNN_BLOCK_ROWS, rows.length - s);
    for (let i = 0; i < n; i++) block.set(x.subarray(rows[s + i] * d, rows[s + i] * d + d), i * d);
    const nb = await knn.query(block, n, k);
    for (let i = 0; i < n; i++) each(rows[s + i], nb.indices, nb.similarities, i * nb.k, nb.k);
    options.onProgress?.(phase, s + n, rows.length);
  }
}

const distanceOf = (cos: number) => Math.sqrt(Math.max(0, 2 - 2 * cos));

/** A seeded uniform [0, 1) source for umap-js. */
function umapRandom(seed: number): () => number {
  const rng = new Xoshiro128(seed, UMAP_STREAM);
  return () => rng.nextFloat();
}

/** UMAP of the landmark rows on their exact kNN graph; returns m × 2 positions. */
async function layoutLandmarks(
  x: Float32Array,
  d: number,
  landmarks: Uint32Array,
  knn: CosineKnn,
  options: LayoutOptions & { seed: number },
  ms: Layout['ms'],
): Promise<Float64Array> {
  const m = landmarks.length;
  const out = new Float64Array(m * 2);
  if (m < 4) {
    for (let i = 0; i < m; i++) out[2 * i] = i;
    return out;
  }
  const k = Math.min(options.neighbors ?? 15, m - 1);
  const knnIndices: number[][] = new Array(m);
  const knnDistances: number[][] = new Array(m);
  let at = 0;
  await neighboursOf(knn, x, d, landmarks, k, options, 'neighbours', (_row, idx, sims, o, kk) => {
    knnIndices[at] = Array.from(idx.subarray(o, o + kk));
    knnDistances[at] = Array.from(sims.subarray(o, o + kk), distanceOf);
    at++;
  });
  const t0 = performance.now();
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: k,
    nEpochs: options.epochs ?? 200,
    random: umapRandom(options.seed),
  });
  umap.setPrecomputedKNN(knnIndices, knnDistances);
  // umap-js reads only the length of X once the kNN graph is given.
  const epochs = umap.initializeFit(Array.from({ length: m }, () => []));
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (e % 10 === 9) {
      options.signal?.throwIfAborted();
      options.onProgress?.('layout', e + 1, epochs);
      await yieldToEventLoop();
    }
  }
  ms.layout = performance.now() - t0;
  umap.getEmbedding().forEach((p, i) => {
    out[2 * i] = p[0];
    out[2 * i + 1] = p[1];
  });
  return out;
}

/** Position of an item from its nearest landmarks (sorted by similarity, most similar first). */
function placeByLandmarks(
  pos: Float64Array,
  idx: Int32Array,
  sims: Float32Array,
  at: number,
  k: number,
): [number, number] {
  const d0 = distanceOf(sims[at]);
  let mean = 0;
  for (let j = 0; j < k; j++) mean += distanceOf(sims[at + j]) / k;
  const sigma = Math.max(mean - d0, 1e-3);
  let sx = 0;
  let sy = 0;
  let sw = 0;
  for (let j = 0; j < k; j++) {
    const w = Math.exp(-(distanceOf(sims[at + j]) - d0) / sigma);
    const l = idx[at + j];
    sx += w * pos[2 * l];
    sy += w * pos[2 * l + 1];
    sw += w;
  }
  return [sx / sw, sy / sw];
}

/** Scales points to fit [−1, 1] around their centre, keeping the aspect ratio. */
function fitToSquare(x: Float32Array, y: Float32Array): void {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < x.length; i++) {
    minX = Math.min(minX, x[i]);
    maxX = Math.max(maxX, x[i]);
    minY = Math.min(minY, y[i]);
    maxY = Math.max(maxY, y[i]);
  }
  const half = Math.max(maxX - minX, maxY - minY, 1e-12) / 2;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  for (let i = 0; i < x.length; i++) {
    x[i] = (x[i] - cx) / half;
    y[i] = (y[i] - cy) / half;
  }
}

/**
 * Lays out n items (n × d embeddings; scaled to unit norm IN PLACE) in 2-D; see the module note.
 * @throws The signal's reason when cancelled.
 */
export async function computeLayout(
  vectors: Float32Array,
  n: number,
  d: number,
  options: LayoutOptions = {},
): Promise<Layout> {
  const seed = options.seed ?? DEFAULT_LAYOUT_SEED;
  normalizeRows(vectors, n, d);
  const landmarks = sampleIndices(n, options.landmarks ?? DEFAULT_LANDMARKS, seed);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const ms = { neighbours: 0, layout: 0, placing: 0 };
  if (n === 0) return { x, y, landmarks, ms };
  const t0 = performance.now();
  const knn = await CosineKnn.create(transposeRows(vectors, d, landmarks), d, options.threads);
  try {
    const pos = await layoutLandmarks(vectors, d, landmarks, knn, { ...options, seed }, ms);
    const t1 = performance.now();
    ms.neighbours = t1 - t0 - ms.layout;
    landmarks.forEach((l, i) => {
      x[l] = pos[2 * i];
      y[l] = pos[2 * i + 1];
    });
    const others = othersThan(n, landmarks);
    const k = Math.min(options.placeNeighbors ?? 6, landmarks.length);
    await neighboursOf(knn, vectors, d, others, k, options, 'placing', (row, idx, sims, at, kk) => {
      [x[row], y[row]] = placeByLandmarks(pos, idx, sims, at, kk);
    });
    ms.placing = performance.now() - t1;
  } finally {
    await knn.dispose();
  }
  fitToSquare(x, y);
  return { x, y, landmarks, ms };
}

function othersThan(n: number, sorted: Uint32Array): Uint32Array {
  const out = new Uint32Array(n - sorted.length);
  let o = 0;
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (j < sorted.length && sorted[j] === i) j++;
    else out[o++] = i;
  }
  return out;
}
