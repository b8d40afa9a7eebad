/**
 * A compact, crash-safe, append-only store of sentence embeddings for DENSITY, keyed by the row
 * content hash (the JSONL engine's `contentHash` of the raw line bytes, 32 hex digits). One file
 * holds the embeddings of one embedder configuration (model, dtype, truncation, text mode): the
 * configuration is written into the header, and the file name is derived from it by the caller.
 *
 * Format `WNDE` version 1, little-endian:
 *
 * | Offset | Type | Field |
 * |---|---|---|
 * | 0 | 4 bytes | magic `WNDE` |
 * | 4 | u32 | format version (1) |
 * | 8 | u32 | dimension d |
 * | 12 | u32 | precision: 1 = float16, 2 = float32 |
 * | 16 | u32 | key length k (bytes of UTF-8) |
 * | 20 | u32 | CRC-32 of bytes 0–19 and the key |
 * | 24 | k bytes | key: the embedder configuration as the caller describes it (JSON) |
 * | 24 + k | records | each: 16-byte content hash, u32 info, d values, u32 CRC-32 of all before it |
 *
 * The info word holds the number of tokens the embedder saw (bits 0–29), whether the record is
 * keyed by content hash version 2 (bit 30; records without it are keyed by version 1, SHA-256,
 * and are held apart until {@link EmbeddingStore.rekeyLegacy} copies them under their new hash)
 * and whether the text was truncated to fit (bit 31), so truncation stays on record for every
 * row.
 *
 * Records have a fixed size, so a record's position is its index and reads of neighbouring
 * records coalesce into one read. Appends write whole batches with one write and fsync them. On
 * open, a torn tail (a partial last record from a crash mid-write) is ignored and cut off before
 * the next append, and complete records with a bad checksum are skipped (their rows are embedded
 * again). float16 halves the size (768 bytes per 384-d row); see float16.ts for its error.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as zlib from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { crc32 as crc32Js } from '../density/projection';
import { decodeFloat16, encodeFloat16 } from './float16';

const MAGIC = 0x45444e57; // "WNDE" read as a little-endian u32.
const VERSION = 1;
const HEADER_FIXED = 24;
const HASH_BYTES = 16;
/** Hash plus the info word: where the vector starts in a record. */
const VECTOR_AT = HASH_BYTES + 4;
const TRUNCATED_BIT = 0x80000000;
/** Set on records keyed by content hash version 2. */
const HASH_V2_BIT = 0x40000000;
const TOKENS_MASK = HASH_V2_BIT - 1;
/** Bytes read per chunk when scanning a file on open. */
const SCAN_CHUNK = 4 << 20;
/** Largest single read when fetching neighbouring records. */
const MAX_READ = 1 << 20;

/** Storage precision of the vectors. */
export type EmbeddingPrecision = 'float16' | 'float32';

const PRECISION_CODE: Record<EmbeddingPrecision, number> = { float16: 1, float32: 2 };

type Crc = (data: Uint8Array, value?: number) => number;
/** zlib's native CRC-32 (Node ≥ 20.15), else the density module's table-driven one. */
const crc32: Crc = (zlib as unknown as { crc32?: Crc }).crc32 ?? crc32Js;

/** Options for {@link EmbeddingStore.open}. */
export interface EmbeddingStoreOptions {
  /** Embedding dimension d. */
  dim: number;
  /** The embedder configuration the vectors belong to (compared on open). */
  key: string;
  /** Default float16. */
  precision?: EmbeddingPrecision;
  /** fsync after each append (default true; tests and benchmarks may turn it off). */
  sync?: boolean;
}

/** What {@link EmbeddingStore.open} found in an existing file. */
export interface EmbeddingStoreReport {
  /** Valid records (distinct hashes). */
  records: number;
  /** Complete records with a bad checksum, skipped. */
  corrupt: number;
  /** Bytes of a partial last record that were ignored (0 when the file ended cleanly). */
  tornBytes: number;
  /** The file was unreadable or belonged to another configuration and was moved aside to this path. */
  movedAside?: string;
}

