/* eslint-disable @typescript-eslint/no-namespace -- One namespace per message, as in vscode-eslint's customMessages.ts: the name groups the method, its direction and its types. */
/**
 * The host <-> worker protocol: Winnow's custom LSP methods, all under the `winnow/` prefix.
 *
 * This module has no runtime dependencies (no Node, no vscode-jsonrpc) so that every layer can
 * import it. It declares method names, directions and parameter/result shapes; the typed send and
 * receive helpers live next to the connection on each side (src/extension/client/workerClient.ts and
 * src/worker/connection helpers), built from the descriptors below.
 *
 * Standard LSP traffic is used where it fits: diagnostics (`textDocument/publishDiagnostics`),
 * hover, `window/logMessage` for logs and `workspace/configuration` for settings.
 */
import type { LogLevel, WinnowSettingsSection } from '../settings';

/** Which side sends a message. */
export type MessageDirection = 'clientToServer' | 'serverToClient';

/** A typed request: method name plus phantom parameter and result types. */
export interface RequestDescriptor<P, R> {
  readonly kind: 'request';
  readonly method: string;
  readonly direction: MessageDirection;
  /** Carries the types only; always undefined at run time. */
  readonly types?: (params: P) => R;
}

/** A typed notification: method name plus a phantom parameter type. */
export interface NotificationDescriptor<P> {
  readonly kind: 'notification';
  readonly method: string;
  readonly direction: MessageDirection;
  /** Carries the type only; always undefined at run time. */
  readonly types?: (params: P) => void;
}

/**
 * Who holds a dataset open. The worker keeps a count per URI and closes the file when the last
 * holder lets go; the source is for the log only.
 * - `textDocument`: a text document synced by the language client (its didOpen, minus the text).
 * - `textTab`: a text-editor tab, which also covers files over 50 MB that VS Code never syncs.
 * - `datasetView`: the Winnow dataset view (custom editor).
 * - `command`: a command that works on the file (e.g. scoring) while it runs.
 */
export type DatasetSource = 'textDocument' | 'textTab' | 'datasetView' | 'command';

/** Identifies a dataset file and who holds it. */
export interface DatasetParams {
  /** The file's URI as `vscode.Uri.toString()` writes it (scheme `file`). */
  uri: string;
  source: DatasetSource;
}

/** A dataset's schema as detected by the JSONL engine (structurally its `SchemaInfo`). */
export interface DatasetSchema {
  /** 'text' | 'alpaca' | 'dolly' | 'openai' | 'sharegpt' | 'custom' | 'unknown'. */
  kind: string;
  /** Human-readable name, e.g. "Alpaca (instruction, input, output)". */
  label: string;
  /** Detected top-level fields. */
  fields: string[];
}

/** What the worker knows about one open dataset file. */
export interface FileInfo {
  uri: string;
  /** Physical lines indexed so far (grows while indexing). */
  rowCount: number;
  /** Invalid lines among the rows validated so far (blank lines are not counted here). */
  invalidCount: number;
  /** Blank lines (empty or whitespace only) among the rows validated so far. */
  blankCount: number;
  /** Rows validated so far (each parsed once by the worker). */
  validatedRows: number;
  /** True once the line index is complete and every line has been validated. */
  indexed: boolean;
  /** File size in bytes at the last index. */
  bytes: number;
  /** Schema detected from the first valid rows; null until one valid row has been seen. */
  schema: DatasetSchema | null;
  /** The file is a pretty-printed JSON array saved under a JSONL name. */
  jsonArray: boolean;
  /**
   * 0-based line of the NUL byte that makes VS Code open the file as binary (its text editor
   * then shows nothing); absent when VS Code opens the file as text.
   */
  binaryLine?: number;
  /** The file is compressed (its magic bytes say gzip, zstd or xz), so no line can be read. */
  compression?: 'gzip' | 'zstd' | 'xz';
  /**
   * Set while the file on disk is gone or cannot be read (deleted, replaced by a folder, no
   * permission): why, in one sentence. The counts above describe the content read last.
   */
  unavailable?: string;
}

/** What the worker is doing, for the status bar. Later levels fill in the model fields. */
export type WorkerState = 'starting' | 'idle' | 'indexing' | 'loadingModel' | 'scoring' | 'error';

/** The worker's state as shown in the status bar. */
export interface WorkerStatus {
  state: WorkerState;
  /** One short line, e.g. the file being indexed or the model being loaded. */
  detail?: string;
  /** Work done so far, for indexing (bytes) and scoring (rows). */
  progress?: { done: number; total: number; unit: 'bytes' | 'rows' };
  /** The execution device in use once a model is loaded, e.g. "cpu", "cuda", "webgpu". */
  device?: string;
  /** The model in use, e.g. a Hugging Face id. */
  model?: string;
  /** The ONNX Runtime version the model runs on, e.g. "1.29.0" (the CUDA route) or "1.30.0". */
  ortVersion?: string;
  /** Every device tried for the loaded model, in order, with why it failed or was skipped. */
  deviceAttempts?: DeviceAttemptStatus[];
}

