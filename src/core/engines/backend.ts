/**
 * The remote ASK-LLM backend (docs/engines.md): what `winnow score --engine openai|vllm|sglang|
 * llamacpp|ollama` and the editor's remote engine setting call. {@link RemoteScorer.create} picks
 * the adapter, runs the capability probe and fixes the run's facts (the manifest);
 * {@link RemoteScorer.score} turns documents into one {@link RemoteRowResult} per row.
 *
 * Throughput: rows go in requests of several prompts where the API takes a list (completions,
 * SGLang, llama.cpp), `concurrency` requests are in flight at once over keep-alive connections,
 * and prompts are built only when their request is sent. Faults: each request is retried with
 * backoff and jitter (retry.ts); a request the server rejects outright (4xx) is split into its
 * rows so one bad row fails alone; a row with no result after the retries is `error`, never a
 * made-up score, and is scored again by the next run. After many failed requests in a row the
 * run stops sending and marks the rest `error`.
 */
import {
  PAPER_PROMPT_DECODER,
  type PromptTemplate,
  promptHash,
  sanitizeDocument,
} from '../askllm/prompt';
import { type ScorerIdentity, scorerKey } from '../askllm/scoreCache';
import type { AdapterContext, EngineAdapter, LogprobRequest } from './adapter';
import { EngineHttp, EngineRequestError, endpointHost } from './http';
import { LlamaCppAdapter } from './llamacpp';
import { readAnswer } from './logprobs';
import { OllamaAdapter } from './ollama';
import { OpenAiAdapter } from './openai';
import { probeEngine } from './probe';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetries } from './retry';
import { SglangAdapter } from './sglang';
import { type EngineTokenizer, fitRemoteDocument } from './truncation';
import {
  type AnswerToken,
  type EngineApi,
  type EngineManifest,
  REMOTE_ENGINES,
  type RemoteEngineName,
  type RemoteRowResult,
} from './types';
import { VllmAdapter } from './vllm';

/**
 * A remote scorer's configuration. The CLI's flags map onto it one to one: `--engine`,
 * `--endpoint`, `--model`, `--api`, `--api-key-env VAR` (→ `apiKey: process.env[VAR]`),
 * `--concurrency`.
 */
export interface RemoteScorerConfig {
  engine: RemoteEngineName;
  /** Base URL. OpenAI-compatible engines (openai, vllm): ending in `/v1`. */
  endpoint: string;
  model: string;
  /** Default `chat` (the model's chat template, as local scoring), `completions` for SGLang. */
  api?: EngineApi;
  /** Read by the caller from an environment variable or VS Code SecretStorage; never stored. */
  apiKey?: string;
  /** Requests in flight (default per engine, {@link DEFAULT_CONCURRENCY}). */
  concurrency?: number;
  /** Prompts per request where the API takes a list (default: the adapter's largest). */
  promptsPerRequest?: number;
  /** k of the top-k log-probs in top-k mode (default 20, vLLM's and OpenAI's cap). */
  topLogprobs?: number;
  /** Per request attempt (default 120 s). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Default: the paper's prompt in its decoder-only form (`ANSWER:`), as local decoder scoring. */
  prompt?: PromptTemplate;
  /** Default `yes`. */
  answer?: string;
  answerVariants?: readonly string[];
  /** Default `no` (for the normalised variant only). */
  negative?: string;
  /**
   * Prompt-token limit (local scoring's `maxTokens`, default 512): where the engine has tokenize
   * and detokenize endpoints, each document is cut to fit as local scoring cuts it; elsewhere
   * rows go whole (`truncation: "none"` in the manifest). 0 sends every row whole.
   */
  maxTokens?: number;
  /** Stop sending after this many failed requests in a row (default max(16, 2 × concurrency)). */
  maxConsecutiveFailures?: number;
  /** One line per event (retries, give-ups); never receives the API key. */
  log?: (line: string) => void;
}

/**
 * Requests in flight by default. GPU servers batch what is in flight (vLLM schedules up to 256
 * sequences by default): 32 requests of up to 64 prompts keep one busy. llama.cpp and Ollama serve
 * a few slots (`--parallel`, `OLLAMA_NUM_PARALLEL`).
 */
export const DEFAULT_CONCURRENCY: Record<RemoteEngineName, number> = {
  openai: 16,
  vllm: 32,
  sglang: 32,
  llamacpp: 4,
  ollama: 4,
};

