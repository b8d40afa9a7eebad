/**
 * ASK-LLM scoring in the worker: runs (`winnow/score`), the per-file score column
 * (`winnow/getColumns`), the hover section and the values behind inlay hints.
 *
 * Scores are keyed by (scorer key, extraction scope, content hash of the raw line), so they
 * survive reordering and edits elsewhere in the file, and a run only computes rows that are not
 * in the cache yet: re-running after an edit scores just the edited lines, and re-running after
 * the worker was killed continues where it stopped (every finished batch is fsynced before it
 * is reported).
 *
 * Automatic re-scoring: when a file that has ASK-LLM scores under the current settings changes
 * on disk while it is open (saved from the text editor, appended by a pipeline), the worker
 * scores the new or changed rows in the background, without downloading anything (a hub model
 * must already be in the model cache). Opening a file never starts a run by itself.
 */
import { basename } from 'node:path';
import { ResponseError } from 'vscode-languageserver/node';
import { normalizedYes, scopedScorerKey } from '../../core/askllm';
import { contentHash, extractText, parseLine, type RawRow } from '../../core/jsonl';
import {
  TOKENS_TRUNCATED,
  WorkerErrorCodes,
  type GetColumnsResult,
  type ScoreColumnMeta,
  type ScoreResult,
  type WorkerStatus,
} from '../../shared/workerProtocol';
import type { ColumnProvider } from '../columns';
import type { Dataset } from '../dataset';
import type { HoverContext } from '../hoverSections';
import { LegacyScoreMigration } from './legacyScores';
import { errorText, type Logger } from '../logger';
import { codeSpan, escapeMarkdown, formatCount } from '../markdown';
import { ModelLoadError, NoDeviceError, type LoadProgress } from '../model';
import type { DatasetRegistry } from '../registry';
import type { SettingsStore } from '../settings';
import { uriToPath } from '../uri';
import { encodeFloat32, encodeUint32 } from '../columns';
import { formatBytes, formatDuration, formatProbability, sortedScores, standing } from './format';
import { standingText } from '../../shared/scoreFormat';
import { ModelHost } from './modelHost';
import {
  type ScorerConfig,
  ScorerSettingsError,
  extractionScope,
  resolveScorerConfig,
} from './scorerConfig';
import type { ScoreStore, StoredScorer } from './scoreStore';

/** Rows read from the file per block; the scorer buckets and batches within a block. */
const blockRows = 1024;
/** Progress reports to the client at most this often. */
const reportIntervalMs = 250;

/** What the service needs from the server. */
export interface ScoringHost {
  logger: Logger;
  settings: SettingsStore;
  registry: DatasetRegistry;
  store: () => Promise<ScoreStore>;
  /** Read at each model load (the server sets it at initialize). */
  readonly modelCacheDir: string;
  workspaceFolders: () => readonly string[];
  trusted: () => boolean;
  /** The service's part of the worker status changed. */
  onStatusChanged: () => void;
  /** Scores of a dataset changed (the server throttles didChangeColumns and inlay refreshes). */
  onScoresChanged: (uri: string) => void;
}

/** Reports progress of one run to the client (work-done progress). */
export interface RunReporter {
  report(message: string, percentage?: number): void;
}

/** The identity of the scores shown for a dataset under the current settings. */
interface Identity {
  config: ScorerConfig;
  stored: StoredScorer;
  /** Scorer key narrowed by the dataset's extraction scope: the cache key of its scores. */
  key: string;
  scope: string;
}

/** What the column keeps of one row's score (a cache entry or a fresh score). */
interface RowScore {
  pYes: number;
  pNo: number;
  tokens: number;
  truncated: boolean;
}

/** The ASK-LLM column of one open dataset under one identity. */
export class ColumnState {
  /** P(yes) per row, NaN = not scored. */
  values = new Float32Array(0);
  /** P(no) per row (for the labelled variant), NaN = not scored. */
  pNo = new Float32Array(0);
  /** Prompt tokens per row with {@link TOKENS_TRUNCATED} as a flag, 0 = not scored. */
  tokens = new Uint32Array(0);
  /** Rows of `values` that are in sync with the dataset's row hashes. */
  filled = 0;
  scored = 0;
  private sorted: Float32Array | undefined;