/** One device tried for a model load (the worker's DeviceAttempt, without timings). */
export interface DeviceAttemptStatus {
  device: string;
  outcome: 'ok' | 'failed' | 'skipped';
  /** Why it failed or was skipped, or `loaded`. */
  message: string;
}

/** client→worker, when a jsonl/ndjson file is opened in a text editor or the dataset view. */
export namespace DidOpenDataset {
  export const method = 'winnow/didOpenDataset';
  export const type: NotificationDescriptor<DatasetParams> = {
    kind: 'notification',
    method,
    direction: 'clientToServer',
  };
}

/** client→worker, when a holder that sent didOpenDataset closes the file. */
export namespace DidCloseDataset {
  export const method = 'winnow/didCloseDataset';
  export const type: NotificationDescriptor<DatasetParams> = {
    kind: 'notification',
    method,
    direction: 'clientToServer',
  };
}

/** Parameters of `winnow/fileInfo`. */
export interface FileInfoParams {
  uri: string;
  /** Answer only once indexing and validation have finished (or the file changed again). */
  waitForIndex?: boolean;
}

/** client→worker request: row count, invalid count, schema and progress of an open dataset. */
export namespace FileInfoRequest {
  export const method = 'winnow/fileInfo';
  export const type: RequestDescriptor<FileInfoParams, FileInfo> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** worker→client, whenever the worker's state changes (throttled while work progresses). */
export namespace StatusNotification {
  export const method = 'winnow/status';
  export const type: NotificationDescriptor<WorkerStatus> = {
    kind: 'notification',
    method,
    direction: 'serverToClient',
  };
}

/** How one ASK-LLM score column was produced (docs/scores-api.md). */
export interface ScoreColumnMeta {
  model: string;
  dtype: string;
  promptName: string;
  promptHash: string;
  answerTokens: string[];
  maxTokens: number;
  variant: 'p-yes' | 'p-yes-normalized';
  device?: string;
  /** Judge health of the last run of this scorer that ran a batch (absent before one). */
  health?: JudgeHealth;
  /** Scores imported from CLI output files (Winnow: Import Scores), not computed here. */
  imported?: ImportedScoresSource;
}

/** Where imported scores came from: the manifest of the `winnow score` / `winnow density` run. */
export interface ImportedScoresSource {
  /** The score files imported (absolute paths). */
  files: string[];
  /** ISO time of the import. */
  importedAt: string;
  /** ISO time the CLI wrote the (first) manifest. */
  createdAt?: string;
  /** The CLI's engine (`local`, `vllm`, ...); ASK-LLM only. */
  engine?: string;
  /** The engine's endpoint (origin and path), if remote. */
  endpoint?: string;
  /** `exact` or `top-k` (with `topK`): how the engine gave P(yes). */
  mode?: string;
  topK?: number;
  /** Shards of the run the files hold (1 for a whole-file or merged output). */
  shards?: number;
  /** The dataset path the CLI read (on the machine it ran on). */
  sourcePath?: string;
}

// Judge health (docs/judge.md#judge-health): measured by the scorer on the first batch of a run.

/** Mean next-token probability of one answer token over the probed rows. */
export interface TokenMass {
  /** The word as configured or as a variant, e.g. `Yes` or ` yes`. */
  readonly word: string;
  /** The token as the tokenizer spells it, e.g. `ĠYes` or `▁Yes`. */
  readonly token: string;
  readonly id: number;
  readonly mass: number;
}

/** One row's most likely next tokens. */
export interface TopTokens {
  /** The row these are the tokens of (0-based line of the file in run results). */
  readonly row: number;
  readonly tokens: readonly { readonly token: string; readonly id: number; readonly p: number }[];
}

/** What the scorer measures on the first batch of a run. */
export interface JudgeProbe {
  /** Rows measured. */
  readonly rows: number;
  /** The configured answer tokens (the answer and `answerVariants`), summed into P(yes). */
  readonly yes: readonly TokenMass[];
  /** The configured negative tokens. */
  readonly no: readonly TokenMass[];
  /** Case and space variants of the answers that are single tokens and not configured. */
  readonly yesVariants: readonly TokenMass[];
  readonly noVariants: readonly TokenMass[];
  /** The top next tokens of the first few rows. */
  readonly top: readonly TopTokens[];
}

/** What to offer the user. */
export type HealthFix =
  { readonly kind: 'addVariant'; readonly word: string } | { readonly kind: 'openPrompt' };

/** The probe with its verdict. */
export interface JudgeHealth extends JudgeProbe {
  /** Σ mass of the configured yes / no tokens, and of their unconfigured variants. */
  readonly yesMass: number;
  readonly noMass: number;
  readonly yesVariantMass: number;
  readonly noVariantMass: number;
  /** `ok`; `variant`: a variant gets much more than the configured answer; `misfit`: yes + no get little. */
  readonly status: 'ok' | 'variant' | 'misfit';
  /** One warning naming the numbers (absent when ok). */
  readonly warning?: string;
  readonly fix?: HealthFix;
}

/** Parameters of the DENSITY sketch behind a density column (docs/scores-api.md). */
export interface DensityColumnMeta {
  model: string;
  rows: number;
  buckets: number;
  hashesPerRow: number;
  bandwidth: number;
  seed: number;
  /** Scores imported from `winnow density` output files (Winnow: Import Scores). */
  imported?: ImportedScoresSource;
}

/** Flag bit of `GetColumnsResult.askllm.tokens`: the document was truncated to fit. */
export const TOKENS_TRUNCATED = 0x8000_0000;

/** Per-row score columns of one dataset file, aligned with its physical lines (docs/scores-api.md). */
export interface GetColumnsResult {
  /** Rows of the file version the columns align with. */
  rowCount: number;
  /** Changes whenever the worker re-indexes the file. */
  fileVersion: string;
  /** The ASK-LLM column; every per-row array is aligned with the rows like `data`. */
  askllm?: {
    /** P(yes), the ASK-LLM score: base64 Float32 LE, NaN = not scored. */
    data: string;
    scored: number;
    meta: ScoreColumnMeta;
    /**
     * Prompt tokens the model read for each row: base64 Uint32 LE, 0 = not scored. The high bit
     * ({@link TOKENS_TRUNCATED}) is set when the document was truncated to fit `meta.maxTokens`;
     * the count is the value without it. Absent from workers that do not send it.
     */
    tokens?: string;
    /**
     * The labelled variant P(yes) / (P(yes) + P(no)), which is not the ASK-LLM score: base64
     * Float32 LE, NaN = not scored (or both are 0). Sent only while
     * `winnow.askllm.showNormalizedVariant` is on.
     */
    normalized?: string;
    /**
     * Rows (0-based, ascending, at most 1000) that the last run could not score, and why. They
     * have no score (NaN in `data`); the next run tries them again.
     */
    failed?: { row: number; reason: string }[];
  };
  /**
   * score: base64 Float32 LE (NaN = none); rank: base64 Uint32 LE (0 = none, 1 = most isolated);
   * failed: rows (0-based, ascending, at most 1000) the last run's embedder failed on, and why.
   */
  density?: {
    score: string;
    rank: string;
    meta: DensityColumnMeta;
    failed?: { row: number; reason: string }[];
  };
  /**
   * The distilled scorer's column (docs/judge.md#distilled-scorer), once `winnow/distill` fitted
   * one for this file's current judge and DENSITY embeddings: sigmoid(x·w + b) per row (base64
   * Float32 LE, NaN = no embedding). Never the ASK-LLM score: the view shows it as "distilled".
   */
  distilled?: { data: string; scored: number; meta: DistilledColumnMeta };
  /**
   * Near-duplicate groups, once `winnow/getDuplicateGroups` computed them for this file version:
   * the group id of each row (base64 Int32 LE, −1 = in no group; ids 0..count−1 in the order of
   * each group's first row). Absent before, or after the file changed.
   */
  duplicates?: { group: string; count: number; groupedRows: number; threshold: number };
}

/** client→worker request: the score columns of a dataset (on open and after didChangeColumns). */
export namespace GetColumnsRequest {
  export const method = 'winnow/getColumns';
  export const type: RequestDescriptor<{ uri: string }, GetColumnsResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** worker→client, when scores or density of a dataset changed (throttled during a run, and at the end). */
export namespace DidChangeColumnsNotification {
  export const method = 'winnow/didChangeColumns';
  export const type: NotificationDescriptor<{
    uri: string;
    kinds: ('askllm' | 'density' | 'duplicates' | 'distilled')[];
  }> = {
    kind: 'notification',
    method,
    direction: 'serverToClient',
  };
}

// ---------------------------------------------------------------------------------------------
// The distilled scorer (docs/judge.md#distilled-scorer): a ridge model on the DENSITY embeddings
// fitted to the judge's scores of a sample, then applied to every row. Its scores travel as the
// `distilled` column of `winnow/getColumns`, never as the ASK-LLM column.
// ---------------------------------------------------------------------------------------------

/** How a distilled column was made: the fit, and the judge and embedder it stands for. */
export interface DistilledColumnMeta {
  /** The distilled scorer's own key (`distilled:` + digest): never a judge scorer's key. */
  scorerKey: string;
  /** The judge it was fitted to (model, prompt) and that judge's scorer key. */
  judge: { model: string; promptName: string; scorerKey: string };
  /** The DENSITY embedding model whose vectors it reads. */
  embedder: string;
  model: 'ridge-logit';
  dim: number;
  lambda: number;
  /** Judge-scored rows it was fitted on, and how they were drawn. */
  sample: number;
  sampling: 'density' | 'uniform';
  /** Of the sample, rows held out for the report. */
  heldOut: number;
  /** Spearman ρ against the judge on the held-out rows, and on the judged rows outside the sample. */
  heldOutSpearman: number | null;
  outOfSampleSpearman: number | null;
  /** AUC against the saved keep/drop labels (rows outside the sample), null without labels. */
  auc: number | null;
  /** Labelled rows the AUC rests on. */
  labelled: number;
  /** When it was fitted (ISO 8601). */
  createdAt: string;
}

/** Parameters of `winnow/distill`. */
export interface DistillParams {
  uri: string;
  /** Judge-scored rows to fit on (default `winnow.distill.sampleSize`, 3000; at least 10). */
  sample?: number;
  /** Seed of the sample and the held-out split (default 1). */
  seed?: number;
  /** LSP work-done token: the worker reports fitting, then rows scored, on it. */
  workDoneToken?: string | number;
}

/** What `winnow/distill` did. Cancellation is an error (`RequestCancelled`). */
export interface DistillResult {
  uri: string;
  meta: DistilledColumnMeta;
  /** Rows with a distilled score now (every row with a DENSITY embedding). */
  scored: number;
  /** Of them, rows the judge has not scored: what the distilled model adds. */
  unjudged: number;
  ms: { fit: number; score: number; total: number };
}

/**
 * client→worker request: fit the distilled scorer on the cached DENSITY embeddings to the current
 * judge's cached ASK-LLM scores of a sample drawn by DENSITY (∝ 1/score, so the fit covers the
 * space; uniformly when some rows have no DENSITY score), report held-out Spearman against the
 * judge and AUC against the sidecar's labels, score every row with an embedding (one
 * matrix-vector product per block) and keep the model beside the DENSITY results (a restart
 * scores again from it). Cancellable; progress on the work-done token. Fails with
 * `DistillErrorCodes.failed` (no judge scores, no DENSITY run, too few rows).
 */
export namespace DistillRequest {
  export const method = 'winnow/distill';
  export const type: RequestDescriptor<DistillParams, DistillResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Error codes of `winnow/distill`. */
export const DistillErrorCodes = {
  /** A user-facing problem: no judge scores or DENSITY embeddings yet, too few scored rows. */
  failed: -32030,
} as const;

/** A scorer the file was scored with, as `winnow/getScorerColumn` lists it (judge A/B). */
export interface ScorerChoice {
  /** Names the scorer: the settings fingerprint it is remembered under. */
  id: string;
  /** One line for a picker, e.g. "fixture-a (fp32) · prompt default". */
  label: string;
  meta: ScoreColumnMeta;
  /** Rows of this file with a score from it. */
  scored: number;
  /** The scorer of the current settings (the ASK-LLM column of `winnow/getColumns`). */
  current: boolean;
}

/** Parameters of `winnow/getScorerColumn`. */
export interface GetScorerColumnParams {
  uri: string;
  /** The scorer whose column to send (`ScorerChoice.id`); absent: the list only. */
  scorer?: string;
}

/** The stored scorers of a file and, when asked for, one scorer's column (docs/judge.md#judge-ab). */
export interface GetScorerColumnResult {
  rowCount: number;
  fileVersion: string;
  /** Every remembered scorer with at least one score for this file, the current one first. */
  scorers: ScorerChoice[];
  /** The column of `params.scorer` (absent when not asked for or unknown). */
  column?: {
    scorer: string;
    /** P(yes): base64 Float32 LE, NaN = not scored, aligned with the rows like `askllm.data`. */
    data: string;
    scored: number;
    meta: ScoreColumnMeta;
  };
}

/**
 * client→worker request: the scorers a file was scored with (another model, prompt or engine:
 * scores are cached per scorer), and one of their P(yes) columns, read from the score cache
 * without loading a model. The dataset view compares it with the current scorer (judge A/B).
 */
export namespace GetScorerColumnRequest {
  export const method = 'winnow/getScorerColumn';
  export const type: RequestDescriptor<GetScorerColumnParams, GetScorerColumnResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

// ---------------------------------------------------------------------------------------------
// Row facts: the worker's one scan of a dataset (parse status, text length, top-level fields,
// content hash), served to the dataset view in chunks of typed-array columns, and the saved
// keep/drop decisions matched to rows by content hash in the worker (docs/scores-api.md).
// ---------------------------------------------------------------------------------------------

/** The content a line index describes: size, modification time and inode of the file. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** `RowFactsResult.chars` value of a row with 65,535 characters or more (see `charsOverflow`). */
export const CHARS_OVERFLOW = 0xffff;
/** Most rows one `winnow/getRowFacts` answer carries. */
export const ROW_FACTS_MAX_ROWS = 262_144;

/** Parameters of `winnow/getRowFacts`. */
export interface GetRowFactsParams {
  uri: string;
  /** First row wanted: the client holds the facts of rows `0 .. from-1`. */
  from: number;
  /** At most this many rows (default and cap {@link ROW_FACTS_MAX_ROWS}). */
  maxRows?: number;
  /**
   * The `version` of the facts the client holds. The answer then starts at the first row whose
   * facts changed since (`from` in the result may be below the one asked for).
   */
  since?: string;
}

/**
 * Facts of rows `from .. from+count-1` of one version of a dataset, as columns aligned with its
 * physical lines. Only rows whose saved decisions are matched are sent, so `scanned` counts rows
 * with both.
 */
export interface RowFactsResult {
  /**
   * Names the facts: one open dataset in one worker, one version of the file, one truncation
   * (an append re-reads the old last line). Facts of two versions must not be mixed: see `from`.
   */
  version: string;
  /** The file the worker read (compare with your own reader's stamp before using the facts). */
  file: FileStamp;
  /** Lines the worker has indexed so far. */
  rowCount: number;
  /** Rows with facts so far. */
  scanned: number;
  /** Every line of the file has its facts. */
  complete: boolean;
  /** The schema the text lengths were measured with (one sample of the first lines). */
  schema: DatasetSchema | null;
  /** Top-level field names in order of first appearance: bit f of `fieldBits` is `fieldNames[f]`. */
  fieldNames: string[];
  /** First row of the columns. */
  from: number;
  /** Rows in the columns. */
  count: number;
  /**
   * Characters (code points) of each row's text as the schema extracts it, of the raw line for an
   * invalid row: base64 Uint16 LE, {@link CHARS_OVERFLOW} = see `charsOverflow`.
   */
  chars: string;
  /** `[row, chars]` of the rows whose `chars` value is {@link CHARS_OVERFLOW}. */
  charsOverflow: [number, number][];
  /**
   * Parse status: base64 Uint8, 0 = a valid row, else 1 + the index of its kind in
   * syntax, not-object, empty (a blank line), invalid-utf8, python-repr, too-long.
   */
  errors: string;
  /** Top-level fields of each row as bits: base64, `fieldBitsBytes` bytes per row, LE. */
  fieldBits: string;
  fieldBitsBytes: 1 | 2 | 4;
  /**
   * The saved decisions (`winnow/setSavedDecisions` with this `id`) these rows matched by content
   * hash: kept and dropped rows, base64 Uint32 LE, ascending. Absent when none are set.
   */
  saved?: { id: string; keep: string; drop: string };
}

/** client→worker request: a chunk of the row facts of a dataset (docs/scores-api.md). */
export namespace GetRowFactsRequest {
  export const method = 'winnow/getRowFacts';
  export const type: RequestDescriptor<GetRowFactsParams, RowFactsResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** What `winnow/didChangeRowFacts` says. */
export interface RowFactsChange {
  uri: string;
  version: string;
  scanned: number;
  complete: boolean;
}

/**
 * worker→client, when the row facts of a dataset grew (at most every 100 ms while the scan runs),
 * were completed, or changed version (the file changed on disk). Clients then ask again.
 */
export namespace DidChangeRowFactsNotification {
  export const method = 'winnow/didChangeRowFacts';
  export const type: NotificationDescriptor<RowFactsChange> = {
    kind: 'notification',
    method,
    direction: 'serverToClient',
  };
}

/** Keep/drop decisions by content hash (the sidecar's lists), with version-1 ones apart. */
export interface DecisionHashes {
  keep: string[];
  drop: string[];
  /** Decisions keyed by content hash version 1 (SHA-256) that match no row yet. */
  legacy?: { keep: string[]; drop: string[] };
}

/** Parameters of `winnow/setSavedDecisions`. */
export interface SetSavedDecisionsParams extends DecisionHashes {
  uri: string;
  /** Chosen by the client; row facts name the saved decisions they matched by it. */
  id: string;
}

/**
 * client→worker request: the saved decisions of a dataset (from its sidecar or a hot-exit
 * backup), matched to rows by content hash as the scan goes; they stay set when the file changes
 * and are matched again to its new rows. Version-1 hashes are matched by hashing the rows that way
 * too (a slower pass, only while such decisions exist).
 */
export namespace SetSavedDecisionsRequest {
  export const method = 'winnow/setSavedDecisions';
  export const type: RequestDescriptor<SetSavedDecisionsParams, null> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Parameters of `winnow/decisionHashes`. */
export interface DecisionHashesParams {
  uri: string;
  /** The `version` of the row facts the row numbers refer to. */
  version: string;
  /** Kept and dropped rows: base64 Uint32 LE. */
  keep: string;
  drop: string;
}

/**
 * client→worker request: the decisions to save, by content hash: the given rows' hashes, plus the
 * saved decisions that match no row of the file (kept, never forgotten). Identical lines share a
 * hash; when they disagree the last one wins. Answers for the facts version the rows refer to, or
 * the one before it (a rewrite on disk the client has not followed yet); for any other version it
 * fails with {@link WorkerErrorCodes.factsVersionGone}.
 */
export namespace DecisionHashesRequest {
  export const method = 'winnow/decisionHashes';
  export const type: RequestDescriptor<DecisionHashesParams, DecisionHashes> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Parameters of `winnow/score`. */
export interface ScoreParams {
  /** The dataset to score; it must be held open (e.g. with source `command`). */
  uri: string;
  /**
   * LSP work-done token chosen by the client: the worker reports `$/progress` begin / report /
   * end on it (model download and load, then rows done of total with an ETA).
   */
  workDoneToken?: string | number;
  /**
   * The remote engine's API key (`winnow.askllm.engine` other than `local`), from the host's
   * SecretStorage. The worker keeps it in memory for the engine's requests only; it is never
   * logged, stored or sent anywhere else.
   */
  apiKey?: string;
}

/** What one `winnow/score` run did. Cancellation is a normal result (`cancelled: true`). */
export interface ScoreResult {
  uri: string;
  /**
   * Rows (physical lines) of the file when the run ended: rows that changed on disk during the
   * run are scored by it, so the counts describe the file as it is now.
   */
  rows: number;
  /** Rows with a score to compute: lines that parse as JSON objects. */
  scorable: number;
  /** Rows that have a score now (cache hits included). */
  scored: number;
  /** Rows whose score was already in the cache when the run started. */
  cached: number;
  /**
   * Rows scored by the model in this run. When the file changed during the run, rows scored
   * before the change and gone since are counted too.
   */
  newlyScored: number;
  cancelled: boolean;
  model: string;
  dtype: string;
  device: string;
  promptName: string;
  /** Wall time of the run, model loading included. */
  elapsedMs: number;
  /** Time spent loading the model (0 when it was already loaded). */
  loadMs: number;
  /** Rows that could not be scored (the tokenizer or the model failed on them); not cached. */
  failed: number;
  /** The first (at most 20) of them: 1-based line and the reason. */
  failures: { line: number; reason: string }[];
  /** Judge health measured on the run's first batch (absent when every row was cached). */
  health?: JudgeHealth;
}

/** client→worker request: score every row of a dataset with ASK-LLM (cancellable; work-done progress). */
export namespace ScoreRequest {
  export const method = 'winnow/score';
  export const type: RequestDescriptor<ScoreParams, ScoreResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Error codes the worker uses in JSON-RPC error responses to custom requests. */
export const WorkerErrorCodes = {
  /** The request names a dataset that no holder has opened. */
  datasetNotOpen: -32001,
  /** The workspace is not trusted: the worker does not load models there. */
  untrusted: -32002,
  /** The model could not be loaded (missing folder or files, offline cache miss, no device). */
  modelLoad: -32003,
  /** The prompt template or answer settings are invalid (e.g. a multi-token answer). */
  badScorerSettings: -32004,
  /** The dataset file is gone from disk or cannot be read (a run on it stopped or did not start). */
  datasetUnavailable: -32005,
  /** `winnow/decisionHashes` names row facts of a version the worker no longer holds. */
  factsVersionGone: -32006,
  /** `winnow/importScores`: a file that is not a score file, or scores of another dataset. */
  badScoreFile: -32007,
} as const;

// ---------------------------------------------------------------------------------------------
// Import Scores (docs/scores-api.md#importing-score-files): CLI or shard outputs into the caches.

/** Parameters of `winnow/importScores`. */
export interface ImportScoresParams {
  /** The dataset the scores are for; it must be held open (e.g. with source `command`). */
  uri: string;
  /** Score files of `winnow score`, `winnow density` or `winnow merge` (absolute paths). */
  files: string[];
}

/** What one import of one kind did (ASK-LLM or DENSITY). */
export interface ImportSummary {
  kind: 'askllm' | 'density';
  files: string[];
  /** Rows in the files. */
  records: number;
  /** Rows whose content hash matches a row of the dataset (their scores are imported). */
  matched: number;
  /** Rows whose content hash matches no row of the dataset: counted, never attached to a row. */
  unmatched: number;
  /** Matched rows the files mark `error` (no score: nothing is imported for them). */
  errors: number;
  /** Matched ASK-LLM rows with only an upper bound (`bound`), stored as bounds. */
  bounds: number;
  /** Lines of the dataset that have a score of this import now. */
  linesScored: number;
  /** The model, and for ASK-LLM the engine and prompt, from the manifest. */
  model: string;
  engine?: string;
  promptName?: string;
  promptHash?: string;
  /** The manifest's scorer key (ASK-LLM): the cache key of the imported scores. */
  scorerKey?: string;
  /**
   * DENSITY: the import replaced DENSITY computed here for the file (imported DENSITY replaces
   * the stored results; Compute Density replaces an import in turn).
   */
  replacedComputed?: boolean;
}

/** What `winnow/importScores` did. */
export interface ImportScoresResult {
  uri: string;
  imports: ImportSummary[];
}

/** client→worker request: import CLI score files for a dataset (ASK-LLM and DENSITY). */
export namespace ImportScoresRequest {
  export const method = 'winnow/importScores';
  export const type: RequestDescriptor<ImportScoresParams, ImportScoresResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** `initializationOptions` the client passes to the worker. */
export interface WorkerInitializationOptions {
  /**
   * `vscode.workspace.isTrusted` when the worker started. The worker always parses files (that is
   * safe), but in an untrusted workspace it must never load a model named by workspace settings.
   * Absent means false: an editor over stdio sets it to true to let the worker load models
   * (scoring and DENSITY).
   */
  workspaceTrusted: boolean;
  /** `winnow.worker.logLevel` at start, so the first lines already honour it. */
  logLevel?: LogLevel;
  /**
   * The extension's global storage folder (`ExtensionContext.globalStorageUri`): the crash-safe
   * ASK-LLM score cache lives here. Without it the worker uses the per-user cache folder
   * (`$XDG_CACHE_HOME/winnow`, `~/.cache/winnow`; src/worker/cacheDir.ts).
   */
  storagePath?: string;
  /**
   * Where Hugging Face models are downloaded (`<globalStorage>/models`), never the extension.
   * Default: `<storagePath>/models`.
   */
  modelCacheDir?: string;
  /** Workspace folder paths, to resolve relative prompt-file settings. */
  workspaceFolders?: string[];
  /**
   * Settings for clients without VS Code (editors over stdio): the `winnow` section, the same
   * keys as package.json's `winnow.*` settings without the prefix, e.g.
   * `{ diagnostics: { maxProblems: 200 } }`. What `workspace/configuration` answers for the
   * section is laid over it. VS Code's client leaves it out.
   */
  winnow?: WinnowSettingsSection;
}

// ---------------------------------------------------------------------------------------------
// DENSITY: compute the sketch, its progress, and sampling. The density column itself travels in
// `winnow/getColumns` above.
// ---------------------------------------------------------------------------------------------

/** Parameters of `winnow/computeDensity`. */
export interface ComputeDensityParams {
  uri: string;
  /**
   * The remote embedding engine's API key (`winnow.density.engine` other than `local`), from the
   * host's SecretStorage. The worker keeps it in memory for the engine's requests only; it is
   * never logged, stored or sent anywhere else.
   */
  apiKey?: string;
}

/** Sketch parameters as reported to the host. */
export interface DensitySketchParams {
  rows: number;
  buckets: number;
  hashesPerRow: number;
  bandwidth: number;
  seed: number;
}

/** What a finished DENSITY run reports. */
export interface ComputeDensityResult {
  uri: string;
  /** Rows scored (valid JSON rows). */
  rows: number;
  /** Invalid lines, which get no score. */
  invalidRows: number;
  /** Distinct rows the model embedded in this run (the rest came from the cache). */
  embedded: number;
  /** Rows whose embedding came from the cache. */
  cachedRows: number;
  /** Rows cut to the truncation length before embedding. */
  truncatedRows: number;
  /** Valid rows the embedder failed on: they get no score, and nothing is cached for them. */
  failedRows: number;
  /** The first (at most 20) of them: 1-based line and the reason. */
  failures: { line: number; reason: string }[];
  model: string;
  /** How a vector is made, e.g. "last_hidden_state → mean → L2". */
  pipeline: string;
  /** Device of the embedder, and of the hash graph. */
  device: string;
  hasherDevice: string;
  dim: number;
  /** Embedding truncation in tokens. */
  maxTokens: number;
  params: DensitySketchParams;
  minScore: number;
  maxScore: number;
  /** Files written (the sketch can be merged with other shards' sketches). */
  sketchPath: string;
  resultsPath: string;
  embeddingPath: string;
  ms: { embed: number; sketch: number; total: number };
}

/** client→worker request: embed, sketch, score and rank a dataset (cancellable; progress below). */
export namespace ComputeDensityRequest {
  export const method = 'winnow/computeDensity';
  export const type: RequestDescriptor<ComputeDensityParams, ComputeDensityResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Progress of a DENSITY run. */
export interface DensityProgressParams {
  uri: string;
  phase: 'loading' | 'embedding' | 'sketching' | 'scoring' | 'saving';
  done: number;
  total: number;
  /** Embedding: rows served from the cache so far. */
  cached?: number;
  detail?: string;
}

/** worker→client, during `winnow/computeDensity` (throttled, ≤ 5/s). */
export namespace DensityProgressNotification {
  export const method = 'winnow/densityProgress';
  export const type: NotificationDescriptor<DensityProgressParams> = {
    kind: 'notification',
    method,
    direction: 'serverToClient',
  };
}

/** Parameters of `winnow/sampleByDensity`: a count or a percentage of the scored rows, and a seed. */
export interface SampleByDensityParams {
  uri: string;
  target: { count: number } | { percent: number };
  /** uint32 seed of the sampling keys. */
  seed: number;
}

/** The sample: line numbers (0-based, ascending) chosen with probability ∝ 1/score. */
export interface SampleByDensityResult {
  lines: number[];
  /** Rows that had a score and could be chosen. */
  eligible: number;
  seed: number;
}

/** client→worker request: an inverse-propensity DENSITY sample (Efraimidis–Spirakis keys). */
export namespace SampleByDensityRequest {
  export const method = 'winnow/sampleByDensity';
  export const type: RequestDescriptor<SampleByDensityParams, SampleByDensityResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Error codes of the DENSITY requests. */
export const DensityErrorCodes = {
  /** A user-facing problem (no storage, model not found, no scores yet, bad sample size…). */
  failed: -32010,
} as const;

// ---------------------------------------------------------------------------------------------
// The embedding map and near-duplicate groups (docs/map.md), from the embeddings DENSITY cached.
// Both need a DENSITY run first; both are cached per embedder configuration and row contents.
// ---------------------------------------------------------------------------------------------

/** Parameters of `winnow/getLayout`. */
export interface GetLayoutParams {
  uri: string;
}

/** The 2-D layout of a dataset's rows, aligned with its physical lines. */
export interface GetLayoutResult {
  uri: string;
  /** Rows (physical lines) the columns cover. */
  rowCount: number;
  /** The file version the rows belong to (as `GetColumnsResult.fileVersion`). */
  fileVersion: string;
  /** Per row x and y in [−1, 1]: base64 Float32 LE, NaN = the row has no embedding. */
  x: string;
  y: string;
  /** Rows with a position. */
  placed: number;
  /** Distinct contents laid out, and how many of them UMAP laid out itself (landmarks). */
  items: number;
  landmarks: number;
  seed: number;
  /** The embedding model of the DENSITY run the layout is made from. */
  model: string;
  /** True when the layout came from the cache. */
  cached: boolean;
  ms: { neighbours: number; layout: number; placing: number; total: number };
}

/**
 * client→worker request: the 2-D map of a dataset's DENSITY embeddings (computed with progress
 * on `winnow/mapProgress`, cancellable; cached). Fails with `MapErrorCodes.noEmbeddings` before
 * any DENSITY run.
 */
export namespace GetLayoutRequest {
  export const method = 'winnow/getLayout';
  export const type: RequestDescriptor<GetLayoutParams, GetLayoutResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Parameters of `winnow/getDuplicateGroups`. */
export interface GetDuplicateGroupsParams {
  uri: string;
  /** Cosine threshold; default `winnow.duplicates.threshold` (0.95). */
  threshold?: number;
}

/** Near-duplicate groups of a dataset's rows (exact duplicates included). */
export interface GetDuplicateGroupsResult {
  uri: string;
  rowCount: number;
  fileVersion: string;
  threshold: number;
  /** Per row group id: base64 Int32 LE, −1 = in no group; ids follow each group's first row. */
  group: string;
  count: number;
  groupedRows: number;
  /** Distinct contents compared by embedding, and those without one (grouped by hash only). */
  embeddedItems: number;
  unembeddedItems: number;
  /** How the DENSITY sketch's rows were used (docs/map.md#near-duplicates). */
  plan: {
    bandWidth: number;
    bands: number;
    checkRows: number;
    checkMin: number;
    pairRecall: number;
  };
  /** Candidate pairs, cosines computed, pairs joined; absent when cached. */
  stats?: { candidates: number; verified: number; joined: number };
  cached: boolean;
  ms: { hash: number; group: number; total: number };
}

/**
 * client→worker request: group rows whose DENSITY embeddings have cosine ≥ the threshold, from
 * candidates of the DENSITY sketch's LSH buckets, each verified by exact cosine (progress on
 * `winnow/mapProgress`, cancellable; cached). Afterwards `winnow/getColumns` carries the
 * `duplicates` column and `winnow/didChangeColumns` says so.
 */
export namespace GetDuplicateGroupsRequest {
  export const method = 'winnow/getDuplicateGroups';
  export const type: RequestDescriptor<GetDuplicateGroupsParams, GetDuplicateGroupsResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Progress of `winnow/getLayout` or `winnow/getDuplicateGroups`. */
export interface MapProgressParams {
  uri: string;
  task: 'layout' | 'duplicates';
  phase: 'loading' | 'neighbours' | 'layout' | 'placing' | 'hashing' | 'grouping' | 'saving';
  done: number;
  total: number;
}

/** worker→client, during `winnow/getLayout` and `winnow/getDuplicateGroups` (throttled, ≤ 5/s). */
export namespace MapProgressNotification {
  export const method = 'winnow/mapProgress';
  export const type: NotificationDescriptor<MapProgressParams> = {
    kind: 'notification',
    method,
    direction: 'serverToClient',
  };
}

/** Error codes of the map requests. */
export const MapErrorCodes = {
  /** There are no DENSITY embeddings for the file yet (run Compute Density first). */
  noEmbeddings: -32020,
  /** Any other user-facing problem. */
  failed: -32021,
} as const;
