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
import { normalizedYes, scopedScorerKey, type ScoreCache } from '../../core/askllm';
import { judgeHealth } from '../../core/judge/health';
import {
  contentHash,
  extractText,
  parseLine,
  type RawRow,
  type SchemaInfo,
} from '../../core/jsonl';
import {
  TOKENS_TRUNCATED,
  WorkerErrorCodes,
  type GetColumnsResult,
  type GetScorerColumnResult,
  type JudgeHealth,
  type JudgeProbe,
  type ScoreColumnMeta,
  type ScoreResult,
  type ScorerChoice,
  type WorkerStatus,
} from '../../shared/protocol/worker';
import type { ColumnProvider } from '../dataset/columns';
import type { Dataset } from '../dataset/dataset';
import type { HoverContext } from '../editor/hoverSections';
import { LegacyScoreMigration } from './legacyScores';
import { errorText, type Logger } from '../logger';
import { codeSpan, escapeMarkdown, formatCount } from '../editor/markdown';
import { ModelLoadError, NoDeviceError, type LoadProgress, ortRuntimeInfo } from '../runtime';
import type { AskLlmScore, ScorerInfo } from './askLlmScorer';
import type { RunScorer } from './remoteAskLlm';
import { EngineCapabilityError, EngineRequestError, RetryableError } from '../../core/engines';
import { MultiTokenAnswerError } from '../../core/askllm/tokens';
import type { DatasetRegistry } from '../dataset/registry';
import type { SettingsStore, WorkerSettings } from '../settings';
import { uriToPath } from '../dataset/uri';
import { encodeFloat32, encodeUint32 } from '../dataset/columns';
import { formatBytes, formatDuration, formatProbability, sortedScores, standing } from './format';
import { importedText, standingText } from '../../shared/format/scoreFormat';
import { ModelHost, type ReadyScorer } from './modelHost';
import {
  type ScorerConfig,
  ScorerSettingsError,
  extractionScope,
  resolveScorerConfig,
} from './scorerConfig';
import type { ScoreStore, StoredScorer } from './scoreStore';

/** Rows read from the file per block; the scorer buckets and batches within a block. */
const blockRows = 1024;
/** Passes over rows that changed during a run before automatic scoring takes over. */
const maxCatchUpPasses = 8;
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

/**
 * The identity of the scores shown for a dataset: those of the current settings' scorer, or of
 * the scorer of the last import for the file (`imported`, see `identity`).
 */
interface Identity {
  /** The settings' configuration; absent for imported scores. */
  config?: ScorerConfig;
  stored: StoredScorer;
  imported: boolean;
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
  /** Rows the last run could not score, with the content hash it tried and the reason. */
  readonly failed = new Map<number, { hash: string; reason: string }>();
  private sorted: Float32Array | undefined;

  constructor(
    readonly dataset: Dataset,
    readonly key: string,
    readonly rebuilds: number,
    public rowsGeneration: number,
  ) {}

  /** Why the row's current content could not be scored, if it failed. */
  failure(row: number): string | undefined {
    const f = this.failed.get(row);
    return f && row < this.filled && this.dataset.rows.hash(row) === f.hash ? f.reason : undefined;
  }

