/**
 * A crash-safe, append-only store of ASK-LLM scores.
 *
 * Format: one record per line, `<json>\t<crc32 of json, 8 hex>\n`. Appends go out as one write
 * per batch followed by fsync, so a finished batch survives SIGKILL or power loss. On open,
 * lines with a bad checksum are skipped and a torn last line (killed mid-write) is cut off before
 * new records are appended. Later records win over earlier ones with the same key.
 *
 * Key: (scorer key, row content hash), where the scorer key hashes model id, dtype, prompt hash,
 * answer token ids and max tokens (see `scorerKey`). Every record also carries the model id and
 * prompt id, so a number can always be traced to the scorer that produced it.
 *
 * Bound records (`b` instead of `s`) hold what a remote top-k engine gave for a row whose answer
 * token was not among its top k: an upper bound on P(yes), not a score (docs/engines.md#score). They
 * are kept apart from scores: {@link ScoreCache.get} and {@link ScoreCache.latest} never return
 * them, {@link ScoreCache.getBound} does, so a resumed remote run does not ask for them again.
 *
 * Content hash versions: records carry `v: 2` (the JSONL engine's `contentHash` version 2).
 * Records without `v` were keyed by version 1 (SHA-256, `legacyContentHash`): they are held
 * apart, and {@link ScoreCache.rekeyLegacy} copies them under the new hash when a file's rows
 * are hashed both ways; the copies name their origin (`from`), so a migrated record is not
 * re-keyed again after a restart.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import * as zlib from 'node:zlib';

/** The parts of a scorer that determine its scores. */
export interface ScorerIdentity {
  modelId: string;
  dtype: string;
  promptId: string;
  promptHash: string;
  /** Resolved yes-token ids (sorted) — summed variants change the score. */
  yesIds: readonly number[];
  /** Resolved no-token ids (used by the normalised variant). */
  noIds: readonly number[];
  maxTokens: number;
}

/** One stored score. */
export interface CachedScore {
  /** Raw P(yes): the ASK-LLM score. */
  pYes: number;
  /** P(no), stored so the normalised variant needs no re-run; NaN where it is not known. */
  pNo: number;
  /** Prompt length in tokens. */
  tokens: number;
  /** Whether the document was truncated to fit. */
  truncated: boolean;
  modelId: string;
  promptId: string;
  /** Milliseconds since the epoch when the score was computed. */
  time: number;
}

/** A stored upper bound on P(yes) (a remote top-k engine's row without its answer token). */
export interface CachedBound {
  /** P(yes) is at most this. */
  upperBound: number;
  /** P(no) where the engine returned it, else NaN. */
  pNo: number;
  modelId: string;
  promptId: string;
  time: number;
}

interface LogRecord {
  /** Scorer key. */
  k: string;
  /** Row content hash. */
  h: string;
  /** P(yes); absent on bound records. */
  s?: number;
  /** Upper bound on P(yes) (bound records only). */
  b?: number;
  /** P(no); absent where it is not known. */
  n?: number;
  t: number;
  tr: 0 | 1;
  m: string;
  p: string;
  at: number;
  /** Content hash version of `h`; absent: version 1 (SHA-256). */
  v?: number;
  /** The version-1 hash this record was re-keyed from. */
  from?: string;
}

/** Version of the row content hash that new records are keyed by. */
export const RECORD_HASH_VERSION = 2;