/** Options of one {@link RemoteScorer.score} call. */
export interface RemoteScoreOptions {
  signal?: AbortSignal;
  /** Results as each request finishes (row indices into the documents). */
  onRows?: (rows: readonly { index: number; result: RemoteRowResult }[]) => void;
}

function createAdapter(engine: RemoteEngineName, ctx: AdapterContext): EngineAdapter {
  switch (engine) {
    case 'openai':
      return new OpenAiAdapter(ctx);
    case 'vllm':
      return new VllmAdapter(ctx);
    case 'sglang':
      return new SglangAdapter(ctx);
    case 'llamacpp':
      return new LlamaCppAdapter(ctx);
    case 'ollama':
      return new OllamaAdapter(ctx);
  }
}

/** Checks a configuration; throws one clear line. */
function checkConfig(c: RemoteScorerConfig): void {
  if (!REMOTE_ENGINES.includes(c.engine))
    throw new Error(`Unknown engine "${c.engine}": use one of ${REMOTE_ENGINES.join(', ')}`);
  if (!/^https?:\/\/[^\s]+$/.test(c.endpoint))
    throw new Error(`The endpoint must be an http:// or https:// URL (got "${c.endpoint}")`);
  if (/^https?:\/\/[^/]*@/.test(c.endpoint))
    throw new Error('Put the API key in an environment variable (--api-key-env), not in the URL');
  if (!c.model) throw new Error('A model name is required (--model)');
  if (c.concurrency !== undefined && !(Number.isInteger(c.concurrency) && c.concurrency >= 1))
    throw new Error(`--concurrency must be a positive integer (got ${c.concurrency})`);
  if (c.topLogprobs !== undefined && !(Number.isInteger(c.topLogprobs) && c.topLogprobs >= 1))
    throw new Error(`topLogprobs must be a positive integer (got ${c.topLogprobs})`);
}

/** The cache identity of a remote configuration (the endpoint's host is not part of it). */
function remoteIdentity(
  c: { engine: RemoteEngineName; model: string; api: EngineApi },
  mode: string,
  template: PromptTemplate,
  answers: { yes: readonly AnswerToken[]; no: readonly AnswerToken[] },
  maxTokens: number,
): ScorerIdentity {
  const { yes, no } = answers;
  const byText = [...yes, ...no].some(a => a.id === undefined);
  const text = byText ? `/text:${JSON.stringify([...yes, ...no].map(a => a.continuation))}` : '';
  return {
    modelId: `${c.engine}:${c.model}`,
    dtype: `remote/${c.api}/${mode}${text}`,
    promptId: template.id,
    promptHash: promptHash(template),
    yesIds: byText ? [] : yes.map(a => a.id as number),
    noIds: byText ? [] : no.map(a => a.id as number),
    maxTokens,
  };
}

/** The first line of an error, at most 300 characters. */
function errorLine(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
  return text.length > 300 ? `${text.slice(0, 299)}…` : text || 'unknown error';
}

/**
 * The engine's tokenizer for truncation, when it has one and it answers (a server without
 * `/detokenize` gives 404: rows then go whole). Logs why not.
 */
async function truncationTokenizer(
  adapter: EngineAdapter,
  maxTokens: number,
  retry: RetryPolicy,
  signal: AbortSignal | undefined,
): Promise<{ tok?: EngineTokenizer; note: string }> {
  const tok = maxTokens > 0 ? adapter.tokenizer?.() : undefined;
  if (maxTokens <= 0) return { note: 'rows sent whole (truncation: none; max tokens 0)' };
  if (!tok)
    return {
      note: `rows sent whole (truncation: none: ${adapter.engine} has no tokenize + detokenize endpoints), so a row over ${maxTokens} tokens can score differently from local scoring`,
    };
  try {
    const ids = await withRetries(() => tok.plainIds('Winnow truncation probe.', signal), retry);
    await withRetries(() => tok.decode(ids.slice(0, 2), signal), retry);
  } catch (e) {
    if (!(e instanceof EngineRequestError)) throw e;
    return { note: `rows sent whole (truncation: none: ${errorLine(e)})` };
  }
  return { tok, note: `documents cut to ${maxTokens} prompt tokens by ${tok.route}` };
}