  constructor(
    readonly dataset: Dataset,
    readonly key: string,
    readonly rebuilds: number,
    public rowsGeneration: number,
  ) {}

  /** Sets a row's score if the row still has the hash the score was computed for. */
  apply(row: number, hash: string, score: RowScore): boolean {
    if (row >= this.filled || !this.dataset.rows.ok(row) || this.dataset.rows.hash(row) !== hash)
      return false;
    if (Number.isNaN(this.values[row])) this.scored++;
    this.set(row, score);
    this.sorted = undefined;
    return true;
  }

  /** Writes a row's values (`undefined`: not scored). */
  set(row: number, score: RowScore | undefined): void {
    if (score) {
      this.values[row] = score.pYes;
      this.pNo[row] = score.pNo;
      this.tokens[row] = packTokens(score.tokens, score.truncated);
    } else {
      this.values[row] = Number.NaN;
      this.pNo[row] = Number.NaN;
      this.tokens[row] = 0;
    }
  }

  /** Makes room for `count` rows, keeping the first `filled`. */
  reserve(count: number): void {
    if (count <= this.values.length) return;
    const size = Math.max(count, this.values.length * 2);
    const values = new Float32Array(size);
    values.set(this.values.subarray(0, this.filled));
    const pNo = new Float32Array(size);
    pNo.set(this.pNo.subarray(0, this.filled));
    const tokens = new Uint32Array(size);
    tokens.set(this.tokens.subarray(0, this.filled));
    this.values = values;
    this.pNo = pNo;
    this.tokens = tokens;
  }

  /**
   * The wire columns of the first `rowCount` rows (rows past `filled` are not scored yet): P(yes),
   * prompt tokens, and the labelled variant when `normalized` asks for it.
   */
  encode(
    rowCount: number,
    normalized: boolean,
  ): { data: string; tokens: string; normalized?: string; scored: number } {
    const n = Math.min(rowCount, this.filled);
    let values = this.values;
    let tokens = this.tokens;
    if (n < rowCount) {
      // Rows the column has not caught up with yet are unscored.
      values = new Float32Array(rowCount).fill(Number.NaN);
      values.set(this.values.subarray(0, n));
      tokens = new Uint32Array(rowCount);
      tokens.set(this.tokens.subarray(0, n));
    }
    let scored = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(values[i])) scored++;
    let variant: Float32Array | undefined;
    if (normalized) {
      variant = new Float32Array(rowCount).fill(Number.NaN);
      for (let i = 0; i < n; i++) {
        const v = normalizedYes(values[i], this.pNo[i]);
        if (v !== undefined) variant[i] = v;
      }
    }
    return {
      data: encodeFloat32(values, rowCount),
      tokens: encodeUint32(tokens, rowCount),
      ...(variant ? { normalized: encodeFloat32(variant, rowCount) } : {}),
      scored,
    };
  }

  /** Scored values in ascending order (cached until the column changes). */
  sortedValues(): Float32Array {
    this.sorted ??= sortedScores(this.values.subarray(0, this.filled));
    return this.sorted;
  }

  invalidateSorted(): void {
    this.sorted = undefined;
  }
}

/** A run in progress. */
interface ActiveRun {
  uri: string;
  auto: boolean;
  abort: AbortController;
}

/** The scoring service of the worker. */
export class ScoringService {
  private readonly models: ModelHost;
  private readonly columnsByUri = new Map<string, ColumnState>();
  /** Copies scores keyed by content hash version 1 to version 2 as files are opened. */
  private readonly legacyScores = new LegacyScoreMigration(
    (dataset, copied) => {
      this.host.logger.info(
        `Re-keyed ${copied} ASK-LLM scores of ${dataset.uri} from content hash version 1 to 2`,
      );
      this.columnsByUri.delete(dataset.uri);
      this.host.onScoresChanged(dataset.uri);
    },
    (dataset, e) =>
      this.host.logger.warn(`Re-keying the old scores of ${dataset.uri} stopped: ${String(e)}`),
  );
  private readonly configs = new Map<string, Promise<ScorerConfig | undefined>>();
  /** The dataset version last seen validated, per URI (auto re-scoring starts on a change). */
  private readonly seenVersion = new Map<string, string>();
  private readonly autoTimers = new Map<string, NodeJS.Timeout>();
  private queue: Promise<unknown> = Promise.resolve();
  private active: ActiveRun | undefined;
  private phase: WorkerStatus | undefined;
  /** The store once opened, for synchronous column building (`store()` sets it). */
  private storeNow: ScoreStore | undefined;

