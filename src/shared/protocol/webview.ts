/**
 * The host <-> webview protocol of the dataset view (viewType `winnow.datasetView`).
 *
 * Shape of the conversation:
 *  1. The webview starts and sends `ready`; the host answers `init` (file, row count so far,
 *     schema, page size, where to start).
 *  2. The webview PULLS rows in pages with `rows/get`; it never holds the whole file.
 *  3. The host PUSHES only small notifications: index progress, file invalidations, stats, reveal.
 *
 * Row index = 0-based physical line of the file; the UI shows index + 1 as the line number.
 * A `generation` number names one version of the file's content: it changes when the file
 * changes on disk, and rows of an older generation must be thrown away.
 *
 * Messages travel in the envelope of ./messageHandler. Pure types: no DOM, no Node, no vscode.
 */
import type { MessageHandler } from './messageHandler';

/** The view's identifier, as declared in package.json `contributes.customEditors`. */
export const DATASET_VIEW_TYPE = 'winnow.datasetView';

/** Most rows one `rows/get` may ask for. */
export const MAX_ROWS_PER_REQUEST = 1000;

/** Why a line is not a usable JSON object (mirrors the JSONL engine's ParseErrorKind). */
export type RowErrorKind =
  'syntax' | 'not-object' | 'empty' | 'invalid-utf8' | 'python-repr' | 'too-long' | (string & {});

/** A parse problem of one row, ready to show as a badge. */
export interface RowError {
  readonly kind: RowErrorKind;
  /** Human-readable reason, one line. */
  readonly message: string;
  /** 1-based column of the problem, when known. */
  readonly column?: number;
}

/**
 * What the worker's score columns say about one row: the facts of the text editor's hover (the
 * ASK-LLM P(yes), its standing in the file, the prompt tokens, DENSITY), for the grid's cells
 * and tooltips and the detail panel. Each is absent when unknown.
 */
export interface RowScores {
  /** ASK-LLM score (raw P(yes)) of the row, when scored. */
  readonly score?: number;
  /**
   * The distilled scorer's score (docs/judge.md#distilled-scorer), NOT the ASK-LLM score: a ridge
   * model on the DENSITY embedding fitted to the judge; shown and exported as "distilled" only.
   */
  readonly distilled?: number;
  /** Rank of the score among the file's scored rows (1 = highest; ties share the best rank). */
  readonly scoreRank?: number;
  /** Percentile rank 0–100 of the score in the file (share of scored rows below, ties half). */
  readonly scorePercentile?: number;
  /**
   * The labelled variant P(yes) / (P(yes) + P(no)), NOT the ASK-LLM score; only while
   * `winnow.askllm.showNormalizedVariant` is on.
   */
  readonly normalized?: number;
  /** Prompt tokens the ASK-LLM model read for the row (template + text), when scored. */
  readonly tokens?: number;
  /** The row's text was truncated to fit the scorer's `maxTokens`. */
  readonly tokensTruncated?: boolean;
  /** Why the last ASK-LLM run could not score the row (it then has no score). */
  readonly scoreFailed?: string;
  /**
   * P(yes) of the second scorer of a judge A/B comparison (ViewInfo.comparison), when it scored
   * the row: another judge's score, never this file's ASK-LLM score.
   */
  readonly compareScore?: number;
  /** DENSITY score of the row (kernel density estimate), when computed. */
  readonly density?: number;
  /** DENSITY rank (1 = most isolated), when computed. */
  readonly densityRank?: number;
  /** Why the last DENSITY run's embedder failed on the row (it then has no density score). */
  readonly densityFailed?: string;
  /** The row's near-duplicate group (0-based id) and its size in rows, once groups are found. */
  readonly duplicateGroup?: number;
  readonly duplicateCount?: number;
}

/** What the grid shows for one row. */
export interface RowView extends RowScores {
  /** 0-based line index in the file. */
  readonly index: number;
  /** Text extracted with the detected schema (or the raw line for an invalid row), truncated. */
  readonly preview: string;
  /** Whether `preview` was cut short. */
  readonly truncated: boolean;
  /** Length of the full extracted text (raw line for an invalid row), in characters. */
  readonly chars: number;
  /** Length of the raw line, in bytes (without the line break). */
  readonly bytes: number;
  /** Top-level field names of the row's object; empty for an invalid row. */
  readonly fields: readonly string[];
  /** Set when the line is not a valid JSON object. */
  readonly error?: RowError;
  /** The row's keep/drop decision; absent when undecided. */
  readonly decision?: Decision;
}

