/**
 * DENSITY for open datasets in the worker (docs/density.md): embed every valid row (cache hits skip
 * the model), build the p-stable LSH sketch in pass 1, score every row in pass 2, rank, store
 * the sketch (with its parameters and seed) and the scores beside the embedding cache, and
 * answer the density column, the hover and inverse-propensity samples from the stored scores.
 *
 * Files, all under `<storage>/density/`:
 * - `embeddings-<key>.wnde`: the embedding cache of one embedder configuration (embedStore),
 *   shared by every dataset embedded with it;
 * - `<dataset>-<id>.wnds`: the dataset's sketch (core/density serialize.ts), reproducible and
 *   mergeable with other shards' sketches (`winnow merge`, src/cli);
 * - `<dataset>-<id>.wndr`: the scores by row content hash and what produced them.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  DensitySketch,
  OrtLshHasher,
  addEmbeddings,
  mergeSketches,
  readSketchFile,
  scoreEmbeddings,
  densityRanks,
  sampleByDensity,
  sketchParams,
  writeSketchFile,
  describeParams,
  sameParams,
  type SampleTarget,
  type SketchParams,
} from '../../core/density';
import {
  EmbeddingStore,
  readDensityResults,
  storeFileName,
  writeDensityResults,
  type DensityResults,
  type EmbeddingEntry,
  readStoreHeader,
} from '../../core/embedStore';
import {
  CONTENT_HASH_VERSION,
  contentHash,
  extractText,
  legacyContentHash,
  parseLine,
  type RawRow,
  type SchemaInfo,
} from '../../core/jsonl';
import type { Dataset } from '../dataset/dataset';
import type { Logger } from '../logger';
import { errorText } from '../logger';
import { type DeviceName, type LoadProgress, describeOrigin, modelSourceNote } from '../runtime';
import { type DensitySettings } from './densitySettings';
import {
  DEFAULT_EMBEDDING_MODEL,
  type DensityEmbedder,
  loadEmbeddingModel,
} from './embeddingModel';
import { connectRemoteEmbedder } from './remoteEmbedder';
import type { ComputeDensityResult } from '../../shared/protocol/worker';

/** Texts collected before they are embedded (sorted by length into batches), and the progress step. */
const PENDING_TEXTS = 256;

/** Phases of a DENSITY run, for progress displays. */
export type DensityPhase = 'loading' | 'embedding' | 'sketching' | 'scoring' | 'saving';

/** Progress of a run. */
export interface DensityProgress {
  phase: DensityPhase;
  /** Rows done in this phase. */
  done: number;
  total: number;
  /** Embedding: rows whose embedding came from the cache so far. */
  cached?: number;
  /** Loading: what is being loaded or downloaded. */
  detail?: string;
}

/** What a finished run reports: the counts the client gets, and the run's details. */
export interface DensityRunSummary extends Pick<
  ComputeDensityResult,
  | 'rows'
  | 'invalidRows'
  | 'embedded'
  | 'cachedRows'
  | 'truncatedRows'
  | 'failedRows'
  | 'failures'
  | 'model'
  | 'pipeline'
> {
  /** The embedder's device; `remote` for an engine. */
  device: DeviceName | 'remote';
  hasherDevice: string;
  dim: number;
  maxTokens: number;
  params: Omit<SketchParams, 'dim'>;
  /** Lowest and highest score; the IPS weights 1/score span their ratio. */
  minScore: number;
  maxScore: number;
  sketchPath: string;
  resultsPath: string;
  embeddingPath: string;
  ms: { embed: number; sketch: number; total: number };
}

/** A run's settings and the remote engine's API key (memory only: never logged or stored). */
type RunSettings = DensitySettings & { apiKey?: string };

/** Passes of one run over a file that keeps changing before it gives up (see `run`). */
const maxPasses = 4;

/** The density column of one file version. */
export interface DensityColumn {
  /** Rows the column covers. */
  rowCount: number;
  /** Per physical line: the score (NaN = none). */
  scores: Float32Array;
  /** Per physical line: 1 = most isolated … number of scored rows; 0 = none. */
  ranks: Uint32Array;
  /** Rows with a score. */
  scored: number;
  /** The scored lines, ascending, and their float64 scores. */
  lines: number[];
  values: number[];
  results: DensityResults;
}

/** Dependencies supplied by the server. */
export interface DensityServiceOptions {
  /** Extension storage folder (embedding cache, sketches, scores); undefined = none given. */
  storageDir: () => string | undefined;
  /** Where models are downloaded. */
  modelCacheDir: () => string | undefined;
  logger: Logger;
}

/** Thrown for a user-facing DENSITY problem (message shown as is). */
export class DensityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DensityError';
  }
}

