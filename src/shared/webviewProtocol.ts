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

/** What the grid shows for one row. */
export interface RowView {
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
}

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
  /** Invalid rows among the checked ones. */
  readonly invalidRows: number;
  /** Whether every row has been checked (then `invalidRows` is final). */
  readonly done: boolean;
}

/** UI state the webview persists with `setState` and restores after being hidden. */
export interface PersistedViewState {
  /** Fractional index of the row at the top of the viewport. */
  readonly topRow: number;
  /** The focused row's index. */
  readonly focusedRow: number;
}

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
  /** First row index wanted. */
  readonly start: number;
  /** How many rows (at most {@link MAX_ROWS_PER_REQUEST}); the reply is clipped at the end. */
  readonly count: number;
}

/** webview -> host, event, when the focused row changes (debounced), so host commands act on it. */
export interface FocusChangedEvent {
  readonly type: 'focus/didChange';
  readonly row: number;
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

/** webview -> host, event, when the user asks for a row's raw line (double click): open as text there. */
export interface OpenAsTextEvent {
  readonly type: 'openAsText';
  readonly row: number;
}

/** webview -> host, event, to write a problem seen in the webview to the "Winnow" log. */
export interface LogEvent {
  readonly type: 'log';
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

/** Every message the webview sends to the host. */
export type FromWebviewMessage =
  ReadyRequest | RowsRequest | FocusChangedEvent | RenderedEvent | OpenAsTextEvent | LogEvent;

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
  /** A row the host wants focused on start (overrides the webview's saved state). */
  readonly revealRow?: number;
  /** The page of rows the view starts on (saves a round trip before the first paint). */
  readonly firstPage?: { readonly start: number; readonly rows: readonly RowView[] };
}

/** host -> webview, reply to `rows/get`. */
export interface RowsResponse {
  readonly type: 'rows';
  /** The generation these rows belong to (may differ from the request's). */
  readonly generation: number;
  readonly start: number;
  readonly rows: readonly RowView[];
  /** Rows known at reply time. */
  readonly rowCount: number;
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
  readonly row: number;
}

/** host -> webview, event, when workspace trust is granted while the view is open. */
export interface TrustChangedEvent {
  readonly type: 'trust/didChange';
  readonly trusted: boolean;
}

/** Every message the host sends to the webview. */
export type ToWebviewMessage =
  | InitResponse
  | RowsResponse
  | IndexProgressEvent
  | InvalidateEvent
  | StatsEvent
  | RevealEvent
  | TrustChangedEvent;

//#endregion
// ---------------------------------------------------------------------------------------------

/** The replies to the webview's requests. */
export interface WebviewRequests {
  readonly ready: InitResponse;
  readonly 'rows/get': RowsResponse;
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
