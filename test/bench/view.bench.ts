/**
 * `npm run bench:view`: the dataset view's host side on a generated file of WINNOW_BENCH_ROWS
 * lines (default 10M, about 0.8 GB), each figure with the baseline it is measured against in the
 * same run:
 *  - time to first rows (open, schema, first page of grid rows) vs reading the first 64 KiB and
 *    splitting lines by hand (the least any viewer must do);
 *  - sorting 10M ASK-LLM scores into a view (radix sort of row indices by Float32 key) vs the
 *    engine's native `Float32Array.prototype.sort` of the bare values (which yields no row order);
 *  - the row scan production runs: the worker's one pass over the whole file (parse status,
 *    text length, fields, content hash; `Dataset`, src/worker/dataset), wall and CPU time, and
 *    the worker's memory per row;
 *  - the dataset view reading those row facts from the worker in chunks of the wire format
 *    (`RowFactsFeed` against the worker's `winnow/getRowFacts` answer, in this process);
 *  - filter, histograms, sort by length and a top-10% decision over 10M rows, on those facts;
 *  - extension-host memory of the host-side structures for the whole file (sparse line index,
 *    row facts, decisions, score columns, a sorted view), measured as ArrayBuffer bytes, against
 *    the file's size. The host holds no content hash: the worker matches and gives them.
 */
import { open as openFile, rm, stat } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectSchema, JsonlFile, SCHEMA_SAMPLE_LINES, schemaSample } from '../../src/core/jsonl';
import { DatasetView, type ViewSource } from '../../src/core/dataset/datasetView';
import { DecisionColumn } from '../../src/core/dataset/decisions';
import { float32Keys, sortByKeys } from '../../src/core/dataset/radixSort';
import { RowFactsFeed } from '../../src/core/dataset/rowFactsFeed';
import { PREVIEW_CHARS, toRowView } from '../../src/core/dataset/rowViews';
import { Dataset } from '../../src/worker/dataset/dataset';
import { decodeRows, rowFactsAnswer } from '../../src/worker/dataset/rowFactsAnswer';
import { Logger } from '../../src/worker/logger';
import type { ScoreColumns } from '../../src/core/dataset/scoreColumns';
import { filterRows, histogram } from '../../src/core/dataset/viewEngine';

const ROWS = Number(process.env.WINNOW_BENCH_ROWS ?? 10_000_000);
const TOPICS = ['rivers', 'prime numbers', 'bread', 'volcanoes', 'sorting', 'tides', 'owls'];

const ms = (t0: number) => performance.now() - t0;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
const mb = (b: number) => `${fmt(b / 1e6)} MB`;

async function generate(path: string, n: number): Promise<number> {
  const fh = await openFile(path, 'w');
  let bytes = 0;
  try {
    let chunk: string[] = [];
    for (let i = 0; i < n; i++) {
      const t = TOPICS[i % TOPICS.length];
      chunk.push(
        `{"instruction":"Explain ${t} (${i})","input":"","output":"${t} answer ${i % 997}"}`,
      );
      if (chunk.length === 50_000 || i === n - 1) {
        const { bytesWritten } = await fh.write(chunk.join('\n') + '\n');
        bytes += bytesWritten;
        chunk = [];
      }
    }
  } finally {
    await fh.close();
  }
  return bytes;
}

function arrayBytes(): number {
  return process.memoryUsage().arrayBuffers;
}

/**
 * The row scan production runs: the worker's Dataset over the whole file (what `dist/worker.js`
 * does for an open dataset), measured in this process: wall and CPU time, rows/s, and the memory
 * it holds per row (typed arrays: line index and row columns) plus the growth of the JavaScript
 * heap and RSS while it ran.
 */
async function workerScan(path: string, rows: number): Promise<Dataset> {
  const silent = new Logger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });
  const before = process.memoryUsage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const dataset = await Dataset.open(
    'file:///bench.jsonl',
    path,
    { maxLineBytes: 1 << 20, detailCap: 1000 },
    silent,
  );
  await dataset.whenValidated();
  const scanMs = ms(t0);
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  if (dataset.validatedRows !== rows)
    throw new Error(`The worker scanned ${dataset.validatedRows} of ${rows} rows`);
  const columns = dataset.rows.columns.memoryBytes;
  const held = dataset.file.indexBytes + columns;
  const after = process.memoryUsage();
  console.log(
    `[view bench] row scan (the worker's one pass: parse status, length, fields, content hash, schema) of the whole file, ${fmt(rows)} rows: ` +
      `${fmt(scanMs / 1000)} s, ${fmt((rows / scanMs) * 1000)} rows/s (${dataset.invalidCount} invalid); ` +
      `CPU time ${fmt(cpuMs / 1000)} s, ${fmt((rows / cpuMs) * 1000)} rows/s of CPU (wall time includes waiting for a core on a shared machine)`,
  );
  console.log(
    `[view bench] worker memory for the file: ${mb(held)} of typed arrays ` +
      `(line index ${mb(dataset.file.indexBytes)}, row columns with content hashes ${mb(columns)}) = ${fmt(held / rows)} bytes/row; ` +
      `heap +${mb(after.heapUsed - before.heapUsed)}, RSS +${mb(after.rss - before.rss)} during the scan`,
  );
  return dataset;
}

