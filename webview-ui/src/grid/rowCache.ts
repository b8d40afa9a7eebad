/**
 * A small LRU cache of row pages keyed by (generation, page), after hexeditor's `rawDataPages`.
 * Pages of an older generation (the file changed on disk) are never returned. No DOM: unit-tested
 * in Node.
 */

/** Least-recently-used map with a fixed capacity. Map iteration order is insertion order, so
 * re-inserting on access keeps the oldest entry first. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`LRU capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** Returns the value and marks it most recently used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Looks at a value without changing its recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Stores a value as most recently used, evicting the least recently used beyond capacity. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Keys from least to most recently used. */
  keys(): K[] {
    return [...this.map.keys()];
  }
}

/**
 * Cache key of one page of one scope: the file's generation, or a string naming the generation
 * and the view whose positions the page holds.
 */
export function pageKey(generation: number | string, page: number): string {
  return `${generation}:${page}`;
}

/** Pages of rows of type `R`, keyed by (generation, page). */
export class PageCache<R> {
  private readonly lru: LruCache<string, readonly R[]>;

  constructor(capacityPages: number) {
    this.lru = new LruCache(capacityPages);
  }

  get size(): number {
    return this.lru.size;
  }

  get(generation: number | string, page: number): readonly R[] | undefined {
    return this.lru.get(pageKey(generation, page));
  }

  peek(generation: number | string, page: number): readonly R[] | undefined {
    return this.lru.peek(pageKey(generation, page));
  }

  set(generation: number | string, page: number, rows: readonly R[]): void {
    this.lru.set(pageKey(generation, page), rows);
  }

  /** Drops every page not of `generation` (after the file or the view changed). */
  retainGeneration(generation: number | string): void {
    const prefix = `${generation}:`;
    for (const key of this.lru.keys()) if (!key.startsWith(prefix)) this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }
}
