/**
 * Actions: every message the dataset view sends to the extension host, one named function each
 * (the GitLens webview doctrine). The panels and the grid only report what the user did through
 * their callbacks; the dataset view turns that into these calls, and nothing else touches the
 * transport in ./util/host.
 */
import type {
  CommandEvent,
  DecideResponse,
  DecisionTarget,
  FindDuplicatesResponse,
  MapLocateResponse,
  MapPart,
  MapPreviewResponse,
  MapRegionResponse,
  MapResponse,
  DecisionValue,
  InitResponse,
  LogEvent,
  RenderedEvent,
  RowDetailResponse,
  RowsResponse,
  ViewQuery,
  ViewResponse,
} from '../../src/shared/protocol/webview';
import { host } from './util/host';

/** Says the view is ready and asks for everything it needs to start (`topRow`: a saved top row). */
export function requestInit(topRow: number | undefined): Promise<InitResponse> {
  return host.sendRequest({ type: 'ready', ...(topRow !== undefined ? { topRow } : {}) });
}

/** Fetches `count` rows of the view `viewId` from position `start`. */
export function fetchRows(
  generation: number,
  viewId: number,
  start: number,
  count: number,
): Promise<RowsResponse> {
  return host.sendRequest({ type: 'rows/get', generation, viewId, start, count });
}

/** Asks the host to compute the view of `query` (sort, filter, search over the whole file). */
export function requestView(query: ViewQuery): Promise<ViewResponse> {
  return host.sendRequest({ type: 'view/set', query });
}

/** Stops a running search or view computation (the previous view stays). */
export function cancelView(): void {
  host.sendEvent({ type: 'view/cancel' });
}

/** Fetches the full row at `position` of the view `viewId`, for the detail panel. */
export function fetchRowDetail(viewId: number, position: number): Promise<RowDetailResponse> {
  return host.sendRequest({ type: 'row/detail/get', viewId, position });
}

/** Keeps, drops or clears the rows of `target` (an undoable edit of the document). */
export function decide(
  viewId: number,
  target: DecisionTarget,
  decision: DecisionValue,
): Promise<DecideResponse> {
  return host.sendRequest({ type: 'decide', viewId, target, decision });
}

/** Judge A/B: compares the ASK-LLM column with a second stored scorer (undefined: none). */
export function setCompare(scorer: string | undefined): void {
  host.sendEvent({ type: 'compare/set', ...(scorer ? { scorer } : {}) });
}

/** Runs a document-level command (undo, redo, export, show the log). */
export function runCommand(command: CommandEvent['command']): void {
  host.sendEvent({ type: 'command', command });
}

/** Opens the file in the text editor at the 0-based line `row`. */
export function openAsText(row: number): void {
  host.sendEvent({ type: 'openAsText', row });
}

/** Tells the host which row has the focus, so its commands act on it. */
export function reportFocus(row: number, viewId: number): void {
  host.sendEvent({ type: 'focus/didChange', row, viewId });
}

/** Tells the host what the grid painted (for tests, commands and open-to-first-rows timing). */
export function reportRender(rendered: Omit<RenderedEvent, 'type'>): void {
  host.sendEvent({ type: 'view/didRender', ...rendered });
}

/** Writes a line to the extension's "Winnow" log. */
export function log(level: LogEvent['level'], message: string): void {
  host.sendEvent({ type: 'log', level, message });
}

/** Fetches parts of the map: the layout, the colour columns, decisions and the view's rows. */
export function fetchMap(parts: readonly MapPart[]): Promise<MapResponse> {
  return host.sendRequest({ type: 'map/get', parts });
}

/** Fetches the preview of one row for the map's hover. */
export function fetchMapPreview(row: number): Promise<MapPreviewResponse> {
  return host.sendRequest({ type: 'map/preview/get', row });
}

/** Registers the lines inside a region drawn on the map (for the "in region" filter). */
export function setMapRegion(lines: Uint32Array): Promise<MapRegionResponse> {
  const buffer = lines.buffer.slice(lines.byteOffset, lines.byteOffset + lines.byteLength);
  return host.sendRequest({ type: 'map/region/set', lines: buffer as ArrayBuffer });
}

/** Asks where a row clicked on the map is in the current view. */
export function locateRow(row: number): Promise<MapLocateResponse> {
  return host.sendRequest({ type: 'map/locate', row });
}

/** Asks the host to find near-duplicate groups (the worker computes them from DENSITY). */
export function findDuplicates(): Promise<FindDuplicatesResponse> {
  return host.sendRequest({ type: 'duplicates/find' });
}