  constructor(private readonly host: ScoringHost) {
    this.models = new ModelHost(() => host.modelCacheDir, host.logger);
  }

  /** The status this service wants shown (loading a model, scoring), if any. */
  get status(): WorkerStatus | undefined {
    return this.phase;
  }

  /** The loaded model and its device, for the idle status. */
  get loadedModel(): { model: string; device: string } | undefined {
    const m = this.models.loaded;
    return m ? { model: m.modelId, device: m.device } : undefined;
  }

  /** Settings changed: identities are resolved again; every open file's scores may differ. */
  settingsChanged(): void {
    this.configs.clear();
    for (const uri of this.columnsByUri.keys()) this.host.onScoresChanged(uri);
  }

  /** A dataset closed: forget its column and stop an automatic run on it. */
  datasetClosed(uri: string): void {
    this.columnsByUri.delete(uri);
    this.seenVersion.delete(uri);
    this.configs.delete(uri);
    const t = this.autoTimers.get(uri);
    if (t) clearTimeout(t);
    this.autoTimers.delete(uri);
    if (this.active?.uri === uri && this.active.auto) this.active.abort.abort();
  }

  /**
   * Called after every update of a dataset. When a validated file's rows changed since it was
   * last seen validated, and it has scores under the current settings, the changed rows are
   * scored in the background (see the module comment).
   */
  datasetUpdated(dataset: Dataset): void {
    if (!dataset.validated) return;
    const version = dataset.version;
    const previous = this.seenVersion.get(dataset.uri);
    this.seenVersion.set(dataset.uri, version);
    if (previous === undefined || previous === version) return;
    // The scores column changed shape (rows moved or were re-read): tell the views.
    this.host.onScoresChanged(dataset.uri);
    const old = this.autoTimers.get(dataset.uri);
    if (old) clearTimeout(old);
    this.autoTimers.set(
      dataset.uri,
      setTimeout(() => {
        this.autoTimers.delete(dataset.uri);
        void this.maybeAutoScore(dataset);
      }, 300),
    );
  }