/** Content that is no longer on disk is never embedded: a run on such a file stops. */
function throwIfUnavailable(dataset: Dataset): void {
  if (dataset.unavailable === undefined) return;
  throw new DensityError(
    `${dataset.unavailable}: DENSITY of ${basename(dataset.file.path)} stopped. Nothing is ` +
      'computed from content that is no longer on disk; run it again once the file is back.',
  );
}

/** DENSITY state of the worker: loaded embedder, open caches, results per dataset. */
export class DensityService {
  private model:
    { signature: string; apiKey: string | undefined; model: Promise<DensityEmbedder> } | undefined;
  private readonly stores = new Map<string, Promise<EmbeddingStore>>();
  private readonly results = new Map<string, Promise<DensityResults | undefined>>();
  /** Per dataset: content hash → why the last run's embedder failed on it. */
  private readonly failedEmbeddings = new WeakMap<Dataset, ReadonlyMap<string, string>>();
  private readonly columns = new WeakMap<
    Dataset,
    { version: string; results: DensityResults; column: DensityColumn }
  >();
  private readonly running = new Map<string, Promise<DensityRunSummary>>();

  constructor(private readonly options: DensityServiceOptions) {}

  /** The folder for density files, or an error naming what is missing. */
  private root(): string {
    const dir = this.options.storageDir();
    if (!dir)
      throw new DensityError(
        'DENSITY needs a storage folder, and the worker was started without one.',
      );
    return join(dir, 'density');
  }

  /** `<name>-<12 hex of the path>`: readable and unique per dataset path. */
  private datasetId(dataset: Dataset): string {
    const path = dataset.file.path;
    const name = basename(path)
      .replace(/[^\w.-]+/g, '_')
      .slice(0, 60);
    return `${name}-${createHash('sha256').update(path).digest('hex').slice(0, 12)}`;
  }

  resultsPath(dataset: Dataset): string {
    return join(this.root(), `${this.datasetId(dataset)}.wndr`);
  }

  sketchPath(dataset: Dataset): string {
    return join(this.root(), `${this.datasetId(dataset)}.wnds`);
  }

  /** Whether a run is in progress for a dataset. */
  isRunning(uri: string): boolean {
    return this.running.has(uri);
  }

  /** The first `limit` of the first `rowCount` rows the last run could not embed, and why. */
  failuresOf(dataset: Dataset, rowCount: number, limit = 1000): { row: number; reason: string }[] {
    const failed = this.failedEmbeddings.get(dataset);
    const out: { row: number; reason: string }[] = [];
    if (!failed || failed.size === 0) return out;
    const n = Math.min(rowCount, dataset.rows.count);
    for (let row = 0; row < n && out.length < limit; row++) {
      const reason = dataset.rows.ok(row) ? failed.get(dataset.rows.hash(row)) : undefined;
      if (reason !== undefined) out.push({ row, reason });
    }
    return out;
  }

  /** Why the last run could not embed row `index` of `dataset`, if it failed on that content. */
  failureFor(dataset: Dataset, index: number): string | undefined {
    if (index >= dataset.rows.count || !dataset.rows.ok(index)) return undefined;
    return this.failedEmbeddings.get(dataset)?.get(dataset.rows.hash(index));
  }

  /**
   * Computes DENSITY for a dataset (one run per dataset at a time).
   * @throws DensityError for a user-facing problem; the signal's reason when cancelled.
   */
  compute(
    dataset: Dataset,
    settings: DensitySettings,
    signal?: AbortSignal,
    onProgress?: (p: DensityProgress) => void,
    apiKey?: string,
  ): Promise<DensityRunSummary> {
    if (this.running.has(dataset.uri))
      return Promise.reject(new DensityError('DENSITY is already being computed for this file.'));
    const run = this.run(
      dataset,
      { ...settings, apiKey },
      signal ?? new AbortController().signal,
      onProgress ?? (() => undefined),
    );
    this.running.set(dataset.uri, run);
    const clear = () => this.running.delete(dataset.uri);
    run.then(clear, clear);
    return run;
  }

  /**
   * A run: passes until one saw the file as it is now. Scores depend on every row (the sketch),
   * so rows that change during a pass (appended, rewritten, renamed over) make another pass; the
   * embedding cache makes it cost only the new rows' embeddings and the two sketch passes.
   */
  private async run(
    dataset: Dataset,
    settings: RunSettings,
    signal: AbortSignal,
    onProgress: (p: DensityProgress) => void,
  ): Promise<DensityRunSummary> {
    let embedded = 0;
    const t0 = performance.now();
    for (let pass = 1; ; pass++) {
      const version = dataset.version;
      const summary = await this.runPass(dataset, settings, signal, onProgress).catch(e => {
        // A pass over a file rewritten under it stops (its rows would mix two versions).
        if (dataset.version === version || signal.aborted || pass === maxPasses) throw e;
        return undefined;
      });
      embedded += summary?.embedded ?? 0;
      const current = summary !== undefined && dataset.version === version;
      if (summary && (current || pass === maxPasses)) {
        if (!current)
          this.options.logger.warn(
            `DENSITY of ${dataset.uri}: the file kept changing over ${pass} passes; run it again once it is settled`,
          );
        return { ...summary, embedded, ms: { ...summary.ms, total: performance.now() - t0 } };
      }
      this.options.logger.info(
        `DENSITY of ${dataset.uri}: the file changed during the run; again for the file as it is now`,
      );
      await dataset.whenValidated();
    }
  }

