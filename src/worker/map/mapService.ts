/**
 * The embedding map and near-duplicate groups in the worker (docs/map.md): both read the
 * embeddings a DENSITY run cached (DensityService.embeddingsFor), work on distinct contents
 * (rows with the same content hash are one item), and are cached in memory per file version and
 * on disk beside the DENSITY results, keyed by the embedder configuration, the options and the
 * content hashes of the items (mapFiles.ts), so a restart or an unchanged file costs a read.
 */
import { createHash } from 'node:crypto';
import { OrtLshHasher, sketchParams, type SketchParams } from '../../core/density';
import type { DensityResults, EmbeddingStore } from '../../core/embedStore';
import {
  DuplicateGroups,
  GROUPS_MAGIC,
  LAYOUT_MAGIC,
  computeLayout,
  findNearDuplicates,
  planBands,
  readMapFile,
  writeMapFile,
  type BandPlan,
  type MapFileMeta,
} from '../../core/map';
import type { MapProgressParams } from '../../shared/protocol/worker';
import type { Dataset } from '../dataset/dataset';
import type { DensityService } from '../density/densityService';
import type { Logger } from '../logger';
import type { MapSettings } from './mapSettings';

export type MapProgress = (p: Omit<MapProgressParams, 'uri' | 'task'>) => void;

/** The distinct contents of a file version's valid rows. */
interface Items {
  rowCount: number;
  fileVersion: string;
  /** Distinct content hashes, sorted. */
  hashes: string[];
  /** Per row, its item, or −1 for a row that is not a valid JSON object. */
  itemOfRow: Int32Array;
}

/** A layout aligned with the rows of one file version. */
export interface RowLayout {
  fileVersion: string;
  rowCount: number;
  x: Float32Array;
  y: Float32Array;
  placed: number;
  items: number;
  landmarks: number;
  seed: number;
  model: string;
  cached: boolean;
  ms: { neighbours: number; layout: number; placing: number; total: number };
}

/** Duplicate groups aligned with the rows of one file version. */
export interface RowGroups {
  fileVersion: string;
  rowCount: number;
  threshold: number;
  groups: DuplicateGroups;
  embeddedItems: number;
  unembeddedItems: number;
  plan: BandPlan;
  stats?: { candidates: number; verified: number; joined: number };
  cached: boolean;
  ms: { hash: number; group: number; total: number };
}

interface LayoutMeta extends MapFileMeta {
  landmarks: number;
  seed: number;
  ms: RowLayout['ms'];
}
interface GroupsMeta extends MapFileMeta {
  threshold: number;
  embeddedItems: number;
  plan: BandPlan;
}

/** Rows of the item list read from the embedding cache per block. */
const READ_BLOCK = 8192;