  /** The failed rows among the first `rowCount`, for the wire (at most `cap`, in row order). */
  failures(rowCount: number, cap = 1000): { row: number; reason: string }[] {
    const out: { row: number; reason: string }[] = [];
    for (const row of [...this.failed.keys()].sort((a, b) => a - b)) {
      const reason = row < rowCount ? this.failure(row) : undefined;
      if (reason !== undefined && out.length < cap) out.push({ row, reason });
    }
    return out;
  }

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

/** One run's working state, shared by the steps of `ScoringService.run`. */
interface Run {
  uri: string;
  name: string;
  dataset: Dataset;
  settings: WorkerSettings;
  signal: AbortSignal;
  reporter: RunReporter | undefined;
  scorer: RunScorer;
  schema: SchemaInfo | null;
  /** The extraction scope of the cache keys. */
  scope: string;
  col: ColumnState;
  /** The dataset version the column was last synced with (see `catchUp`). */
  version: string;
  /** Rows of the file in the column's current pass. */
  rowCount: number;
  scorable: number;
  cachedAtStart: number;
  done: number;
  newly: number;
  cancelled: boolean;
  startedAt: number;
  lastReport: number;
  /** The settings fingerprint the scorer is remembered under (ScoreStore). */
  fingerprint: string;
  /** Judge health of the run's first batch, once measured. */
  health?: JudgeHealth;
}

/** The rows of one block that go to the scorer, with their hashes and row numbers. */
interface Batch {
  texts: string[];
  hashes: string[];
  rowOf: number[];
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
  /**
   * Columns of the other stored scorers (judge A/B), by `uri + '\n' + key`; dropped when a run
   * on the file ends or the settings change, since only the current column follows a run.
   */
  private readonly otherColumns = new Map<string, ColumnState>();
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
  /** Files whose changes an automatic run skipped because a run was active on them. */
  private readonly missedChanges = new Set<string>();
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

  /** The loaded model, its device, ONNX Runtime version and device attempts, for the status. */
  get loadedModel():
    Pick<WorkerStatus, 'model' | 'device' | 'ortVersion' | 'deviceAttempts'> | undefined {
    const m = this.models.loaded;
    if (!m) return undefined;
    return {
      model: m.modelId,
      device: m.device,
      ortVersion: ortRuntimeInfo().version,
      deviceAttempts: m.attempts.map(a => ({
        device: a.device,
        outcome: a.outcome,
        message: a.message,
      })),
    };
  }

  /** Settings changed: identities are resolved again; every open file's scores may differ. */
  settingsChanged(): void {
    this.configs.clear();
    this.otherColumns.clear();
    for (const uri of this.columnsByUri.keys()) this.host.onScoresChanged(uri);
  }

  private forgetOtherColumns(uri: string): void {
    for (const k of [...this.otherColumns.keys()])
      if (k.startsWith(`${uri}\n`)) this.otherColumns.delete(k);
  }

  /**
   * `winnow/getScorerColumn` (docs/judge.md#judge-ab): every remembered scorer with scores for
   * this file (from the cache, no model loaded), and the P(yes) column of `scorer` if asked.
   */
  async scorerColumn(dataset: Dataset, scorer?: string): Promise<GetScorerColumnResult> {
    const store = await this.store();
    const id = await this.identity(dataset);
    // From here on nothing awaits: every column describes the same rows.
    const rowCount = dataset.rows.count;
    const result: GetScorerColumnResult = {
      rowCount,
      fileVersion: `${dataset.version}.${rowCount}`,
      scorers: [],
    };
    if (!dataset.schemaSettled || !dataset.schema) return result;
    const scope = extractionScope(dataset.schema);
    const seen = new Set<string>();
    for (const [fingerprint, stored] of store.list()) {
      const key = scopedScorerKey(stored.scorerKey, scope);
      if (seen.has(key)) continue;
      seen.add(key);
      const current = id?.key === key;
      const col = current
        ? this.sync(dataset, key)
        : this.sync(dataset, key, this.otherColumns, `${dataset.uri}\n${key}`);
      const wire = col.encode(rowCount, false);
      if (wire.scored === 0) continue;
      const choice: ScorerChoice = {
        id: fingerprint,
        label: scorerLabel(stored.meta),
        meta: stored.meta,
        scored: wire.scored,
        current,
      };
      result.scorers.push(choice);
      if (fingerprint === scorer)
        result.column = { scorer, data: wire.data, scored: wire.scored, meta: stored.meta };
    }
    result.scorers.sort((a, b) => Number(b.current) - Number(a.current));
    return result;
  }

  /**
   * The current judge's P(yes) per row (a copy, NaN = not scored) with its meta and score-cache
   * key, for the distilled scorer (docs/judge.md#distilled-scorer); undefined when the file has
   * no scorer under the current settings.
   */
  async judgeColumn(
    dataset: Dataset,
  ): Promise<{ values: Float32Array; scored: number; meta: ScoreColumnMeta; key: string } | undefined> {
    await this.store();
    const id = await this.identity(dataset);
    if (!id) return undefined;
    const col = this.sync(dataset, id.key);
    const n = dataset.rows.count;
    const values = new Float32Array(n).fill(Number.NaN);
    values.set(col.values.subarray(0, Math.min(n, col.filled)));
    return { values, scored: col.scored, meta: id.stored.meta, key: id.key };
  }

