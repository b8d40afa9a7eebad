/**
 * A stand-in for the remote engines Winnow talks to (docs/engines.md#testing): one HTTP server
 * with each engine's routes and documented request and reply shapes, answering with the fixture
 * models (standInModel.ts), so remote P(yes) can be checked against local scoring and the closed
 * form. vLLM, SGLang, TEI, llama.cpp's server and Ollama cannot run on this machine; this server is
 * how the adapters are tested, and it is not any of them.
 *
 * Routes: OpenAI `/v1/completions` and `/v1/chat/completions` with vLLM's extensions
 * (`logprob_token_ids`, `return_tokens_as_token_ids`, `chat_template_kwargs`, the
 * `--max-logprobs` cap), vLLM/SGLang `POST /tokenize`, SGLang `/generate`, llama.cpp
 * `/completion`, `/tokenize` (`content`) and `/apply-template`, Ollama `/api/generate` and
 * `/api/chat`, OpenAI `/v1/embeddings` (vectors deliberately not unit length) and TEI `/embed`.
 *
 * Faults are injected on demand ({@link StandInEngine.inject}), an optional fixed service time
 * delays every reply without using CPU, and features can be switched off to play an older or a
 * plainer server.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { StandInBrain, StandInMessage } from './standInModel';

/** A fault the next matching request(s) meet. */
export type StandInFault =
  /**
   * An HTTP error status, e.g. 429 with a Retry-After, 500, 503. `echoAuth` quotes the request's
   * Authorization header in the error body (a careless proxy), to test that clients redact it.
   */
  | { kind: 'status'; status: number; retryAfter?: string; echoAuth?: boolean }
  /** No reply at all (the client's timeout must fire). */
  | { kind: 'timeout' }
  /** The connection is closed without a reply. */
  | { kind: 'drop' }
  /** A complete 200 reply whose body is not JSON. */
  | { kind: 'malformed' }
  /** Half of the real reply, then the connection closes. */
  | { kind: 'partial' }
  /** Valid JSON of the wrong shape. */
  | { kind: 'shape' }
  /** The server goes away (connections closed, port refused) and is back after `downMs`. */
  | { kind: 'restart'; downMs: number };

export interface StandInOptions {
  brain: StandInBrain;
  /** The served model name (default `tiny`); other names get 404. */
  modelName?: string;
  /** Fixed service time of every scoring or embedding request (default 0). */
  serviceMs?: number;
  /**
   * With `serviceMs`: the server works like a batching GPU engine, completing at most this many
   * prompts per step of `serviceMs` (requests whole, in arrival order; a request that arrives
   * during a step waits for the next). Unset: every request takes `serviceMs`, however many are in
   * flight.
   */
  capacity?: number;
  /** vLLM's `--max-logprobs` (default 20): a larger k is a 400. */
  maxLogprobs?: number;
  /** vLLM's `logprob_token_ids` (default true). */
  logprobTokenIds?: boolean;
  /** vLLM's `return_tokens_as_token_ids` (default true). */
  tokenIdsInReplies?: boolean;
  /** `/tokenize` and `/apply-template` (default true). */
  tokenize?: boolean;
  /** Log-probs in replies (default true; false plays a server that drops them). */
  logprobs?: boolean;
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401. */
  apiKey?: string;
}

type Json = Record<string, unknown>;
type Handler = (body: Json) => Promise<unknown>;

/** Routes whose requests can meet injected faults and the service time. */
const WORK_ROUTES = new Set([
  '/v1/completions',
  '/v1/chat/completions',
  '/generate',
  '/completion',
  '/api/generate',
  '/api/chat',
  '/v1/embeddings',
  '/embed',
]);

