/**
 * Index benchmark: `npm run bench:index [-- --size 1GB]`.
 *
 * Generates a synthetic C4-like JSONL file (`{"text","timestamp","url"}`, text lengths spread
 * around a median of ~1.2 KB like C4) in a temp folder, warms the page cache, then measures in
 * the same run, best of three each:
 * - `wc -l` on the file (the limit: a C loop over page-cached data);
 * - the Winnow index (JsonlFile.open + whenIndexed), and the plain Buffer.indexOf scanner;
 * - time to the first 100 rows of a fresh open;
 * - peak RSS of a child process that only opens and indexes the file.
 * It prints throughput as a ratio to `wc -l` (goal >= 0.7x) and deletes the file at the end.
 * Flags: --size N[KB|MB|GB] (default 1GB), --median N (median text length in bytes, default
 * 1200; use ~40 for 100M lines in 10 GB), --runs N (default 3), --keep (keep the file).
 *
 * `npm run bench:index -- --gzip [--gzip-mb N] [--gzip-layout members|pigz|gzip]` measures the
 * gzip row index instead (GzipJsonl, src/core/jsonl/gzipIndex.ts) on a `.jsonl.gz` of N MB
 * decompressed (default 1024) that it writes as 4 MiB gzip members (`members`, the default, as
 * bgzip, pgzip or concatenated shards are), as one member with a sync flush every 128 KiB
 * (`pigz`), or as one plain member (`gzip`): time to
 * the first rows (goal < 1 s), full index throughput against `zcat FILE | wc -l` (goal >= 0.8x),
 * index memory per line, the checkpoints' memory, and the cost of a read far into the file with
 * and without the checkpoints (without: what a single-member file costs).
 *
 * `npm run bench:index -- --zstd [--zstd-mb N] [--zstd-layout frames|single]
 * [--zstd-decoder native|fzstd]` does the same for the zstd row index (ZstdJsonl) on a
 * `.jsonl.zst` written as 4 MiB frames (`frames`, the default, as pzstd or concatenated shards)
 * or as one frame (`single`, as `zstd -T0` writes it), with the `zstd` CLI where it is installed,
 * else the library encoder. The baseline is `zstdcat FILE | wc -l` where `zstdcat` exists, else
 * the decoder's raw throughput (decodeFrames with no indexing).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { constants as zlibConstants, createGzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import {
  decodeFrames,
  GzipJsonl,
  JsonlFile,
  nativeZstdAvailable,
  ZstdJsonl,
  type ZstdDecoderKind,
} from '../../src/core/jsonl';
import { open as openHandle } from 'node:fs/promises';
import { zstdFrame, zstdStreamed } from '../support/zstdFixtures';

const WORDS = (
  'the of and to a in is that for it as was with be by on not he this are or his from at which ' +
  'but have an they you were her she there been one all we their has would when if more no out ' +
  'so said what up its about into than them can only other new some could time these two may ' +
  'first then do any like my now over such our man me even most made after also did many off ' +
  'before must well back through years much where your way down should because each just those ' +
  'people how too little state good very make world still own see men work long here get both ' +
  'heating service experts offers quality improve comfortably efficiency filters solution home'
).split(' ');

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(s.trim());
  if (!m) throw new Error(`Bad --size ${s} (use e.g. 200MB, 1GB)`);
  const unit = { B: 1, KB: 1 << 10, MB: 1 << 20, GB: 1 << 30 }[(m[2] ?? 'B').toUpperCase()] ?? 1;
  return Math.round(parseFloat(m[1]) * unit);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** xorshift32, seeded: the file is the same for the same size. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Writes `size` bytes (whole lines, the last one may be cut short) of C4-like JSONL. */
