/**
 * Bounded LRU cache of fixed-size file pages, used for random row reads.
 *
 * Pages are immutable once cached: readers may keep views into them after eviction. Concurrent
 * requests for the same page share one read.
 */
export type PageReader = (pageNo: number) => Promise<Buffer>;

export class PageCache {
  /** Insertion-ordered map used as an LRU: the first entry is the least recently used. */
  private readonly pages = new Map<number, Buffer>();
  private readonly inFlight = new Map<number, Promise<Buffer>>();
  private bytes = 0;
  /** Bumped by {@link clear}: reads that started before must not repopulate the cache. */
  private generation = 0;

  constructor(
    readonly pageSize: number,
    readonly maxBytes: number,
    private readonly read: PageReader,
  ) {}

  /** Bytes currently cached. */
  get size(): number {
    return this.bytes;
  }

  /** Page `pageNo` (may be shorter than a full page at the end of the file). */
  get(pageNo: number): Promise<Buffer> {
    const hit = this.pages.get(pageNo);
    if (hit) {
      this.pages.delete(pageNo);
      this.pages.set(pageNo, hit);
      return Promise.resolve(hit);
    }
    const pending = this.inFlight.get(pageNo);
    if (pending) return pending;
    const generation = this.generation;
    const p = this.read(pageNo).then(
      buf => {
        if (this.inFlight.get(pageNo) === p) this.inFlight.delete(pageNo);
        if (generation === this.generation) this.insert(pageNo, buf);
        return buf;
      },
      (err: unknown) => {
        if (this.inFlight.get(pageNo) === p) this.inFlight.delete(pageNo);
        throw err;
      },
    );
    this.inFlight.set(pageNo, p);
    return p;
  }

  /** Drops every page at or after `pageNo` (used when the file grows: the last page changed). */
  dropFrom(pageNo: number): void {
    for (const [no, buf] of this.pages) {
      if (no >= pageNo) {
        this.pages.delete(no);
        this.bytes -= buf.length;
      }
    }
    for (const no of this.inFlight.keys()) if (no >= pageNo) this.inFlight.delete(no);
    // Reads still in flight may have seen the old, shorter file: keep them out of the cache.
    this.generation++;
  }

  /** Drops everything. */
  clear(): void {
    this.pages.clear();
    this.inFlight.clear();
    this.bytes = 0;
    this.generation++;
  }

  private insert(pageNo: number, buf: Buffer): void {
    if (buf.length > this.maxBytes) return;
    const old = this.pages.get(pageNo);
    if (old) {
      this.pages.delete(pageNo);
      this.bytes -= old.length;
    }
    this.pages.set(pageNo, buf);
    this.bytes += buf.length;
    for (const [no, b] of this.pages) {
      if (this.bytes <= this.maxBytes) break;
      this.pages.delete(no);
      this.bytes -= b.length;
    }
  }
}
