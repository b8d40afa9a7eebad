/** Shared helpers for the JSONL engine tests: temp files, a seeded PRNG, row collection. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { JsonlFile, type JsonlFileOptions, type RawRow } from '../../src/core/jsonl';

/** A temp folder for this test file, removed when the file's tests end. */
export function tempDir(prefix = 'winnow-jsonl-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let counter = 0;

/** Writes `content` to a fresh file in `dir` and returns its path. */
export function writeTemp(dir: string, content: string | Uint8Array, name?: string): string {
  const path = join(dir, name ?? `f${counter++}.jsonl`);
  writeFileSync(path, content);
  return path;
}

/** Opens, waits for the index, and returns every row. The caller closes the file. */
export async function openAll(
  path: string,
  opts?: JsonlFileOptions,
): Promise<{ file: JsonlFile; rows: RawRow[] }> {
  const file = await JsonlFile.open(path, opts);
  await file.whenIndexed();
  const rows = await file.readRows(0, file.lineCount);
  return { file, rows };
}

/** Row bytes as latin1-free text (UTF-8 decoded, lossy) for readable assertions. */
export function text(row: RawRow): string {
  return Buffer.from(row.bytes).toString('utf8');
}

/** The rows a file's bytes should split into: split on `\n`, no row after a final `\n`. */
export function expectedLines(bytes: Uint8Array): Buffer[] {
  const buf = Buffer.from(bytes);
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    out.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

/** Deterministic PRNG (mulberry32). */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}