/** The cache key of a scorer configuration (32 hex chars). */
export function scorerKey(id: ScorerIdentity): string {
  const parts = [
    id.modelId,
    id.dtype,
    id.promptHash,
    [...id.yesIds].sort((a, b) => a - b).join(','),
    [...id.noIds].sort((a, b) => a - b).join(','),
    id.maxTokens,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/**
 * A scorer key narrowed by a scope that also decides the document, e.g. the text-extraction
 * config of a dataset (32 hex chars). Records stored under it never mix with other scopes.
 */
export function scopedScorerKey(key: string, scope: string): string {
  return createHash('sha256').update(`${key}\n${scope}`).digest('hex').slice(0, 32);
}

/** Hash of a row's scored content (the document text), 32 hex chars. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of a byte array, table-driven (for runtimes without zlib's). */
function crc32Js(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 (IEEE) of a byte array: zlib's native one (Node ≥ 20.15), else {@link crc32Js}. */
export const crc32: (bytes: Uint8Array) => number =
  (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32 ?? crc32Js;

function encodeRecord(r: LogRecord): string {
  const json = JSON.stringify(r);
  return `${json}\t${crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0')}\n`;
}

function toRecord(scorer: string, hash: string, score: CachedScore): LogRecord {
  return {
    k: scorer,
    h: hash,
    s: score.pYes,
    ...(Number.isFinite(score.pNo) ? { n: score.pNo } : {}),
    t: score.tokens,
    tr: score.truncated ? 1 : 0,
    m: score.modelId,
    p: score.promptId,
    at: score.time,
    v: RECORD_HASH_VERSION,
  };
}

function decodeRecord(line: string): LogRecord | undefined {
  const tab = line.lastIndexOf('\t');
  if (tab < 0) return undefined;
  const json = line.slice(0, tab);
  if (crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0') !== line.slice(tab + 1))
    return undefined;
  try {
    const r = JSON.parse(json) as LogRecord;
    return typeof r.k === 'string' &&
      typeof r.h === 'string' &&
      (typeof r.s === 'number' || typeof r.b === 'number')
      ? r
      : undefined;
  } catch {
    return undefined;
  }
}

/** What `open` found in an existing file. */
export interface CacheLoadReport {
  records: number;
  /** Complete lines with a bad checksum or bad JSON, skipped. */
  corrupt: number;
  /** Bytes of a torn final record that were cut off. */
  tornBytes: number;
}

/** The append-only score store. Create with `ScoreCache.open`. */
export class ScoreCache {
  private readonly map = new Map<string, CachedScore>();
  /** Content hash → scorer key → score, for lookups without a scorer. */
  private readonly byContent = new Map<string, Map<string, CachedScore>>();
  private writing: Promise<void> = Promise.resolve();
  /** Version-1 content hash → scorer key → score, waiting to be re-keyed. */
  private readonly legacy = new Map<string, Map<string, CachedScore>>();
  /** Version-1 hashes already re-keyed (named by the `from` of a record). */
  private readonly migrated = new Set<string>();
  /** Bound records: `scorer:hash` → bound (apart from scores, see the module note). */
  private readonly bounds = new Map<string, CachedBound>();

  private constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    readonly loadReport: CacheLoadReport,
  ) {}

  /**
   * Opens (or creates) the store at `path`, loading every valid record. A torn last record is
   * ignored and truncated away so that new records start on a clean line.
   */
  static async open(path: string): Promise<ScoreCache> {
    await fsp.mkdir(dirname(path), { recursive: true });
    const handle = await fsp.open(path, 'a+');
    try {
      const buf = await handle.readFile();
      const report: CacheLoadReport = { records: 0, corrupt: 0, tornBytes: 0 };
      const cache = new ScoreCache(path, handle, report);
      let start = 0;
      let goodEnd = 0;
      while (start < buf.length) {
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0) break;
        const r = decodeRecord(buf.toString('utf8', start, nl));
        if (r) {
          cache.load(r);
          report.records++;
        } else report.corrupt++;
        start = nl + 1;
        goodEnd = start;
      }
      for (const h of cache.migrated) cache.legacy.delete(h);
      if (goodEnd < buf.length) {
        // A record without its newline was being written when the process died.
        report.tornBytes = buf.length - goodEnd;
        await handle.truncate(goodEnd);
        await handle.sync();
      }
      return cache;
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  private load(r: LogRecord): void {
    if (r.s === undefined) {
      this.bounds.set(`${r.k}:${r.h}`, {
        upperBound: r.b as number,
        pNo: typeof r.n === 'number' ? r.n : Number.NaN,
        modelId: r.m,
        promptId: r.p,
        time: r.at,
      });
      return;
    }
    const score: CachedScore = {
      pYes: r.s,
      pNo: typeof r.n === 'number' ? r.n : Number.NaN,
      tokens: r.t,
      truncated: r.tr === 1,
      modelId: r.m,
      promptId: r.p,
      time: r.at,
    };
    if (r.v === undefined) {
      let m = this.legacy.get(r.h);
      if (!m) this.legacy.set(r.h, (m = new Map()));
      m.set(r.k, score);
      return;
    }
    if (r.from !== undefined) this.migrated.add(r.from);
    this.remember(r.k, r.h, score);
  }

  /** Version-1 keyed hashes not re-keyed yet (0: nothing to migrate). */
  get legacyHashes(): number {
    return this.legacy.size;
  }

  /** Whether scores wait under this version-1 hash. */
  hasLegacy(legacyHash: string): boolean {
    return this.legacy.has(legacyHash);
  }

  /**
   * Copies the scores stored under version-1 hashes to their version-2 hashes (one write, one
   * fsync), for rows whose both hashes are known. A score already stored under the new hash
   * wins. Resolves to the number of scores copied.
   */
  async rekeyLegacy(pairs: Iterable<{ legacy: string; hash: string }>): Promise<number> {
    let text = '';
    let copied = 0;
    for (const { legacy, hash } of pairs) {
      const scores = this.legacy.get(legacy);
      if (!scores) continue;
      this.legacy.delete(legacy);
      for (const [scorer, score] of scores) {
        if (this.map.has(`${scorer}:${hash}`)) continue;
        this.remember(scorer, hash, score);
        text += encodeRecord({ ...toRecord(scorer, hash, score), from: legacy });
        copied++;
      }
    }
    if (text !== '') await this.append(text);
    return copied;
  }

  /** Number of distinct cached scores. */
  get size(): number {
    return this.map.size;
  }

  /**
   * The most recent score of a content hash under any scorer, optionally only from a model
   * and/or prompt id. Lets a file show its scores at once, before any model is loaded.
   */
  latest(
    hash: string,
    match: { modelId?: string; promptId?: string } = {},
  ): (CachedScore & { scorerKey: string }) | undefined {
    let best: (CachedScore & { scorerKey: string }) | undefined;
    for (const [scorerKey, s] of this.byContent.get(hash) ?? [])
      if (
        (match.modelId === undefined || s.modelId === match.modelId) &&
        (match.promptId === undefined || s.promptId === match.promptId) &&
        (best === undefined || s.time >= best.time)
      )
        best = { ...s, scorerKey };
    return best;
  }

  private remember(scorer: string, hash: string, score: CachedScore): void {
    this.map.set(`${scorer}:${hash}`, score);
    // A score of the row replaces the bound an earlier top-k run left for it.
    this.bounds.delete(`${scorer}:${hash}`);
    let m = this.byContent.get(hash);
    if (!m) this.byContent.set(hash, (m = new Map()));
    m.set(scorer, score);
  }

  /** The stored score of a row under a scorer, if any. */
  get(scorer: string, hash: string): CachedScore | undefined {
    return this.map.get(`${scorer}:${hash}`);
  }

  /**
   * Appends a batch of scores with one write and an fsync. Resolves once the batch is durable.
   * Concurrent calls are serialised.
   */
  putMany(
    scorer: string,
    entries: readonly { hash: string; score: Omit<CachedScore, 'time'> & { time?: number } }[],
  ): Promise<void> {
    if (entries.length === 0) return this.writing;
    const now = Date.now();
    let text = '';
    for (const { hash, score } of entries) {
      const full: CachedScore = { ...score, time: score.time ?? now };
      this.remember(scorer, hash, full);
      text += encodeRecord(toRecord(scorer, hash, full));
    }
    return this.append(text);
  }

  /** The stored upper bound of a row under a scorer, if any (never a score). */
  getBound(scorer: string, hash: string): CachedBound | undefined {
    return this.bounds.get(`${scorer}:${hash}`);
  }

  /**
   * Appends bound records (rows a top-k engine gave only an upper bound for) with one write and
   * an fsync, after the writes before it.
   */
  putBounds(
    scorer: string,
    entries: readonly { hash: string; bound: Omit<CachedBound, 'time'> & { time?: number } }[],
  ): Promise<void> {
    if (entries.length === 0) return this.writing;
    const now = Date.now();
    let text = '';
    for (const { hash, bound } of entries) {
      const full: CachedBound = { ...bound, time: bound.time ?? now };
      this.bounds.set(`${scorer}:${hash}`, full);
      const r: LogRecord = {
        k: scorer,
        h: hash,
        b: full.upperBound,
        ...(Number.isFinite(full.pNo) ? { n: full.pNo } : {}),
        t: 0,
        tr: 0,
        m: full.modelId,
        p: full.promptId,
        at: full.time,
        v: RECORD_HASH_VERSION,
      };
      text += encodeRecord(r);
    }
    return this.append(text);
  }

  /** Appends `text` and fsyncs, after the writes before it. */
  private append(text: string): Promise<void> {
    const run = async (): Promise<void> => {
      await this.handle.appendFile(text, 'utf8');
      await this.handle.sync();
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.handle.close();
  }
}
