/* eslint-disable @typescript-eslint/no-namespace -- One namespace per message, as in workerProtocol.ts. */
/**
 * DENSITY's custom LSP methods between the host and the worker (the `winnow/` prefix, the same
 * descriptor style as workerProtocol.ts). The density column itself travels in
 * `winnow/getColumns` (workerProtocol.ts, SCORES_API.md).
 */
import type { NotificationDescriptor, RequestDescriptor } from './workerProtocol';

/** Parameters of `winnow/computeDensity`. */
export interface ComputeDensityParams {
  uri: string;
}

/** Sketch parameters as reported to the host. */
export interface DensitySketchParams {
  rows: number;
  buckets: number;
  hashesPerRow: number;
  bandwidth: number;
  seed: number;
}

/** What a finished DENSITY run reports. */
export interface ComputeDensityResult {
  uri: string;
  /** Rows scored (valid JSON rows). */
  rows: number;
  /** Invalid lines, which get no score. */
  invalidRows: number;
  /** Distinct rows the model embedded in this run (the rest came from the cache). */
  embedded: number;
  /** Rows whose embedding came from the cache. */
  cachedRows: number;
  /** Rows cut to the truncation length before embedding. */
  truncatedRows: number;
  /** Valid rows the embedder failed on: they get no score, and nothing is cached for them. */
  failedRows: number;
  /** The first (at most 20) of them: 1-based line and the reason. */
  failures: { line: number; reason: string }[];
  model: string;
  /** How a vector is made, e.g. "last_hidden_state → mean → L2". */
  pipeline: string;
  /** Device of the embedder, and of the hash graph. */
  device: string;
  hasherDevice: string;
  dim: number;
  /** Embedding truncation in tokens. */
  maxTokens: number;
  params: DensitySketchParams;
  minScore: number;
  maxScore: number;
  /** Files written (the sketch can be merged with other shards' sketches). */
  sketchPath: string;
  resultsPath: string;
  embeddingPath: string;
  ms: { embed: number; sketch: number; total: number };
}

/** client→worker request: embed, sketch, score and rank a dataset (cancellable; progress below). */
export namespace ComputeDensityRequest {
  export const method = 'winnow/computeDensity';
  export const type: RequestDescriptor<ComputeDensityParams, ComputeDensityResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Progress of a DENSITY run. */
export interface DensityProgressParams {
  uri: string;
  phase: 'loading' | 'embedding' | 'sketching' | 'scoring' | 'saving';
  done: number;
  total: number;
  /** Embedding: rows served from the cache so far. */
  cached?: number;
  detail?: string;
}

/** worker→client, during `winnow/computeDensity` (throttled, ≤ 5/s). */
export namespace DensityProgressNotification {
  export const method = 'winnow/densityProgress';
  export const type: NotificationDescriptor<DensityProgressParams> = {
    kind: 'notification',
    method,
    direction: 'serverToClient',
  };
}

/** Parameters of `winnow/sampleByDensity`: a count or a percentage of the scored rows, and a seed. */
export interface SampleByDensityParams {
  uri: string;
  target: { count: number } | { percent: number };
  /** uint32 seed of the sampling keys. */
  seed: number;
}

/** The sample: line numbers (0-based, ascending) chosen with probability ∝ 1/score. */
export interface SampleByDensityResult {
  lines: number[];
  /** Rows that had a score and could be chosen. */
  eligible: number;
  seed: number;
}

/** client→worker request: an inverse-propensity DENSITY sample (Efraimidis–Spirakis keys). */
export namespace SampleByDensityRequest {
  export const method = 'winnow/sampleByDensity';
  export const type: RequestDescriptor<SampleByDensityParams, SampleByDensityResult> = {
    kind: 'request',
    method,
    direction: 'clientToServer',
  };
}

/** Error codes of the DENSITY requests. */
export const DensityErrorCodes = {
  /** A user-facing problem (no storage, model not found, no scores yet, bad sample size…). */
  failed: -32010,
} as const;