  /** The score-cache key of the current judge of a dataset (undefined: none ran). */
  async judgeKey(dataset: Dataset): Promise<string | undefined> {
    await this.store();
    return (await this.identity(dataset))?.key;
  }

  /** A dataset closed: forget its column and stop an automatic run on it. */
  datasetClosed(uri: string): void {
    this.columnsByUri.delete(uri);
    this.forgetOtherColumns(uri);
    this.seenVersion.delete(uri);
    this.missedChanges.delete(uri);
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
    if (previous === version) return;
    // The scores column changed shape: it covers every row now (a client that asked while the
    // file was still being read got a shorter column), or rows moved or were re-read. Tell the
    // views, which ask again instead of polling.
    this.host.onScoresChanged(dataset.uri);
    if (previous === undefined) return;
    const old = this.autoTimers.get(dataset.uri);
    if (old) clearTimeout(old);
    this.scheduleAutoScore(dataset);
  }

  private scheduleAutoScore(dataset: Dataset): void {
    this.autoTimers.set(
      dataset.uri,
      setTimeout(() => {
        this.autoTimers.delete(dataset.uri);
        void this.maybeAutoScore(dataset);
      }, 300),
    );
  }

  /** After a run on `uri` ended: automatic scoring catches up on changes it had to skip. */
  private runEnded(uri: string, cancelled: boolean): void {
    this.forgetOtherColumns(uri);
    if (!this.missedChanges.delete(uri) || cancelled || this.autoTimers.has(uri)) return;
    void this.host.registry
      .get(uri)
      ?.then(dataset => this.scheduleAutoScore(dataset))
      .catch(() => undefined);
  }

  private async maybeAutoScore(dataset: Dataset): Promise<void> {
    if (!this.host.trusted() || dataset.unavailable !== undefined) return;
    if (this.active?.uri === dataset.uri) {
      this.missedChanges.add(dataset.uri);
      return;
    }
    const id = await this.identity(dataset);
    // Imported scores are a snapshot of another run: new rows are not scored with local settings.
    if (!id || id.imported) return;
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
    apiKey?: string,
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
        return await this.run(uri, abort.signal, reporter, auto, apiKey);
      } finally {
        this.active = undefined;
        signal.removeEventListener('abort', onAbort);
        this.setPhase(undefined);
        this.runEnded(uri, abort.signal.aborted);
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
    apiKey: string | undefined,
  ): Promise<ScoreResult> {
    const t0 = performance.now();
    const dataset = await this.validatedDataset(uri, signal, reporter);
    if (dataset.unavailable !== undefined) throw unavailableError(dataset, 'did not start');
    const settings = await this.host.settings.get(uri);
    const config = await this.runConfig(uri, settings);
    const stopped = (device = '', promptName = ''): ScoreResult =>
      emptyResult(uri, dataset.rows.count, config, t0, device, promptName);
    if (signal.aborted) return stopped();
    const { scorer, loadMs } = await this.loadScorer(config, auto, reporter, apiKey);
    const info = scorer.info;
    const store = await this.store();
    // A run of the user's own makes its scorer the one shown, in place of an import.
    if (!auto) await this.forgetImport(dataset, store);
    // The health of the last run that measured it stays until this run measures its own.
    const prev = store.scorer(config.fingerprint);
    const health = prev?.scorerKey === info.scorerKey ? prev.meta.health : undefined;
    await store.remember(config.fingerprint, {
      scorerKey: info.scorerKey,
      meta: { ...columnMeta(info), ...(health ? { health } : {}) },
    });
    if (signal.aborted) return stopped(info.device, info.promptName);
    // Content that is no longer on disk is never scored: the run stops when the file goes away.
    const gone = new AbortController();
    const offGone = dataset.file.onDidChangeAvailability(() => {
      if (dataset.unavailable !== undefined) gone.abort();
    });
    try {
      const runSignal = AbortSignal.any([signal, gone.signal]);
      const run = this.startRun({
        uri,
        dataset,
        settings,
        signal: runSignal,
        reporter,
        scorer,
        fingerprint: config.fingerprint,
      });
      await this.scoreBlocks(run, store.cache);
      await this.catchUp(run, store.cache);
      if (dataset.unavailable !== undefined) {
        this.finishRun(run, t0, loadMs);
        throw unavailableError(dataset, `stopped after ${formatCount(run.done)} rows`);
      }
      return this.finishRun(run, t0, loadMs);
    } finally {
      offGone();
    }
  }

