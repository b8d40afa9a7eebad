/**
 * DENSITY for the CLI (`winnow embed`, `winnow density`): the worker's embedder and the
 * extension's embedding cache (same file name and key, so vectors are shared), the core's LSH
 * sketch and passes. Differences from the worker's run, both for shards:
 *
 * - Rows are embedded in batches of equal token length, so no row is ever padded and a row's
 *   vector does not depend on which other rows share its shard (the worker pads to the longest
 *   row of a batch, which can move the last bits of a float).
 * - The rows to sketch and score are this shard's; pass 2 can score them against another
 *   sketch (the sum of every shard's pass-1 sketch), which gives, bit for bit, the scores of one
 *   pass over the whole file: sketch counters are integers, and a row's score only reads them.
 */
import { join } from 'node:path';
import {
  DensitySketch,
  OrtLshHasher,
  addEmbeddings,
  scoreEmbeddings,
  type SketchParams,
} from '../core/density';
import { EmbeddingStore, storeFileName, type EmbeddingEntry } from '../core/embedStore';
import { describeTextMode } from '../worker/density/densityService';
import { endpointHost, type RemoteEmbeddingEngineName } from '../core/engines';
import { loadEmbeddingModel, type DensityEmbedder } from '../worker/density/embeddingModel';
import { connectRemoteEmbedder } from '../worker/density/remoteEmbedder';
import { ModelLoadError, NoDeviceError } from '../worker/runtime';
import { errorText, type Logger } from '../worker/logger';
import { rowBlocks, rowText, type CliDataset, type LineCounts } from './dataset';
import { CliError } from './errors';
import type { Progress } from './progress';
import type { Shard } from './shard';

/** Texts gathered before they are grouped by length and embedded. */
const PENDING_TEXTS = 2048;

/** The embedder settings of `embed` and `density`. */
export interface EmbedderSettings {
  /** `--engine` other than `local`: the remote engine (docs/engines.md#embeddings). */
  remote?: {
    engine: RemoteEmbeddingEngineName;
    endpoint: string;
    model?: string;
    /** From the variable `--api-key-env` names: never logged or stored. */
    apiKey?: string;
    /** Requests in flight (0: the default). */
    concurrency: number;
  };
  model: string;
  dtype: 'fp32' | 'fp16' | 'q8' | 'q4';
  device: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  /** 0: the model's own limit, else 256. */
  maxTokens: number;
  batchSize: number;
  offline: boolean;
  modelCacheDir: string;
}

/** A loaded embedder and its cache file. */
export interface Embedder {
  readonly model: DensityEmbedder;
  readonly store: EmbeddingStore;
  readonly textMode: string;
  close(): Promise<void>;
}

/** The local ONNX embedder, or a remote engine's (probed); a clear error where it cannot start. */
async function loadEmbedder(
  s: EmbedderSettings,
  logger: Logger,
  signal?: AbortSignal,
): Promise<DensityEmbedder> {
  const r = s.remote;
  if (r) {
    const host = endpointHostOrUrl(r.endpoint);
    try {
      const e = await connectRemoteEmbedder(
        { ...r, batchSize: s.batchSize, log: line => logger.info(line) },
        signal,
      );
      logger.info(`embedding with ${r.engine} at ${host}: ${e.modelId}, ${e.dim} dimensions`);
      return e;
    } catch (err) {
      throw new CliError(`engine ${r.engine} at ${host}: ${errorText(err).split('\n')[0]}`);
    }
  }
  try {
    return await loadEmbeddingModel({
      model: s.model,
      cacheDir: s.modelCacheDir,
      offline: s.offline,
      dtype: s.dtype,
      device: s.device,
      maxTokens: s.maxTokens,
      onProgress: p => {
        if (p.status === 'device') logger.info(`loading ${s.model} on ${p.device}`);
      },
    });
  } catch (e) {
    if (e instanceof ModelLoadError || e instanceof NoDeviceError) throw new CliError(e.message);
    throw e;
  }
}

function endpointHostOrUrl(url: string): string {
  try {
    return endpointHost(url);
  } catch {
    return url;
  }
}

/**
 * Loads the embedder and opens its cache under `<storage>/density/` (the worker's layout). The
 * cache file is named by the embedder's key, so a remote engine's vectors never mix with a local
 * model's.
 */
