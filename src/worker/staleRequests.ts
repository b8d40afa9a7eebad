import {
  LSPErrorCodes,
  Message,
  ResponseError,
  type CancellationToken,
  type ConnectionStrategy,
  type Position,
  type Range,
  type ResponseMessage,
} from 'vscode-languageserver/node';

/**
 * Dropping stale editor requests, as vscode-eslint's server does. Hovers, inlay hints and code
 * actions answer what the user looks at now; once the user has moved on, their answers are
 * thrown away by the client, so the worker should not spend a file read on them.
 */

/** The editor requests that are worth nothing once cancelled or superseded. */
const droppable = new Set([
  'textDocument/hover',
  'textDocument/inlayHint',
  'textDocument/codeAction',
]);

/**
 * The connection strategy: a droppable request that the client cancels (`$/cancelRequest`)
 * while it still waits in the connection's queue is answered RequestCancelled at once and never
 * runs. Other requests keep the default (their handler sees the cancelled token).
 */
export const dropCancelledEditorRequests: ConnectionStrategy = {
  cancelUndispatched: (message, next): ResponseMessage | undefined => {
    if (!Message.isRequest(message) || !droppable.has(message.method)) return next(message);
    return {
      jsonrpc: message.jsonrpc,
      id: message.id,
      error: {
        code: LSPErrorCodes.RequestCancelled,
        message: `${message.method} was cancelled before it ran`,
      },
    };
  },
};

/** Whether an error is the cancellation that `LatestRequests` throws. */
export function isRequestCancelled(err: unknown): boolean {
  return err instanceof ResponseError && err.code === LSPErrorCodes.RequestCancelled;
}

/** One running request of a `LatestRequests`. */
interface Turn<P> {
  params: P;
  superseded: boolean;
}

/**
 * Keeps only the latest request of one kind per document: when a newer request for the same
 * key (a document URI) starts and `covers` the params of an older one still running (by default
 * any newer request does), the older one stops at its next `ensureCurrent()` and answers
 * RequestCancelled, as it does when the client cancels it.
 */
export class LatestRequests<P = unknown> {
  private readonly running = new Map<string, Set<Turn<P>>>();

  constructor(
    private readonly method: string,
    private readonly covers: (newer: P, older: P) => boolean = () => true,
  ) {}

  /**
   * Runs `work` as the latest request for `key`. `work` calls `ensureCurrent()` after each wait;
   * it throws RequestCancelled once a newer request for `key` has superseded this one or
   * `token` is cancelled.
   */
  async run<T>(
    key: string,
    params: P,
    token: CancellationToken,
    work: (ensureCurrent: () => void) => Promise<T>,
  ): Promise<T> {
    let turns = this.running.get(key);
    if (!turns) this.running.set(key, (turns = new Set()));
    for (const older of turns) if (this.covers(params, older.params)) older.superseded = true;
    const turn: Turn<P> = { params, superseded: false };
    turns.add(turn);
    const ensureCurrent = () => {
      if (token.isCancellationRequested)
        throw new ResponseError(LSPErrorCodes.RequestCancelled, `${this.method} was cancelled`);
      if (turn.superseded)
        throw new ResponseError(
          LSPErrorCodes.RequestCancelled,
          `${this.method} was superseded by a newer one for the same document`,
        );
    };
    try {
      ensureCurrent();
      return await work(ensureCurrent);
    } finally {
      turns.delete(turn);
      if (turns.size === 0 && this.running.get(key) === turns) this.running.delete(key);
    }
  }
}

/** Whether range `outer` contains range `inner` (LSP positions: line, then character). */
export function rangeContains(outer: Range, inner: Range): boolean {
  const before = (a: Position, b: Position) =>
    a.line < b.line || (a.line === b.line && a.character <= b.character);
  return before(outer.start, inner.start) && before(inner.end, outer.end);
}