  /** The open dataset of a run, once it is validated (or the run is cancelled). */
  private async validatedDataset(
    uri: string,
    signal: AbortSignal,
    reporter: RunReporter | undefined,
  ): Promise<Dataset> {
    const pending = this.host.registry.get(uri);
    if (!pending)
      throw new ResponseError(
        WorkerErrorCodes.datasetNotOpen,
        `Dataset not open in the worker: ${uri}`,
      );
    const dataset = await pending;
    if (!dataset.validated) {
      const name = basename(dataset.file.path);
      this.setPhase({ state: 'indexing', detail: name });
      reporter?.report(`Indexing ${name}…`);
      await Promise.race([dataset.whenValidated(), aborted(signal)]);
    }
    return dataset;
  }

  /** The scorer configuration of a run (bad settings are a clear error). */
  private async runConfig(uri: string, settings: WorkerSettings): Promise<ScorerConfig> {
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
    return config;
  }

  /** Loads (or reuses) the model of a run; downloads report their progress. */
  private async loadScorer(
    config: ScorerConfig,
    auto: boolean,
    reporter: RunReporter | undefined,
    apiKey?: string,
  ): Promise<ReadyScorer> {
    const s = config.settings;
    if (!this.models.holds(config)) {
      this.setPhase({ state: 'loadingModel', model: s.model });
      reporter?.report(
        s.engine === 'local' ? `Loading ${s.model}…` : `Connecting to ${s.engine} (${s.model})…`,
      );
    }
    try {
      return await this.models.scorerFor(config, {
        // Automatic runs never download: a hub id must already be in the model cache.
        offline: s.offline || auto,
        onProgress: this.loadProgress(s.model, reporter),
        apiKey,
        auto,
      });
    } catch (e) {
      if (
        e instanceof EngineCapabilityError ||
        e instanceof EngineRequestError ||
        e instanceof RetryableError
      ) {
        this.host.logger.error(`The ${s.engine} engine cannot score with ${s.model}`, e);
        throw new ResponseError(WorkerErrorCodes.modelLoad, e.message);
      }
      if (e instanceof MultiTokenAnswerError)
        throw new ResponseError(WorkerErrorCodes.badScorerSettings, e.message);
      if (e instanceof ModelLoadError || e instanceof NoDeviceError) {
        this.host.logger.error(`Could not load the ASK-LLM model ${s.model}`, e);
        throw new ResponseError(WorkerErrorCodes.modelLoad, e.message);
      }
      if (e instanceof ScorerSettingsError)
        throw new ResponseError(WorkerErrorCodes.badScorerSettings, e.message);
      throw e;
    }
  }

  /**
   * A model-load progress listener: download progress is throttled, but each file's first and
   * last report always go out.
   */
  private loadProgress(
    model: string,
    reporter: RunReporter | undefined,
  ): (p: LoadProgress) => void {
    let lastReport = 0;
    let lastFile: string | undefined;
    return p => {
      const message = loadMessage(model, p);
      if (!message) return;
      const now = performance.now();
      if (p.status === 'progress') {
        if (p.file === lastFile && p.progress !== 100 && now - lastReport < reportIntervalMs)
          return;
        lastFile = p.file;
      }
      lastReport = now;
      this.setPhase({ state: 'loadingModel', model, detail: message });
      reporter?.report(message);
    };
  }