  private async runPass(
    dataset: Dataset,
    settings: RunSettings,
    signal: AbortSignal,
    onProgress: (p: DensityProgress) => void,
  ): Promise<DensityRunSummary> {
    const t0 = performance.now();
    const { model, textMode, embeddingPath, store } = await this.prepareRun(
      dataset,
      settings,
      signal,
      onProgress,
    );
    const embedding = await embedDatasetRows(dataset, model, store, settings, signal, onProgress);
    const tEmbed = performance.now();
    const { rowsToScore, failures } = rowsToScoreOf(embedding, dataset.file.lineCount);
    this.failedEmbeddings.set(dataset, embedding.failed);
    for (const f of failures.slice(0, 20))
      this.options.logger.warn(`DENSITY: line ${f.line} could not be embedded: ${f.reason}`);
    const { hashes } = embedding;
    const records = Int32Array.from(rowsToScore, i => store.recordOf(hashes[i]));
    let truncatedRows = 0;
    for (const i of rowsToScore) if (store.infoOf(hashes[i])?.truncated) truncatedRows++;
    const sketched = await this.sketchAndScore(
      dataset,
      model,
      store,
      records,
      settings,
      signal,
      onProgress,
    );
    const tSketch = performance.now();
    const { params, hasherDevice } = sketched;

    onProgress({ phase: 'saving', done: 0, total: 1 });
    const { sketchPath, resultsPath } = await this.saveRun(dataset, sketched, {
      byHash: scoresByHash(rowsToScore, hashes, sketched.scores),
      meta: { model, truncatedRows, textMode, embeddingPath },
    });
    const tEnd = performance.now();
    this.options.logger.info(
      `DENSITY of ${dataset.uri}: ${rowsToScore.length} rows (${embedding.embedded} embedded, ${embedding.cachedRows} cached) ` +
        `with ${model.modelId} on ${model.device}, sketch [R=${params.rows} B=${params.buckets} K=${params.hashesPerRow} ` +
        `w=${params.bandwidth} seed=${params.seed}] on ${hasherDevice}; embed ${((tEmbed - t0) / 1000).toFixed(1)} s, ` +
        `sketch ${((tSketch - tEmbed) / 1000).toFixed(1)} s`,
    );
    const { minScore, maxScore } = scoreRange(sketched.scores);
    return {
      rows: rowsToScore.length,
      invalidRows: dataset.file.lineCount - rowsToScore.length - failures.length,
      failedRows: failures.length,
      failures: failures.slice(0, 20),
      embedded: embedding.embedded,
      cachedRows: embedding.cachedRows,
      truncatedRows,
      model: model.modelId,
      pipeline: model.pipeline,
      device: model.device,
      hasherDevice,
      dim: model.dim,
      maxTokens: model.maxTokens,
      params: sketchMeta(params),
      minScore: rowsToScore.length > 0 ? minScore : NaN,
      maxScore: rowsToScore.length > 0 ? maxScore : NaN,
      sketchPath,
      resultsPath,
      embeddingPath,
      ms: { embed: tEmbed - t0, sketch: tSketch - tEmbed, total: tEnd - t0 },
    };
  }

  /** Writes a run's sketch and its results (kept in memory too); returns their paths. */
  private async saveRun(
    dataset: Dataset,
    sketched: { sketch: DensitySketch } & Parameters<typeof resultsMeta>[4],
    run: {
      byHash: Map<string, number>;
      meta: {
        model: DensityEmbedder;
        truncatedRows: number;
        textMode: string;
        embeddingPath: string;
      };
    },
  ): Promise<{ sketchPath: string; resultsPath: string }> {
    const { model, truncatedRows, textMode, embeddingPath } = run.meta;
    const sketchPath = this.sketchPath(dataset);
    const resultsPath = this.resultsPath(dataset);
    await writeSketchFile(sketchPath, sketched.sketch);
    const results: DensityResults = {
      meta: resultsMeta(dataset, model, truncatedRows, textMode, sketched, {
        sketchPath,
        embeddingPath,
      }),
      scores: run.byHash,
    };
    await writeDensityResults(resultsPath, results);
    this.results.set(dataset.uri, Promise.resolve(results));
    return { sketchPath, resultsPath };
  }