interface RunSettings {
  concurrency: number;
  perRequest: number;
  retry: RetryPolicy;
  maxConsecutiveFailures: number;
  log?: (line: string) => void;
  /** The engine's tokenizer when rows are truncated (manifest `truncation: tokens`). */
  truncate?: { tok: EngineTokenizer; maxTokens: number };
}

type RowOutcome = { index: number; result: RemoteRowResult };

/** A probed remote engine, ready to score. Create with {@link RemoteScorer.create}. */
export class RemoteScorer {
  private constructor(
    /** The run's facts: engine, host, model, API, mode, answer tokens and how they were found. */
    readonly manifest: EngineManifest,
    /** The score cache identity (model, API, mode, prompt, answer tokens). */
    readonly identity: ScorerIdentity,
    private readonly adapter: EngineAdapter,
    private readonly http: EngineHttp,
    private readonly ask: LogprobRequest,
    private readonly settings: RunSettings,
  ) {}

  /** The score cache key of this configuration (`scorerKey` of {@link identity}). */
  get scorerKey(): string {
    return scorerKey(this.identity);
  }

  /**
   * Connects, runs the capability probe and resolves the answer tokens. Throws
   * `EngineCapabilityError` when the engine gives no log-probs, `MultiTokenAnswerError` when an
   * answer is not one token, or the request's error when the engine cannot be reached.
   */
  static async create(config: RemoteScorerConfig, signal?: AbortSignal): Promise<RemoteScorer> {
    checkConfig(config);
    const api = config.api ?? (config.engine === 'sglang' ? 'completions' : 'chat');
    const template = config.prompt ?? PAPER_PROMPT_DECODER;
    const concurrency = config.concurrency ?? DEFAULT_CONCURRENCY[config.engine];
    const http = new EngineHttp({
      endpoint: config.endpoint,
      apiKey: config.apiKey,
      timeoutMs: config.timeoutMs,
      maxSockets: concurrency,
    });
    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...config.retry };
    try {
      const adapter = createAdapter(config.engine, { http, model: config.model, api, template });
      if (adapter.prepare) await withRetries(() => adapter.prepare!(signal), retry, signal);
      const topK = config.topLogprobs ?? 20;
      const probe = await probeEngine({
        adapter,
        endpoint: config.endpoint,
        model: config.model,
        yesWords: [config.answer ?? 'yes', ...(config.answerVariants ?? [])],
        noWords: [config.negative ?? 'no'],
        topK,
        retry,
        signal,
        log: config.log,
      });
      const maxTokens = config.maxTokens ?? 512;
      const cut = await truncationTokenizer(adapter, maxTokens, retry, signal);
      const identity = remoteIdentity(
        { ...config, api },
        probe.mode,
        template,
        probe,
        cut.tok ? maxTokens : 0,
      );
      const manifest: EngineManifest = {
        engine: config.engine,
        endpointHost: endpointHost(config.endpoint),
        model: config.model,
        api,
        mode: probe.mode,
        topLogprobs: topK,
        chatTemplate: adapter.chatTemplate,
        answerTokens: probe.yes,
        negativeTokens: probe.no,
        answerTokensFoundBy: probe.foundBy,
        promptId: template.id,
        promptHash: identity.promptHash,
        probe: `${probe.note}; ${cut.note}`,
        truncation: cut.tok ? 'tokens' : 'none',
        ...(cut.tok ? { maxTokens } : {}),
      };
      const ids = [...probe.yes, ...probe.no].map(a => a.id as number);
      const ask: LogprobRequest = probe.mode === 'exact' ? { ids, topK: 1 } : { topK };
      const perRequest = Math.max(
        1,
        Math.min(adapter.maxPromptsPerRequest, config.promptsPerRequest ?? Infinity),
      );
      const maxConsecutiveFailures = config.maxConsecutiveFailures ?? Math.max(16, 2 * concurrency);
      config.log?.(
        `${manifest.engine} at ${manifest.endpointHost}, model ${manifest.model}, ${api} API: ${manifest.probe}; answer tokens by ${probe.foundBy}`,
      );
      const settings: RunSettings = {
        concurrency,
        perRequest,
        retry,
        maxConsecutiveFailures,
        log: config.log,
        ...(cut.tok ? { truncate: { tok: cut.tok, maxTokens } } : {}),
      };
      return new RemoteScorer(manifest, identity, adapter, http, ask, settings);
    } catch (e) {
      http.close();
      throw e;
    }
  }

  /**
   * Scores `documents` (row texts; each is sanitised and placed in the prompt as local scoring
   * does). Returns one result per document, in order. Rows not sent because the run was
   * cancelled or stopped are `error`.
   */
  async score(
    documents: readonly string[],
    options: RemoteScoreOptions = {},
  ): Promise<RemoteRowResult[]> {
    const { concurrency, perRequest, maxConsecutiveFailures } = this.settings;
    const { signal } = options;
    const results: (RemoteRowResult | undefined)[] = new Array(documents.length);
    const batches = Math.ceil(documents.length / perRequest);
    let next = 0;
    let failures = 0;
    let stopped: string | undefined;
    const worker = async (): Promise<void> => {
      while (!signal?.aborted && stopped === undefined && next < batches) {
        const b = next++;
        const rows: number[] = [];
        for (let i = b * perRequest; i < Math.min(documents.length, (b + 1) * perRequest); i++)
          rows.push(i);
        const { outcomes, failed } = await this.runRows(rows, documents, signal);
        for (const o of outcomes) results[o.index] = o.result;
        failures = failed ? failures + 1 : 0;
        if (failures >= maxConsecutiveFailures && stopped === undefined) {
          stopped = `not sent: the engine failed ${failures} requests in a row (last: ${outcomes[0].result.error})`;
          this.settings.log?.(`Stopping the run: ${stopped}`);
        }
        options.onRows?.(outcomes);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches) }, worker));
    const why = stopped ?? 'not sent: the run was cancelled';
    return Array.from(results, r => r ?? { status: 'error', score: null, error: why });
  }

  /**
   * One request for `rows`, with retries. `failed`: every row errored for a transient cause (the
   * engine, not the rows). A request the server rejects (4xx) is run again row by row.
   */
  private async runRows(
    rows: readonly number[],
    documents: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<{ outcomes: RowOutcome[]; failed: boolean }> {
    const { retry, log } = this.settings;
    const where = `${this.manifest.engine} at ${this.manifest.endpointHost}`;
    try {
      const fitted = await this.fit(rows, documents, signal);
      const prompts = fitted.map(f => this.adapter.prompt(f.document));
      const positions = await withRetries(
        () => this.adapter.logprobs(prompts, this.ask, signal),
        retry,
        signal,
        (e, n, wait) =>
          log?.(
            `${where}: ${e.message}; retry ${n + 1}/${retry.retries} in ${Math.round(wait)} ms`,
          ),
      );
      const { answerTokens, negativeTokens } = this.manifest;
      // Token counts go with scores only (the cache keeps them with scores, not with bounds).
      const outcomes = rows.map((index, k) => {
        const r = readAnswer(positions[k], answerTokens, negativeTokens);
        return { index, result: r.status === 'ok' ? { ...r, ...fitted[k].facts } : r };
      });
      return { outcomes, failed: false };
    } catch (e) {
      if (e instanceof EngineRequestError && rows.length > 1 && !signal?.aborted) {
        const outcomes: RowOutcome[] = [];
        for (const row of rows)
          outcomes.push(...(await this.runRows([row], documents, signal)).outcomes);
        return { outcomes, failed: false };
      }
      const error = signal?.aborted ? 'not sent: the run was cancelled' : errorLine(e);
      if (!signal?.aborted) log?.(`${where}: giving up on ${rows.length} row(s): ${error}`);
      const outcomes = rows.map(index => ({
        index,
        result: { status: 'error' as const, score: null, error },
      }));
      return { outcomes, failed: !(e instanceof EngineRequestError) && !signal?.aborted };
    }
  }

  /** The rows' documents as they go into the prompt: cut to fit where rows are truncated. */
  private async fit(
    rows: readonly number[],
    documents: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<{ document: string; facts: Partial<RemoteRowResult> }[]> {
    const t = this.settings.truncate;
    if (!t) return rows.map(i => ({ document: documents[i], facts: {} }));
    return Promise.all(
      rows.map(async i => {
        const f = await withRetries(
          () => fitRemoteDocument(t.tok, sanitizeDocument(documents[i]), t.maxTokens, signal),
          this.settings.retry,
          signal,
        );
        return { document: f.document, facts: { tokens: f.tokens, truncated: f.truncated } };
      }),
    );
  }

  /** Closes the connections. */
  close(): void {
    this.http.close();
  }
}