  /** Counts the rows a run will score (those that parse) and reports the start. */
  private startRun(
    start: Pick<
      Run,
      'uri' | 'dataset' | 'settings' | 'signal' | 'reporter' | 'scorer' | 'fingerprint'
    >,
  ): Run {
    const info = start.scorer.info;
    const run: Run = {
      ...start,
      name: basename(start.dataset.file.path),
      ...this.runColumn(start.dataset, info.scorerKey),
      cachedAtStart: 0,
      newly: 0,
      cancelled: false,
      startedAt: performance.now(),
      lastReport: 0,
    };
    run.cachedAtStart = run.done;
    // Rows that failed before are tried again.
    run.col.failed.clear();
    this.reportProgress(run, true);
    this.host.logger.info(
      `Scoring ${run.name}: ${run.scorable - run.done} of ${run.scorable} rows to score ` +
        `(${run.done} cached) with ${info.modelId} on ${info.device}`,
    );
    return run;
  }

  /**
   * The column of a run's pass over the dataset as it is now: the rows to score are those that
   * parse and have no score under this scorer yet.
   */
  private runColumn(
    dataset: Dataset,
    scorerKey: string,
  ): Pick<Run, 'schema' | 'scope' | 'col' | 'version' | 'rowCount' | 'scorable' | 'done'> {
    const schema = dataset.schema;
    const scope = extractionScope(schema ?? { kind: 'unknown' });
    const col = this.sync(dataset, scopedScorerKey(scorerKey, scope));
    let scorable = 0;
    for (let i = 0; i < col.filled; i++) if (dataset.rows.ok(i)) scorable++;
    const { version } = dataset;
    return { schema, scope, col, version, rowCount: col.filled, scorable, done: col.scored };
  }

  /**
   * Rows that changed on disk during a run (appended, rewritten in place, another file renamed
   * over it) are scored by the same run: while the dataset moved on since the last pass, wait
   * until it is validated again and score what is missing. The result then describes the file
   * as it is now. A file that keeps changing is left to automatic scoring after a few passes.
   */
  private async catchUp(run: Run, cache: ScoreCache): Promise<void> {
    for (let pass = 0; !run.cancelled && run.dataset.version !== run.version; pass++) {
      if (pass === maxCatchUpPasses) {
        this.missedChanges.add(run.uri);
        return;
      }
      await Promise.race([run.dataset.whenValidated(), aborted(run.signal)]);
      if (run.signal.aborted) run.cancelled = true;
      // Closed, or validation failed: nothing more to score.
      if (run.cancelled || !run.dataset.validated) return;
      Object.assign(run, this.runColumn(run.dataset, run.scorer.info.scorerKey));
      this.host.logger.info(
        `${run.name} changed on disk during the run: ` +
          `scoring its ${run.scorable - run.done} new or changed rows too`,
      );
      this.reportProgress(run, true);
      await this.scoreBlocks(run, cache);
    }
  }

  /** Reports a run's progress to the status and the client (throttled unless `force`). */
  private reportProgress(run: Run, force: boolean): void {
    const now = performance.now();
    if (!force && now - run.lastReport < reportIntervalMs) return;
    run.lastReport = now;
    const { done, scorable, cachedAtStart } = run;
    const { device, modelId } = run.scorer.info;
    const rate = run.newly / Math.max(1, now - run.startedAt);
    const eta = rate > 0 && done < scorable ? (scorable - done) / rate : undefined;
    this.setPhase({
      state: 'scoring',
      detail: run.name,
      progress: { done, total: scorable, unit: 'rows' },
      // The local model's runtime, unless the run goes to a remote engine.
      ...(this.models.loaded?.modelId === modelId ? this.loadedModel : {}),
      device,
      model: modelId,
    });
    run.reporter?.report(
      `${formatCount(done)} of ${formatCount(scorable)} rows` +
        (cachedAtStart > 0 ? ` · ${formatCount(cachedAtStart)} from cache` : '') +
        (eta !== undefined ? ` · about ${formatDuration(eta)} left` : '') +
        ` · ${device}`,
      scorable > 0 ? (100 * done) / scorable : 100,
    );
  }