/** The dataset view's copy of the facts, read from the worker in chunks of the wire format. */
async function hostFacts(file: JsonlFile, dataset: Dataset, decisions: DecisionColumn) {
  const uri = dataset.uri;
  const feed = new RowFactsFeed(
    file,
    decisions,
    {
      getRowFacts: async p => rowFactsAnswer(dataset, { uri, ...p }),
      setSavedDecisions: async p => dataset.setSavedDecisions({ uri, ...p }),
      decisionHashes: async p =>
        dataset.decisionHashes(p.version, decodeRows(p.keep), decodeRows(p.drop)),
    },
    {
      onRows: () => undefined,
      onComplete: () => undefined,
      onError: e => {
        throw e;
      },
    },
  );
  const t0 = performance.now();
  feed.start();
  await feed.settled();
  const readMs = ms(t0);
  if (!feed.complete) throw new Error(`The view read ${feed.facts.scanned} rows' facts`);
  console.log(
    `[view bench] the view read the row facts of ${fmt(feed.facts.scanned)} rows from the worker (wire chunks of ` +
      `at most 262,144 rows, encoded and decoded): ${fmt(readMs)} ms, ${fmt((feed.facts.scanned / readMs) * 1000)} rows/s`,
  );
  return feed;
}

/**
 * A page of a sorted view: 100 rows at random, read through the sparse line index (each row's
 * block of at most 64 lines or 64 KiB is read to find it) vs a full index of every newline.
 */