export async function openEmbedder(
  storage: string,
  ds: CliDataset,
  s: EmbedderSettings,
  logger: Logger,
  signal?: AbortSignal,
): Promise<Embedder> {
  const model = await loadEmbedder(s, logger, signal);
  try {
    const textMode = describeTextMode(ds.schema);
    const key = `${model.key}\n${textMode}`;
    const store = await EmbeddingStore.open(join(storage, 'density', storeFileName(key)), {
      dim: model.dim,
      key,
    });
    if (store.report.movedAside)
      logger.warn(`unusable embedding cache moved to ${store.report.movedAside}`);
    logger.info(`embedding cache ${store.path}: ${store.size} vectors`);
    return {
      model,
      store,
      textMode,
      close: async () => {
        await store.close();
        await model.dispose();
      },
    };
  } catch (e) {
    await model.dispose();
    throw e;
  }
}

/** This shard's rows after embedding: each row's line, content hash and cache record. */
export class ShardRows {
  lines = new Uint32Array(1024);
  records = new Int32Array(1024);
  private hashBytes = new Uint8Array(16 * 1024);
  length = 0;

  push(line: number, hash: string, record: number): void {
    if (this.length === this.lines.length) {
      const n = this.length * 2;
      const grow = <T extends Uint32Array | Int32Array | Uint8Array>(a: T, size: number): T => {
        const b = new (a.constructor as new (n: number) => T)(size);
        b.set(a);
        return b;
      };
      this.lines = grow(this.lines, n);
      this.records = grow(this.records, n);
      this.hashBytes = grow(this.hashBytes, 16 * n);
    }
    this.lines[this.length] = line;
    this.records[this.length] = record;
    this.hashBytes.set(Buffer.from(hash, 'hex'), 16 * this.length);
    this.length++;
  }

  hash(k: number): string {
    return Buffer.from(this.hashBytes.subarray(16 * k, 16 * k + 16)).toString('hex');
  }
}

/** What embedding a shard did. */
export interface EmbedCounts extends LineCounts {
  rows: number;
  cached: number;
  embedded: number;
  truncated: number;
  /** Content hash → why the embedder failed on it (not stored: retried next run). */
  failed: Map<string, string>;
}

/**
 * Embeds this shard's rows that the cache lacks (each distinct content once, in equal-length
 * batches, every batch on disk before the next). Resolves with the rows and their records.
 */
export async function embedShard(
  e: Embedder,
  ds: CliDataset,
  shard: Shard,
  s: Pick<EmbedderSettings, 'batchSize'>,
  progress: Progress,
  signal: AbortSignal,
): Promise<{ rows: ShardRows; counts: EmbedCounts }> {
  const counts: EmbedCounts = {
    lines: 0,
    valid: 0,
    blank: 0,
    invalid: 0,
    otherShards: 0,
    rows: 0,
    cached: 0,
    embedded: 0,
    truncated: 0,
    failed: new Map(),
  };
  const order: { line: number; hash: string }[] = [];
  const pending = new Map<string, string>();
  progress.phase('embedding', ds.file.lineCount, 'lines');
  const flush = async (): Promise<void> => {
    counts.embedded += await embedPending(e, pending, s.batchSize, counts.failed, signal);
    pending.clear();
  };
  for await (const block of rowBlocks(ds, shard, 1024)) {
    for (const row of block.rows) {
      order.push({ line: row.index, hash: row.hash });
      if (e.store.has(row.hash)) counts.cached++;
      else if (!pending.has(row.hash)) pending.set(row.hash, rowText(ds, row));
    }
    if (pending.size >= PENDING_TEXTS) await flush();
    Object.assign(counts, block.counts);
    progress.update({ done: block.counts.lines, cached: counts.cached });
    signal.throwIfAborted();
  }
  await flush();
  progress.end();
  const rows = new ShardRows();
  for (const { line, hash } of order) {
    rows.push(line, hash, e.store.recordOf(hash));
    if (e.store.infoOf(hash)?.truncated) counts.truncated++;
  }
  counts.rows = order.length;
  return { rows, counts };
}

