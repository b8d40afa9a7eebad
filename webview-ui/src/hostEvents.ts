/**
 * Host events: the one dispatcher from the messages the host pushes to their handlers. Replies to
 * the webview's requests never come here: the message handler in ./util/host routes them to the
 * request that waits for them.
 */
import type {
  DecideResponse,
  FindDuplicatesResponse,
  InitResponse,
  MapLocateResponse,
  MapPreviewResponse,
  MapRegionResponse,
  MapResponse,
  RowDetailResponse,
  RowsResponse,
  ToWebviewMessage,
  ViewResponse,
} from '../../src/shared/protocol/webview';
import { onHostEvent } from './util/host';

type Reply =
  | InitResponse
  | RowsResponse
  | ViewResponse
  | RowDetailResponse
  | DecideResponse
  | MapResponse
  | MapPreviewResponse
  | MapRegionResponse
  | MapLocateResponse
  | FindDuplicatesResponse;

/** Every message the host pushes on its own (not a reply to a request). */
export type HostEvent = Exclude<ToWebviewMessage, Reply>;

/** One handler for each kind of host event. */
export type HostEventHandlers = {
  readonly [K in HostEvent['type']]: (event: Extract<HostEvent, { type: K }>) => void;
};

/** The reply types, listed once so that a new message type must be sorted into one of the two. */
const REPLY_TYPES: Readonly<Record<Reply['type'], true>> = {
  init: true,
  rows: true,
  view: true,
  'row/detail': true,
  'decide/result': true,
  map: true,
  'map/preview': true,
  'map/region': true,
  'map/locate': true,
  'map/duplicates': true,
};

function isReply(message: ToWebviewMessage): message is Reply {
  return Object.hasOwn(REPLY_TYPES, message.type);
}

/** Sends every host event to its handler. Returns a function that stops listening. */
export function dispatchHostEvents(handlers: HostEventHandlers): () => void {
  return onHostEvent(message => {
    if (isReply(message)) return;
    const handle = handlers[message.type] as ((event: HostEvent) => void) | undefined;
    handle?.(message);
  });
}
