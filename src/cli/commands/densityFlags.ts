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
import { DEFAULT_EMBEDDING_MODEL } from '../../worker/density/embeddingModel';
import type { Flags, OptionTable } from '../args';
import { modelsDir } from '../command';
import type { EmbedderSettings } from '../densityRun';

export const EMBEDDER_OPTIONS: OptionTable = {
  model: {
    type: 'string',
    value: 'NAME',
    help: `Embedding model: Hugging Face id or folder (default ${DEFAULT_EMBEDDING_MODEL}).`,
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

export function embedderSettings(flags: Flags, cacheDir: string): EmbedderSettings {
  return {
    model: flags.string('model') ?? DEFAULT_EMBEDDING_MODEL,
    dtype: flags.choice('dtype', ['fp32', 'fp16', 'q8', 'q4'] as const, 'fp32'),
    device: flags.choice('device', ['auto', 'cpu', 'cuda', 'webgpu'] as const, 'auto'),
    maxTokens: flags.int('max-tokens', 0, 0, 8192),
    batchSize: flags.int('batch-size', 32, 1, 1024),
    offline: flags.bool('offline'),
    modelCacheDir: modelsDir(cacheDir),
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
