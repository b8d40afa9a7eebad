/**
 * One JSON-over-HTTP client per endpoint (docs/engines.md#throughput): keep-alive connections
 * (Node's `http.Agent`, sized to the run's concurrency: no dependency, and less per-request work
 * than `fetch`), a timeout per attempt, and errors sorted into transient ones (429, 5xx, timeouts,
 * dropped connections, malformed or cut-off JSON: {@link RetryableError}) and final ones (other
 * 4xx: {@link EngineRequestError}). One attempt per call; retries are the caller's
 * (retry.ts), so that a reply that parses but has the wrong shape is retried the same way.
 *
 * The API key goes into the Authorization header only; it is removed from every error text.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { RetryableError, parseRetryAfter } from './retry';

/** A reply that will not get better by asking again (400, 401, 404, 422, ...). */
export class EngineRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'EngineRequestError';
  }
}

/** A transient HTTP failure (429, 5xx, 408) or a broken exchange (status undefined). */
export class TransientHttpError extends RetryableError {
  constructor(
    message: string,
    readonly status?: number,
    retryAfterMs?: number,
  ) {
    super(message, retryAfterMs);
    this.name = 'TransientHttpError';
  }
}

export interface EngineHttpOptions {
  /** The endpoint URL as configured; only its origin is used here. */
  endpoint: string;
  /** Sent as `Authorization: Bearer <key>`; never logged. */
  apiKey?: string;
  /** Per attempt, from request to the end of the reply (default 120 s). */
  timeoutMs?: number;
  /** Most open connections (default 64). */
  maxSockets?: number;
}

/** Largest reply body read (a guard against a runaway server). */
const MAX_REPLY_BYTES = 256 << 20;

/** Statuses worth retrying: timeouts, rate limits and server-side failures. */
function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Host and port of an endpoint URL, without credentials, path or query: safe to show and log. */
export function endpointHost(endpoint: string): string {
  return new URL(endpoint).host;
}

/** A keep-alive JSON client for one endpoint origin. */
export class EngineHttp {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly timeoutMs: number;

  constructor(private readonly options: EngineHttpOptions) {
    this.url = new URL(options.endpoint);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new Error(`The endpoint must be an http:// or https:// URL (got ${this.url.protocol})`);
    this.transport = this.url.protocol === 'https:' ? https : http;
    const AgentClass = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** The path of the endpoint URL without a trailing slash (`/v1` for `http://h:8000/v1/`). */
  get basePath(): string {
    return this.url.pathname.replace(/\/+$/, '');
  }

  /** Removes the API key from a text (error messages may quote a request or a reply). */
  redact(text: string): string {
    const key = this.options.apiKey;
    return key ? text.split(key).join('[redacted]') : text;
  }

  /** POSTs `body` as JSON to `path` (from the origin) and parses the JSON reply. */
  post(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.send('POST', path, Buffer.from(JSON.stringify(body), 'utf8'), signal);
  }

  /** GETs `path` (from the origin) and parses the JSON reply. */
  get(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.send('GET', path, undefined, signal);
  }

  /** Closes idle connections. */
  close(): void {
    this.agent.destroy();
  }

  private headers(payload: Buffer | undefined): http.OutgoingHttpHeaders {
    const h: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (payload) {
      h['content-type'] = 'application/json';
      h['content-length'] = payload.length;
    }
    if (this.options.apiKey) h.authorization = `Bearer ${this.options.apiKey}`;
    return h;
  }

  private send(
    method: string,
    path: string,
    payload: Buffer | undefined,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('The run was cancelled'));
      let settled = false;
      const finish = (error: Error | undefined, value?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(value);
      };
      const req = this.transport.request({
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        port: this.url.port,
        path,
        method,
        agent: this.agent,
        headers: this.headers(payload),
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish(new TransientHttpError(`${method} ${path}: no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const onAbort = (): void => {
        req.destroy();
        finish(new Error('The run was cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('response', res => this.readReply(method, path, res, finish));
      req.on('error', e => finish(this.networkError(method, path, e)));
      req.end(payload);
    });
  }

  private networkError(method: string, path: string, e: Error): Error {
    const code = (e as NodeJS.ErrnoException).code;
    return new TransientHttpError(
      this.redact(
        `${method} ${path}: ${code ? `${code} ` : ''}${e.message} (connection failed or dropped)`,
      ),
    );
  }

  private readReply(
    method: string,
    path: string,
    res: http.IncomingMessage,
    finish: (error: Error | undefined, value?: unknown) => void,
  ): void {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REPLY_BYTES) {
        res.destroy();
        finish(new EngineRequestError(`${method} ${path}: reply over ${MAX_REPLY_BYTES} bytes`, 0));
      } else chunks.push(c);
    });
    res.on('aborted', () => finish(new TransientHttpError(`${method} ${path}: reply cut off`)));
    res.on('error', e => finish(this.networkError(method, path, e)));
    res.on('end', () => {
      if (!res.complete) return finish(new TransientHttpError(`${method} ${path}: reply cut off`));
      const text = Buffer.concat(chunks).toString('utf8');
      finish(...this.judge(method, path, res, text));
    });
  }

  /** Turns a complete reply into its parsed JSON or the error it stands for. */
  private judge(
    method: string,
    path: string,
    res: http.IncomingMessage,
    text: string,
  ): [Error | undefined, unknown?] {
    const status = res.statusCode ?? 0;
    const what = `${method} ${path}`;
    if (status >= 400) {
      const detail = this.redact(text.replace(/\s+/g, ' ').trim().slice(0, 300));
      const message = `${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`;
      if (isTransientStatus(status))
        return [
          new TransientHttpError(message, status, parseRetryAfter(res.headers['retry-after'])),
        ];
      return [new EngineRequestError(message, status)];
    }
    try {
      return [undefined, JSON.parse(text)];
    } catch {
      return [
        new TransientHttpError(`${what}: the reply is not valid JSON (${text.length} bytes)`),
      ];
    }
  }
}