  /** A run's first step: the storage folder, the validated dataset, the embedder and its cache. */
  private async prepareRun(
    dataset: Dataset,
    settings: RunSettings,
    signal: AbortSignal,
    onProgress: (p: DensityProgress) => void,
  ): Promise<{
    model: DensityEmbedder;
    textMode: string;
    embeddingPath: string;
    store: EmbeddingStore;
  }> {
    const root = this.root();
    await mkdir(root, { recursive: true });
    const what =
      settings.engine === 'local'
        ? settings.model
        : `${settings.engine} at ${settings.engineEndpoint}`;
    onProgress({ phase: 'loading', done: 0, total: 1, detail: what });
    await dataset.whenValidated();
    signal.throwIfAborted();
    throwIfUnavailable(dataset);
    const model = await this.loadModel(settings, p => {
      if (p.status === 'progress' && p.file)
        onProgress({
          phase: 'loading',
          done: p.progress ?? 0,
          total: 100,
          detail: `${settings.model}: ${p.file}`,
        });
    });
    signal.throwIfAborted();
    const textMode = describeTextMode(dataset.schema);
    const storeKey = `${model.key}\n${textMode}`;
    const embeddingPath = join(root, storeFileName(storeKey));
    const store = await this.openStore(embeddingPath, storeKey, model.dim);
    return { model, textMode, embeddingPath, store };
  }

  /**
   * The sketch: both passes stream the rows' embeddings (`records` in the cache) in blocks. Pass
   * 1 sketches this file; pass 2 scores its rows against it plus any other shards' sketches.
   */
  private async sketchAndScore(
    dataset: Dataset,
    model: DensityEmbedder,
    store: EmbeddingStore,
    records: Int32Array,
    settings: DensitySettings,
    signal: AbortSignal,
    onProgress: (p: DensityProgress) => void,
  ): Promise<{
    params: SketchParams;
    sketch: DensitySketch;
    scores: Float64Array;
    points: number;
    shards: ShardSketch[];
    hasherDevice: string;
  }> {
    const params = sketchParams({
      dim: model.dim,
      rows: settings.rows,
      buckets: settings.buckets,
      hashesPerRow: settings.hashesPerRow,
      bandwidth: settings.bandwidth,
      seed: settings.seed,
    });
    let points = 0;
    const shards = await readShardSketches(settings.shardSketches, dataset.file.path, params);
    const { hasher, device: hasherDevice } = await createHasher(
      params,
      model.device,
      this.options.logger,
    );
    const sketch = new DensitySketch(params);
    const scores = new Float64Array(records.length);
    try {
      const block = hasher.blockRows;
      const chunks = async function* (): AsyncGenerator<{ x: Float32Array; start: number }> {
        for (let start = 0; start < records.length; start += block) {
          const n = Math.min(block, records.length - start);
          const x = new Float32Array(n * model.dim);
          await store.readRecords(records.subarray(start, start + n), x);
          yield { x, start };
        }
      };
      const passOptions = (phase: 'sketching' | 'scoring') => ({
        signal,
        onProgress: (_pass: 1 | 2, done: number) =>
          onProgress({ phase, done, total: records.length }),
      });
      // Pass 1 sketches this file only: that sketch is what is saved, so it can be merged as a shard.
      for await (const { x, start } of chunks())
        await addEmbeddings(sketch, hasher, x, undefined, start, passOptions('sketching'));
      // Pass 2 scores against this file plus any other shards' sketches (sketches are additive).
      const scoring = shards.length > 0 ? mergeSketchesOrFail(sketch, shards) : sketch;
      for await (const { x, start } of chunks())
        await scoreEmbeddings(
          scoring,
          hasher,
          x,
          undefined,
          scores,
          start,
          start,
          passOptions('scoring'),
        );
      points = scoring.count;
    } finally {
      await hasher.dispose();
    }
    return { params, sketch, scores, points, shards, hasherDevice };
  }

  /** Stored results of a dataset (from memory, else from disk), or undefined. */
  async resultsFor(dataset: Dataset): Promise<DensityResults | undefined> {
    if (!this.options.storageDir()) return undefined;
    let p = this.results.get(dataset.uri);
    if (!p) {
      p = readDensityResults(this.resultsPath(dataset))
        .then(r => (r ? rekeyLegacyResults(dataset, r) : r))
        .catch(e => {
          this.options.logger.warn(`Ignoring stored DENSITY results: ${errorText(e)}`);
          return undefined;
        });
      this.results.set(dataset.uri, p);
    }
    return p;
  }