  /** Scores the run's rows block by block, until done, cancelled or the file changes. */
  private async scoreBlocks(run: Run, cache: ScoreCache): Promise<void> {
    const { col, dataset } = run;
    for (let from = 0; from < run.rowCount && !run.cancelled; from += blockRows) {
      const to = Math.min(run.rowCount, from + blockRows);
      let any = false;
      for (let i = from; i < to && !any; i++)
        any = dataset.rows.ok(i) && Number.isNaN(col.values[i]);
      if (!any) continue;
      if (run.signal.aborted) {
        run.cancelled = true;
        break;
      }
      let rows: RawRow[];
      try {
        rows = await dataset.file.readRows(from, to - from);
      } catch (e) {
        // The file shrank or went away under the run: stop; what is scored is kept.
        this.host.logger.warn(`Scoring of ${run.name} stopped at row ${from}: ${errorText(e)}`);
        break;
      }
      const batch = this.blockBatch(run, rows);
      if (batch.texts.length === 0) continue;
      const r = await run.scorer.score(batch.texts, {
        cache,
        hashes: batch.hashes,
        cacheScope: run.scope,
        signal: run.signal,
        onFailed: failed => this.recordFailures(run, batch, failed),
        onOutOfMemory: oom =>
          this.host.logger.warn(
            `A batch of ${oom.rows} rows ran out of device memory; it was split in half and ` +
              `run again, and batches hold at most ${oom.cap} rows for the rest of the run ` +
              `(nothing is lost). ONNX Runtime said: ${oom.message}`,
          ),
        onScores: scores => this.applyScores(run, batch, scores),
        ...(run.health ? {} : { onProbe: probe => this.recordHealth(run, batch, probe) }),
      });
      run.cancelled = r.cancelled;
    }
  }

  /** The texts of a block's rows that still need a score and still match the index. */
  private blockBatch(run: Run, rows: readonly RawRow[]): Batch {
    const { col, dataset, schema } = run;
    const batch: Batch = { texts: [], hashes: [], rowOf: [] };
    for (const row of rows) {
      const i = row.index;
      if (i >= col.filled || !dataset.rows.ok(i) || !Number.isNaN(col.values[i])) continue;
      const hash = contentHash(row.bytes);
      // The file changed since it was indexed: the row is re-scored after re-validation.
      if (hash !== dataset.rows.hash(i)) continue;
      const parsed = parseLine(row.bytes, {
        maxLineBytes: run.settings.maxLineBytes,
        firstLine: i === 0,
      });
      if (!parsed.ok || !schema) continue;
      batch.texts.push(extractText(parsed.value, schema));
      batch.hashes.push(hash);
      batch.rowOf.push(i);
    }
    return batch;
  }

  /**
   * Judge health of the run's first batch (docs/judge.md#judge-health): logged (a warning when
   * the answer tokens miss the judge's answer), remembered with the scorer so the column meta
   * and the export manifest carry it, and returned with the run's result.
   */
  private recordHealth(run: Run, batch: Batch, probe: JudgeProbe): void {
    const top = probe.top.map(t => ({ ...t, row: batch.rowOf[t.row] ?? t.row }));
    const health = judgeHealth({ ...probe, top });
    run.health = health;
    if (health.warning) this.host.logger.warn(`Judge health of ${run.name}: ${health.warning}`);
    else
      this.host.logger.info(
        `Judge health of ${run.name}: P(answer) ${health.yesMass.toPrecision(3)}, ` +
          `P(no) ${health.noMass.toPrecision(3)}, variants ${health.yesVariantMass.toPrecision(3)} ` +
          `over ${health.rows} rows`,
      );
    const info = run.scorer.info;
    void this.store().then(store =>
      store.remember(run.fingerprint, {
        scorerKey: info.scorerKey,
        meta: { ...columnMeta(info), health },
      }),
    );
    this.host.onScoresChanged(run.uri);
  }

  /** Marks the rows the scorer could not score (no score is invented for them) and logs them. */
  private recordFailures(
    run: Run,
    batch: Batch,
    failed: readonly { index: number; reason: string }[],
  ): void {
    for (const f of failed) {
      const row = batch.rowOf[f.index];
      run.col.failed.set(row, { hash: batch.hashes[f.index], reason: f.reason });
      this.host.logger.warn(`${run.name}: line ${row + 1} could not be scored: ${f.reason}`);
    }
    this.host.onScoresChanged(run.uri);
  }

