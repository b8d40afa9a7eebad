/**
 * Remote sentence embeddings for DENSITY (docs/engines.md#embeddings). DENSITY itself is
 * unchanged: it gets unit vectors, as from the local embedder.
 *
 * - `openai`: `POST <endpoint>/embeddings` `{model, input: [texts], encoding_format: "float"}` →
 *   `data[i].embedding` with `data[i].index` (vLLM, TEI, Infinity, Ollama and OpenAI serve it).
 *   API reference: https://platform.openai.com/docs/api-reference/embeddings/create
 * - `tei`: Text Embeddings Inference's `POST /embed` `{inputs: [texts], normalize: true,
 *   truncate: true}` → one vector per text. API reference:
 *   https://huggingface.github.io/text-embeddings-inference/
 *
 * Every vector is L2-normalised here whatever the server did (float64 norm). Texts go in
 * batches of `batchSize`, `concurrency` batches in flight, with the same retries as scoring.
 */
import { ReplyShapeError, arrayAt, expectCount, objectAt } from './adapter';
import { EngineHttp, EngineRequestError, endpointHost } from './http';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetries } from './retry';

export type RemoteEmbeddingApi = 'openai' | 'tei';

/**
 * The embedding engines of `winnow embed|density --engine` and `winnow.density.engine` (besides
 * `local`): vLLM, Ollama and OpenAI serve the OpenAI-compatible `/v1/embeddings`; `tei` is Text
 * Embeddings Inference's own `/embed` (TEI, Infinity and others also serve `/v1/embeddings`, as
 * `openai`).
 */
export const REMOTE_EMBEDDING_ENGINES = ['openai', 'vllm', 'tei', 'ollama'] as const;
export type RemoteEmbeddingEngineName = (typeof REMOTE_EMBEDDING_ENGINES)[number];

/** The API an embedding engine is spoken to with. */
export function embeddingApiOf(engine: RemoteEmbeddingEngineName): RemoteEmbeddingApi {
  return engine === 'tei' ? 'tei' : 'openai';
}

export interface RemoteEmbedderConfig {
  api: RemoteEmbeddingApi;
  /** `openai`: the base URL ending in `/v1`; `tei`: the server URL. */
  endpoint: string;
  /** Required for `openai`; TEI serves one model. */
  model?: string;
  apiKey?: string;
  /** Texts per request (default 64). */
  batchSize?: number;
  /** Requests in flight (default 8). */
  concurrency?: number;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  log?: (line: string) => void;
}

/** Vectors of one {@link RemoteEmbedder.embedBatch} call, in the local embedder's layout. */
export interface RemoteEmbeddedBatch {
  /** n × dim unit vectors, row-major, in input order. */
  vectors: Float32Array;
  /** Tokens per text: 0, remote servers do not report them per text. */
  tokens: Int32Array;
  /** Truncation per text: 0, not reported (TEI truncates to the model's limit). */
  truncated: Uint8Array;
}

/** L2-normalises `v` into `out` at `offset`; throws for a zero or non-finite vector. */
export function writeUnit(v: readonly number[], out: Float32Array, offset: number): void {
  let sq = 0;
  for (const x of v) sq += x * x;
  const norm = Math.sqrt(sq);
  if (!(norm > 0) || !Number.isFinite(norm))
    throw new Error(`the server returned a vector of norm ${norm}, which cannot be normalised`);
  for (let k = 0; k < v.length; k++) out[offset + k] = v[k] / norm;
}

function vectorAt(value: unknown, what: string): number[] {
  const v = arrayAt(value, what);
  if (!v.every(x => typeof x === 'number'))
    throw new ReplyShapeError(`malformed reply: ${what} holds non-numbers`);
  return v as number[];
}

/**
 * TEI's `GET /info` `model_id` (https://huggingface.github.io/text-embeddings-inference/#/Text%20Embeddings%20Inference/get_model_info),
 * or undefined where the server does not answer it.
 */
async function teiModelId(http: EngineHttp, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const info = objectAt(await http.get(`${http.basePath}/info`, signal), 'the /info reply');
    return typeof info.model_id === 'string' && info.model_id !== '' ? info.model_id : undefined;
  } catch {
    return undefined;
  }
}

/** A remote embedding endpoint. Create with {@link RemoteEmbedder.create}. */
export class RemoteEmbedder {
  private constructor(
    private readonly config: RemoteEmbedderConfig,
    private readonly http: EngineHttp,
    private readonly retry: RetryPolicy,
    /** Embedding dimension, from the probe. */
    readonly dim: number,
    /** TEI: the `model_id` its `GET /info` names, where it answers. */
    private readonly servedModel?: string,
  ) {}