/** A keep/drop decision on a row. */
export type Decision = 'keep' | 'drop';

/** A decision to apply: `unset` clears it. */
export type DecisionValue = Decision | 'unset';

/** The detected record format of the file. */
export interface SchemaView {
  /** Machine-readable kind, e.g. `alpaca`, `openai`, `text`, `unknown`. */
  readonly kind: string;
  /** Short label for the header, e.g. "Alpaca (instruction/input/output)". */
  readonly label: string;
  /** Top-level fields seen in the sample used for detection. */
  readonly fields: readonly string[];
}

/** How far the background line index has come. */
export interface IndexState {
  /** Rows known so far (grows while indexing). */
  readonly rowCount: number;
  /** Whether indexing finished (then `rowCount` is the file's total). */
  readonly indexed: boolean;
  readonly bytesIndexed: number;
  readonly totalBytes: number;
}

/** Counts found by the host's background check of every row. */
export interface RowStats {
  /** Rows checked so far. */
  readonly checkedRows: number;
  /** Invalid rows among the checked ones (blank lines are counted apart). */
  readonly invalidRows: number;
  /** Blank lines (empty or whitespace only) among the checked ones. */
  readonly blankRows: number;
  /** Whether every row has been checked (then `invalidRows` is final). */
  readonly done: boolean;
}

/** UI state the webview persists with `setState` and restores after being hidden. */
export interface PersistedViewState {
  /** Fractional position (in the current view) of the row at the top of the viewport. */
  readonly topRow: number;
  /** The focused position in the current view. */
  readonly focusedRow: number;
  /** The sort, filter and search in effect (re-applied when the view starts again). */
  readonly query?: ViewQuery;
  /** Column widths in px by column id (absent: default width). */
  readonly columnWidths?: Readonly<Record<string, number>>;
  /** Ids of hidden columns. */
  readonly hiddenColumns?: readonly string[];
  /** Whether the detail panel is open, and its width in px. */
  readonly detailOpen?: boolean;
  readonly detailWidth?: number;
  /** Whether the filter and histogram panel is open. */
  readonly filtersOpen?: boolean;
  /** Whether the map panel is open. */
  readonly mapOpen?: boolean;
}

// ---------------------------------------------------------------------------------------------
//#region views: sort, filter and search over the whole file, computed by the host

/** What a view can be sorted by. `uncertain`: |P(yes) - threshold| ascending. */
export type SortKey = 'line' | 'score' | 'density' | 'length' | 'uncertain';

/** An inclusive numeric range; a missing end is open. */
export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
}

/** Which rows a view keeps, by the row's columns. Every present part must match. */
export interface ViewFilter {
  /** ASK-LLM score range (unscored rows never match a score range). */
  readonly score?: NumberRange;
  /** DENSITY score range (rows without density never match). */
  readonly density?: NumberRange;
  /** Decisions to include; absent or empty: any. */
  readonly decisions?: readonly ('keep' | 'drop' | 'undecided')[];
  /** `only`: rows that are not valid JSON objects; `exclude`: only valid rows. */
  readonly errors?: 'only' | 'exclude';
  /** Rows that have (`present: true`) or lack a top-level field. */
  readonly field?: { readonly name: string; readonly present: boolean };
  /**
   * Judge A/B: only the rows the two scorers of ViewInfo.comparison disagree on (one keeps,
   * the other drops, at the comparison's thresholds). Matches nothing without a comparison.
   */
  readonly flips?: boolean;
  /** `grouped`: rows in a near-duplicate group; `ungrouped`: rows in none. */
  readonly duplicates?: 'grouped' | 'ungrouped';
  /**
   * Rows inside a region drawn on the map (`map/region/set` registered it with the host under
   * `id`); `rows` is its size, for the scope line. A region the host no longer has matches nothing.
   */
  readonly region?: { readonly id: number; readonly rows: number };
}

/** A text search over the whole file (the schema's text; the raw line for invalid rows). */
export interface ViewSearch {
  readonly text: string;
  readonly regex: boolean;
  readonly caseSensitive: boolean;
}