  /**
   * The embeddings behind a dataset's stored DENSITY results, for the map and near-duplicate
   * groups: the results and the embedding cache they were computed from (opened for reading
   * under its own key, so a reader never moves it aside).
   * @throws DensityError when there are no results yet, or their cache is gone or damaged.
   */
  async embeddingsFor(
    dataset: Dataset,
  ): Promise<{ results: DensityResults; store: EmbeddingStore }> {
    const results = await this.resultsFor(dataset);
    if (!results)
      throw new DensityError(
        'There are no DENSITY embeddings for this file yet: run "Winnow: Compute Density" first.',
      );
    const path = join(this.root(), results.meta.embeddingFile);
    const header = await readStoreHeader(path);
    if (header === 'missing' || header === 'invalid' || header.precision !== 'float16')
      throw new DensityError(
        `The DENSITY embedding cache ${path} is missing or damaged: run "Winnow: Compute Density" again.`,
      );
    return { results, store: await this.openStore(path, header.key, header.dim) };
  }

  /** Path of a derived cache file of a dataset beside its DENSITY results (`<id>.<suffix>`). */
  derivedPath(dataset: Dataset, suffix: string): string {
    return join(this.root(), `${this.datasetId(dataset)}.${suffix}`);
  }

  /**
   * The density column of the file's first `rowCount` validated rows: each line's score looked
   * up by its content hash (`dataset.rows`, filled by validation), and ranks over the scored
   * lines (1 = lowest score = most isolated). Synchronous, so that it describes exactly the rows
   * `winnow/getColumns` reports; cached per file version, results and row count.
   */
  columnFor(
    dataset: Dataset,
    results: DensityResults,
    rowCount = dataset.rows.count,
  ): DensityColumn {
    const n = Math.min(rowCount, dataset.rows.count);
    const cached = this.columns.get(dataset);
    if (
      cached &&
      cached.version === dataset.version &&
      cached.results === results &&
      cached.column.rowCount === rowCount
    )
      return cached.column;
    const scores = new Float32Array(rowCount).fill(NaN);
    const lines: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!dataset.rows.ok(i)) continue;
      const s = results.scores.get(dataset.rows.hash(i));
      if (s === undefined) continue;
      scores[i] = s;
      lines.push(i);
      values.push(s);
    }
    const ranks = new Uint32Array(rowCount);
    const r = densityRanks(values);
    lines.forEach((line, k) => (ranks[line] = r[k]));
    const column: DensityColumn = {
      rowCount,
      scores,
      ranks,
      scored: lines.length,
      lines,
      values,
      results,
    };
    this.columns.set(dataset, { version: dataset.version, results, column });
    return column;
  }

  /** The column of the whole file once validation finished, or undefined before any run. */
  async column(dataset: Dataset): Promise<DensityColumn | undefined> {
    await dataset.whenValidated();
    const results = await this.resultsFor(dataset);
    return results && this.columnFor(dataset, results);
  }

  /**
   * Inverse-propensity sample of the scored lines (probability ∝ 1/score, Efraimidis–Spirakis
   * keys, without replacement), on the float64 scores.
   * @returns Selected line numbers, ascending.
   */
  async sample(
    dataset: Dataset,
    target: SampleTarget,
    seed: number,
  ): Promise<{ lines: number[]; eligible: number }> {
    const column = await this.column(dataset);
    if (!column || column.scored === 0)
      throw new DensityError(
        'There are no DENSITY scores for this file yet: run "Winnow: Compute Density" first.',
      );
    let picked;
    try {
      picked = sampleByDensity(column.values, target, seed);
    } catch (e) {
      throw new DensityError(errorText(e));
    }
    return {
      lines: Array.from(picked.indices, k => column.lines[k]),
      eligible: column.lines.length,
    };
  }

  /** Releases the model and closes the caches. */
  async dispose(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    await model?.model.then(m => m.dispose()).catch(() => undefined);
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.allSettled(stores.map(s => s.then(x => x.close())));
  }

  /** The embedder for these settings, reusing the loaded one when nothing relevant changed. */
  private async loadModel(
    settings: RunSettings,
    onProgress: (p: LoadProgress) => void,
  ): Promise<DensityEmbedder> {
    const remote = settings.engine !== 'local';
    const signature = JSON.stringify(
      remote
        ? [
            'remote',
            settings.engine,
            settings.engineEndpoint,
            settings.model,
            settings.batchSize,
            settings.engineConcurrency,
          ]
        : [settings.model, settings.dtype, settings.device, settings.maxTokens, settings.offline],
    );
    // The key is compared, never put into the signature (which could end up in a log).
    if (this.model?.signature !== signature || this.model.apiKey !== settings.apiKey) {
      const old = this.model;
      this.model = undefined;
      await old?.model.then(m => m.dispose()).catch(() => undefined);
      const model = remote ? this.connectRemote(settings) : this.loadLocal(settings, onProgress);
      this.model = { signature, apiKey: settings.apiKey, model };
      model.catch(() => {
        if (this.model?.model === model) this.model = undefined;
      });
    }
    return this.model.model;
  }

  /** A remote engine's embedder (docs/engines.md#embeddings); its refusal is a DensityError. */
  private async connectRemote(settings: RunSettings): Promise<DensityEmbedder> {
    const { logger } = this.options;
    const { engine, engineEndpoint: endpoint } = settings;
    let host: string;
    try {
      host = new URL(endpoint).host;
    } catch {
      throw new DensityError(
        `winnow.density.engine is "${engine}" but winnow.density.engineEndpoint is not a URL ("${endpoint}").`,
      );
    }
    if (engine === 'local') throw new Error('connectRemote: not a remote engine');
    logger.info(
      `Connecting to ${engine} at ${host} for DENSITY embeddings (model ${settings.model})`,
    );
    try {
      const e = await connectRemoteEmbedder({
        engine,
        endpoint,
        // TEI serves one model: the default local model id is no served name.
        model:
          engine === 'tei' && settings.model === DEFAULT_EMBEDDING_MODEL
            ? undefined
            : settings.model,
        apiKey: settings.apiKey,
        batchSize: settings.batchSize,
        concurrency: settings.engineConcurrency,
        log: line => logger.info(line),
      });
      logger.info(`Connected to ${engine} at ${host}: ${e.modelId}, ${e.dim} dimensions`);
      return e;
    } catch (err) {
      throw new DensityError(`The ${engine} embedding engine at ${host}: ${errorText(err)}`);
    }
  }

  /** The in-process ONNX embedder. */
  private loadLocal(
    settings: DensitySettings,
    onProgress: (p: LoadProgress) => void,
  ): Promise<DensityEmbedder> {
    const cacheDir = this.options.modelCacheDir();
    if (!cacheDir)
      return Promise.reject(
        new DensityError(
          'DENSITY needs a model cache folder, and the worker was started without one.',
        ),
      );
    const { logger } = this.options;
    logger.info(
      `Loading embedding model ${settings.model} (dtype ${settings.dtype}, device ` +
        `${settings.device}, ${modelSourceNote(settings.model, settings.offline, settings.endpoint, cacheDir)})`,
    );
    const model = loadEmbeddingModel({
      model: settings.model,
      cacheDir,
      offline: settings.offline,
      endpoint: settings.endpoint,
      dtype: settings.dtype,
      device: settings.device,
      maxTokens: settings.maxTokens,
      onProgress,
    });
    void model.then(
      m =>
        logger.info(
          `Loaded embedding model ${m.modelId} (${m.dtype}, ${m.dim} dimensions) from ` +
            `${describeOrigin(m.origin, m.folder)} on ${m.device}`,
        ),
      () => undefined,
    );
    return model;
  }

  private openStore(path: string, key: string, dim: number): Promise<EmbeddingStore> {
    let p = this.stores.get(path);
    if (!p) {
      p = EmbeddingStore.open(path, { dim, key }).then(store => {
        const r = store.report;
        if (r.movedAside)
          this.options.logger.warn(
            `Embedding cache ${path} was unusable and was moved to ${r.movedAside}`,
          );
        if (r.corrupt > 0 || r.tornBytes > 0)
          this.options.logger.warn(
            `Embedding cache ${path}: ${r.corrupt} damaged records skipped, ${r.tornBytes} bytes of an interrupted write ignored`,
          );
        return store;
      });
      this.stores.set(path, p);
      p.catch(() => this.stores.delete(path));
    }
    return p;
  }
}