  /**
   * The model the vectors come from: (TEI) the `model_id` the server names, else `model`, else
   * the host (a TEI server that names no model is its own identity).
   */
  get modelId(): string {
    return (
      this.servedModel ?? this.config.model ?? `(served at ${endpointHost(this.config.endpoint)})`
    );
  }

  /**
   * The embedding cache key: API, model and dimension (not the host: the same model behind
   * another URL shares its vectors). A local embedder's key is another shape, so remote and
   * local vectors never share a cache.
   */
  get key(): string {
    return JSON.stringify({ remote: this.config.api, model: this.modelId, dim: this.dim });
  }

  /** How a vector is made, for the log and the hover. */
  get pipeline(): string {
    return `${this.config.api === 'tei' ? 'TEI /embed' : 'POST /embeddings'} at ${endpointHost(this.config.endpoint)} → L2`;
  }

  /** Connects and embeds one probe text to learn the dimension. */
  static async create(config: RemoteEmbedderConfig, signal?: AbortSignal): Promise<RemoteEmbedder> {
    if (config.api === 'openai' && !config.model)
      throw new Error('A model name is required for the OpenAI embeddings API (--model)');
    const http = new EngineHttp({
      endpoint: config.endpoint,
      apiKey: config.apiKey,
      timeoutMs: config.timeoutMs,
      maxSockets: config.concurrency ?? 8,
    });
    const retry = { ...DEFAULT_RETRY_POLICY, ...config.retry };
    try {
      const probe = new RemoteEmbedder(config, http, retry, 0);
      const [v] = await withRetries(() => probe.request(['Winnow probe'], signal), retry, signal);
      const served = config.api === 'tei' ? await teiModelId(http, signal) : undefined;
      return new RemoteEmbedder(config, http, retry, v.length, served);
    } catch (e) {
      http.close();
      if (e instanceof EngineRequestError)
        throw new Error(
          `The embedding endpoint ${endpointHost(config.endpoint)} refused the probe: ${e.message}`,
        );
      throw e;
    }
  }

  /** One request: raw vectors in input order. */
  private async request(texts: readonly string[], signal?: AbortSignal): Promise<number[][]> {
    if (this.config.api === 'tei') {
      const reply = await this.http.post(
        `${this.http.basePath}/embed`,
        { inputs: texts, normalize: true, truncate: true },
        signal,
      );
      const list = expectCount(arrayAt(reply, 'the /embed reply'), texts.length, 'vectors');
      return list.map((v, i) => vectorAt(v, `vector ${i}`));
    }
    const reply = objectAt(
      await this.http.post(
        `${this.http.basePath}/embeddings`,
        { model: this.config.model, input: texts, encoding_format: 'float' },
        signal,
      ),
      'the /embeddings reply',
    );
    const data = arrayAt(reply.data, 'data').map((d, i) => objectAt(d, `data[${i}]`));
    data.sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0));
    return expectCount(data, texts.length, 'embeddings').map((d, i) =>
      vectorAt(d.embedding, `data[${i}].embedding`),
    );
  }

  /**
   * Embeds texts: requests of `batchSize` texts, `concurrency` in flight, each retried. Throws
   * when a request fails after its retries (the caller embeds the rows of a failed batch alone,
   * as it does for the local embedder).
   */
  async embedBatch(texts: readonly string[], signal?: AbortSignal): Promise<RemoteEmbeddedBatch> {
    const size = Math.max(1, this.config.batchSize ?? 64);
    const vectors = new Float32Array(texts.length * this.dim);
    const starts: number[] = [];
    for (let s = 0; s < texts.length; s += size) starts.push(s);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < starts.length) {
        const s = starts[next++];
        const chunk = texts.slice(s, s + size);
        const got = await withRetries(() => this.request(chunk, signal), this.retry, signal);
        got.forEach((v, i) => {
          if (v.length !== this.dim)
            throw new Error(`the server returned a ${v.length}-d vector, expected ${this.dim}`);
          writeUnit(v, vectors, (s + i) * this.dim);
        });
      }
    };
    const lanes = Math.min(this.config.concurrency ?? 8, starts.length);
    await Promise.all(Array.from({ length: lanes }, worker));
    return {
      vectors,
      tokens: new Int32Array(texts.length),
      truncated: new Uint8Array(texts.length),
    };
  }

  close(): void {
    this.http.close();
  }
}