/** Everything that defines a view. The default (line order, no filter, no search) is the file. */
export interface ViewQuery {
  readonly sort: SortKey;
  readonly descending: boolean;
  /** The P(yes) threshold of the `uncertain` order (default 0.5). */
  readonly threshold?: number;
  readonly filter?: ViewFilter;
  readonly search?: ViewSearch;
}

/** The default view: every row in file order. */
export const DEFAULT_QUERY: ViewQuery = { sort: 'line', descending: false };

/** Counts of a histogram: `total` over every row with a value, `inView` over the view's rows. */
export interface Histogram {
  /** Lower edge of the first bin and upper edge of the last. */
  readonly min: number;
  readonly max: number;
  readonly total: readonly number[];
  readonly inView: readonly number[];
  /** Rows with a value (scored rows, rows with density). */
  readonly count: number;
}

/** Keep/drop counts over the whole file. */
export interface DecisionCounts {
  readonly keep: number;
  readonly drop: number;
  readonly undecided: number;
}

/**
 * Where imported scores came from (Winnow: Import Scores, or a score file picked up beside the
 * dataset): the manifest of the `winnow score` / `winnow density` run. Paths are shown as names.
 */
export interface ImportedSourceView {
  /** The score files imported (absolute paths). */
  readonly files: readonly string[];
  readonly importedAt: string;
  /** When the CLI wrote the manifest. */
  readonly createdAt?: string;
  readonly engine?: string;
  readonly endpoint?: string;
  readonly mode?: string;
  readonly topK?: number;
  readonly shards?: number;
}

/** Provenance of a score column, for tooltips and the detail panel. */
export interface ScoreSourceView {
  readonly askllm?: {
    readonly model: string;
    readonly dtype: string;
    readonly promptName: string;
    readonly promptHash: string;
    /** Answer tokens whose probabilities are summed into P(yes), e.g. ["▁yes"]. */
    readonly answerTokens: readonly string[];
    /** Longest prompt in tokens; longer documents are truncated. */
    readonly maxTokens: number;
    readonly variant: string;
    readonly scored: number;
    /** Rows the last run could not score (absent: none). */
    readonly failed?: number;
    readonly device?: string;
    /** Judge health of the last run that measured it: `ok`, or the warning in words. */
    readonly health?: { readonly status: 'ok' | 'variant' | 'misfit'; readonly warning?: string };
    /** Set when the scores were imported from CLI outputs, not computed here. */
    readonly imported?: ImportedSourceView;
  };
  /** Judge A/B: the second scorer (its P(yes) is `RowScores.compareScore`). */
  readonly compare?: { readonly label: string; readonly scored: number };
  /** The distilled scorer (its score is `RowScores.distilled`): how it was fitted. */
  readonly distilled?: {
    /** "fit on 3,000 judge scores, Spearman ρ=0.93". */
    readonly provenance: string;
    readonly scorerKey: string;
    readonly judgeModel: string;
    readonly embedder: string;
    readonly scored: number;
    readonly sample: number;
    readonly heldOutSpearman: number | null;
    readonly auc: number | null;
  };
  readonly density?: {
    readonly model: string;
    readonly buckets: number;
    readonly hashesPerRow: number;
    readonly bandwidth: number;
    readonly seed: number;
    readonly rows: number;
    /** Set when the scores were imported from `winnow density` outputs. */
    readonly imported?: ImportedSourceView;
  };
  /** Near-duplicate groups, once found: how many, the rows in them, the cosine threshold. */
  readonly duplicates?: {
    readonly count: number;
    readonly groupedRows: number;
    readonly threshold: number;
  };
}

/** A two-sided bootstrap interval [lo, hi]. */
export type IntervalView = readonly [number, number];

/**
 * The calibration of the ASK-LLM judge against the user's keep/drop labels (docs/judge.md): the
 * labels are the scored rows the user decided (rows decided by a bulk rule in this session are
 * not labels). Numbers that are undefined (one class only) are null.
 */
