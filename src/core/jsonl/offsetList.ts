/**
 * Growable list of ascending byte offsets (the line index's newlines), about 4 bytes per entry.
 *
 * Entries live in fixed-size chunks so that growing never copies what is already stored and no
 * single allocation gets large: 100M lines take 100 chunks of 4 MiB. Only the last chunk grows
 * (by doubling, from a small start) so that small files stay small. A chunk stores each offset
 * as a Uint32 distance from the chunk's first offset; a chunk whose lines span 4 GiB or more
 * (lines of 4 KiB on average) is widened to float64 offsets, which hold any offset below 2^53
 * exactly.
 */
const CHUNK_SHIFT = 20;
const CHUNK_SIZE = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SIZE - 1;
const FIRST_CAPACITY = 1024;
const MAX_DELTA = 0xffffffff;

export class OffsetList {
  private chunks: (Uint32Array | Float64Array)[] = [];
  /** Per chunk: its first offset (narrow chunks store distances from it), or NaN when wide. */
  private bases: number[] = [];
  private len = 0;

  /** Number of entries. */
  get length(): number {
    return this.len;
  }

  /** Bytes held by the backing arrays. */
  get byteSize(): number {
    let total = 0;
    for (const c of this.chunks) total += c.byteLength;
    return total;
  }

  /** Entry `i`; the caller guarantees `0 <= i < length`. */
  get(i: number): number {
    const ci = i >>> CHUNK_SHIFT;
    const base = this.bases[ci];
    const v = this.chunks[ci][i & CHUNK_MASK];
    return base === base ? base + v : v; // NaN !== NaN: a wide chunk holds offsets as they are
  }

  /** The last entry, or `undefined` when empty. */
  last(): number | undefined {
    return this.len === 0 ? undefined : this.get(this.len - 1);
  }

  push(value: number): void {
    this.pushAll(Float64Array.of(value));
  }

  /** Appends all values (copied; the source may be reused afterwards). */
  pushAll(values: Float64Array): void {
    let from = 0;
    while (from < values.length) {
      const room = this.reserve(values.length - from, values[from]);
      const n = Math.min(room, values.length - from);
      const ci = this.len >>> CHUNK_SHIFT;
      const at = this.len & CHUNK_MASK;
      const base = this.bases[ci];
      if (base !== base) {
        this.chunks[ci].set(values.subarray(from, from + n), at);
      } else if (values[from + n - 1] - base > MAX_DELTA) {
        // Offsets are ascending: the last one tells whether the run still fits in 32 bits.
        this.widen(ci);
        continue;
      } else {
        const chunk = this.chunks[ci];
        for (let k = 0; k < n; k++) chunk[at + k] = values[from + k] - base;
      }
      this.len += n;
      from += n;
    }
  }

  /** Removes all entries and releases the memory. */
  clear(): void {
    this.chunks = [];
    this.bases = [];
    this.len = 0;
  }

  /** Turns chunk `ci` into float64 offsets (its lines span 4 GiB or more). */
  private widen(ci: number): void {
    const narrow = this.chunks[ci];
    const base = this.bases[ci];
    const wide = new Float64Array(narrow.length);
    const filled = ci === this.len >>> CHUNK_SHIFT ? this.len & CHUNK_MASK : narrow.length;
    for (let k = 0; k < filled; k++) wide[k] = base + narrow[k];
    this.chunks[ci] = wide;
    this.bases[ci] = NaN;
  }

  /**
   * Ensures the chunk holding index `len` exists with room; returns the room in that chunk. A new
   * chunk takes `first` (the next value) as its base.
   */
  private reserve(wanted: number, first: number): number {
    const ci = this.len >>> CHUNK_SHIFT;
    const at = this.len & CHUNK_MASK;
    let chunk = this.chunks[ci];
    if (!chunk) {
      chunk = new Uint32Array(
        ci === 0 ? Math.max(FIRST_CAPACITY, Math.min(wanted, CHUNK_SIZE)) : CHUNK_SIZE,
      );
      this.chunks.push(chunk);
      this.bases.push(first);
    } else if (at >= chunk.length || chunk.length - at < wanted) {
      if (chunk.length < CHUNK_SIZE) {
        let cap = chunk.length * 2;
        while (cap < CHUNK_SIZE && cap - at < wanted) cap *= 2;
        const grown =
          chunk instanceof Float64Array
            ? new Float64Array(Math.min(cap, CHUNK_SIZE))
            : new Uint32Array(Math.min(cap, CHUNK_SIZE));
        grown.set(chunk.subarray(0, at));
        this.chunks[ci] = chunk = grown;
      }
    }
    return chunk.length - at;
  }
}
