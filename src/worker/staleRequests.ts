import {
  LSPErrorCodes,
  Message,
  ResponseError,
  type CancellationToken,
  type ConnectionStrategy,
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

/**
 * Keeps only the latest request of one kind per document: when a newer request for the same
 * key (a document URI) starts, the older ones stop at their next `ensureCurrent()` and answer
 * RequestCancelled, as they do when the client cancels them.
 */
export class LatestRequests {
  private readonly latest = new Map<string, symbol>();

  constructor(private readonly method: string) {}

  /**
   * Runs `work` as the latest request for `key`. `work` calls `ensureCurrent()` after each wait;
   * it throws RequestCancelled once a newer request for `key` has started or `token` is
   * cancelled.
   */
  async run<T>(
    key: string,
    token: CancellationToken,
    work: (ensureCurrent: () => void) => Promise<T>,
  ): Promise<T> {
    const turn = Symbol(key);
    this.latest.set(key, turn);
    const ensureCurrent = () => {
      if (token.isCancellationRequested)
        throw new ResponseError(LSPErrorCodes.RequestCancelled, `${this.method} was cancelled`);
      if (this.latest.get(key) !== turn)
        throw new ResponseError(
          LSPErrorCodes.RequestCancelled,
          `${this.method} was superseded by a newer one for the same document`,
        );
    };
    try {
      ensureCurrent();
      return await work(ensureCurrent);
    } finally {
      if (this.latest.get(key) === turn) this.latest.delete(key);
    }
  }
}