export interface CalibrationView {
  readonly labelled: number;
  readonly keep: number;
  readonly drop: number;
  readonly auc: number | null;
  readonly targetPrecision: number;
  /** The lowest score reaching the target precision, else the best-F1 threshold (`rule`). */
  readonly threshold: number | null;
  readonly rule: 'targetPrecision' | 'bestF1' | null;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly kappa: number | null;
  /** Labelled rows at the threshold: kept / dropped rows predicted keep (at or above it), and the rest. */
  readonly confusion: {
    readonly tp: number;
    readonly fp: number;
    readonly fn: number;
    readonly tn: number;
  } | null;
  readonly bestF1: { readonly threshold: number; readonly f1: number | null } | null;
  /** 95% bootstrap intervals (seeded, reproducible). */
  readonly intervals?: {
    readonly auc?: IntervalView;
    readonly threshold?: IntervalView;
    readonly precision?: IntervalView;
    readonly recall?: IntervalView;
    readonly kappa?: IntervalView;
    readonly replicates: number;
    readonly confidence: number;
  };
  /** The precision-recall curve, highest threshold first (at most 200 points). */
  readonly curve: readonly {
    readonly threshold: number;
    readonly precision: number;
    readonly recall: number;
  }[];
  /** Scored rows of the file at or above the threshold (what "Keep rows at or above" would cover). */
  readonly atOrAbove: number;
  /** Few labels, target out of reach, no labels of one kind: in words. */
  readonly warnings: readonly string[];
}

/** A scorer the file was scored with (judge A/B picker). */
export interface ScorerChoiceView {
  readonly id: string;
  readonly label: string;
  /** Rows of this file it scored. */
  readonly scored: number;
  /** The scorer of the current settings: the ASK-LLM column. */
  readonly current: boolean;
}

/** Keep↔drop flips of two scorers at one pair of thresholds. */
export interface FlipsView {
  readonly thresholdA: number;
  readonly thresholdB: number;
  readonly keptByAOnly: number;
  readonly keptByBOnly: number;
  readonly flips: number;
  readonly flipRate: number;
}

/**
 * Judge A/B (docs/judge.md#judge-ab): the current ASK-LLM scorer (A) against a second stored
 * scorer (B), over the rows both scored.
 */
export interface ComparisonView {
  readonly scorerA: ScorerChoiceView;
  readonly scorerB: ScorerChoiceView;
  readonly rows: number;
  readonly spearman: number | null;
  readonly kendall: number | null;
  /** At each scorer's calibrated threshold (absent until both have one). */
  readonly atThresholds?: FlipsView;
  /** When both keep the same share of rows. */
  readonly atKeepRate: FlipsView & { readonly keepRate: number };
  /** What the "flips" filter uses: the calibrated thresholds when both have one. */
  readonly basis: 'thresholds' | 'keepRate';
  /** Each scorer's AUC against the user's labels (null: too few labels of a kind). */
  readonly aucA: number | null;
  readonly aucB: number | null;
  /** Labelled rows both scored. */
  readonly labelled: number;
}

/** The state of the view a panel shows. */
export interface ViewInfo {
  /** Names this view; rows are requested by (viewId, position). */
  readonly viewId: number;
  readonly query: ViewQuery;
  /** Rows in the view (grows with indexing for the default view). */
  readonly count: number;
  /** Rows in the file. */
  readonly total: number;
  /** Whether every row was considered (false while the file is still being read). */
  readonly complete: boolean;
  /** One line describing the scope, e.g. "12,345 of 1,000,000 rows · score 0.5–1 · sorted by score ↓". */
  readonly scope: string;
  readonly histograms: { readonly score?: Histogram; readonly density?: Histogram };
  readonly decisions: DecisionCounts;
  readonly sources: ScoreSourceView;
  /** Top-level fields seen in the file (for the field filter). */
  readonly fields: readonly string[];
  /** Whether the document can be edited (decisions); false in Restricted Mode or while reading. */
  readonly editable: boolean;
  /** Set when the view's inputs (scores, decisions) changed since it was computed. */
  readonly stale?: boolean;
  /** The judge's calibration against the labels, once the file has ASK-LLM scores. */
  readonly calibration?: CalibrationView;
  /** The scorers this file was scored with (judge A/B; absent: none stored). */
  readonly scorers?: readonly ScorerChoiceView[];
  /** The judge A/B comparison, once a second scorer is chosen (`compare/set`). */
  readonly comparison?: ComparisonView;
}