/** How row text is extracted, part of the cache key (another schema gives other texts). */
export function describeTextMode(schema: SchemaInfo | null): string {
  if (!schema) return 'text:json';
  return `text:${JSON.stringify({ kind: schema.kind, field: schema.field, template: schema.template })}`;
}

/** What embedding a dataset's rows found: per line its hash and validity, and the counts. */
interface EmbeddedRows {
  hashes: string[];
  valid: Uint8Array;
  /** Content hash → why the embedder failed on it. */
  failed: Map<string, string>;
  cachedRows: number;
  embedded: number;
}

/** Embedding: every valid row; distinct contents are embedded once, cache hits not at all. */
async function embedDatasetRows(
  dataset: Dataset,
  model: DensityEmbedder,
  store: EmbeddingStore,
  settings: DensitySettings,
  signal: AbortSignal,
  onProgress: (p: DensityProgress) => void,
): Promise<EmbeddedRows> {
  const schema = dataset.schema;
  const total = dataset.file.lineCount;
  const out: EmbeddedRows = {
    hashes: [],
    valid: new Uint8Array(total),
    failed: new Map(),
    cachedRows: 0,
    embedded: 0,
  };
  const { hashes, valid, failed } = out;
  const pending = new Map<string, string>();
  let seen = 0;
  const flush = async (): Promise<void> => {
    if (pending.size === 0) return;
    // A remote engine takes larger calls: it splits them into requests with several in flight.
    const size = model.callBatch ?? settings.batchSize;
    out.embedded += await embedInto(model, store, pending, size, signal, failed);
    pending.clear();
  };
  for await (const batch of dataset.file.iterateRows(0)) {
    await rekeyLegacyEmbeddings(store, batch);
    for (const row of batch) {
      if (row.index >= total) break;
      seen = row.index + 1;
      const parsed = parseLine(row.bytes, { firstLine: row.index === 0 });
      if (!parsed.ok) continue;
      const hash = contentHash(row.bytes);
      hashes[row.index] = hash;
      valid[row.index] = 1;
      if (store.has(hash)) out.cachedRows++;
      else if (!pending.has(hash))
        pending.set(
          hash,
          schema ? extractText(parsed.value, schema) : JSON.stringify(parsed.value),
        );
      // Embed as rows accumulate (a read batch can hold the whole file), reporting each step.
      if (pending.size >= PENDING_TEXTS) {
        await flush();
        onProgress({ phase: 'embedding', done: seen, total, cached: out.cachedRows });
      }
    }
    onProgress({ phase: 'embedding', done: seen, total, cached: out.cachedRows });
    signal.throwIfAborted();
    throwIfUnavailable(dataset);
  }
  await flush();
  return out;
}