/** Prompts (or texts) a work request carries. */
function promptCount(body: Json): number {
  const v = body.prompt ?? body.text ?? body.input ?? body.inputs ?? body.messages;
  return Array.isArray(v) && body.messages === undefined ? v.length : 1;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The stand-in server. Start with {@link StandInEngine.start}. */
export class StandInEngine {
  /** Requests received per route (work and tokenizer routes). */
  readonly requests = new Map<string, number>();
  /** Prompts (or texts) answered on work routes. */
  prompts = 0;
  /** Authorization headers seen. */
  readonly authorizations = new Set<string>();
  private readonly faults: { fault: StandInFault; route?: string }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<http.ServerResponse>();
  private server: http.Server;
  private port = 0;
  private readonly o: Required<Omit<StandInOptions, 'apiKey' | 'capacity'>> & {
    apiKey?: string;
    capacity?: number;
  };
  /** Requests waiting for a step (see `capacity`). */
  private readonly queue: { prompts: number; resolve: () => void }[] = [];
  private stepping = false;
  private readonly routes: Record<string, Handler>;

  private constructor(options: StandInOptions) {
    this.o = {
      modelName: 'tiny',
      serviceMs: 0,
      maxLogprobs: 20,
      logprobTokenIds: true,
      tokenIdsInReplies: true,
      tokenize: true,
      logprobs: true,
      ...options,
    };
    this.routes = {
      '/v1/completions': b => this.completions(b),
      '/v1/chat/completions': b => this.chat(b),
      '/tokenize': b => this.tokenizeRoute(b),
      '/apply-template': b => this.applyTemplate(b),
      '/generate': b => this.generate(b),
      '/completion': b => this.llamaCompletion(b),
      '/api/generate': b => this.ollama(b, false),
      '/api/chat': b => this.ollama(b, true),
      '/v1/embeddings': b => this.openAiEmbeddings(b),
      '/embed': b => this.teiEmbed(b),
    };
    this.server = this.createServer();
  }

  static async start(options: StandInOptions): Promise<StandInEngine> {
    const s = new StandInEngine(options);
    await s.listen(0);
    return s;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `times` requests to a work route (or to `route`) meet `fault`. */
  inject(fault: StandInFault, times = 1, route?: string): void {
    for (let i = 0; i < times; i++) this.faults.push({ fault, route });
  }

  /** Faults not met yet. */
  get pendingFaults(): number {
    return this.faults.length;
  }

  /** Closes every connection and the port, and listens again on the same port after `downMs`. */
  async restart(downMs: number): Promise<void> {
    const port = this.port;
    await this.shutdown();
    await new Promise(r => setTimeout(r, downMs));
    this.server = this.createServer();
    await this.listen(port);
  }

  async close(): Promise<void> {
    await this.shutdown();
  }

  private createServer(): http.Server {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    server.on('connection', s => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private shutdown(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.hanging.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise(r => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const route = (req.url ?? '/').split('?')[0];
    this.requests.set(route, (this.requests.get(route) ?? 0) + 1);
    if (req.headers.authorization) this.authorizations.add(req.headers.authorization);
    try {
      if (this.o.apiKey && req.headers.authorization !== `Bearer ${this.o.apiKey}`)
        throw new HttpFailure(401, 'invalid API key');
      if (req.method === 'GET') return this.send(res, 200, this.getRoute(route));
      const handler = this.routes[route];
      if (!handler || (!this.o.tokenize && (route === '/tokenize' || route === '/apply-template')))
        throw new HttpFailure(404, `no route ${route}`);
      let body: Json;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      } catch {
        throw new HttpFailure(400, 'the body is not JSON');
      }
      const work = WORK_ROUTES.has(route);
      const fault = work ? this.takeFault(route) : undefined;
      if (fault && (await this.early(fault, res, req.headers.authorization))) return;
      const reply = await handler(body);
      if (work && this.o.serviceMs > 0) await this.serve(promptCount(body));
      if (fault?.kind === 'partial') return this.sendPartial(res, reply);
      this.send(
        res,
        200,
        fault?.kind === 'shape' ? { choices: [], data: [], unexpected: true } : reply,
      );
    } catch (e) {
      const status = e instanceof HttpFailure ? e.status : 500;
      this.send(res, status, { error: { message: e instanceof Error ? e.message : String(e) } });
    }
  }

  private getRoute(route: string): unknown {
    if (route === '/v1/models')
      return {
        object: 'list',
        data: [{ id: this.o.modelName, object: 'model', max_model_len: 1024 }],
      };
    if (route === '/health') return { status: 'ok' };
    // TEI's GET /info names the served model.
    if (route === '/info') return { model_id: this.o.modelName, max_input_length: 512 };
    throw new HttpFailure(404, `no route ${route}`);
  }

  /** Waits the service time: a fixed delay, or the end of this request's step (`capacity`). */
  private serve(prompts: number): Promise<void> {
    if (this.o.capacity === undefined) return new Promise(r => setTimeout(r, this.o.serviceMs));
    return new Promise(resolve => {
      this.queue.push({ prompts, resolve });
      if (!this.stepping) this.step();
    });
  }

  /**
   * One engine step: up to `capacity` queued prompts, done `serviceMs` after the step began. Steps
   * follow each other on a fixed clock (a step begins when the previous one was due to end), so
   * the stand-in's own reply work does not stretch them.
   */
  private step(begin = performance.now()): void {
    this.stepping = true;
    let room = this.o.capacity ?? Infinity;
    const batch: (() => void)[] = [];
    while (this.queue.length > 0 && (batch.length === 0 || this.queue[0].prompts <= room)) {
      const w = this.queue.shift() as { prompts: number; resolve: () => void };
      room -= w.prompts;
      batch.push(w.resolve);
    }
    const end = begin + this.o.serviceMs;
    setTimeout(
      () => {
        for (const done of batch) done();
        if (this.queue.length > 0) this.step(Math.max(end, performance.now() - this.o.serviceMs));
        else this.stepping = false;
      },
      Math.max(0, end - performance.now()),
    );
  }

  private takeFault(route: string): StandInFault | undefined {
    const i = this.faults.findIndex(f => f.route === undefined || f.route === route);
    return i < 0 ? undefined : this.faults.splice(i, 1)[0].fault;
  }

  /** Faults that replace the reply; true when the request is finished with. */
  private async early(
    fault: StandInFault,
    res: http.ServerResponse,
    auth: string | undefined,
  ): Promise<boolean> {
    switch (fault.kind) {
      case 'status': {
        const headers = fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {};
        const message = `injected ${fault.status}${fault.echoAuth ? ` (request had ${auth})` : ''}`;
        this.send(res, fault.status, { error: { message } }, headers);
        return true;
      }
      case 'timeout':
        this.hanging.add(res);
        return true;
      case 'drop':
        res.socket?.destroy();
        return true;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices": [{"index": 0, "logprobs": ');
        return true;
      case 'restart':
        void this.restart(fault.downMs);
        return true;
      default:
        return false;
    }
  }

  private send(
    res: http.ServerResponse,
    status: number,
    value: unknown,
    headers: http.OutgoingHttpHeaders = {},
  ): void {
    const text = JSON.stringify(value);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private sendPartial(res: http.ServerResponse, value: unknown): void {
    const text = JSON.stringify(value);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    setTimeout(() => res.socket?.destroy(), 5);
  }

  private checkModel(body: Json): void {
    if (body.model !== undefined && body.model !== this.o.modelName)
      throw new HttpFailure(404, `The model \`${String(body.model)}\` does not exist.`);
  }

  private checkK(k: unknown): number {
    const n = typeof k === 'number' ? k : 0;
    if (n > this.o.maxLogprobs)
      throw new HttpFailure(
        400,
        `Requested logprobs of ${n}, which is greater than max allowed: ${this.o.maxLogprobs}`,
      );
    return n;
  }

  /** Named ids honoured as vLLM's `logprob_token_ids` (when the feature is on). */
  private namedIds(value: unknown): number[] | undefined {
    if (!this.o.logprobTokenIds || !Array.isArray(value) || value.length === 0) return undefined;
    return value as number[];
  }

  /** The first generated position: the sampled (greedy) token and the returned entries. */
  private async position(ids: readonly number[], k: number, named?: readonly number[]) {
    const dist = await this.o.brain.next(ids);
    const sampled = dist.top(1)[0];
    const entries = named
      ? [
          sampled,
          ...named.filter(id => id !== sampled.id).map(id => ({ id, logprob: dist.logprob(id) })),
        ]
      : dist.top(k);
    this.prompts++;
    return { sampled, entries, dist };
  }

  private chatText(messages: unknown, kwargs: unknown): string {
    return this.o.brain.renderChat(messages as StandInMessage[], {
      addGenerationPrompt: true,
      continueFinal: false,
      kwargs: kwargs as Record<string, unknown> | undefined,
    });
  }

  private async completions(body: Json): Promise<unknown> {
    this.checkModel(body);
    const prompts = Array.isArray(body.prompt) ? (body.prompt as string[]) : [String(body.prompt)];
    const k = this.checkK(body.logprobs);
    const named = this.namedIds(body.logprob_token_ids);
    const name = (id: number): string =>
      this.o.tokenIdsInReplies && body.return_tokens_as_token_ids === true
        ? `token_id:${id}`
        : this.o.brain.tokenText(id);
    const choices = [];
    for (let i = 0; i < prompts.length; i++) {
      const { sampled, entries } = await this.position(
        this.o.brain.encode(prompts[i], true),
        k,
        named,
      );
      const logprobs =
        this.o.logprobs && body.logprobs !== undefined && body.logprobs !== null
          ? {
              text_offset: [0],
              token_logprobs: [sampled.logprob],
              tokens: [name(sampled.id)],
              top_logprobs: [Object.fromEntries(entries.map(e => [name(e.id), e.logprob]))],
            }
          : null;
      choices.push({
        index: i,
        text: this.o.brain.tokenText(sampled.id),
        logprobs,
        finish_reason: 'length',
      });
    }
    // Real servers need not keep the order; the client sorts by index.
    choices.reverse();
    return { id: 'cmpl-standin', object: 'text_completion', model: this.o.modelName, choices };
  }

  private async chat(body: Json): Promise<unknown> {
    this.checkModel(body);
    const text = this.chatText(body.messages, body.chat_template_kwargs);
    const k = this.checkK(body.top_logprobs);
    const named = this.namedIds(body.logprob_token_ids);
    const { sampled, entries } = await this.position(this.o.brain.encode(text, false), k, named);
    const name = (id: number): string =>
      this.o.tokenIdsInReplies && body.return_tokens_as_token_ids === true
        ? `token_id:${id}`
        : this.o.brain.tokenText(id);
    const entry = (e: { id: number; logprob: number }) => ({
      token: name(e.id),
      logprob: e.logprob,
      bytes: [...Buffer.from(this.o.brain.tokenText(e.id), 'utf8')],
    });
    const logprobs =
      this.o.logprobs && body.logprobs === true
        ? { content: [{ ...entry(sampled), top_logprobs: entries.map(entry) }] }
        : null;
    return {
      id: 'chatcmpl-standin',
      object: 'chat.completion',
      model: this.o.modelName,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: this.o.brain.tokenText(sampled.id) },
          logprobs,
          finish_reason: 'length',
        },
      ],
    };
  }

  private async tokenizeRoute(body: Json): Promise<unknown> {
    const b = this.o.brain;
    if (body.content !== undefined) {
      // llama.cpp's form.
      const ids = b.encode(String(body.content), body.add_special === true);
      return {
        tokens: body.with_pieces === true ? ids.map(id => ({ id, piece: b.tokenText(id) })) : ids,
      };
    }
    this.checkModel(body);
    let ids: number[];
    if (body.messages !== undefined) {
      const gen = body.add_generation_prompt !== false;
      const cont = body.continue_final_message === true;
      if (gen && cont && body.add_generation_prompt === true)
        throw new HttpFailure(
          400,
          'Cannot set both `continue_final_message` and `add_generation_prompt` to True.',
        );
      const text = b.renderChat(body.messages as StandInMessage[], {
        addGenerationPrompt: gen && !cont,
        continueFinal: cont,
        kwargs: body.chat_template_kwargs as Record<string, unknown> | undefined,
      });
      ids = b.encode(text, body.add_special_tokens === true);
    } else ids = b.encode(String(body.prompt), body.add_special_tokens !== false);
    return {
      count: ids.length,
      max_model_len: 1024,
      tokens: ids,
      token_strs: body.return_token_strs === true ? ids.map(id => b.piece(id)) : null,
    };
  }

  private async applyTemplate(body: Json): Promise<unknown> {
    return { prompt: this.chatText(body.messages, body.chat_template_kwargs) };
  }

  private async generate(body: Json): Promise<unknown> {
    const texts = Array.isArray(body.text) ? (body.text as string[]) : [String(body.text)];
    const k = this.checkK(body.top_logprobs_num);
    const namedAll = body.token_ids_logprob;
    const out = [];
    for (let i = 0; i < texts.length; i++) {
      const namedRaw =
        Array.isArray(namedAll) && Array.isArray(namedAll[0]) ? namedAll[i] : namedAll;
      const named =
        Array.isArray(namedRaw) && namedRaw.length > 0 ? (namedRaw as number[]) : undefined;
      const { sampled, entries, dist } = await this.position(
        this.o.brain.encode(texts[i], true),
        k,
        named,
      );
      const txt = (id: number) =>
        body.return_text_in_logprobs === true ? this.o.brain.tokenText(id) : null;
      const triple = (e: { id: number; logprob: number }) => [e.logprob, e.id, txt(e.id)];
      const meta: Json = {
        id: `standin-${i}`,
        prompt_tokens: 0,
        completion_tokens: 1,
        finish_reason: { type: 'length', length: 1 },
      };
      if (this.o.logprobs && body.return_logprob === true) {
        meta.output_token_logprobs = [triple(sampled)];
        meta.output_top_logprobs = [dist.top(k).map(triple)];
        meta.output_token_ids_logprobs = named
          ? [entries.filter(e => named.includes(e.id)).map(triple)]
          : null;
      }
      out.push({ text: this.o.brain.tokenText(sampled.id), meta_info: meta });
    }
    return Array.isArray(body.text) ? out : out[0];
  }

  private async llamaCompletion(body: Json): Promise<unknown> {
    const prompts = Array.isArray(body.prompt) ? (body.prompt as string[]) : [String(body.prompt)];
    const k = typeof body.n_probs === 'number' ? body.n_probs : 0;
    const out = [];
    for (let i = 0; i < prompts.length; i++) {
      const { sampled, entries } = await this.position(this.o.brain.encode(prompts[i], true), k);
      const entry = (e: { id: number; logprob: number }) => ({
        id: e.id,
        token: this.o.brain.tokenText(e.id),
        logprob: e.logprob,
        bytes: [...Buffer.from(this.o.brain.tokenText(e.id), 'utf8')],
      });
      const result: Json = {
        index: i,
        content: this.o.brain.tokenText(sampled.id),
        tokens: [],
        stop: true,
        stop_type: 'limit',
      };
      if (this.o.logprobs && k > 0)
        result.completion_probabilities = [{ ...entry(sampled), top_logprobs: entries.map(entry) }];
      out.push(result);
    }
    return Array.isArray(body.prompt) ? out.reverse() : out[0];
  }

  private async ollama(body: Json, chat: boolean): Promise<unknown> {
    this.checkModel(body);
    const k = Math.min(20, typeof body.top_logprobs === 'number' ? body.top_logprobs : 0);
    const ids = chat
      ? this.o.brain.encode(this.chatText(body.messages, undefined), false)
      : this.o.brain.encode(String(body.prompt), true);
    if (!chat && body.raw !== true)
      throw new HttpFailure(400, 'the stand-in serves raw prompts only');
    const { sampled, entries } = await this.position(ids, k);
    const entry = (e: { id: number; logprob: number }) => ({
      token: this.o.brain.tokenText(e.id),
      logprob: e.logprob,
      bytes: [...Buffer.from(this.o.brain.tokenText(e.id), 'utf8')],
    });
    const reply: Json = {
      model: this.o.modelName,
      created_at: new Date(0).toISOString(),
      done: true,
      done_reason: 'length',
    };
    if (chat) reply.message = { role: 'assistant', content: this.o.brain.tokenText(sampled.id) };
    else reply.response = this.o.brain.tokenText(sampled.id);
    if (this.o.logprobs && body.logprobs === true)
      reply.logprobs = [{ ...entry(sampled), top_logprobs: entries.map(entry) }];
    return reply;
  }

  private async embedTexts(texts: string[]): Promise<Float32Array[]> {
    if (!this.o.brain.embed) throw new HttpFailure(404, 'this stand-in serves no embedding model');
    this.prompts += texts.length;
    return this.o.brain.embed(texts);
  }

  private async openAiEmbeddings(body: Json): Promise<unknown> {
    this.checkModel(body);
    const texts = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
    const vectors = await this.embedTexts(texts);
    // Not unit length on purpose (servers need not normalise): the client must.
    const data = vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: Array.from(v, x => x * (1.5 + (index % 3))),
    }));
    return {
      object: 'list',
      model: this.o.modelName,
      data: data.reverse(),
      usage: { prompt_tokens: 0, total_tokens: 0 },
    };
  }

  private async teiEmbed(body: Json): Promise<unknown> {
    const texts = Array.isArray(body.inputs) ? (body.inputs as string[]) : [String(body.inputs)];
    const vectors = await this.embedTexts(texts);
    return vectors.map(v => Array.from(v, x => (body.normalize === false ? x * 2 : x)));
  }
}