/** The rows a bulk decision applies to. Positions are in the view `viewId`. */
export type DecisionTarget =
  | { readonly kind: 'positions'; readonly ranges: readonly (readonly [number, number])[] }
  | { readonly kind: 'view' }
  | { readonly kind: 'topPercent'; readonly percent: number }
  | { readonly kind: 'densitySample'; readonly count: number; readonly seed?: number }
  /** Rows by line index (a selection drawn on the map). */
  | { readonly kind: 'lines'; readonly lines: readonly number[] }
  /**
   * "Keep one per group": in every near-duplicate group keep one row (the highest ASK-LLM score,
   * or the first row) and drop the others, as one edit. The decision value is ignored.
   */
  | { readonly kind: 'onePerGroup'; readonly keep: 'best' | 'first' }
  /**
   * The view's scored rows at or above the calibrated threshold (ViewInfo.calibration), but for
   * the labelled rows, which keep the user's decision.
   */
  | { readonly kind: 'calibratedThreshold' };

/** One example in full, for the detail panel. */
export interface RowDetail extends RowScores {
  readonly index: number;
  /** The schema's text (the raw line for an invalid row), possibly cut at `textLimit`. */
  readonly text: string;
  readonly textTruncated: boolean;
  /** Chat turns when the row is OpenAI `messages` or ShareGPT `conversations`. */
  readonly turns?: readonly { readonly role: string; readonly content: string }[];
  /** The row pretty-printed as JSON (the raw line when it is not valid JSON), possibly cut. */
  readonly raw: string;
  readonly rawTruncated: boolean;
  readonly chars: number;
  readonly bytes: number;
  readonly fields: readonly string[];
  readonly error?: RowError;
  readonly decision?: Decision;
  readonly sources: ScoreSourceView;
  /** The other rows of the row's near-duplicate group (at most 50, file order). */
  readonly duplicates?: {
    readonly group: number;
    readonly count: number;
    readonly rows: readonly {
      readonly index: number;
      readonly preview: string;
      readonly score?: number;
      readonly decision?: Decision;
    }[];
  };
}

//#endregion

// ---------------------------------------------------------------------------------------------
//#region webview -> host

/** webview -> host, request, once after the webview script starts (again after every reload); answered by `init`. */
export interface ReadyRequest {
  readonly type: 'ready';
  /** The top row of the saved view state, if any: the host sends that row's page with `init`. */
  readonly topRow?: number;
}

/** webview -> host, request, whenever the grid needs rows it has not cached; answered by `rows`. */
export interface RowsRequest {
  readonly type: 'rows/get';
  /** The generation the webview believes current (a mismatch is answered with current rows). */
  readonly generation: number;
  /** The view the positions refer to (0 or absent: the default view, position = line). */
  readonly viewId?: number;
  /** First position wanted. */
  readonly start: number;
  /** How many rows (at most {@link MAX_ROWS_PER_REQUEST}); the reply is clipped at the end. */
  readonly count: number;
}

/** webview -> host, event, when the focused row changes (debounced), so host commands act on it. */
export interface FocusChangedEvent {
  readonly type: 'focus/didChange';
  /** The focused position in the view `viewId`. */
  readonly row: number;
  readonly viewId?: number;
}

/** webview -> host, request, when the user changes sort, filter or search; answered by `view`. */
export interface SetViewRequest {
  readonly type: 'view/set';
  readonly query: ViewQuery;
}

/** webview -> host, event, to stop a running search (the previous view stays). */
export interface CancelViewEvent {
  readonly type: 'view/cancel';
}

/** webview -> host, request, when a row is selected with the detail panel open; answered by `row/detail`. */
export interface RowDetailRequest {
  readonly type: 'row/detail/get';
  readonly viewId: number;
  readonly position: number;
}

/** webview -> host, request, when the user keeps/drops rows; answered by `decide/result`. */
export interface DecideRequest {
  readonly type: 'decide';
  readonly viewId: number;
  readonly target: DecisionTarget;
  readonly decision: DecisionValue;
}

/** webview -> host, event, for the document-level actions the keyboard and toolbar trigger. */
export interface CommandEvent {
  readonly type: 'command';
  readonly command: 'undo' | 'redo' | 'export' | 'showLog';
}