/** The valid lines to score (0-based), and the 1-based lines whose embedding failed. */
function rowsToScoreOf(
  { valid, failed, hashes }: EmbeddedRows,
  total: number,
): { rowsToScore: number[]; failures: { line: number; reason: string }[] } {
  const rowsToScore: number[] = [];
  const failures: { line: number; reason: string }[] = [];
  for (let i = 0; i < total; i++) {
    const reason = valid[i] ? failed.get(hashes[i]) : undefined;
    if (reason !== undefined) failures.push({ line: i + 1, reason });
    else if (valid[i]) rowsToScore.push(i);
  }
  return { rowsToScore, failures };
}

/** The sketch parameters a run stores and reports (all but the dimension). */
function sketchMeta(params: SketchParams): Omit<SketchParams, 'dim'> {
  return {
    rows: params.rows,
    buckets: params.buckets,
    hashesPerRow: params.hashesPerRow,
    bandwidth: params.bandwidth,
    seed: params.seed,
  };
}

/** What produced a run's stored results: the embedder, the sketch, the files and the dataset. */
function resultsMeta(
  dataset: Dataset,
  model: DensityEmbedder,
  truncatedRows: number,
  textMode: string,
  sketched: { params: SketchParams; points: number; shards: readonly ShardSketch[] },
  files: { sketchPath: string; embeddingPath: string },
): DensityResults['meta'] {
  return {
    model: model.modelId,
    pipeline: model.pipeline,
    dtype: model.dtype,
    maxTokens: model.maxTokens,
    truncatedRows,
    textMode,
    dim: model.dim,
    ...sketchMeta(sketched.params),
    points: sketched.points,
    shardSketches: sketched.shards.map(x => x.path),
    device: model.device,
    sketchFile: basename(files.sketchPath),
    embeddingFile: basename(files.embeddingPath),
    dataset: dataset.file.path,
    computedAt: new Date().toISOString(),
    contentHashVersion: CONTENT_HASH_VERSION,
  };
}

/** Each scored row's score by its content hash (`scores[k]` belongs to line `rowsToScore[k]`). */
function scoresByHash(
  rowsToScore: readonly number[],
  hashes: readonly string[],
  scores: Float64Array,
): Map<string, number> {
  const byHash = new Map<string, number>();
  rowsToScore.forEach((row, k) => byHash.set(hashes[row], scores[k]));
  return byHash;
}

function scoreRange(scores: Float64Array): { minScore: number; maxScore: number } {
  let minScore = Infinity;
  let maxScore = -Infinity;
  for (const s of scores) {
    minScore = Math.min(minScore, s);
    maxScore = Math.max(maxScore, s);
  }
  return { minScore, maxScore };
}

/**
 * Embeds pending texts in length-sorted batches and appends them to the store. A batch that
 * fails is embedded again text by text; the texts that fail alone go to `failed` (hash → reason)
 * and are not stored.
 */
async function embedInto(
  model: DensityEmbedder,
  store: EmbeddingStore,
  pending: Map<string, string>,
  batchSize: number,
  signal: AbortSignal,
  failed: Map<string, string>,
): Promise<number> {
  const items = [...pending].sort((a, b) => a[1].length - b[1].length);
  let count = 0;
  for (let start = 0; start < items.length; start += batchSize) {
    signal.throwIfAborted();
    count += await embedBatchInto(
      model,
      store,
      items.slice(start, start + batchSize),
      failed,
      signal,
    );
  }
  return count;
}