  /** Puts a batch's fresh scores into the column and reports them. */
  private applyScores(run: Run, batch: Batch, scores: readonly AskLlmScore[]): void {
    // Scores of rows read before the file went away are not shown for it.
    if (run.dataset.unavailable !== undefined) return;
    let changed = false;
    for (const sc of scores) {
      const row = batch.rowOf[sc.index];
      const was = Number.isNaN(run.col.values[row]);
      if (run.col.apply(row, batch.hashes[sc.index], sc) && was) {
        run.done++;
        if (!sc.cached) run.newly++;
        changed = true;
      }
    }
    if (changed) {
      this.host.onScoresChanged(run.uri);
      this.reportProgress(run, false);
    }
  }

  /** Logs and returns a run's result. */
  private finishRun(run: Run, t0: number, loadMs: number): ScoreResult {
    this.reportProgress(run, true);
    const elapsedMs = performance.now() - t0;
    const { done, scorable, newly, cancelled } = run;
    // Rows rewritten during the run may have lost the scores they had at the start.
    const cachedAtStart = Math.min(run.cachedAtStart, Math.max(0, done - newly));
    const failures = run.col.failures(run.rowCount);
    this.host.logger.info(
      `${cancelled ? 'Stopped scoring' : 'Scored'} ${run.name}: ${done} of ${scorable} rows have ` +
        `scores (${newly} new, ${cachedAtStart} cached` +
        `${failures.length > 0 ? `, ${failures.length} failed` : ''}) in ${(elapsedMs / 1000).toFixed(1)} s`,
    );
    this.host.onScoresChanged(run.uri);
    const info = run.scorer.info;
    return {
      uri: run.uri,
      rows: run.rowCount,
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
      failed: failures.length,
      failures: failures.slice(0, 20).map(f => ({ line: f.row + 1, reason: f.reason })),
      ...(run.health ? { health: run.health } : {}),
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
        if (col.scored === 0 && col.failed.size === 0 && !running) return undefined;
        // Imported scores keep the device of the run that made them.
        const device = id.imported
          ? id.stored.meta.device
          : (this.models.loaded?.device ?? id.stored.meta.device);
        const failed = col.failures(rowCount);
        return {
          askllm: {
            ...col.encode(rowCount, showNormalized),
            meta: { ...id.stored.meta, ...(device ? { device } : {}) },
            ...(failed.length > 0 ? { failed } : {}),
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
    const failure = hit ? undefined : this.columnsByUri.get(ctx.dataset.uri)?.failure(ctx.index);
    if (failure !== undefined)
      return (
        `**ASK-LLM:** could not score line ${formatCount(ctx.index + 1)}: ${escapeMarkdown(failure)}` +
        ` · model ${codeSpan(id.stored.meta.model)} (run **Winnow: Score Current File** to try again)`
      );
    if (!hit && id.stored.meta.imported)
      return (
        `**ASK-LLM:** not in the imported scores · model ${codeSpan(id.stored.meta.model)} · ` +
        `${escapeMarkdown(importedText(id.stored.meta.imported))}`
      );
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
        ` · answer ${m.answerTokens.map(t => codeSpan(t)).join(' + ')}` +
        // A remote engine does not report prompt tokens (0): the count is left out.
        (hit.tokens > 0
          ? ` · ${formatCount(hit.tokens)} tokens${hit.truncated ? ' (document truncated)' : ''}`
          : ''),
      ...(m.imported ? ['', escapeMarkdown(`Scores ${importedText(m.imported)}`)] : []),
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

  /**
   * Scores of a dataset were imported (or an import was replaced): its column is rebuilt from
   * the cache and every view is told.
   */
  importChanged(uri: string): void {
    this.columnsByUri.delete(uri);
    this.host.onScoresChanged(uri);
  }

  private async forgetImport(dataset: Dataset, store: ScoreStore): Promise<void> {
    if (!store.imported(dataset.file.path, 'askllm')) return;
    await store.rememberImport(dataset.file.path, 'askllm', undefined);
    this.host.logger.info(
      `${basename(dataset.file.path)}: Score Current File replaces the imported ASK-LLM scores in the view`,
    );
    this.columnsByUri.delete(dataset.uri);
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
   * The identity of the scores shown for a dataset: the scorer of the last import for this file
   * (Winnow: Import Scores, until the user scores it here), else the scorer last run under the
   * current settings (from the registry, so no model is needed); narrowed to the dataset's
   * extraction. Undefined before the schema is settled or when neither exists.
   */
  private async identity(dataset: Dataset): Promise<Identity | undefined> {
    if (!dataset.schemaSettled || !dataset.schema) return undefined;
    const store = await this.store();
    const scope = extractionScope(dataset.schema);
    const imported = store.imported(dataset.file.path, 'askllm');
    const importedScorer = imported?.fingerprint ? store.scorer(imported.fingerprint) : undefined;
    if (importedScorer)
      return {
        stored: importedScorer,
        imported: true,
        scope,
        key: scopedScorerKey(importedScorer.scorerKey, scope),
      };
    const config = await this.config(dataset.uri);
    if (!config) return undefined;
    const stored = store.scorer(config.fingerprint);
    if (!stored) return undefined;
    return {
      config,
      stored,
      imported: false,
      scope,
      key: scopedScorerKey(stored.scorerKey, scope),
    };
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
  private sync(
    dataset: Dataset,
    key: string,
    columns = this.columnsByUri,
    slot = dataset.uri,
  ): ColumnState {
    this.legacyScores.check(dataset, this.storeNow?.cache);
    let col = columns.get(slot);
    if (!col || col.dataset !== dataset || col.key !== key || col.rebuilds !== dataset.rebuilds) {
      col = new ColumnState(dataset, key, dataset.rebuilds, dataset.rows.generation);
      columns.set(slot, col);
    } else if (col.rowsGeneration !== dataset.rows.generation) {
      const low = dataset.rows.unchangedBelow(col.rowsGeneration);
      if (low < col.filled) {
        for (let i = low; i < col.filled; i++) if (!Number.isNaN(col.values[i])) col.scored--;
        for (const row of col.failed.keys()) if (row >= low) col.failed.delete(row);
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

/** The error of a run on a file that is gone from disk or cannot be read. */
function unavailableError(dataset: Dataset, what: string): ResponseError<void> {
  return new ResponseError(
    WorkerErrorCodes.datasetUnavailable,
    `${dataset.unavailable ?? 'The file cannot be read'}: scoring of ` +
      `${basename(dataset.file.path)} ${what}. Nothing is scored from content that is no ` +
      'longer on disk; run the command again once the file is back.',
  );
}

/** The result of a run that stopped before any row was scored. */
function emptyResult(
  uri: string,
  rows: number,
  config: ScorerConfig,
  t0: number,
  device: string,
  promptName: string,
): ScoreResult {
  const s = config.settings;
  return {
    uri,
    rows,
    scorable: 0,
    scored: 0,
    cached: 0,
    newlyScored: 0,
    cancelled: true,
    model: s.model,
    dtype: s.dtype,
    device,
    promptName,
    elapsedMs: performance.now() - t0,
    loadMs: 0,
    failed: 0,
    failures: [],
  };
}

/** One line naming a scorer in the judge A/B picker. */
export function scorerLabel(m: ScoreColumnMeta): string {
  return (
    `${m.model} (${m.dtype}) · prompt ${m.promptName} ${m.promptHash.slice(0, 6)}` +
    ` · ${m.answerTokens.join('+')}`
  );
}

/** How a loaded scorer's scores are described in the column. */
function columnMeta(info: ScorerInfo): ScoreColumnMeta {
  return {
    model: info.modelId,
    dtype: info.dtype,
    promptName: info.promptName,
    promptHash: info.promptHash,
    answerTokens: info.yes.map(a => a.token),
    maxTokens: info.maxTokens,
    variant: 'p-yes',
    device: info.device,
  };
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