function generate(path: string, size: number, median: number): void {
  const rand = rng(42);
  // A pool of distinct lines, written in random order: generation stays fast at 10 GB.
  const pool: Buffer[] = [];
  for (let i = 0; i < 4096; i++) {
    // Log-normal-ish text lengths around the median (C4: ~1.2 KB), from tens of bytes to 25x.
    const len = Math.min(
      median * 25,
      Math.max(10, Math.round(median * Math.exp((rand() + rand() + rand() - 1.5) * 2))),
    );
    const words: string[] = [];
    let n = 0;
    while (n < len) {
      const w = WORDS[Math.floor(rand() * WORDS.length)];
      words.push(rand() < 0.05 ? `${w}.\n` : w);
      n += w.length + 1;
    }
    const line = JSON.stringify({
      text: words.join(' '),
      timestamp: `2019-04-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}T10:00:00Z`,
      url: `https://example.com/${Math.floor(rand() * 1e9).toString(36)}`,
    });
    pool.push(Buffer.from(`${line}\n`));
  }
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(8 << 20);
  let written = 0;
  try {
    while (written < size) {
      let used = 0;
      for (;;) {
        const line = pool[Math.floor(rand() * pool.length)];
        if (used + line.length > chunk.length) break;
        line.copy(chunk, used);
        used += line.length;
      }
      const n = Math.min(used, size - written);
      writeSync(fd, chunk, 0, n);
      written += n;
    }
  } finally {
    closeSync(fd);
  }
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function wcLines(path: string): { s: number; lines: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('wc', ['-l', path], { encoding: 'utf8' });
  const s = seconds(t0);
  if (r.status !== 0) throw new Error(`wc -l failed: ${r.stderr}`);
  return { s, lines: parseInt(r.stdout, 10) };
}

async function indexOnce(
  path: string,
  scalarScan: boolean,
): Promise<{ s: number; lines: number; newlines: number }> {
  const t0 = process.hrtime.bigint();
  const file = await JsonlFile.open(path, { scalarScan });
  await file.whenIndexed();
  const s = seconds(t0);
  const lines = file.lineCount;
  // wc -l counts newlines: a final line without one is a row for us but not for wc.
  const last = lines > 0 ? file.rowSpan(lines - 1) : undefined;
  const newlines = last && last.eolEnd === last.end ? lines - 1 : lines;
  await file.close();
  return { s, lines, newlines };
}

async function firstRows(path: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const file = await JsonlFile.open(path);
  const rows = await file.readRows(0, 100);
  const s = seconds(t0);
  if (rows.length !== 100) throw new Error(`expected 100 rows, got ${rows.length}`);
  await file.close();
  return s;
}

/** Child mode: index the file and print peak RSS and index size as JSON. */
async function child(path: string): Promise<void> {
  const before = process.memoryUsage().rss;
  const file = await JsonlFile.open(path);
  await file.whenIndexed();
  const out = {
    baseRss: before,
    maxRss: process.resourceUsage().maxRSS * 1024,
    indexBytes: file.indexBytes,
    lines: file.lineCount,
  };
  await file.close();
  process.stdout.write(JSON.stringify(out));
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const gbps = (bytes: number, s: number) => `${(bytes / 1e9 / s).toFixed(2)} GB/s`;

/** Compresses `plainPath` into `gzPath` as independent gzip members of `memberBytes` each. */
async function gzipMembers(plainPath: string, gzPath: string, memberBytes: number): Promise<void> {
  const gzipAsync = promisify(gzip);
  const src = openSync(plainPath, 'r');
  const dst = openSync(gzPath, 'w');
  try {
    const size = statSync(plainPath).size;
    // Two members at a time: one per core.
    for (let at = 0; at < size; at += 2 * memberBytes) {
      const pieces = [at, at + memberBytes]
        .filter(p => p < size)
        .map(p => {
          const buf = Buffer.allocUnsafe(Math.min(memberBytes, size - p));
          readSync(src, buf, 0, buf.length, p);
          return gzipAsync(buf);
        });
      for (const member of await Promise.all(pieces)) writeSync(dst, member);
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/**
 * Compresses `plainPath` into `gzPath` as one gzip member; with `flushEvery`, a sync flush after
 * every `flushEvery` bytes of input, as pigz writes it.
 */
async function gzipOneMember(
  plainPath: string,
  gzPath: string,
  flushEvery?: number,
): Promise<void> {
  const src = openSync(plainPath, 'r');
  const dst = openSync(gzPath, 'w');
  const gz = createGzip();
  gz.on('data', (b: Buffer) => writeSync(dst, b));
  const done = new Promise(resolve => gz.on('end', resolve));
  try {
    const buf = Buffer.allocUnsafe(flushEvery ?? 1 << 20);
    for (let n = readSync(src, buf); n > 0; n = readSync(src, buf)) {
      gz.write(Buffer.from(buf.subarray(0, n)));
      const kind = flushEvery ? zlibConstants.Z_SYNC_FLUSH : zlibConstants.Z_NO_FLUSH;
      await new Promise<void>(resolve => gz.flush(kind, () => resolve()));
    }
    gz.end();
    await done;
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

function zcatLines(path: string): { s: number; lines: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', 'zcat "$1" | wc -l', 'sh', path], { encoding: 'utf8' });
  const s = seconds(t0);
  if (r.status !== 0) throw new Error(`zcat | wc -l failed: ${r.stderr}`);
  return { s, lines: parseInt(r.stdout, 10) };
}

/** Time from open to `count` rows at `row` in hand (the last rows when `row` is negative). */
async function gzipRead(
  path: string,
  row: number,
  count: number,
  interval?: number,
): Promise<number> {
  const file = await GzipJsonl.open(path, { checkpointInterval: interval });
  if (row < 0) await file.whenIndexed();
  const at = row < 0 ? file.lineCount - count : row;
  const t0 = process.hrtime.bigint();
  const rows = await file.readRows(at, count);
  const s = seconds(t0);
  if (rows.length !== count) throw new Error(`expected ${count} rows, got ${rows.length}`);
  await file.close();
  return s;
}

async function gzipIndexOnce(path: string): Promise<{ s: number; file: GzipJsonl }> {
  const t0 = process.hrtime.bigint();
  const file = await GzipJsonl.open(path);
  await file.whenIndexed();
  return { s: seconds(t0), file };
}

async function gzipBench(dir: string, runs: number): Promise<void> {
  const plainPath = join(dir, 'bench.jsonl');
  const path = join(dir, 'bench.jsonl.gz');
  const size = parseInt(arg('--gzip-mb') ?? '1024', 10) << 20;
  const tg = process.hrtime.bigint();
  generate(plainPath, size, parseInt(arg('--median') ?? '1200', 10));
  const layout = arg('--gzip-layout') ?? 'members';
  if (layout === 'members') await gzipMembers(plainPath, path, 4 << 20);
  else if (layout === 'pigz') await gzipOneMember(plainPath, path, 128 << 10);
  else if (layout === 'gzip') await gzipOneMember(plainPath, path);
  else throw new Error(`Bad --gzip-layout ${layout} (members, pigz or gzip)`);
  rmSync(plainPath);
  const gzBytes = statSync(path).size;
  console.log(
    `index.bench --gzip: ${mb(size)} of C4-like JSONL as ${mb(gzBytes)} of gzip (layout ${layout}) at ${path} (made in ${seconds(tg).toFixed(1)} s)`,
  );
  zcatLines(path); // warm the page cache
  let zcat = { s: Infinity, lines: 0 };
  let ours = Infinity;
  let last: GzipJsonl | undefined;
  for (let r = 0; r < runs; r++) {
    const z = zcatLines(path);
    if (z.s < zcat.s) zcat = z;
    await last?.close();
    const g = await gzipIndexOnce(path);
    ours = Math.min(ours, g.s);
    last = g.file;
  }
  const file = last as GzipJsonl;
  const lines = file.lineCount;
  const lastSpan = file.rowSpan(lines - 1);
  const newlines = lastSpan.eolEnd === lastSpan.end ? lines - 1 : lines;
  if (newlines !== zcat.lines)
    throw new Error(`line count mismatch: zcat ${zcat.lines}, index ${newlines}`);
  const report = {
    first: Math.min(await gzipRead(path, 0, 100), await gzipRead(path, 0, 100)),
    lastWith: await gzipRead(path, -1, 100),
    lastWithout: await gzipRead(path, -1, 100, Infinity),
  };
  const out = size;
  console.log(
    `lines                ${lines.toLocaleString('en-US')} (zcat | wc -l: ${zcat.lines.toLocaleString('en-US')})`,
  );
  console.log(`zcat | wc -l         ${zcat.s.toFixed(3)} s  ${gbps(out, zcat.s)} decompressed`);
  console.log(
    `winnow gzip index    ${ours.toFixed(3)} s  ${gbps(out, ours)} decompressed  ratio ${(zcat.s / ours).toFixed(2)}x zcat | wc -l (goal >= 0.8x)`,
  );
  console.log(
    `first 100 rows       ${(report.first * 1000).toFixed(1)} ms (open to rows in hand; goal < 1 s)`,
  );
  console.log(
    `index memory         ${mb(file.indexBytes)} = ${(file.indexBytes / lines).toFixed(1)} bytes/line; ` +
      `checkpoints ${file.checkpointCount} (${file.flushPointCount} at flush points, with windows) = ${(file.checkpointBytes / 1024).toFixed(1)} KiB`,
  );
  console.log(
    `last 100 rows        ${(report.lastWith * 1000).toFixed(1)} ms from the nearest checkpoint; ` +
      `${(report.lastWithout * 1000).toFixed(1)} ms from the file start (a single-member file)`,
  );
  await file.close();
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** Compresses `plainPath` into `zstPath`: frames of `frameBytes` each, or one frame. */
async function zstdCompress(plainPath: string, zstPath: string, frameBytes?: number) {
  if (!frameBytes && hasCommand('zstd')) {
    const r = spawnSync('zstd', ['-q', '-T0', '-f', plainPath, '-o', zstPath]);
    if (r.status !== 0) throw new Error(`zstd failed: ${String(r.stderr)}`);
    return 'zstd -T0';
  }
  const src = openSync(plainPath, 'r');
  const dst = openSync(zstPath, 'w');
  try {
    if (!frameBytes) {
      const all = Buffer.allocUnsafe(statSync(plainPath).size);
      readSync(src, all, 0, all.length, 0);
      writeSync(dst, await zstdStreamed(all, 1 << 20));
      return 'libzstd (WebAssembly), streamed';
    }
    const buf = Buffer.allocUnsafe(frameBytes);
    const native = (zlib as { zstdCompressSync?: (b: Uint8Array) => Buffer }).zstdCompressSync;
    for (let n = readSync(src, buf); n > 0; n = readSync(src, buf)) {
      const piece = buf.subarray(0, n);
      writeSync(dst, native ? native(piece) : await zstdFrame(piece));
    }
    return native ? "Node's zlib, one call per frame" : 'libzstd (WebAssembly), one call per frame';
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/** The baseline: `zstdcat | wc -l`, or the decoder alone (no line index) without zstdcat. */
async function zstdBaseline(path: string, decoder: ZstdDecoderKind) {
  if (hasCommand('zstdcat')) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('sh', ['-c', 'zstdcat "$1" | wc -l', 'sh', path], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`zstdcat | wc -l failed: ${r.stderr}`);
    return { name: 'zstdcat | wc -l', s: seconds(t0), lines: parseInt(r.stdout, 10) };
  }
  const fh = await openHandle(path, 'r');
  const t0 = process.hrtime.bigint();
  let lines = 0;
  for await (const c of decodeFrames(fh, path, { compressed: 0, decompressed: 0 }, { decoder })) {
    for (let p = c.data.indexOf(10); p >= 0; p = c.data.indexOf(10, p + 1)) lines++;
  }
  const s = seconds(t0);
  await fh.close();
  return { name: `${decoder} decode + indexOf`, s, lines };
}

async function zstdRead(path: string, row: number, decoder: ZstdDecoderKind, interval?: number) {
  const file = await ZstdJsonl.open(path, { decoder, checkpointInterval: interval });
  if (row < 0) await file.whenIndexed();
  const at = row < 0 ? file.lineCount - 100 : row;
  const t0 = process.hrtime.bigint();
  const rows = await file.readRows(at, 100);
  const s = seconds(t0);
  if (rows.length !== 100) throw new Error(`expected 100 rows, got ${rows.length}`);
  await file.close();
  return s;
}

async function zstdBench(dir: string, runs: number): Promise<void> {
  const plainPath = join(dir, 'bench.jsonl');
  const path = join(dir, 'bench.jsonl.zst');
  const size = parseInt(arg('--zstd-mb') ?? '1024', 10) << 20;
  const layout = arg('--zstd-layout') ?? 'frames';
  if (layout !== 'frames' && layout !== 'single') throw new Error(`Bad --zstd-layout ${layout}`);
  const decoder = (arg('--zstd-decoder') ??
    (nativeZstdAvailable() ? 'native' : 'fzstd')) as ZstdDecoderKind;
  const tg = process.hrtime.bigint();
  generate(plainPath, size, parseInt(arg('--median') ?? '1200', 10));
  const how = await zstdCompress(plainPath, path, layout === 'frames' ? 4 << 20 : undefined);
  rmSync(plainPath);
  console.log(
    `index.bench --zstd: ${mb(size)} of C4-like JSONL as ${mb(statSync(path).size)} of zstd (layout ${layout}, by ${how}) at ${path} (made in ${seconds(tg).toFixed(1)} s); decoder ${decoder}, Node ${process.versions.node}`,
  );
  await zstdBaseline(path, decoder); // warm the page cache
  let base = { name: '', s: Infinity, lines: 0 };
  let ours = Infinity;
  let file: ZstdJsonl | undefined;
  for (let r = 0; r < runs; r++) {
    const b = await zstdBaseline(path, decoder);
    if (b.s < base.s) base = b;
    await file?.close();
    const t0 = process.hrtime.bigint();
    file = await ZstdJsonl.open(path, { decoder });
    await file.whenIndexed();
    ours = Math.min(ours, seconds(t0));
  }
  const f = file as ZstdJsonl;
  const lines = f.lineCount;
  const lastSpan = f.rowSpan(lines - 1);
  const newlines = lastSpan.eolEnd === lastSpan.end ? lines - 1 : lines;
  if (newlines !== base.lines)
    throw new Error(`line count mismatch: ${base.name} ${base.lines}, index ${newlines}`);
  const first = Math.min(await zstdRead(path, 0, decoder), await zstdRead(path, 0, decoder));
  const lastWith = await zstdRead(path, -1, decoder);
  const lastWithout = await zstdRead(path, -1, decoder, Infinity);
  console.log(`lines                ${lines.toLocaleString('en-US')}`);
  console.log(`${base.name.padEnd(20)} ${base.s.toFixed(3)} s  ${gbps(size, base.s)} decompressed`);
  console.log(
    `winnow zstd index    ${ours.toFixed(3)} s  ${gbps(size, ours)} decompressed  ratio ${(base.s / ours).toFixed(2)}x ${base.name} (goal >= 0.8x)`,
  );
  console.log(
    `first 100 rows       ${(first * 1000).toFixed(1)} ms (open to rows in hand; goal < 1 s)`,
  );
  console.log(
    `index memory         ${mb(f.indexBytes)} = ${(f.indexBytes / lines).toFixed(1)} bytes/line; ` +
      `checkpoints ${f.checkpointCount} (frame starts) = ${(f.checkpointBytes / 1024).toFixed(1)} KiB`,
  );
  console.log(
    `last 100 rows        ${(lastWith * 1000).toFixed(1)} ms from the nearest checkpoint; ` +
      `${(lastWithout * 1000).toFixed(1)} ms from the file start (a single-frame file)`,
  );
  await f.close();
}

async function main(): Promise<void> {
  const childPath = arg('--child');
  if (childPath) return child(childPath);
  const compressed = process.argv.includes('--gzip')
    ? gzipBench
    : process.argv.includes('--zstd')
      ? zstdBench
      : undefined;
  if (compressed) {
    const dir = mkdtempSync(join(tmpdir(), 'winnow-bench-'));
    try {
      return await compressed(dir, parseInt(arg('--runs') ?? '3', 10));
    } finally {
      if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    }
  }

  const size = parseSize(arg('--size') ?? '1GB');
  const median = parseInt(arg('--median') ?? '1200', 10);
  const runs = parseInt(arg('--runs') ?? '3', 10);
  const dir = mkdtempSync(join(tmpdir(), 'winnow-bench-'));
  const path = join(dir, 'bench.jsonl');
  const cleanup = () => {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const tg = process.hrtime.bigint();
    generate(path, size, median);
    const bytes = statSync(path).size;
    console.log(
      `index.bench: ${mb(bytes)} synthetic C4-like JSONL at ${path} (generated in ${seconds(tg).toFixed(1)} s)`,
    );

    // Warm the page cache (and the JIT) once before measuring.
    wcLines(path);
    await indexOnce(path, false);

    let wc = Infinity;
    let simd = Infinity;
    let scalar = Infinity;
    let wcCount = 0;
    let ours = { lines: 0, newlines: 0 };
    for (let r = 0; r < runs; r++) {
      const w = wcLines(path);
      wc = Math.min(wc, w.s);
      wcCount = w.lines;
      const a = await indexOnce(path, false);
      simd = Math.min(simd, a.s);
      ours = a;
      scalar = Math.min(scalar, (await indexOnce(path, true)).s);
    }
    if (ours.newlines !== wcCount)
      throw new Error(`line count mismatch: wc ${wcCount}, index ${ours.newlines}`);
    const first = Math.min(await firstRows(path), await firstRows(path));

    const c = spawnSync(process.execPath, [__filename, '--child', path], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`child failed: ${c.stderr}`);
    const mem = JSON.parse(c.stdout) as {
      baseRss: number;
      maxRss: number;
      indexBytes: number;
      lines: number;
    };

    console.log(
      `lines                ${ours.lines.toLocaleString('en-US')} (wc -l: ${wcCount.toLocaleString('en-US')})`,
    );
    console.log(`wc -l                ${wc.toFixed(3)} s  ${gbps(bytes, wc)}`);
    console.log(
      `winnow index (simd)  ${simd.toFixed(3)} s  ${gbps(bytes, simd)}  ratio ${(wc / simd).toFixed(2)}x wc -l (goal >= 0.7x)`,
    );
    console.log(
      `indexOf scanner      ${scalar.toFixed(3)} s  ${gbps(bytes, scalar)}  ratio ${(wc / scalar).toFixed(2)}x wc -l (same reads, Buffer.indexOf instead of SIMD)`,
    );
    console.log(`first 100 rows       ${(first * 1000).toFixed(1)} ms (open to rows in hand)`);
    console.log(
      `peak RSS             ${mb(mem.maxRss)} (indexing child; ${mb(mem.baseRss)} at start; ` +
        `index ${mb(mem.indexBytes)} = ${(mem.indexBytes / Math.max(1, mem.lines)).toFixed(1)} bytes/line)`,
    );
  } finally {
    cleanup();
  }
}

main().catch(err => {
  console.error(err);
  process.exitCode = 1;
});
