/**
 * The only module that touches `acquireVsCodeApi`: the webview's end of the typed channel to the
 * extension host, plus persisted UI state. Only ../actions.ts sends on the channel, and only
 * ../hostEvents.ts listens to it; UI modules never post messages themselves.
 */
import { MessageHandler, type Envelope } from '../../../src/shared/protocol/messageHandler';
import type {
  FromWebviewMessage,
  PersistedViewState,
  ToWebviewMessage,
  WebviewMessageHandler,
  WebviewRequests,
} from '../../../src/shared/protocol/webview';

const vscodeApi = acquireVsCodeApi<PersistedViewState>();

type Listener = (message: ToWebviewMessage) => void;
const listeners = new Set<Listener>();

/** The channel to the host. Events from the host go to the listeners added with {@link onHostEvent}. */
export const host: WebviewMessageHandler = new MessageHandler<
  FromWebviewMessage,
  ToWebviewMessage,
  WebviewRequests
>(
  envelope => vscodeApi.postMessage(envelope),
  message => {
    for (const l of listeners) l(message);
    return undefined;
  },
);

window.addEventListener('message', (e: MessageEvent<Envelope<ToWebviewMessage>>) => {
  void host.handleMessage(e.data);
});

/** Calls `fn` for every event the host pushes. Returns a function that removes it. */
export function onHostEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The UI state saved before the webview was last hidden or reloaded, if any. */
export function loadViewState(): PersistedViewState | undefined {
  const s = vscodeApi.getState();
  if (!s || typeof s.topRow !== 'number' || typeof s.focusedRow !== 'number') return undefined;
  return s;
}

/** Persists UI state (cheap: VS Code keeps it in memory and with the editor's hot-exit state). */
export function saveViewState(state: PersistedViewState): void {
  vscodeApi.setState(state);
}
