/**
 * The embedding map and near-duplicate groups in the worker (docs/map.md): both read the
 * embeddings a DENSITY run cached (DensityService.embeddingsFor), work on distinct contents
 * (rows with the same content hash are one item), and are cached in memory per file version and
 * on disk beside the DENSITY results, keyed by the embedder configuration, the options and the
 * content hashes of the items (mapFiles.ts), so a restart or an unchanged file costs a read.
 */
import { sketchParams, type SketchParams } from '../../core/density';
import type { DensityResults, EmbeddingStore } from '../../core/embedStore';
import {
  DuplicateGroups,
  cachedGroups,
  cachedLayout,
  mapItems,
  readCachedGroups,
  type BandPlan,
  type CachedGroups,
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
    const l = await cachedLayout({
      store,
      hashes: items.hashes,
      path: this.density.derivedPath(dataset, 'layout.wnml'),
      seed: settings.seed,
      landmarks: settings.landmarks,
      signal,
      onProgress: (phase, done, total) => onProgress({ phase, done, total }),
      onSaveError: e => this.logger.warn(`Could not write a map cache file: ${String(e)}`),
    });
    const result = rowLayout(items, l.embedded, l.x, l.y, {
      landmarks: l.meta.landmarks,
      seed: settings.seed,
      model: results.meta.model,
      cached: l.cached,
      ms: { ...l.meta.ms, total: performance.now() - t0 },
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
    const g = await cachedGroups({
      ...this.groupsInput(dataset, items, results, store, settings.threshold),
      signal,
      onProgress: (phase, done, total) => onProgress({ phase, done, total }),
      onSaveError: e => this.logger.warn(`Could not write a map cache file: ${String(e)}`),
    });
    const result = rowGroups(items, g, { total: performance.now() - t0 });
    this.groups.set(dataset, result);
    return result;
  }

  private groupsInput(
    dataset: Dataset,
    items: Items,
    results: DensityResults,
    store: EmbeddingStore,
    threshold: number,
  ) {
    return {
      store,
      hashes: items.hashes,
      params: densityParams(results, store.dim),
      threshold,
      path: this.density.derivedPath(dataset, 'duplicates.wnmd'),
    };
  }

  /** The groups of the disk cache when it matches these inputs exactly. */
  private async readGroups(
    dataset: Dataset,
    items: Items,
    results: DensityResults,
    store: EmbeddingStore,
    threshold: number,
  ): Promise<RowGroups | undefined> {
    const g = await readCachedGroups(this.groupsInput(dataset, items, results, store, threshold));
    return g && rowGroups(items, g, { total: 0 });
  }
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
  const items = mapItems(rowCount, r => (dataset.rows.ok(r) ? dataset.rows.hash(r) : undefined));
  return { ...items, rowCount, fileVersion: `${dataset.version}.${rowCount}` };
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

function rowGroups(items: Items, g: CachedGroups, ms: { total: number }): RowGroups {
  return {
    fileVersion: items.fileVersion,
    rowCount: items.rowCount,
    threshold: g.meta.threshold,
    groups: DuplicateGroups.fromItems(items.itemOfRow, g.groupOfItem),
    embeddedItems: g.meta.embeddedItems,
    unembeddedItems: g.meta.items - g.meta.embeddedItems,
    plan: g.meta.plan,
    cached: g.cached,
    ...(g.stats ? { stats: g.stats } : {}),
    ms: { ...g.ms, ...ms },
  };
}