export class MapService {
  private readonly layouts = new WeakMap<Dataset, RowLayout>();
  private readonly groups = new WeakMap<Dataset, RowGroups>();
  /** File versions whose groups were looked for on disk and not found. */
  private readonly groupsMissing = new WeakMap<Dataset, string>();
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly density: DensityService,
    private readonly logger: Logger,
  ) {}

  /** The layout of a dataset's rows (cached, else computed). One computation per file at a time. */
  layout(
    dataset: Dataset,
    settings: MapSettings,
    signal: AbortSignal,
    onProgress: MapProgress,
  ): Promise<RowLayout> {
    return this.once(`layout ${dataset.uri}`, () =>
      this.computeLayout(dataset, settings, signal, onProgress),
    );
  }

  /** The near-duplicate groups of a dataset's rows (cached, else computed). */
  duplicateGroups(
    dataset: Dataset,
    settings: MapSettings,
    signal: AbortSignal,
    onProgress: MapProgress,
  ): Promise<RowGroups> {
    return this.once(`groups ${dataset.uri}`, () =>
      this.computeGroups(dataset, settings, signal, onProgress),
    );
  }

  /**
   * The groups of the dataset's current version if they are known (in memory, or in the disk
   * cache for the current settings' threshold), without computing anything.
   */
  async knownGroups(dataset: Dataset, threshold: number): Promise<RowGroups | undefined> {
    const version = `${dataset.version}.${dataset.rows.count}`;
    const mem = this.groups.get(dataset);
    if (mem?.fileVersion === version) return mem;
    if (this.groupsMissing.get(dataset) === version || !dataset.validated) return undefined;
    try {
      const { results, store } = await this.density.embeddingsFor(dataset);
      const items = collectItems(dataset);
      const found = await this.readGroups(dataset, items, results, store, threshold);
      if (found) this.groups.set(dataset, found);
      else this.groupsMissing.set(dataset, version);
      return found;
    } catch {
      this.groupsMissing.set(dataset, version);
      return undefined;
    }
  }

  private once<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = this.running.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const p = run();
    this.running.set(key, p);
    const clear = () => this.running.delete(key);
    p.then(clear, clear);
    return p;
  }

  private async computeLayout(
    dataset: Dataset,
    settings: MapSettings,
    signal: AbortSignal,
    onProgress: MapProgress,
  ): Promise<RowLayout> {
    const t0 = performance.now();
    onProgress({ phase: 'loading', done: 0, total: 1 });
    await dataset.whenValidated();
    const { results, store } = await this.density.embeddingsFor(dataset);
    const items = collectItems(dataset);
    const mem = this.layouts.get(dataset);
    if (mem?.fileVersion === items.fileVersion && mem.seed === settings.seed) return mem;
    const embedded = items.hashes.filter(h => store.has(h));
    const key = digest(['layout', 1, store.key, settings.seed, settings.landmarks, embedded]);
    const path = this.density.derivedPath(dataset, 'layout.wnml');
    const file = await readMapFile<LayoutMeta>(LAYOUT_MAGIC, path);
    let x: Float32Array;
    let y: Float32Array;
    let meta: LayoutMeta;
    if (file && file.meta.key === key) {
      x = new Float32Array(file.columns[0].buffer);
      y = new Float32Array(file.columns[1].buffer);
      meta = file.meta;
    } else {
      const vectors = await readVectors(store, embedded, signal, onProgress);
      const layout = await computeLayout(vectors, embedded.length, store.dim, {
        seed: settings.seed,
        landmarks: settings.landmarks,
        signal,
        onProgress: (phase, done, total) => onProgress({ phase, done, total }),
      });
      ({ x, y } = layout);
      const ms = { ...layout.ms, total: performance.now() - t0 };
      meta = {
        key,
        items: embedded.length,
        landmarks: layout.landmarks.length,
        seed: settings.seed,
        ms,
      };
      onProgress({ phase: 'saving', done: 0, total: 1 });
      await saveQuietly(this.logger, () => writeMapFile(LAYOUT_MAGIC, path, meta, [x, y]));
    }
    const result = rowLayout(items, embedded, x, y, {
      landmarks: meta.landmarks,
      seed: settings.seed,
      model: results.meta.model,
      cached: file?.meta.key === key,
      ms: { ...meta.ms, total: performance.now() - t0 },
    });
    this.layouts.set(dataset, result);
    return result;
  }

  private async computeGroups(
    dataset: Dataset,
    settings: MapSettings,
    signal: AbortSignal,
    onProgress: MapProgress,
  ): Promise<RowGroups> {
    const t0 = performance.now();
    onProgress({ phase: 'loading', done: 0, total: 1 });
    await dataset.whenValidated();
    const { results, store } = await this.density.embeddingsFor(dataset);
    const items = collectItems(dataset);
    const mem = this.groups.get(dataset);
    if (mem?.fileVersion === items.fileVersion && mem.threshold === settings.threshold) return mem;
    const known = await this.readGroups(dataset, items, results, store, settings.threshold);
    if (known) {
      this.groups.set(dataset, known);
      return known;
    }
    const embedded: number[] = [];
    items.hashes.forEach((h, i) => store.has(h) && embedded.push(i));
    const vectors = await readVectors(
      store,
      embedded.map(i => items.hashes[i]),
      signal,
      onProgress,
    );
    const density = densityParams(results, store.dim);
    const plan = planBands(density, settings.threshold);
    const hasher = await OrtLshHasher.create(sketchParams({ ...density, rows: plan.rowsUsed }), {
      allowSpinning: false,
    });
    let found;
    try {
      found = await findNearDuplicates(vectors, embedded.length, hasher, plan, {
        signal,
        onProgress: (phase, done, total) => onProgress({ phase, done, total }),
      });
    } finally {
      await hasher.dispose();
    }
    // Per item: the smallest item of its group; items without an embedding are alone.
    const groupOfItem = Int32Array.from(items.hashes, (_, i) => i);
    embedded.forEach((item, k) => (groupOfItem[item] = embedded[found.groupOf[k]]));
    onProgress({ phase: 'saving', done: 0, total: 1 });
    const meta: GroupsMeta = {
      key: groupsKey(store, results, settings.threshold, items),
      items: items.hashes.length,
      threshold: settings.threshold,
      embeddedItems: embedded.length,
      plan,
    };
    const path = this.density.derivedPath(dataset, 'duplicates.wnmd');
    await saveQuietly(this.logger, () => writeMapFile(GROUPS_MAGIC, path, meta, [groupOfItem]));
    const { stats } = found;
    const result = rowGroups(items, groupOfItem, meta, false, {
      stats: { candidates: stats.candidates, verified: stats.verified, joined: stats.joined },
      ms: { hash: stats.ms.hash, group: stats.ms.group, total: performance.now() - t0 },
    });
    this.groups.set(dataset, result);
    return result;
  }

  /** The groups of the disk cache when it matches these inputs exactly. */
  private async readGroups(
    dataset: Dataset,
    items: Items,
    results: DensityResults,
    store: EmbeddingStore,
    threshold: number,
  ): Promise<RowGroups | undefined> {
    const path = this.density.derivedPath(dataset, 'duplicates.wnmd');
    const file = await readMapFile<GroupsMeta>(GROUPS_MAGIC, path);
    if (!file || file.meta.key !== groupsKey(store, results, threshold, items)) return undefined;
    const groupOfItem = new Int32Array(file.columns[0].buffer);
    return rowGroups(items, groupOfItem, file.meta, true, { ms: { hash: 0, group: 0, total: 0 } });
  }
}

