/**
 * The `winnow.density.*` settings as the worker reads them (see package.json for the user-facing
 * descriptions), resolved with defaults and sanity limits.
 */
import {
  DEFAULT_BANDWIDTH,
  DEFAULT_BUCKETS,
  DEFAULT_HASHES_PER_ROW,
  DEFAULT_ROWS,
  DEFAULT_SEED,
} from '../../core/density';
import { REMOTE_EMBEDDING_ENGINES, type RemoteEmbeddingEngineName } from '../../core/engines';
import { type DeviceChoice, DTYPE_SUFFIX, type ModelDtype } from '../runtime';
import { DEFAULT_EMBEDDING_MODEL } from './embeddingModel';

/** Resolved DENSITY settings. */
export interface DensitySettings {
  /** Embedding model: Hugging Face id or local folder. */
  model: string;
  dtype: ModelDtype;
  /** Tokens per row for the embedder; 0 = the model's own limit (sentence_bert_config), else 256. */
  maxTokens: number;
  /** Rows per embedding batch. */
  batchSize: number;
  /** Sketch rows R. */
  rows: number;
  /** Buckets B per sketch row. */
  buckets: number;
  /** Hashes K concatenated per sketch row. */
  hashesPerRow: number;
  /** LSH bin width w (kernel bandwidth). */
  bandwidth: number;
  /** Seed of the hash functions. */
  seed: number;
  /**
   * Sketch files of other shards (paths relative to the dataset's folder) to add before pass 2,
   * so rows are scored against the union of all shards.
   */
  shardSketches: string[];
  /** Run Compute Density after Score Current File. */
  computeAfterScoring: boolean;
  /** Device setting shared with the scorer. */
  device: DeviceChoice;
  /** Resolve hub ids from the model cache only. */
  offline: boolean;
  /** `winnow.models.endpoint` as set ('' = HF_ENDPOINT, else the Hub), shared with the scorer. */
  endpoint: string;
  /**
   * `local` (the in-process ONNX embedder, `model`), or the remote engine that embeds
   * (docs/engines.md#embeddings); `model` is then the served model name.
   */
  engine: 'local' | RemoteEmbeddingEngineName;
  /** The remote engine's base URL ('' with `local`). */
  engineEndpoint: string;
  /** Requests in flight to the remote engine (0: the default, 8). */
  engineConcurrency: number;
}

/** Defaults (the paper's sketch, the fast default embedder). */
export const defaultDensitySettings: DensitySettings = {
  model: DEFAULT_EMBEDDING_MODEL,
  dtype: 'fp32',
  maxTokens: 0,
  batchSize: 32,
  rows: DEFAULT_ROWS,
  buckets: DEFAULT_BUCKETS,
  hashesPerRow: DEFAULT_HASHES_PER_ROW,
  bandwidth: DEFAULT_BANDWIDTH,
  seed: DEFAULT_SEED,
  shardSketches: [],
  computeAfterScoring: false,
  device: 'auto',
  offline: false,
  endpoint: '',
  engine: 'local',
  engineEndpoint: '',
  engineConcurrency: 0,
};

/** The raw shapes read (every key optional). */
interface RawSection {
  density?: Record<string, unknown>;
  /** `winnow.device`, shared with the ASK-LLM scorer. */
  device?: unknown;
  /** `winnow.models.offline` and `winnow.models.endpoint`, shared with the scorer. */
  models?: { offline?: unknown; endpoint?: unknown };
}

function int(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max
    ? Math.floor(v)
    : fallback;
}

/** Applies defaults and limits to the raw `winnow` section. */
export function resolveDensitySettings(raw: unknown): DensitySettings {
  const section = (raw && typeof raw === 'object' ? raw : {}) as RawSection;
  const d = section.density ?? {};
  const dflt = defaultDensitySettings;
  // The device and offline mode are the scorer's settings: one device selection for both models.
  const device = section.device;
  const dtype = d.dtype;
  const model = typeof d.model === 'string' && d.model.trim() !== '' ? d.model.trim() : dflt.model;
  const bandwidth =
    typeof d.bandwidth === 'number' && d.bandwidth >= 1e-4 && d.bandwidth <= 1e6
      ? d.bandwidth
      : dflt.bandwidth;
  return {
    model,
    dtype: typeof dtype === 'string' && dtype in DTYPE_SUFFIX ? (dtype as ModelDtype) : dflt.dtype,
    maxTokens: int(d.maxTokens, 0, 8192, dflt.maxTokens),
    batchSize: int(d.batchSize, 1, 1024, dflt.batchSize),
    rows: int(d.rows, 1, 65536, dflt.rows),
    buckets: int(d.buckets, 1, 2 ** 30, dflt.buckets),
    hashesPerRow: int(d.hashesPerRow, 1, 64, dflt.hashesPerRow),
    bandwidth,
    seed: int(d.seed, 0, 0xffffffff, dflt.seed),
    shardSketches: Array.isArray(d.shardSketches)
      ? d.shardSketches
          .filter((p): p is string => typeof p === 'string' && p.trim() !== '')
          .map(p => p.trim())
      : [],
    computeAfterScoring: d.computeAfterScoring === true,
    device:
      device === 'cpu' || device === 'cuda' || device === 'webgpu' || device === 'auto'
        ? device
        : dflt.device,
    offline: section.models?.offline === true,
    endpoint: typeof section.models?.endpoint === 'string' ? section.models.endpoint.trim() : '',
    ...engineSettings(d),
  };
}

/** `winnow.density.engine`, `engineEndpoint`, `engineConcurrency`. */
function engineSettings(
  d: Record<string, unknown>,
): Pick<DensitySettings, 'engine' | 'engineEndpoint' | 'engineConcurrency'> {
  const engine = (REMOTE_EMBEDDING_ENGINES as readonly unknown[]).includes(d.engine)
    ? (d.engine as RemoteEmbeddingEngineName)
    : 'local';
  return {
    engine,
    engineEndpoint: typeof d.engineEndpoint === 'string' ? d.engineEndpoint.trim() : '',
    engineConcurrency: int(d.engineConcurrency, 0, 1024, 0),
  };
}
