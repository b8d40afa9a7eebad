/** The embedder and sketch flags that `embed` and `density` share, with the worker's defaults. */
import {
  DEFAULT_BANDWIDTH,
  DEFAULT_BUCKETS,
  DEFAULT_HASHES_PER_ROW,
  DEFAULT_ROWS,
  DEFAULT_SEED,
  sketchParams,
  type SketchParams,
} from '../../core/density';
import { REMOTE_EMBEDDING_ENGINES, type RemoteEmbeddingEngineName } from '../../core/engines';
import { DEFAULT_EMBEDDING_MODEL } from '../../worker/density/embeddingModel';
import { UsageError } from '../errors';
import type { Flags, OptionTable } from '../args';
import { modelsDir } from '../command';
import type { EmbedderSettings } from '../densityRun';

export const EMBEDDER_OPTIONS: OptionTable = {
  engine: {
    type: 'string',
    value: 'NAME',
    help: 'local (default: the in-process ONNX embedder), openai, vllm, tei, ollama.',
  },
  endpoint: {
    type: 'string',
    value: 'URL',
    help: 'Remote engines: the base URL (openai, vllm, ollama: ending in /v1; tei: the server).',
  },
  model: {
    type: 'string',
    value: 'NAME',
    help: `Embedding model: Hugging Face id or folder (default ${DEFAULT_EMBEDDING_MODEL}), or the served model name.`,
  },
  'api-key-env': {
    type: 'string',
    value: 'VAR',
    help: 'Remote engines: read the API key from this environment variable (never logged).',
  },
  concurrency: {
    type: 'string',
    value: 'N',
    help: 'Remote engines: requests of --batch-size texts in flight (default 8).',
  },
  dtype: { type: 'string', value: 'T', help: 'fp32 (default), fp16, q8, q4.' },
  device: { type: 'string', value: 'D', help: 'auto (default), cpu, cuda, webgpu.' },
  'max-tokens': {
    type: 'string',
    value: 'N',
    help: "Tokens per row (default 0: the model's own limit, else 256).",
  },
  'batch-size': { type: 'string', value: 'N', help: 'Rows per embedding call (default 32).' },
  shard: {
    type: 'string',
    value: 'I/N',
    help: 'Only shard I of N (by content hash); auto: from Slurm or Kubernetes.',
  },
  'shard-count': {
    type: 'string',
    value: 'N',
    help: 'Shard count for --shard auto on Kubernetes (else WINNOW_SHARD_COUNT).',
  },
  offline: { type: 'boolean', help: 'Never download: model ids load from the model cache only.' },
};

export const SKETCH_OPTIONS: OptionTable = {
  rows: { type: 'string', value: 'R', help: `Sketch rows R (default ${DEFAULT_ROWS}).` },
  buckets: { type: 'string', value: 'B', help: `Buckets per row B (default ${DEFAULT_BUCKETS}).` },
  'hashes-per-row': {
    type: 'string',
    value: 'K',
    help: `Hashes per sketch row K (default ${DEFAULT_HASHES_PER_ROW}).`,
  },
  bandwidth: {
    type: 'string',
    value: 'W',
    help: `LSH bin width w (default ${DEFAULT_BANDWIDTH}).`,
  },
  seed: {
    type: 'string',
    value: 'S',
    help: `Seed of the hash functions (default ${DEFAULT_SEED}).`,
  },
};

export function embedderSettings(
  flags: Flags,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
): EmbedderSettings {
  const engine = flags.string('engine') ?? 'local';
  if (engine !== 'local' && !(REMOTE_EMBEDDING_ENGINES as readonly string[]).includes(engine))
    throw new UsageError(
      `--engine must be one of local, ${REMOTE_EMBEDDING_ENGINES.join(', ')} (got "${engine}")`,
    );
  const remote = engine === 'local' ? undefined : remoteFlags(flags, engine, env);
  return {
    ...(remote ? { remote } : {}),
    model: flags.string('model') ?? DEFAULT_EMBEDDING_MODEL,
    dtype: flags.choice('dtype', ['fp32', 'fp16', 'q8', 'q4'] as const, 'fp32'),
    device: flags.choice('device', ['auto', 'cpu', 'cuda', 'webgpu'] as const, 'auto'),
    maxTokens: flags.int('max-tokens', 0, 0, 8192),
    batchSize: flags.int('batch-size', 32, 1, 1024),
    offline: flags.bool('offline'),
    modelCacheDir: modelsDir(cacheDir),
  };
}

/** `--endpoint`, `--model`, `--api-key-env`, `--concurrency` of a remote engine (checked). */
function remoteFlags(
  flags: Flags,
  engine: string,
  env: NodeJS.ProcessEnv,
): NonNullable<EmbedderSettings['remote']> {
  const endpoint = flags.string('endpoint');
  if (!endpoint) throw new UsageError(`--engine ${engine} needs --endpoint URL`);
  const model = flags.string('model');
  if (!model && engine !== 'tei')
    throw new UsageError(`--engine ${engine} needs --model NAME (the served model)`);
  const keyVar = flags.string('api-key-env');
  let apiKey: string | undefined;
  if (keyVar !== undefined) {
    apiKey = env[keyVar];
    if (apiKey === undefined || apiKey === '')
      throw new UsageError(`--api-key-env ${keyVar}: that environment variable is not set`);
  }
  return {
    engine: engine as RemoteEmbeddingEngineName,
    endpoint,
    ...(model ? { model } : {}),
    ...(apiKey ? { apiKey } : {}),
    concurrency: flags.int('concurrency', 0, 1, 1024),
  };
}

/** Whether any sketch flag was given (else a `--sketch-in` sketch's own parameters are used). */
export function hasSketchFlags(flags: Flags): boolean {
  return Object.keys(SKETCH_OPTIONS).some(k => flags.has(k));
}

export function sketchParamsOf(flags: Flags, dim: number): SketchParams {
  return sketchParams({
    dim,
    rows: flags.int('rows', DEFAULT_ROWS, 1, 65536),
    buckets: flags.int('buckets', DEFAULT_BUCKETS, 1, 2 ** 30),
    hashesPerRow: flags.int('hashes-per-row', DEFAULT_HASHES_PER_ROW, 1, 64),
    bandwidth: flags.number('bandwidth', DEFAULT_BANDWIDTH, 1e-4, 1e6),
    seed: flags.int('seed', DEFAULT_SEED, 0, 0xffffffff),
  });
}