async function randomPage(sparse: JsonlFile, path: string, n: number): Promise<void> {
  const full = await JsonlFile.open(path);
  await full.whenIndexed();
  let seed = 7;
  const rows = Array.from({ length: 100 }, () => (seed = (Math.imul(seed, 48271) >>> 0) % n));
  const time = async (file: JsonlFile) => {
    const t0 = performance.now();
    await Promise.all(rows.map(r => file.readRow(r)));
    return ms(t0);
  };
  const fullMs = await time(full);
  const sparseMs = await time(sparse);
  console.log(
    `[view bench] a page of 100 random rows (a sorted view): ${fmt(sparseMs)} ms through the sparse line index ` +
      `vs ${fmt(fullMs)} ms through a full one (${mb(full.indexBytes)}): ratio ${fmt(sparseMs / Math.max(fullMs, 0.01))}x`,
  );
  await full.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'winnow-view-bench-'));
  const path = join(dir, 'bench.jsonl');
  try {
    let t0 = performance.now();
    const size = await generate(path, ROWS);
    console.log(
      `[view bench] generated ${fmt(ROWS)} lines, ${mb(size)} in ${fmt(ms(t0) / 1000)} s`,
    );

    // -- time to first rows -------------------------------------------------------------------
    // Baseline: read the first 64 KiB and parse the first 128 lines by hand.
    t0 = performance.now();
    const fh = await openFile(path, 'r');
    const buf = Buffer.alloc(64 << 10);
    await fh.read(buf, 0, buf.length, 0);
    await fh.close();
    const rawLines = buf
      .toString('utf8')
      .split('\n')
      .slice(0, 128)
      .map(l => JSON.parse(l) as unknown);
    const rawMs = ms(t0);
    const before = arrayBytes();
    t0 = performance.now();
    const file = await JsonlFile.open(path, { lineIndex: 'sparse' });
    const first = await file.readRows(0, SCHEMA_SAMPLE_LINES);
    const schema = detectSchema(schemaSample(first, 1 << 20));
    const views = first
      .slice(0, 128)
      .map(r => toRowView(r, schema, { maxLineBytes: 1 << 20, previewChars: PREVIEW_CHARS }));
    const firstMs = ms(t0);
    console.log(
      `[view bench] time to first rows: ${fmt(firstMs)} ms for ${views.length} grid rows ` +
        `(open + schema + page) vs ${fmt(rawMs)} ms to read 64 KiB and parse ${rawLines.length} lines by hand: ` +
        `ratio ${fmt(firstMs / Math.max(rawMs, 0.01))}x`,
    );
    t0 = performance.now();
    await file.whenIndexed();
    console.log(
      `[view bench] line index of ${fmt(file.lineCount)} rows ready after ${fmt(ms(t0) / 1000)} s more (background)`,
    );

    // -- scores: sort, filter, histograms ------------------------------------------------------
    const n = file.lineCount;
    let seed = 1;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
    const askllm = new Float32Array(n);
    const density = new Float32Array(n);
    const ranks = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      askllm[i] = rnd() < 0.02 ? NaN : rnd();
      density[i] = 0.01 + rnd() * 10;
    }
    const rows = new Uint32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    t0 = performance.now();
    const sorted = sortByKeys(rows.slice(), float32Keys(askllm, rows, true));
    const sortMs = ms(t0);
    t0 = performance.now();
    askllm.slice().sort();
    const nativeMs = ms(t0);
    let ok = true;
    for (let i = 1; i < 1000; i++) ok &&= !(askllm[sorted[i]] > askllm[sorted[i - 1]]);
    console.log(
      `[view bench] sort ${fmt(n)} ASK-LLM scores into a view (radix sort of row indices): ${fmt(sortMs)} ms ` +
        `vs native Float32Array.sort of the bare values ${fmt(nativeMs)} ms: ratio ${fmt(sortMs / nativeMs)}x${ok ? '' : ' (ORDER WRONG)'}`,
    );

    // -- the row scan (the worker's) and the view's copy of its facts ---------------------------
    const dataset = await workerScan(path, n);
    const decisions = new DecisionColumn();
    decisions.resize(n);
    const feed = await hostFacts(file, dataset, decisions);
    const columns = feed.facts;
    await dataset.close();
    const scores: ScoreColumns = {
      rowCount: n,
      fileVersion: 'bench',
      askllm: {
        values: askllm,
        scored: n,
        meta: {
          model: 'bench',
          dtype: 'fp32',
          promptName: 'p',
          promptHash: 'h',
          answerTokens: ['yes'],
          maxTokens: 512,
          variant: 'p-yes',
        },
      },
      density: {
        values: density,
        ranks,
        meta: { model: 'bench', rows: n, buckets: 20000, hashesPerRow: 1, bandwidth: 1, seed: 1 },
      },
    };
    t0 = performance.now();
    const filtered = filterRows(
      { rowCount: n, rows: columns, decisions, score: askllm },
      { score: { min: 0.5, max: 0.75 } },
    );
    const filterMs = ms(t0);
    t0 = performance.now();
    histogram(askllm, n, filtered, 0, 1);
    const histMs = ms(t0);
    const source: ViewSource = {
      rowCount: n,
      indexed: true,
      columns,
      decisions,
      scores,
      scanComplete: true,
      editable: true,
      whenScanned: async () => undefined,
      search: async () => new Uint8Array(0),
    };
    t0 = performance.now();
    const view = await DatasetView.compute(
      source,
      { sort: 'score', descending: true, filter: { score: { min: 0.5 } } },
      new AbortController().signal,
      () => undefined,
    );
    const viewMs = ms(t0);
    t0 = performance.now();
    const info = view.info();
    const infoMs = ms(t0);
    t0 = performance.now();
    const second = await DatasetView.compute(
      source,
      { sort: 'density', descending: false, filter: { score: { max: 0.5 } } },
      new AbortController().signal,
      () => undefined,
    );
    second.info();
    const secondMs = ms(t0);
    t0 = performance.now();
    const top = DatasetView.identity(source).resolveTarget(
      { kind: 'topPercent', percent: 10 },
      'keep',
    );
    const topMs = ms(t0);
    t0 = performance.now();
    const byLength = await DatasetView.compute(
      source,
      { sort: 'length', descending: true, filter: { errors: 'exclude' } },
      new AbortController().signal,
      () => undefined,
    );
    const lengthMs = ms(t0);
    console.log(
      `[view bench] over ${fmt(n)} rows: filter by score range ${fmt(filterMs)} ms (${fmt(filtered.length)} rows), ` +
        `histogram ${fmt(histMs)} ms, view "score >= 0.5 sorted by score" with its histograms ${fmt(viewMs)} ms (${fmt(view.count)} rows), ` +
        `view info with both histograms ${fmt(infoMs)} ms (histograms are binned with the view, over its rows in line order; column ranges and totals are cached per column), ` +
        `a second view "score <= 0.5 sorted by density" with its info ${fmt(secondMs)} ms, ` +
        `keep top 10% ${fmt(topMs)} ms (${fmt(top.rows.length)} rows), ` +
        `valid rows sorted by length (16-bit lengths with an exact side table) ${fmt(lengthMs)} ms (${fmt(byLength.count)} rows); ` +
        `scope: ${info.scope}`,
    );

    // -- memory ---------------------------------------------------------------------------------------
    const hostBytes =
      file.indexBytes +
      columns.memoryBytes +
      decisions.codes.byteLength +
      askllm.byteLength +
      density.byteLength +
      ranks.byteLength +
      (view.rows?.byteLength ?? 0);
    const measured = arrayBytes() - before;
    console.log(
      `[view bench] extension-host memory for ${fmt(n)} rows (${mb(size)} file): ${mb(hostBytes)} of typed arrays ` +
        `(sparse line index ${mb(file.indexBytes)}, row facts ${mb(columns.memoryBytes)} (no content hashes), decisions ${mb(decisions.codes.byteLength)}, ` +
        `scores ${mb(askllm.byteLength + density.byteLength + ranks.byteLength)}, one sorted view ${mb(view.rows?.byteLength ?? 0)}) = ` +
        `${fmt(hostBytes / n)} bytes/row, ${fmt((100 * hostBytes) / size)}% of the file; ` +
        `ArrayBuffer growth measured by Node: ${mb(measured)} (includes the bench's own copies); RSS ${mb(process.memoryUsage().rss)}`,
    );
    await randomPage(file, path, n);
    await file.close();
    console.log(`[view bench] file size on disk ${mb((await stat(path)).size)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