  private async maybeAutoScore(dataset: Dataset): Promise<void> {
    if (!this.host.trusted() || this.active?.uri === dataset.uri) return;
    const id = await this.identity(dataset);
    if (!id) return;
    const col = this.sync(dataset, id.key);
    let missing = 0;
    for (let i = 0; i < col.filled; i++)
      if (dataset.rows.ok(i) && Number.isNaN(col.values[i])) missing++;
    if (col.scored === 0 || missing === 0) return;
    this.host.logger.info(
      `${dataset.uri} changed on disk: scoring its ${missing} new or changed rows automatically`,
    );
    try {
      const r = await this.score(dataset.uri, new AbortController().signal, undefined, true);
      this.host.logger.info(
        `Automatic scoring of ${basename(dataset.file.path)}: ${r.newlyScored} rows scored` +
          (r.cancelled ? ' (stopped)' : ''),
      );
    } catch (e) {
      this.host.logger.warn(
        `Automatic scoring of ${dataset.uri} did not run: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  /**
   * Scores every row of a dataset that has no score yet. Runs one at a time; an explicit run
   * stops an automatic run of the same file first (its finished scores are kept). Cancelling
   * `signal` stops between batches and resolves with `cancelled: true`.
   */
  score(
    uri: string,
    signal: AbortSignal,
    reporter?: RunReporter,
    auto = false,
  ): Promise<ScoreResult> {
    if (!this.host.trusted()) {
      return Promise.reject(
        new ResponseError(
          WorkerErrorCodes.untrusted,
          'Winnow does not load models in an untrusted workspace (Restricted Mode): the model ' +
            'and prompt settings could come from the workspace. Trust the workspace to score it.',
        ),
      );
    }
    if (!auto && this.active?.auto && this.active.uri === uri) this.active.abort.abort();
    if (this.active && !auto) {
      reporter?.report(`Waiting for the scoring of ${basename(uriToPath(this.active.uri) ?? '')}`);
    }
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal.addEventListener('abort', onAbort);
    const run = async (): Promise<ScoreResult> => {
      this.active = { uri, auto, abort };
      try {
        return await this.run(uri, abort.signal, reporter, auto);
      } finally {
        this.active = undefined;
        signal.removeEventListener('abort', onAbort);
        this.setPhase(undefined);
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async run(
    uri: string,
    signal: AbortSignal,
    reporter: RunReporter | undefined,
    auto: boolean,
  ): Promise<ScoreResult> {
    const t0 = performance.now();
    const { logger } = this.host;
    const pending = this.host.registry.get(uri);
    if (!pending)
      throw new ResponseError(
        WorkerErrorCodes.datasetNotOpen,
        `Dataset not open in the worker: ${uri}`,
      );
    const dataset = await pending;
    const name = basename(dataset.file.path);
    if (!dataset.validated) {
      this.setPhase({ state: 'indexing', detail: name });
      reporter?.report(`Indexing ${name}…`);
      await Promise.race([dataset.whenValidated(), aborted(signal)]);
    }
    const settings = await this.host.settings.get(uri);
    let config: ScorerConfig;
    try {
      config = await resolveScorerConfig(
        settings.askllm,
        uriToPath(uri),
        this.host.workspaceFolders(),
      );
    } catch (e) {
      throw new ResponseError(WorkerErrorCodes.badScorerSettings, (e as Error).message);
    }
    this.configs.set(uri, Promise.resolve(config));
    const s = config.settings;
    const empty = (cancelled: boolean, device = '', promptName = ''): ScoreResult => ({
      uri,
      rows: dataset.rows.count,
      scorable: 0,
      scored: 0,
      cached: 0,
      newlyScored: 0,
      cancelled,
      model: s.model,
      dtype: s.dtype,
      device,
      promptName,
      elapsedMs: performance.now() - t0,
      loadMs: 0,
    });
    if (signal.aborted) return empty(true);

    // Load the model (downloads report their progress).
    if (!this.models.holds(config)) {
      this.setPhase({ state: 'loadingModel', model: s.model });
      reporter?.report(`Loading ${s.model}…`);
    }
    let lastLoadReport = 0;
    let lastLoadFile: string | undefined;
    const onLoadProgress = (p: LoadProgress): void => {
      const message = loadMessage(s.model, p);
      if (!message) return;
      const now = performance.now();
      // Download progress is throttled, but each file's first and last report always go out.
      if (p.status === 'progress') {
        if (
          p.file === lastLoadFile &&
          p.progress !== 100 &&
          now - lastLoadReport < reportIntervalMs
        )
          return;
        lastLoadFile = p.file;
      }
      lastLoadReport = now;
      this.setPhase({ state: 'loadingModel', model: s.model, detail: message });
      reporter?.report(message);
    };
    let ready;
    try {
      ready = await this.models.scorerFor(config, {
        // Automatic runs never download: a hub id must already be in the model cache.
        offline: s.offline || auto,
        onProgress: onLoadProgress,
      });
    } catch (e) {
      if (e instanceof ModelLoadError || e instanceof NoDeviceError) {
        logger.error(`Could not load the ASK-LLM model ${s.model}`, e);
        throw new ResponseError(WorkerErrorCodes.modelLoad, e.message);
      }
      if (e instanceof ScorerSettingsError)
        throw new ResponseError(WorkerErrorCodes.badScorerSettings, e.message);
      throw e;
    }
    const { scorer, loadMs } = ready;
    const info = scorer.info;
    const meta: ScoreColumnMeta = {
      model: info.modelId,
      dtype: info.dtype,
      promptName: info.promptName,
      promptHash: info.promptHash,
      answerTokens: info.yes.map(a => a.token),
      maxTokens: info.maxTokens,
      variant: 'p-yes',
      device: info.device,
    };
    const store = await this.store();
    await store.remember(config.fingerprint, { scorerKey: info.scorerKey, meta });
    if (signal.aborted) return empty(true, info.device, info.promptName);

    // Rows to score: those that parse and have no score under this scorer yet.
    const schema = dataset.schema;
    const scope = extractionScope(schema ?? { kind: 'unknown' });
    const key = scopedScorerKey(info.scorerKey, scope);
    const col = this.sync(dataset, key);
    const rowCount = col.filled;
    let scorable = 0;
    for (let i = 0; i < rowCount; i++) if (dataset.rows.ok(i)) scorable++;
    const cachedAtStart = col.scored;
    let done = cachedAtStart;
    let newly = 0;
    const tScore = performance.now();
    let lastReport = 0;
    const progress = (force: boolean): void => {
      const now = performance.now();
      if (!force && now - lastReport < reportIntervalMs) return;
      lastReport = now;
      const rate = newly / Math.max(1, now - tScore);
      const eta = rate > 0 && done < scorable ? (scorable - done) / rate : undefined;
      this.setPhase({
        state: 'scoring',
        detail: name,
        progress: { done, total: scorable, unit: 'rows' },
        device: info.device,
        model: info.modelId,
      });
      reporter?.report(
        `${formatCount(done)} of ${formatCount(scorable)} rows` +
          (cachedAtStart > 0 ? ` · ${formatCount(cachedAtStart)} from cache` : '') +
          (eta !== undefined ? ` · about ${formatDuration(eta)} left` : '') +
          ` · ${info.device}`,
        scorable > 0 ? (100 * done) / scorable : 100,
      );
    };
    progress(true);
    logger.info(
      `Scoring ${name}: ${scorable - cachedAtStart} of ${scorable} rows to score ` +
        `(${cachedAtStart} cached) with ${info.modelId} on ${info.device}`,
    );

    let cancelled = false;
    const cache = store.cache;
    for (let from = 0; from < rowCount && !cancelled; from += blockRows) {
      const to = Math.min(rowCount, from + blockRows);
      let any = false;
      for (let i = from; i < to && !any; i++)
        any = dataset.rows.ok(i) && Number.isNaN(col.values[i]);
      if (!any) continue;
      if (signal.aborted) {
        cancelled = true;
        break;
      }
      let rows: RawRow[];
      try {
        rows = await dataset.file.readRows(from, to - from);
      } catch (e) {
        // The file shrank or went away under the run: stop; what is scored is kept.
        logger.warn(`Scoring of ${name} stopped at row ${from}: ${errorText(e)}`);
        break;
      }
      const texts: string[] = [];
      const hashes: string[] = [];
      const rowOf: number[] = [];
      for (const row of rows) {
        const i = row.index;
        if (i >= col.filled || !dataset.rows.ok(i) || !Number.isNaN(col.values[i])) continue;
        const hash = contentHash(row.bytes);
        // The file changed since it was indexed: the row is re-scored after re-validation.
        if (hash !== dataset.rows.hash(i)) continue;
        const parsed = parseLine(row.bytes, {
          maxLineBytes: settings.maxLineBytes,
          firstLine: i === 0,
        });
        if (!parsed.ok || !schema) continue;
        texts.push(extractText(parsed.value, schema));
        hashes.push(hash);
        rowOf.push(i);
      }
      if (texts.length === 0) continue;
      const r = await scorer.score(texts, {
        cache,
        hashes,
        cacheScope: scope,
        signal,
        onScores: scores => {
          let changed = false;
          for (const sc of scores) {
            const row = rowOf[sc.index];
            const was = Number.isNaN(col.values[row]);
            if (col.apply(row, hashes[sc.index], sc) && was) {
              done++;
              if (!sc.cached) newly++;
              changed = true;
            }
          }
          if (changed) {
            this.host.onScoresChanged(uri);
            progress(false);
          }
        },
      });
      cancelled = r.cancelled;
    }
    progress(true);
    const elapsedMs = performance.now() - t0;
    logger.info(
      `${cancelled ? 'Stopped scoring' : 'Scored'} ${name}: ${done} of ${scorable} rows have ` +
        `scores (${newly} new, ${cachedAtStart} cached) in ${(elapsedMs / 1000).toFixed(1)} s`,
    );
    this.host.onScoresChanged(uri);
    return {
      uri,
      rows: rowCount,
      scorable,
      scored: done,
      cached: cachedAtStart,
      newlyScored: newly,
      cancelled,
      model: info.modelId,
      dtype: info.dtype,
      device: info.device,
      promptName: info.promptName,
      elapsedMs,
      loadMs,
    };
  }

  /** The column provider of `winnow/getColumns` (kind `askllm`). */
  columnProvider(): ColumnProvider<
    { id: Identity | undefined; showNormalized: boolean } | undefined
  > {
    return {
      prepare: async dataset => ({
        id: await this.identity(dataset),
        // The variant travels only when asked for: the column stays small for everyone else.
        showNormalized: (await this.host.settings.get(dataset.uri)).askllm.showNormalizedVariant,
      }),
      build: (dataset, rowCount, prepared): Pick<GetColumnsResult, 'askllm'> | undefined => {
        const { id, showNormalized } = prepared ?? { id: undefined, showNormalized: false };
        if (!id) return undefined;
        const col = this.sync(dataset, id.key);
        const running = this.active?.uri === dataset.uri;
        if (col.scored === 0 && !running) return undefined;
        const device = this.models.loaded?.device ?? id.stored.meta.device;
        return {
          askllm: {
            ...col.encode(rowCount, showNormalized),
            meta: { ...id.stored.meta, ...(device ? { device } : {}) },
          },
        };
      },
    };
  }

  /** The ASK-LLM section of a row's hover (order 10). */
  async hoverSection(ctx: HoverContext): Promise<string | undefined> {
    if (!ctx.parsed) return undefined;
    const id = await this.identity(ctx.dataset);
    if (!id) {
      return '**ASK-LLM:** not scored yet (run **Winnow: Score Current File**)';
    }
    const store = await this.store();
    const hit = store.cache.get(id.key, ctx.hash);
    if (!hit)
      return (
        '**ASK-LLM:** not scored yet under the current settings (run **Winnow: Score Current ' +
        `File**) · model ${codeSpan(id.stored.meta.model)}`
      );
    const settings = await this.host.settings.get(ctx.dataset.uri);
    const col = this.sync(ctx.dataset, id.key);
    const st = standing(col.sortedValues(), hit.pYes);
    const m = id.stored.meta;
    const lines = [
      `**ASK-LLM:** P(yes) = ${formatProbability(hit.pYes)} · ${standingText(st)}`,
      '',
      `Model ${codeSpan(m.model)} (${escapeMarkdown(m.dtype)}` +
        `${m.device ? `, ${escapeMarkdown(m.device)}` : ''}) · prompt ${escapeMarkdown(m.promptName)}` +
        ` · answer ${m.answerTokens.map(t => codeSpan(t)).join(' + ')} · ` +
        `${formatCount(hit.tokens)} tokens${hit.truncated ? ' (document truncated)' : ''}`,
    ];
    if (settings.askllm.showNormalizedVariant) {
      const d = hit.pYes + hit.pNo;
      lines.push(
        '',
        `**Variant (not the ASK-LLM score):** P(yes) / (P(yes) + P(no)) = ` +
          (d > 0 ? formatProbability(hit.pYes / d) : 'undefined (both are 0)'),
      );
    }
    return lines.join('\n');
  }

  /**
   * Scores of rows for inlay hints: P(yes) (and the normalised variant when the setting asks)
   * of each row whose current content has a score, by row index.
   */
  async rowScores(
    dataset: Dataset,
    rows: readonly RawRow[],
  ): Promise<Map<number, { pYes: number; normalized?: number }>> {
    const out = new Map<number, { pYes: number; normalized?: number }>();
    const id = await this.identity(dataset);
    if (!id) return out;
    const store = await this.store();
    const showNormalized = (await this.host.settings.get(dataset.uri)).askllm.showNormalizedVariant;
    for (const row of rows) {
      const hit = store.cache.get(id.key, contentHash(row.bytes));
      if (!hit) continue;
      const d = hit.pYes + hit.pNo;
      out.set(row.index, {
        pYes: hit.pYes,
        ...(showNormalized && d > 0 ? { normalized: hit.pYes / d } : {}),
      });
    }
    return out;
  }

  /** Model and prompt of the current identity, for hint tooltips. */
  async describe(dataset: Dataset): Promise<ScoreColumnMeta | undefined> {
    return (await this.identity(dataset))?.stored.meta;
  }

  async dispose(): Promise<void> {
    this.active?.abort.abort();
    for (const t of this.autoTimers.values()) clearTimeout(t);
    this.autoTimers.clear();
    await this.queue.catch(() => undefined);
    await this.models.release();
  }

  /**
   * The identity of the scores shown for a dataset: the scorer last run under the current
   * settings (from the registry, so no model is needed), narrowed to the dataset's extraction.
   * Undefined before the schema is settled or when this configuration never ran.
   */
  private async identity(dataset: Dataset): Promise<Identity | undefined> {
    if (!dataset.schemaSettled || !dataset.schema) return undefined;
    const config = await this.config(dataset.uri);
    if (!config) return undefined;
    const stored = (await this.store()).scorer(config.fingerprint);
    if (!stored) return undefined;
    const scope = extractionScope(dataset.schema);
    return { config, stored, scope, key: scopedScorerKey(stored.scorerKey, scope) };
  }

  private config(uri: string): Promise<ScorerConfig | undefined> {
    let c = this.configs.get(uri);
    if (!c) {
      c = this.host.settings
        .get(uri)
        .then(s => resolveScorerConfig(s.askllm, uriToPath(uri), this.host.workspaceFolders()))
        .catch((e: unknown) => {
          this.host.logger.debug(`No ASK-LLM configuration for ${uri}: ${String(e)}`);
          return undefined;
        });
      this.configs.set(uri, c);
    }
    return c;
  }

  /**
   * Brings the dataset's column in line with its rows: a new identity or a rebuilt file starts
   * over; rows re-validated after a change are looked up again; new rows are added.
   */
  private sync(dataset: Dataset, key: string): ColumnState {
    this.legacyScores.check(dataset, this.storeNow?.cache);
    let col = this.columnsByUri.get(dataset.uri);
    if (!col || col.dataset !== dataset || col.key !== key || col.rebuilds !== dataset.rebuilds) {
      col = new ColumnState(dataset, key, dataset.rebuilds, dataset.rows.generation);
      this.columnsByUri.set(dataset.uri, col);
    } else if (col.rowsGeneration !== dataset.rows.generation) {
      const low = dataset.rows.unchangedBelow(col.rowsGeneration);
      if (low < col.filled) {
        for (let i = low; i < col.filled; i++) if (!Number.isNaN(col.values[i])) col.scored--;
        col.filled = low;
        col.invalidateSorted();
      }
      col.rowsGeneration = dataset.rows.generation;
    }
    const count = dataset.rows.count;
    if (count > col.filled) {
      col.reserve(count);
      const cache = this.storeNow?.cache;
      for (let i = col.filled; i < count; i++) {
        const hit = dataset.rows.ok(i) && cache ? cache.get(key, dataset.rows.hash(i)) : undefined;
        col.set(i, hit);
        if (hit) col.scored++;
      }
      col.filled = count;
      col.invalidateSorted();
    }
    return col;
  }

  private async store(): Promise<ScoreStore> {
    this.storeNow ??= await this.host.store();
    return this.storeNow;
  }

  private setPhase(status: WorkerStatus | undefined): void {
    this.phase = status;
    this.host.onStatusChanged();
  }
}

/** A promise that resolves when the signal aborts (never settles otherwise). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A one-line message for model download / load progress, or undefined to skip the event. */
function loadMessage(model: string, p: LoadProgress): string | undefined {
  switch (p.status) {
    case 'initiate':
      return p.file ? `Loading ${model}: ${p.file}` : undefined;
    case 'progress': {
      if (!p.file) return undefined;
      const pct = p.progress !== undefined ? `${Math.floor(p.progress)}%` : '';
      const size = p.total ? ` of ${formatBytes(p.total)}` : '';
      return `Downloading ${model}: ${p.file} ${pct}${size}`;
    }
    case 'device':
      return `Loading ${model} on ${p.device ?? 'a device'}…`;
    default:
      return undefined;
  }
}

/**
 * A row's prompt tokens as the column stores them: the count, with {@link TOKENS_TRUNCATED} set
 * when the document was truncated to fit (0 stays "not scored").
 */
export function packTokens(tokens: number, truncated: boolean): number {
  const n = Math.max(0, Math.min(TOKENS_TRUNCATED - 1, Math.round(tokens)));
  return (truncated ? n | TOKENS_TRUNCATED : n) >>> 0;
}