/** webview -> host, event, after the grid painted rows (throttled): what the user now sees. */
export interface RenderedEvent {
  readonly type: 'view/didRender';
  readonly generation: number;
  /** First and last row index painted with loaded content (-1 when none). */
  readonly firstRow: number;
  readonly lastRow: number;
  /** Rows painted with loaded content. */
  readonly loadedRows: number;
  /** Rows painted as placeholders because their page has not arrived yet. */
  readonly pendingRows: number;
  readonly focusedRow: number;
  /** The row count the webview renders against. */
  readonly rowCount: number;
  /** Rows the webview has received so far, and pages it is waiting for (paging diagnostics). */
  readonly rowsReceived: number;
  readonly pagesInFlight: number;
}

/** webview -> host, event, when the user asks for a row's raw line (double click, "Show in text editor"). */
export interface OpenAsTextEvent {
  readonly type: 'openAsText';
  /** The row's 0-based line index. */
  readonly row: number;
}

/** webview -> host, event, to write a problem seen in the webview to the "Winnow" log. */
export interface LogEvent {
  readonly type: 'log';
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

/** webview -> host, event, to pick the second scorer of the judge A/B comparison (absent: none). */
export interface SetCompareEvent {
  readonly type: 'compare/set';
  /** `ScorerChoiceView.id`; absent ends the comparison. */
  readonly scorer?: string;
}

/**
 * Parts of the map's data: `layout` (x, y per row), `columns` (what points are coloured by) and
 * `state` (decisions and which rows the current view holds, which change often).
 */
export type MapPart = 'layout' | 'columns' | 'state';

/** webview -> host, request, when the map opens and after changes; answered by `map`. */
export interface MapRequest {
  readonly type: 'map/get';
  readonly parts: readonly MapPart[];
}

/** webview -> host, request, while the pointer rests on a point; answered by `map/preview`. */
export interface MapPreviewRequest {
  readonly type: 'map/preview/get';
  /** The row's 0-based line index. */
  readonly row: number;
}

/** webview -> host, request, to turn a selection drawn on the map into a filter; answered by `map/region`. */
export interface MapRegionRequest {
  readonly type: 'map/region/set';
  /** Line indices inside the region, as a Uint32Array's ArrayBuffer. */
  readonly lines: ArrayBuffer;
}

/** webview -> host, request, when a point is clicked: its position in the current view; answered by `map/locate`. */
export interface MapLocateRequest {
  readonly type: 'map/locate';
  readonly row: number;
}

/** webview -> host, request, to find near-duplicate groups (progress on `view/progress`); answered by `map/duplicates`. */
export interface FindDuplicatesRequest {
  readonly type: 'duplicates/find';
}

/** Every message the webview sends to the host. */
export type FromWebviewMessage =
  | ReadyRequest
  | RowsRequest
  | FocusChangedEvent
  | RenderedEvent
  | OpenAsTextEvent
  | LogEvent
  | SetViewRequest
  | CancelViewEvent
  | RowDetailRequest
  | DecideRequest
  | CommandEvent
  | SetCompareEvent
  | MapRequest
  | MapPreviewRequest
  | MapRegionRequest
  | MapLocateRequest
  | FindDuplicatesRequest;

//#endregion
// ---------------------------------------------------------------------------------------------
//#region host -> webview

/** host -> webview, reply to `ready`: everything the webview needs to start paging. */
export interface InitResponse {
  readonly type: 'init';
  /** Base name of the file, for the header. */
  readonly fileName: string;
  /** Full path (for tooltips). */
  readonly filePath: string;
  readonly generation: number;
  readonly index: IndexState;
  readonly schema: SchemaView;
  readonly stats?: RowStats;
  /** A warning about the whole file (e.g. a JSON array saved as .jsonl), if any. */
  readonly notice?: string;
  /** Rows per page the webview should request and cache. */
  readonly pageSize: number;
  /** Preview length limit the host applies, in characters. */
  readonly previewChars: number;
  /** False in an untrusted (Restricted Mode) workspace: the view is read-only there. */
  readonly trusted: boolean;
  /**
   * The file is compressed and read through a decoder: the header says "compressed (gzip),
   * read-only" (decisions live in the sidecar; nothing can edit the file itself).
   */
  readonly compression?: 'gzip' | 'zstd';
  /** Which keys keep and drop (setting `winnow.datasetView.triageKeys`). */
  readonly triageKeys: TriageKeys;
  /** A row the host wants focused on start (overrides the webview's saved state). */
  readonly revealRow?: number;
  /** The page of rows the view starts on (saves a round trip before the first paint). */
  readonly firstPage?: { readonly start: number; readonly rows: readonly RowView[] };
  /** The default view the panel starts with. */
  readonly view: ViewInfo;
}

/** host -> webview, reply to `rows/get`. */
export interface RowsResponse {
  readonly type: 'rows';
  /** The generation these rows belong to (may differ from the request's). */
  readonly generation: number;
  /** The view of the positions (0: the default view). */
  readonly viewId: number;
  readonly start: number;
  readonly rows: readonly RowView[];
  /** Rows in the view at reply time. */
  readonly rowCount: number;
}

/** host -> webview, reply to `view/set`. */
export interface ViewResponse {
  readonly type: 'view';
  readonly view: ViewInfo;
}

/** host -> webview, reply to `row/detail/get`. */
export interface RowDetailResponse {
  readonly type: 'row/detail';
  readonly viewId: number;
  readonly position: number;
  readonly detail: RowDetail | undefined;
}

/** host -> webview, reply to `decide`: what changed (the view itself keeps its rows). */
export interface DecideResponse {
  readonly type: 'decide/result';
  /** Rows whose decision changed. */
  readonly changed: number;
  /** A short description for the status line, e.g. "Kept 1,204 rows (top 10% by ASK-LLM ≥ 0.83)". */
  readonly message: string;
}

/**
 * host -> webview, reply to `map/get`: per-row arrays (ArrayBuffers of little-endian values, one
 * per physical line), only the parts asked for. `error` says why there is no map (e.g. DENSITY
 * has not been computed).
 */
export interface MapResponse {
  readonly type: 'map';
  readonly generation: number;
  readonly rowCount: number;
  readonly error?: string;
  readonly layout?: {
    /** Float32 x and y in [−1, 1]; NaN = no embedding (not drawn). */
    readonly x: ArrayBuffer;
    readonly y: ArrayBuffer;
    readonly placed: number;
    readonly landmarks: number;
    readonly model: string;
    readonly cached: boolean;
    readonly ms: number;
  };
  readonly columns?: {
    /** Float32 ASK-LLM P(yes), NaN = not scored (absent: no scores). */
    readonly score?: ArrayBuffer;
    /** Float32 DENSITY rank as a fraction of the scored rows (0 = most isolated), NaN = none. */
    readonly density?: ArrayBuffer;
    /** Uint8 schema category (index into `schemaNames`; 255 = invalid row). */
    readonly schema: ArrayBuffer;
    readonly schemaNames: readonly string[];
    /** Int32 near-duplicate group, −1 = none (absent: groups not found yet). */
    readonly groups?: ArrayBuffer;
    readonly groupCount?: number;
    /**
     * Uint8 judge A/B per row: 0 the two scorers agree, 1 a flip, 255 not scored by both
     * (absent: no second scorer chosen in the Judge A/B panel).
     */
    readonly flips?: ArrayBuffer;
  };
  readonly state?: {
    /** Uint8 decision code per row: 0 undecided, 1 keep, 2 drop. */
    readonly decisions: ArrayBuffer;
    /** Uint8 per row: 1 = in the current view (absent: every row is). */
    readonly inView?: ArrayBuffer;
    readonly viewId: number;
  };
}

/** host -> webview, reply to `map/preview/get`: the row's preview as text (never HTML). */
export interface MapPreviewResponse {
  readonly type: 'map/preview';
  readonly row: number;
  readonly preview: string;
  readonly score?: number;
  readonly decision?: Decision;
  readonly duplicateGroup?: number;
}

/** host -> webview, reply to `map/region/set`. */
export interface MapRegionResponse {
  readonly type: 'map/region';
  readonly id: number;
  readonly rows: number;
}

/** host -> webview, reply to `map/locate`: the row's position in view `viewId`, −1 when not in it. */
export interface MapLocateResponse {
  readonly type: 'map/locate';
  readonly viewId: number;
  readonly position: number;
}

/** host -> webview, reply to `duplicates/find`. */
export interface FindDuplicatesResponse {
  readonly type: 'map/duplicates';
  readonly count: number;
  readonly groupedRows: number;
  readonly message: string;
}

/** host -> webview, event, while a view is computed (search or waiting for the row scan). */
export interface ViewProgressEvent {
  readonly type: 'view/progress';
  /** What is running, e.g. "Searching" or "Reading rows". */
  readonly label: string;
  readonly done: number;
  readonly total: number;
  /** Matches so far, for a search. */
  readonly matches?: number;
}

/**
 * host -> webview, event, when decisions, scores or density changed: repaint cached rows and
 * update counts and histograms. The view's rows stay where they are (`view.stale` tells when
 * its order or membership no longer matches).
 */
export interface ViewChangedEvent {
  readonly type: 'view/didChange';
  readonly view: ViewInfo;
  /** Cached rows are out of date (decisions or scores changed). */
  readonly rowsChanged: boolean;
  /** What happened, for the status line (e.g. "Undo: Keep line 3"), if worth saying. */
  readonly message?: string;
}

/** host -> webview, event, while indexing (throttled) and once when it finishes. */
export interface IndexProgressEvent {
  readonly type: 'index/progress';
  readonly generation: number;
  readonly index: IndexState;
}

/** host -> webview, event, when the file changed on disk: drop cached rows, keep the position. */
export interface InvalidateEvent {
  readonly type: 'document/invalidate';
  /** The new generation; cached rows of older generations are stale. */
  readonly generation: number;
  readonly reason: 'appended' | 'rebuilt';
  readonly index: IndexState;
  readonly schema: SchemaView;
  /** A warning about the whole file after the change, if any. */
  readonly notice?: string;
  /** The view the panel went back to (the file itself); the webview re-applies its query. */
  readonly view: ViewInfo;
}

/** host -> webview, event, as the background row check advances (throttled) and when it ends. */
export interface StatsEvent {
  readonly type: 'stats';
  readonly generation: number;
  readonly stats: RowStats;
}

/** host -> webview, event, to focus and scroll to a row (e.g. "Open in Dataset View" at a line). */
export interface RevealEvent {
  readonly type: 'reveal';
  /** The position to focus in the view `view` (or the current one). */
  readonly row: number;
  /** Set when the host had to switch views to show the row (e.g. back to the default view). */
  readonly view?: ViewInfo;
}

/**
 * host -> webview, event, when the warning about the whole file changes without a reload: the
 * file went away from disk or became unreadable (the view keeps the content read last).
 */
export interface NoticeEvent {
  readonly type: 'document/notice';
  readonly notice?: string;
}

/** host -> webview, event, when workspace trust is granted while the view is open. */
export interface TrustChangedEvent {
  readonly type: 'trust/didChange';
  readonly trusted: boolean;
}

/** The dataset view's keep/drop keys: y/n (j/k move) or k/d (j/↓ and ↑ move). */
export type TriageKeys = 'y/n' | 'k/d';

/** host -> webview, event, when the view's settings change. */
export interface SettingsChangedEvent {
  readonly type: 'settings/didChange';
  readonly triageKeys: TriageKeys;
}

/** Every message the host sends to the webview. */
export type ToWebviewMessage =
  | SettingsChangedEvent
  | InitResponse
  | RowsResponse
  | IndexProgressEvent
  | InvalidateEvent
  | NoticeEvent
  | StatsEvent
  | RevealEvent
  | TrustChangedEvent
  | ViewResponse
  | RowDetailResponse
  | DecideResponse
  | ViewProgressEvent
  | ViewChangedEvent
  | MapResponse
  | MapPreviewResponse
  | MapRegionResponse
  | MapLocateResponse
  | FindDuplicatesResponse;

//#endregion
// ---------------------------------------------------------------------------------------------

/** The replies to the webview's requests. */
export interface WebviewRequests {
  readonly ready: InitResponse;
  readonly 'rows/get': RowsResponse;
  readonly 'view/set': ViewResponse;
  readonly 'row/detail/get': RowDetailResponse;
  readonly decide: DecideResponse;
  readonly 'map/get': MapResponse;
  readonly 'map/preview/get': MapPreviewResponse;
  readonly 'map/region/set': MapRegionResponse;
  readonly 'map/locate': MapLocateResponse;
  readonly 'duplicates/find': FindDuplicatesResponse;
}

/** The host's requests to the webview and their replies (none yet). */
export type HostRequests = Record<never, never>;

/** The webview's end of the channel. */
export type WebviewMessageHandler = MessageHandler<
  FromWebviewMessage,
  ToWebviewMessage,
  WebviewRequests
>;

/** The host's end of the channel. */
export type HostMessageHandler = MessageHandler<ToWebviewMessage, FromWebviewMessage, HostRequests>;
