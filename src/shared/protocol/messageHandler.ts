/**
 * A small request/response layer over a one-way `postMessage` channel, used by both ends of the
 * host <-> webview boundary (after microsoft/vscode-hexeditor's `MessageHandler`).
 *
 * Every message travels in an {@link Envelope}. An event is an envelope without `inReplyTo`; a
 * request is an event the sender waits on; a reply carries `inReplyTo` = the request's `id` and
 * either a body or an error text. The two sides instantiate the class with the type parameters
 * swapped, so each side can only send what the other side understands.
 *
 * Pure ES2022: no DOM, no Node, no vscode.
 */

/** The wire format of every message on a {@link MessageHandler} channel. */
export interface Envelope<T> {
  /** Sender-unique, increasing id. */
  readonly id: number;
  /** Set on replies: the `id` of the request being answered. */
  readonly inReplyTo?: number;
  /** The message itself; absent only on a failed reply. */
  readonly body?: T;
  /** Set on a failed reply: why the request failed. */
  readonly error?: string;
}

/** Anything that can be a message: a discriminated union member keyed by `type`. */
export interface TypedMessage {
  readonly type: string;
}

/** Maps the `type` of each request this side sends to the message type of its reply. */
export type RequestMap<TOut extends TypedMessage, TIn extends TypedMessage> = {
  readonly [K in TOut['type']]?: TIn;
};

/**
 * Answers one incoming message. Return the reply for a request, or `undefined` for an event.
 * Throwing (or rejecting) sends a failed reply.
 */
export type IncomingHandler<TOut, TIn> = (
  message: TIn,
) => Promise<TOut | undefined> | TOut | undefined;

interface Pending {
  resolve(value: unknown): void;
  reject(reason: Error): void;
}

/** Rejects a request that is still waiting when its channel closes. */
export class ChannelClosedError extends Error {
  constructor() {
    super('The message channel was closed before a reply arrived.');
    this.name = 'ChannelClosedError';
  }
}

/**
 * One end of a typed channel.
 * @typeParam TOut messages this side sends
 * @typeParam TIn messages this side receives
 * @typeParam TReq for each request type this side sends, the type of the reply it gets
 */
export class MessageHandler<
  TOut extends TypedMessage,
  TIn extends TypedMessage,
  TReq extends RequestMap<TOut, TIn>,
> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  /**
   * @param post sends one envelope to the other side (e.g. `webview.postMessage`)
   * @param handler answers incoming requests and events
   */
  constructor(
    private readonly post: (envelope: Envelope<TOut>) => void,
    private readonly handler: IncomingHandler<TOut, TIn>,
  ) {}

  /** Sends a message that expects no reply. */
  sendEvent(body: TOut): void {
    if (this.closed) return;
    this.post({ id: this.nextId++, body });
  }

  /** Sends a request and resolves with the other side's reply (typed by `TReq`). */
  sendRequest<K extends keyof TReq & TOut['type']>(
    body: Extract<TOut, { type: K }>,
  ): Promise<NonNullable<TReq[K]>> {
    if (this.closed) return Promise.reject(new ChannelClosedError());
    const id = this.nextId++;
    return new Promise<NonNullable<TReq[K]>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.post({ id, body });
      } catch (e) {
        this.pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /**
   * Feeds one envelope received from the other side. Replies settle pending requests; other
   * messages go to the handler, and a request's result is posted back as a reply.
   */
  async handleMessage(envelope: Envelope<TIn>): Promise<void> {
    if (this.closed || !isEnvelope(envelope)) return;
    if (envelope.inReplyTo !== undefined) {
      const pending = this.pending.get(envelope.inReplyTo);
      if (!pending) return;
      this.pending.delete(envelope.inReplyTo);
      if (envelope.error !== undefined) pending.reject(new Error(envelope.error));
      else pending.resolve(envelope.body);
      return;
    }
    if (envelope.body === undefined) return;
    let reply: TOut | undefined;
    try {
      reply = await this.handler(envelope.body);
    } catch (e) {
      this.postReply({ id: this.nextId++, inReplyTo: envelope.id, error: errorMessage(e) });
      return;
    }
    if (reply !== undefined)
      this.postReply({ id: this.nextId++, inReplyTo: envelope.id, body: reply });
  }

  /** Number of requests still waiting for a reply (for tests and diagnostics). */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /** Rejects every waiting request and ignores all later traffic. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new ChannelClosedError());
    this.pending.clear();
  }

  private postReply(envelope: Envelope<TOut>): void {
    if (this.closed) return;
    try {
      this.post(envelope);
    } catch {
      // The other side is gone (e.g. the webview was disposed while we were answering); the
      // requester's own channel close rejects its pending request, so nothing is lost here.
    }
  }
}

function isEnvelope(value: unknown): value is Envelope<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'number'
  );
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
