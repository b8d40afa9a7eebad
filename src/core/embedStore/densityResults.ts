/**
 * Stored DENSITY results of one dataset: the score of every distinct row content hash plus what
 * produced them (embedder, truncation, sketch parameters, seed), so the density column and hover
 * come back after a restart without recomputing, and survive edits elsewhere in the file.
 *
 * Format `WNDR` version 1, little-endian:
 *
 * | Offset | Type | Field |
 * |---|---|---|
 * | 0 | 4 bytes | magic `WNDR` |
 * | 4 | u32 | format version (1) |
 * | 8 | u32 | meta length m (bytes of UTF-8 JSON, {@link DensityResultsMeta}) |
 * | 12 | u32 | entries n |
 * | 16 | m bytes | meta |
 * | 16 + m | n × 24 bytes | 16-byte content hash, f64 score |
 * | end − 4 | u32 | CRC-32 of everything before it |
 *
 * Written atomically (temp file + rename); a damaged file is reported, never half-read.
 */
import { readFile } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { crc32 as crc32Js } from '../density/projection';
import { writeAtomically } from './embeddingStore';

const MAGIC = 0x52444e57; // "WNDR" read as a little-endian u32.
const VERSION = 1;
const ENTRY = 24;

type Crc = (data: Uint8Array, value?: number) => number;
const crc32: Crc = (zlib as unknown as { crc32?: Crc }).crc32 ?? crc32Js;

/** What produced a set of DENSITY scores: enough to reproduce them. */
export interface DensityResultsMeta {
  /** Embedding model id or folder. */
  model: string;
  /** How a vector is made (pooling, Dense, normalisation). */
  pipeline: string;
  dtype: string;
  /** Embedding truncation in tokens (special tokens included). */
  maxTokens: number;
  /** Rows cut to `maxTokens`. */
  truncatedRows: number;
  /** How row text was extracted (the detected schema). */
  textMode: string;
  dim: number;
  /** Sketch parameters and seed. */
  rows: number;
  buckets: number;
  hashesPerRow: number;
  bandwidth: number;
  seed: number;
  /** Points in the sketch the rows were scored against (this file plus any shard sketches). */
  points: number;
  /** Other shards' sketch files merged in before scoring (absolute paths); empty for one file. */
  shardSketches: string[];
  /** Device that embedded the rows. */
  device: string;
  /** Sketch file name (beside this file). */
  sketchFile: string;
  /** Embedding cache file name. */
  embeddingFile: string;
  /** The dataset path when computed. */
  dataset: string;
  /** ISO time. */
  computedAt: string;
  /** Version of the content hash the scores are keyed by; absent: version 1 (SHA-256). */
  contentHashVersion?: number;
  /** Set when the scores were imported from `winnow density` outputs, not computed here. */
  imported?: {
    files: string[];
    importedAt: string;
    createdAt?: string;
    shards?: number;
    sourcePath?: string;
  };
}

/** Scores by content hash plus their provenance. */
export interface DensityResults {
  meta: DensityResultsMeta;
  scores: Map<string, number>;
}

/** Serialises results. */
export function encodeDensityResults(results: DensityResults): Uint8Array {
  const meta = Buffer.from(JSON.stringify(results.meta), 'utf8');
  const n = results.scores.size;
  const bytes = new Uint8Array(16 + meta.length + n * ENTRY + 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, meta.length, true);
  view.setUint32(12, n, true);
  bytes.set(meta, 16);
  let o = 16 + meta.length;
  for (const [hash, score] of results.scores) {
    if (!/^[0-9a-f]{32}$/.test(hash)) throw new RangeError(`Not a content hash: ${hash}`);
    for (let i = 0; i < 16; i++) bytes[o + i] = parseInt(hash.slice(2 * i, 2 * i + 2), 16);
    view.setFloat64(o + 16, score, true);
    o += ENTRY;
  }
  view.setUint32(o, crc32(bytes.subarray(0, o)), true);
  return bytes;
}

/**
 * Parses results.
 * @throws Error naming the problem (not a results file, other version, truncated, corrupted).
 */
export function decodeDensityResults(
  bytes: Uint8Array,
  source = 'density results',
): DensityResults {
  const fail = (why: string): never => {
    throw new Error(`${source}: not valid DENSITY results (${why})`);
  };
  if (bytes.length < 20) fail('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('wrong magic number');
  if (view.getUint32(4, true) !== VERSION) fail(`format version ${view.getUint32(4, true)}`);
  const m = view.getUint32(8, true);
  const n = view.getUint32(12, true);
  if (bytes.length !== 16 + m + n * ENTRY + 4) fail('truncated');
  const end = bytes.length - 4;
  if (crc32(bytes.subarray(0, end)) !== view.getUint32(end, true)) fail('checksum mismatch');
  let meta: DensityResultsMeta;
  try {
    meta = JSON.parse(
      Buffer.from(bytes.subarray(16, 16 + m)).toString('utf8'),
    ) as DensityResultsMeta;
  } catch {
    return fail('meta is not JSON');
  }
  const scores = new Map<string, number>();
  let o = 16 + m;
  for (let e = 0; e < n; e++, o += ENTRY) {
    let hash = '';
    for (let i = 0; i < 16; i++) hash += bytes[o + i].toString(16).padStart(2, '0');
    scores.set(hash, view.getFloat64(o + 16, true));
  }
  return { meta, scores };
}

/** Writes results atomically. */
export async function writeDensityResults(path: string, results: DensityResults): Promise<void> {
  await writeAtomically(path, encodeDensityResults(results));
}

/** Reads results; undefined when the file does not exist. */
export async function readDensityResults(path: string): Promise<DensityResults | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return decodeDensityResults(bytes, path);
}