/** One embedding to append. */
export interface EmbeddingEntry {
  /** Row content hash, 32 hex digits. */
  hash: string;
  /** d float32 values. */
  vector: Float32Array;
  /** Tokens the embedder saw (after truncation). */
  tokens?: number;
  /** Whether the text was cut to the truncation length. */
  truncated?: boolean;
}

/** Token count and truncation of a stored embedding. */
export interface EmbeddingInfo {
  tokens: number;
  truncated: boolean;
}

/** Thrown for a store that cannot be used; the message says why. */
export class EmbeddingStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddingStoreError';
  }
}

function hashToBytes(hash: string, out: Uint8Array, offset: number): void {
  if (!/^[0-9a-f]{32}$/.test(hash))
    throw new EmbeddingStoreError(`Embedding store: "${hash}" is not a 32-digit hex content hash`);
  for (let i = 0; i < HASH_BYTES; i++) out[offset + i] = parseInt(hash.slice(2 * i, 2 * i + 2), 16);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function bytesToHash(bytes: Uint8Array, offset: number): string {
  let s = '';
  for (let i = 0; i < HASH_BYTES; i++) s += HEX[bytes[offset + i]];
  return s;
}

function encodeHeader(dim: number, precision: EmbeddingPrecision, key: string): Uint8Array {
  const keyBytes = Buffer.from(key, 'utf8');
  const bytes = new Uint8Array(HEADER_FIXED + keyBytes.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, dim, true);
  view.setUint32(12, PRECISION_CODE[precision], true);
  view.setUint32(16, keyBytes.length, true);
  bytes.set(keyBytes, HEADER_FIXED);
  view.setUint32(20, headerCrc(bytes, keyBytes.length), true);
  return bytes;
}

function headerCrc(bytes: Uint8Array, keyLength: number): number {
  return crc32(
    bytes.subarray(HEADER_FIXED, HEADER_FIXED + keyLength),
    crc32(bytes.subarray(0, 20)),
  );
}

/**
 * The store. Open with {@link EmbeddingStore.open}; one writer per file (the worker).
 * Appends are serialised internally; reads may run alongside them.
 */
export class EmbeddingStore {
  private readonly index = new Map<string, number>();
  /** Version-1 content hash → record, for records written before content hash version 2. */
  private readonly legacyIndex = new Map<string, number>();
  /** Info word per record number. */
  private infos = new Uint32Array(1024);
  private count: number;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Bytes per record. */
  readonly recordBytes: number;

  private constructor(
    readonly path: string,
    readonly dim: number,
    readonly key: string,
    readonly precision: EmbeddingPrecision,
    private readonly handle: fsp.FileHandle,
    private readonly headerBytes: number,
    private readonly sync: boolean,
    readonly report: EmbeddingStoreReport,
  ) {
    this.recordBytes = recordSize(dim, precision);
    this.count = 0;
  }

  /**
   * Opens (or creates) a store file. A file that is unreadable, from another format version, or
   * written for a different key/dimension/precision is moved aside (`<path>.stale-<time>`) and a
   * fresh store is started: embeddings are derived data and can always be recomputed.
   */
  static async open(path: string, options: EmbeddingStoreOptions): Promise<EmbeddingStore> {
    const precision = options.precision ?? 'float16';
    const dim = options.dim;
    if (!Number.isInteger(dim) || dim < 1 || dim > 65536)
      throw new EmbeddingStoreError(`Embedding store: bad dimension ${dim}`);
    await fsp.mkdir(dirname(path), { recursive: true });
    const header = encodeHeader(dim, precision, options.key);
    let movedAside: string | undefined;
    const existing = await readHeader(path);
    if (existing === 'missing') {
      await writeAtomically(path, header);
    } else if (
      existing === 'invalid' ||
      existing.dim !== dim ||
      existing.precision !== precision ||
      existing.key !== options.key
    ) {
      movedAside = `${path}.stale-${Date.now()}`;
      await fsp.rename(path, movedAside);
      await writeAtomically(path, header);
    }
    const handle = await fsp.open(path, 'r+');
    try {
      const size = (await handle.stat()).size;
      const rec = recordSize(dim, precision);
      const body = size - header.length;
      const complete = Math.floor(body / rec);
      const store = new EmbeddingStore(
        path,
        dim,
        options.key,
        precision,
        handle,
        header.length,
        options.sync ?? true,
        {
          records: 0,
          corrupt: 0,
          tornBytes: body - complete * rec,
          ...(movedAside ? { movedAside } : {}),
        },
      );
      await store.scan(complete);
      return store;
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Number of distinct hashes stored. */
  get size(): number {
    return this.index.size;
  }

  /** Whether an embedding for this content hash is stored. */
  has(hash: string): boolean {
    return this.index.has(hash);
  }

  /** Distinct version-1 hashes whose records wait to be re-keyed (0: nothing to migrate). */
  get legacyHashes(): number {
    return this.legacyIndex.size;
  }

  /** Whether an embedding waits under this version-1 content hash. */
  hasLegacy(legacyHash: string): boolean {
    return this.legacyIndex.has(legacyHash);
  }

  /**
   * Copies the embeddings stored under version-1 hashes to their version-2 hashes (one append),
   * for rows whose both hashes are known. Resolves to the number of embeddings copied.
   */
  async rekeyLegacy(pairs: Iterable<{ legacy: string; hash: string }>): Promise<number> {
    const found: { record: number; hash: string }[] = [];
    for (const { legacy, hash } of pairs) {
      const record = this.legacyIndex.get(legacy);
      if (record === undefined) continue;
      this.legacyIndex.delete(legacy);
      if (!this.index.has(hash)) found.push({ record, hash });
    }
    if (found.length === 0) return 0;
    const vectors = new Float32Array(found.length * this.dim);
    await this.readRecords(
      Int32Array.from(found, f => f.record),
      vectors,
    );
    const entries = found.map(({ record, hash }, i): EmbeddingEntry => {
      const w = this.infos[record];
      const vector = vectors.subarray(i * this.dim, (i + 1) * this.dim);
      return { hash, vector, tokens: w & TOKENS_MASK, truncated: (w & TRUNCATED_BIT) !== 0 };
    });
    return this.append(entries);
  }

  /** Record number of a hash (for {@link readRecords}), or -1. */
  recordOf(hash: string): number {
    return this.index.get(hash) ?? -1;
  }

  /** Token count and truncation of a stored hash, or undefined. */
  infoOf(hash: string): EmbeddingInfo | undefined {
    const r = this.index.get(hash);
    if (r === undefined) return undefined;
    const w = this.infos[r];
    return { tokens: w & TOKENS_MASK, truncated: (w & TRUNCATED_BIT) !== 0 };
  }

  /** The stored embedding of a hash (decoded to float32), or undefined. */
  async get(hash: string): Promise<Float32Array | undefined> {
    const r = this.index.get(hash);
    if (r === undefined) return undefined;
    const out = new Float32Array(this.dim);
    await this.readRecords(Int32Array.of(r), out);
    return out;
  }

  /**
   * Reads records into `out` (row-major, `records.length` × d): row i receives record
   * `records[i]`. Neighbouring records are fetched with one read, so a block of rows whose
   * embeddings were appended in row order costs a few large reads.
   */
  async readRecords(records: ArrayLike<number>, out: Float32Array, outOffset = 0): Promise<void> {
    this.checkOpen();
    const n = records.length;
    const d = this.dim;
    if (out.length < outOffset + n * d) throw new RangeError('readRecords: out too short');
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => records[a] - records[b]);
    const rec = this.recordBytes;
    const maxRun = Math.max(1, Math.floor(MAX_READ / rec));
    const buffer = Buffer.allocUnsafe(Math.min(n, maxRun) * rec);
    const half = this.precision === 'float16' ? new Uint16Array(d) : undefined;
    let k = 0;
    while (k < n) {
      const first = records[order[k]];
      if (!(first >= 0 && first < this.count))
        throw new RangeError(`readRecords: record ${first} is not in the store`);
      // Extend the run while the next needed record is the same or the next one on disk.
      let end = k + 1;
      let last = first;
      while (end < n && records[order[end]] - first < maxRun && records[order[end]] - last <= 1) {
        last = records[order[end]];
        end++;
      }
      const span = last - first + 1;
      const { bytesRead } = await this.handle.read(
        buffer,
        0,
        span * rec,
        this.headerBytes + first * rec,
      );
      if (bytesRead < span * rec)
        throw new EmbeddingStoreError(`${this.path}: short read (file truncated?)`);
      for (let j = k; j < end; j++) {
        const at = (records[order[j]] - first) * rec + VECTOR_AT;
        const dst = out.subarray(outOffset + order[j] * d, outOffset + (order[j] + 1) * d);
        if (half) {
          // Copy out of the Buffer: its offset may not be 2-byte aligned.
          for (let i = 0; i < d; i++) half[i] = buffer[at + 2 * i] | (buffer[at + 2 * i + 1] << 8);
          decodeFloat16(half, dst);
        } else {
          const view = new DataView(buffer.buffer, buffer.byteOffset + at, d * 4);
          for (let i = 0; i < d; i++) dst[i] = view.getFloat32(i * 4, true);
        }
      }
      k = end;
    }
  }

  /**
   * Appends embeddings (hashes already stored are skipped) with one write and, by default, an
   * fsync, so a finished batch survives a crash. Resolves with the number of records written.
   */
  append(entries: readonly EmbeddingEntry[]): Promise<number> {
    const run = this.writing.then(() => this.appendNow(entries));
    this.writing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.writing;
    this.closed = true;
    await this.handle.close();
  }

  private async appendNow(entries: readonly EmbeddingEntry[]): Promise<number> {
    this.checkOpen();
    const d = this.dim;
    const rec = this.recordBytes;
    const fresh: EmbeddingEntry[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      if (e.vector.length !== d)
        throw new RangeError(`Embedding store: expected ${d} values, got ${e.vector.length}`);
      if (this.index.has(e.hash) || seen.has(e.hash)) continue;
      seen.add(e.hash);
      fresh.push(e);
    }
    if (fresh.length === 0) return 0;
    const bytes = new Uint8Array(fresh.length * rec);
    const view = new DataView(bytes.buffer);
    const half = this.precision === 'float16' ? new Uint16Array(d) : undefined;
    fresh.forEach((e, i) => {
      const o = i * rec;
      hashToBytes(e.hash, bytes, o);
      view.setUint32(o + HASH_BYTES, infoWord(e), true);
      if (half) {
        encodeFloat16(e.vector, half);
        for (let j = 0; j < d; j++) view.setUint16(o + VECTOR_AT + 2 * j, half[j], true);
      } else {
        for (let j = 0; j < d; j++) view.setFloat32(o + VECTOR_AT + 4 * j, e.vector[j], true);
      }
      view.setUint32(o + rec - 4, crc32(bytes.subarray(o, o + rec - 4)), true);
    });
    // Writing at the record boundary overwrites a torn tail left by a crash.
    const position = this.headerBytes + this.count * rec;
    await this.handle.write(bytes, 0, bytes.length, position);
    if (this.report.tornBytes > 0) {
      await this.handle.truncate(position + bytes.length);
      this.report.tornBytes = 0;
    }
    if (this.sync) await this.handle.sync();
    this.growInfos(this.count + fresh.length);
    fresh.forEach((e, i) => {
      this.index.set(e.hash, this.count + i);
      this.infos[this.count + i] = infoWord(e);
    });
    this.count += fresh.length;
    return fresh.length;
  }

  /** Reads every complete record once, indexing the valid ones. */
  private async scan(complete: number): Promise<void> {
    const rec = this.recordBytes;
    const perChunk = Math.max(1, Math.floor(SCAN_CHUNK / rec));
    const buffer = Buffer.allocUnsafe(Math.min(complete, perChunk) * rec || 1);
    this.growInfos(complete);
    for (let start = 0; start < complete; start += perChunk) {
      const n = Math.min(perChunk, complete - start);
      const { bytesRead } = await this.handle.read(
        buffer,
        0,
        n * rec,
        this.headerBytes + start * rec,
      );
      if (bytesRead < n * rec)
        throw new EmbeddingStoreError(`${this.path}: short read while scanning`);
      const view = new DataView(buffer.buffer, buffer.byteOffset, n * rec);
      for (let i = 0; i < n; i++) {
        const o = i * rec;
        if (crc32(buffer.subarray(o, o + rec - 4)) !== view.getUint32(o + rec - 4, true)) {
          this.report.corrupt++;
          continue;
        }
        const hash = bytesToHash(buffer, o);
        const info = view.getUint32(o + HASH_BYTES, true);
        const index = info & HASH_V2_BIT ? this.index : this.legacyIndex;
        if (!index.has(hash)) index.set(hash, start + i);
        this.infos[start + i] = info;
      }
    }
    this.count = complete;
    this.report.records = this.index.size + this.legacyIndex.size;
  }

  private growInfos(records: number): void {
    if (records <= this.infos.length) return;
    const next = new Uint32Array(Math.max(records, this.infos.length * 2));
    next.set(this.infos);
    this.infos = next;
  }

  private checkOpen(): void {
    if (this.closed) throw new EmbeddingStoreError(`Embedding store ${this.path} is closed`);
  }
}

function recordSize(dim: number, precision: EmbeddingPrecision): number {
  return VECTOR_AT + dim * (precision === 'float16' ? 2 : 4) + 4;
}

function infoWord(e: EmbeddingEntry): number {
  const tokens = Math.min(Math.max(0, Math.floor(e.tokens ?? 0)), TOKENS_MASK);
  return (tokens | HASH_V2_BIT | (e.truncated ? TRUNCATED_BIT : 0)) >>> 0;
}

/** What a store file's header says (see {@link readStoreHeader}). */
export interface StoredHeader {
  dim: number;
  precision: EmbeddingPrecision;
  key: string;
}

/** The header of an existing file, `missing`, or `invalid` (unreadable, wrong magic/version/CRC). */
async function readHeader(path: string): Promise<StoredHeader | 'missing' | 'invalid'> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const fixed = Buffer.alloc(HEADER_FIXED);
    const { bytesRead } = await handle.read(fixed, 0, HEADER_FIXED, 0);
    if (bytesRead < HEADER_FIXED) return 'invalid';
    const view = new DataView(fixed.buffer, fixed.byteOffset, HEADER_FIXED);
    if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== VERSION) return 'invalid';
    const keyLength = view.getUint32(16, true);
    if (keyLength > 1 << 20) return 'invalid';
    const all = Buffer.alloc(HEADER_FIXED + keyLength);
    const r = await handle.read(all, 0, all.length, 0);
    if (r.bytesRead < all.length) return 'invalid';
    if (headerCrc(all, keyLength) !== view.getUint32(20, true)) return 'invalid';
    const code = view.getUint32(12, true);
    const precision = code === 1 ? 'float16' : code === 2 ? 'float32' : undefined;
    if (!precision) return 'invalid';
    return {
      dim: view.getUint32(8, true),
      precision,
      key: all.subarray(HEADER_FIXED).toString('utf8'),
    };
  } finally {
    await handle.close();
  }
}

/**
 * The header of an existing store file without opening it for writing (so a reader never moves
 * a file of another configuration aside): `missing`, `invalid`, or its dimension, precision and
 * configuration key.
 */
export function readStoreHeader(path: string): Promise<StoredHeader | 'missing' | 'invalid'> {
  return readHeader(path);
}

/** Writes a whole small file atomically (temp file in the same folder, fsync, rename). */
export async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await fsp.open(tmp, 'wx');
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}