/** Embeds pending texts grouped by exact token length; returns how many were stored. */
async function embedPending(
  e: Embedder,
  pending: ReadonlyMap<string, string>,
  batchSize: number,
  failed: Map<string, string>,
  signal: AbortSignal,
): Promise<number> {
  const byLength = new Map<number, [string, string][]>();
  const tokenize = e.model.tokenize?.bind(e.model);
  // A remote engine embeds each text on its own terms (no local tokenizer): one group, in calls
  // it splits into requests with several in flight.
  const size = e.model.callBatch ?? batchSize;
  for (const [hash, text] of pending) {
    let n: number;
    try {
      n = tokenize ? tokenize(text).length : 0;
    } catch (err) {
      failed.set(hash, errorText(err).split('\n')[0].slice(0, 300));
      continue;
    }
    let group = byLength.get(n);
    if (!group) byLength.set(n, (group = []));
    group.push([hash, text]);
  }
  let stored = 0;
  for (const n of [...byLength.keys()].sort((a, b) => a - b)) {
    const group = byLength.get(n)!;
    for (let i = 0; i < group.length; i += size) {
      signal.throwIfAborted();
      stored += await embedBatch(e, group.slice(i, i + size), failed, signal);
    }
  }
  return stored;
}

/** One batch into the store (durable before it returns); a failed batch is retried row by row. */
async function embedBatch(
  e: Embedder,
  batch: readonly [string, string][],
  failed: Map<string, string>,
  signal: AbortSignal,
): Promise<number> {
  let r;
  try {
    r = await e.model.embedBatch(
      batch.map(([, text]) => text),
      signal,
    );
  } catch (err) {
    if (signal.aborted) throw err;
    if (batch.length === 1) {
      failed.set(batch[0][0], errorText(err).split('\n')[0].slice(0, 300));
      return 0;
    }
    let n = 0;
    for (const item of batch) n += await embedBatch(e, [item], failed, signal);
    return n;
  }
  const d = e.model.dim;
  const entries: EmbeddingEntry[] = batch.map(([hash], i) => ({
    hash,
    vector: r.vectors.subarray(i * d, (i + 1) * d),
    tokens: r.tokens[i],
    truncated: r.truncated[i] === 1,
  }));
  return await e.store.append(entries);
}

/** The hash graph on the embedder's device where it works, else on the CPU. */
async function createHasher(
  params: SketchParams,
  device: string,
  logger: Logger,
): Promise<OrtLshHasher> {
  if (device !== 'cpu' && device !== 'remote')
    try {
      return await OrtLshHasher.create(params, { executionProviders: [device] });
    } catch (err) {
      logger.warn(
        `the DENSITY hash graph could not run on ${device} (${errorText(err)}); using the CPU`,
      );
    }
  return await OrtLshHasher.create(params, { executionProviders: ['cpu'] });
}

/** The records of the rows that have an embedding (failed rows are left out). */
export function embeddedRecords(rows: ShardRows): Int32Array {
  const out: number[] = [];
  for (let k = 0; k < rows.length; k++) if (rows.records[k] >= 0) out.push(rows.records[k]);
  return Int32Array.from(out);
}

/**
 * Pass 1 into `sketch` and/or pass 2 against `scoring`, streaming the records' vectors from the
 * cache in the hasher's blocks. Returns the scores of pass 2 (empty without `scoring`).
 */
export async function sketchAndScore(
  e: Embedder,
  records: Int32Array,
  params: SketchParams,
  passes: { sketch?: DensitySketch; scoring?: () => DensitySketch },
  progress: Progress,
  signal: AbortSignal,
  logger: Logger,
): Promise<Float64Array> {
  const hasher = await createHasher(params, e.model.device, logger);
  const scores = new Float64Array(passes.scoring ? records.length : 0);
  try {
    const d = e.model.dim;
    const chunks = async function* (): AsyncGenerator<{ x: Float32Array; start: number }> {
      for (let start = 0; start < records.length; start += hasher.blockRows) {
        const n = Math.min(hasher.blockRows, records.length - start);
        const x = new Float32Array(n * d);
        await e.store.readRecords(records.subarray(start, start + n), x);
        yield { x, start };
      }
    };
    const opts = {
      signal,
      onProgress: (_pass: 1 | 2, done: number) => progress.update({ done }),
    };
    if (passes.sketch) {
      progress.phase('sketching', records.length);
      for await (const { x, start } of chunks())
        await addEmbeddings(passes.sketch, hasher, x, undefined, start, opts);
      progress.end();
    }
    if (passes.scoring) {
      const sketch = passes.scoring();
      progress.phase('scoring', records.length);
      for await (const { x, start } of chunks())
        await scoreEmbeddings(sketch, hasher, x, undefined, scores, start, start, opts);
      progress.end();
    }
  } finally {
    await hasher.dispose();
  }
  return scores;
}