function digest(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function groupsKey(
  store: EmbeddingStore,
  results: DensityResults,
  threshold: number,
  items: Items,
): string {
  const embedded = items.hashes.map(h => (store.has(h) ? 1 : 0)).join('');
  const p = densityParams(results, store.dim);
  return digest(['groups', 1, store.key, p, threshold, items.hashes, embedded]);
}

/** The DENSITY sketch parameters the results were computed with. */
function densityParams(results: DensityResults, dim: number): SketchParams {
  const m = results.meta;
  return sketchParams({
    dim,
    rows: m.rows,
    buckets: m.buckets,
    hashesPerRow: m.hashesPerRow,
    bandwidth: m.bandwidth,
    seed: m.seed,
  });
}

/** The distinct contents of the dataset's validated rows (call after `whenValidated`). */
function collectItems(dataset: Dataset): Items {
  const rowCount = dataset.rows.count;
  const distinct = new Set<string>();
  for (let r = 0; r < rowCount; r++) if (dataset.rows.ok(r)) distinct.add(dataset.rows.hash(r));
  const hashes = [...distinct].sort();
  const index = new Map(hashes.map((h, i) => [h, i]));
  const itemOfRow = new Int32Array(rowCount).fill(-1);
  for (let r = 0; r < rowCount; r++)
    if (dataset.rows.ok(r)) itemOfRow[r] = index.get(dataset.rows.hash(r)) ?? -1;
  return { rowCount, fileVersion: `${dataset.version}.${rowCount}`, hashes, itemOfRow };
}

/** The embeddings of `hashes` (all in the store), n × d. */
async function readVectors(
  store: EmbeddingStore,
  hashes: readonly string[],
  signal: AbortSignal,
  onProgress: MapProgress,
): Promise<Float32Array> {
  const d = store.dim;
  const out = new Float32Array(hashes.length * d);
  for (let s = 0; s < hashes.length; s += READ_BLOCK) {
    signal.throwIfAborted();
    const block = hashes.slice(s, s + READ_BLOCK);
    await store.readRecords(
      block.map(h => store.recordOf(h)),
      out,
      s * d,
    );
    onProgress({ phase: 'loading', done: s + block.length, total: hashes.length });
  }
  return out;
}

function rowLayout(
  items: Items,
  embedded: readonly string[],
  ix: Float32Array,
  iy: Float32Array,
  rest: Pick<RowLayout, 'landmarks' | 'seed' | 'model' | 'cached' | 'ms'>,
): RowLayout {
  const at = new Map(embedded.map((h, k) => [h, k]));
  const x = new Float32Array(items.rowCount).fill(NaN);
  const y = new Float32Array(items.rowCount).fill(NaN);
  let placed = 0;
  for (let r = 0; r < items.rowCount; r++) {
    const item = items.itemOfRow[r];
    const k = item < 0 ? undefined : at.get(items.hashes[item]);
    if (k === undefined) continue;
    x[r] = ix[k];
    y[r] = iy[k];
    placed++;
  }
  return {
    fileVersion: items.fileVersion,
    rowCount: items.rowCount,
    x,
    y,
    placed,
    items: embedded.length,
    ...rest,
  };
}

function rowGroups(
  items: Items,
  groupOfItem: Int32Array,
  meta: GroupsMeta,
  cached: boolean,
  rest: Pick<RowGroups, 'ms'> & Partial<Pick<RowGroups, 'stats'>>,
): RowGroups {
  return {
    fileVersion: items.fileVersion,
    rowCount: items.rowCount,
    threshold: meta.threshold,
    groups: DuplicateGroups.fromItems(items.itemOfRow, groupOfItem),
    embeddedItems: meta.embeddedItems,
    unembeddedItems: meta.items - meta.embeddedItems,
    plan: meta.plan,
    cached,
    ...rest,
  };
}

/** Writes a cache file; a failure is logged, never fatal (the result is still returned). */
async function saveQuietly(logger: Logger, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    logger.warn(`Could not write a map cache file: ${String(e)}`);
  }
}