/** Embeds one batch of (hash, text) and stores it; on failure, each text alone (see above). */
async function embedBatchInto(
  model: DensityEmbedder,
  store: EmbeddingStore,
  batch: readonly (readonly [string, string])[],
  failed: Map<string, string>,
  signal: AbortSignal,
): Promise<number> {
  let r: Awaited<ReturnType<DensityEmbedder['embedBatch']>>;
  try {
    r = await model.embedBatch(
      batch.map(([, text]) => text),
      signal,
    );
  } catch (e) {
    if (signal.aborted) throw e;
    if (batch.length === 1) {
      failed.set(batch[0][0], errorText(e).split('\n')[0].slice(0, 300));
      return 0;
    }
    let count = 0;
    for (const item of batch) count += await embedBatchInto(model, store, [item], failed, signal);
    return count;
  }
  const entries: EmbeddingEntry[] = batch.map(([hash], i) => ({
    hash,
    vector: r.vectors.subarray(i * model.dim, (i + 1) * model.dim),
    tokens: r.tokens[i],
    truncated: r.truncated[i] === 1,
  }));
  // Each batch is on disk before the next starts: a cancelled or crashed run resumes here.
  return await store.append(entries);
}

/** The hash graph on the embedder's device when possible, else on the CPU. */
async function createHasher(
  params: SketchParams,
  device: DeviceName | 'remote',
  logger: Logger,
): Promise<{ hasher: OrtLshHasher; device: string }> {
  if (device !== 'cpu' && device !== 'remote') {
    try {
      return {
        hasher: await OrtLshHasher.create(params, { executionProviders: [device] }),
        device,
      };
    } catch (e) {
      logger.warn(
        `The DENSITY hash graph could not run on ${device} (${errorText(e)}); using the CPU`,
      );
    }
  }
  return {
    hasher: await OrtLshHasher.create(params, { executionProviders: ['cpu'] }),
    device: 'cpu',
  };
}

/** A shard's sketch file and its sketch. */
interface ShardSketch {
  path: string;
  sketch: DensitySketch;
}

/**
 * Reads `winnow.density.shardSketches` (paths relative to the dataset's folder), checking that
 * each was built with this run's parameters and seed, so that the merged sketch equals one pass
 * over all shards.
 */
async function readShardSketches(
  paths: readonly string[],
  datasetPath: string,
  params: SketchParams,
): Promise<ShardSketch[]> {
  const out: ShardSketch[] = [];
  for (const p of paths) {
    const path = resolve(dirname(datasetPath), p);
    let sketch: DensitySketch;
    try {
      sketch = await readSketchFile(path);
    } catch (e) {
      throw new DensityError(`Shard sketch ${path} cannot be used: ${errorText(e)}`);
    }
    if (!sameParams(sketch.params, params))
      throw new DensityError(
        `Shard sketch ${path} was built with [${describeParams(sketch.params)}], this run uses ` +
          `[${describeParams(params)}]: only sketches with the same model dimension, parameters and seed add up.`,
      );
    out.push({ path, sketch });
  }
  return out;
}

function mergeSketchesOrFail(own: DensitySketch, shards: readonly ShardSketch[]): DensitySketch {
  try {
    return mergeSketches(own, ...shards.map(s => s.sketch));
  } catch (e) {
    throw new DensityError(`The shard sketches cannot be merged: ${errorText(e)}`);
  }
}

/**
 * Copies the embeddings a store holds under content hash version 1 (SHA-256) for these rows to
 * their version-2 hashes, so that a store from before version 2 is reused, not embedded again.
 * Costs nothing for a store without version-1 records.
 */
export async function rekeyLegacyEmbeddings(
  store: EmbeddingStore,
  rows: readonly RawRow[],
): Promise<number> {
  if (store.legacyHashes === 0) return 0;
  const pairs: { legacy: string; hash: string }[] = [];
  for (const row of rows) {
    const legacy = legacyContentHash(row.bytes);
    if (store.hasLegacy(legacy)) pairs.push({ legacy, hash: contentHash(row.bytes) });
  }
  return store.rekeyLegacy(pairs);
}

/**
 * Results stored before content hash version 2 are keyed by SHA-256: their scores are mapped to
 * the rows' version-2 hashes (in memory, by hashing the file's rows both ways; the file on disk
 * stays as it is until DENSITY runs again). Results of the current version pass through.
 */
export async function rekeyLegacyResults(
  dataset: Dataset,
  results: DensityResults,
): Promise<DensityResults> {
  if (results.meta.contentHashVersion === CONTENT_HASH_VERSION) return results;
  const scores = new Map<string, number>();
  for await (const batch of dataset.file.iterateRows(0)) {
    for (const row of batch) {
      const s = results.scores.get(legacyContentHash(row.bytes));
      if (s !== undefined) scores.set(contentHash(row.bytes), s);
    }
  }
  return { meta: { ...results.meta, contentHashVersion: CONTENT_HASH_VERSION }, scores };
}
