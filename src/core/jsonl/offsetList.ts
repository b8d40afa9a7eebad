/**
 * Growable list of byte offsets, 8 bytes per entry (float64 holds any offset below 2^53 exactly).
 *
 * Entries live in fixed-size chunks so that growing never copies what is already stored and no
 * single allocation gets large: 100M lines take 100 chunks of 8 MiB. Only the last chunk grows
 * (by doubling, from a small start) so that small files stay small.
 */
const CHUNK_SHIFT = 20;
const CHUNK_SIZE = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SIZE - 1;
const FIRST_CAPACITY = 1024;

export class OffsetList {
  private chunks: Float64Array[] = [];
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
    return this.chunks[i >>> CHUNK_SHIFT][i & CHUNK_MASK];
  }

  /** The last entry, or `undefined` when empty. */
  last(): number | undefined {
    return this.len === 0 ? undefined : this.get(this.len - 1);
  }

  push(value: number): void {
    this.reserve(1);
    this.chunks[this.len >>> CHUNK_SHIFT][this.len & CHUNK_MASK] = value;
    this.len++;
  }

  /** Appends all values (copied; the source may be reused afterwards). */
  pushAll(values: Float64Array): void {
    let from = 0;
    while (from < values.length) {
      const room = this.reserve(values.length - from);
      const n = Math.min(room, values.length - from);
      this.chunks[this.len >>> CHUNK_SHIFT].set(
        values.subarray(from, from + n),
        this.len & CHUNK_MASK,
      );
      this.len += n;
      from += n;
    }
  }

  /** Removes all entries and releases the memory. */
  clear(): void {
    this.chunks = [];
    this.len = 0;
  }

  /** Ensures the chunk holding index `len` exists with room; returns the room in that chunk. */
  private reserve(wanted: number): number {
    const ci = this.len >>> CHUNK_SHIFT;
    const at = this.len & CHUNK_MASK;
    let chunk = this.chunks[ci];
    if (!chunk) {
      chunk = new Float64Array(
        ci === 0 ? Math.max(FIRST_CAPACITY, Math.min(wanted, CHUNK_SIZE)) : CHUNK_SIZE,
      );
      this.chunks.push(chunk);
    } else if (at >= chunk.length || chunk.length - at < wanted) {
      if (chunk.length < CHUNK_SIZE) {
        let cap = chunk.length * 2;
        while (cap < CHUNK_SIZE && cap - at < wanted) cap *= 2;
        const grown = new Float64Array(Math.min(cap, CHUNK_SIZE));
        grown.set(chunk.subarray(0, at));
        this.chunks[ci] = chunk = grown;
      }
    }
    return chunk.length - at;
  }
}
