/**
 * DENSITY's embedder through a remote engine (docs/engines.md#embeddings): the core's
 * {@link RemoteEmbedder} (OpenAI-compatible `/v1/embeddings` for `openai`, `vllm`, `ollama`; TEI's
 * `/embed` for `tei`) behind the {@link DensityEmbedder} seam, so the sketch, the scores and the
 * embedding cache work as with the local model. Vectors are L2-normalised by the core; the cache
 * key names the engine's API and model, never the local model's, so the two never mix.
 */
import {
  RemoteEmbedder,
  embeddingApiOf,
  endpointHost,
  type RemoteEmbeddingEngineName,
} from '../../core/engines';
import type { DensityEmbedder } from './embeddingModel';

/** Requests in flight when the setting or flag leaves it to Winnow. */
export const DEFAULT_EMBEDDING_CONCURRENCY = 8;

export interface RemoteDensityEmbedderOptions {
  engine: RemoteEmbeddingEngineName;
  /** `openai`, `vllm`, `ollama`: the base URL ending in `/v1`; `tei`: the server URL. */
  endpoint: string;
  /** The served model name (required except for TEI, which serves one model). */
  model?: string;
  /** From SecretStorage or an environment variable: sent as a Bearer header only. */
  apiKey?: string;
  /** Texts per request. */
  batchSize: number;
  /** Requests in flight (0: {@link DEFAULT_EMBEDDING_CONCURRENCY}). */
  concurrency: number;
  log?: (line: string) => void;
}

/** Connects to the engine (one probe text gives the dimension) and returns the embedder. */
export async function connectRemoteEmbedder(
  o: RemoteDensityEmbedderOptions,
  signal?: AbortSignal,
): Promise<DensityEmbedder> {
  const concurrency = o.concurrency > 0 ? o.concurrency : DEFAULT_EMBEDDING_CONCURRENCY;
  const remote = await RemoteEmbedder.create(
    {
      api: embeddingApiOf(o.engine),
      endpoint: o.endpoint,
      ...(o.model ? { model: o.model } : {}),
      ...(o.apiKey ? { apiKey: o.apiKey } : {}),
      batchSize: o.batchSize,
      concurrency,
      ...(o.log ? { log: o.log } : {}),
    },
    signal,
  );
  return {
    modelId: remote.modelId,
    dtype: 'as served',
    device: 'remote',
    dim: remote.dim,
    maxTokens: 0,
    pipeline: `${o.engine}: ${remote.pipeline}`,
    key: remote.key,
    callBatch: o.batchSize * concurrency,
    remote: { engine: o.engine, host: endpointHost(o.endpoint) },
    embedBatch: (texts, s) => remote.embedBatch(texts, s),
    dispose: async () => remote.close(),
  };
}
