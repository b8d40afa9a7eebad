/**
 * Sort, filter, search and histograms of the dataset view over generated files, computed the way
 * the extension host does it (src/core/dataset/viewEngine.ts, datasetView.ts, textSearch.ts,
 * rowColumns.ts, radixSort.ts): real files on disk, the real JSONL engine, typed-array columns.
 * Every expectation is checked against a plain JavaScript reference over the same data.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectSchema, JsonlFile } from '../../src/core/jsonl';
import { DatasetView, normalizeQuery, type ViewSource } from '../../src/core/dataset/datasetView';
import { DecisionColumn, DROP, KEEP } from '../../src/core/dataset/decisions';
import {
  float32Key,
  float32Keys,
  LAST_KEY,
  smallestK,
  sortByKeys,
  uint32Keys,
} from '../../src/core/dataset/radixSort';
import { RowColumns, scanRows } from '../../src/core/dataset/rowColumns';
import {
  decodeColumns,
  encodeFloat32,
  encodeUint32,
  type ScoreColumns,
} from '../../src/core/dataset/scoreColumns';
import { compileSearch, SearchCancelled, searchFile } from '../../src/core/dataset/textSearch';
import {
  computeView,
  describeScope,
  filterRows,
  histogram,
  isIdentity,
} from '../../src/core/dataset/viewEngine';
import type { ViewQuery, ViewSearch } from '../../src/shared/protocol/webview';

/** A deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['river', 'prime', 'bread', 'volcano', 'Sorting', 'tide', 'owl', 'café', '東京'];
const N = 3000;

interface Fixture {
  dir: string;
  path: string;
  lines: string[];
  texts: string[];
  file: JsonlFile;
  columns: RowColumns;
  decisions: DecisionColumn;
  scores: ScoreColumns;
  source: ViewSource;
}

let fx: Fixture;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'winnow-views-'));
  const path = join(dir, 'data.jsonl');
  const r = rng(7);
  const lines: string[] = [];
  const texts: string[] = [];
  for (let i = 0; i < N; i++) {
    if (i % 97 === 13) {
      lines.push(`{"instruction": "broken ${i}`);
      texts.push(lines[i]);
      continue;
    }
    const words = Array.from(
      { length: 1 + Math.floor(r() * 12) },
      () => WORDS[Math.floor(r() * WORDS.length)],
    );
    const rec: Record<string, unknown> = {
      instruction: `Row ${i}: ${words.join(' ')}`,
      output: `answer ${i}`,
    };
    if (i % 5 === 0) rec.source = 'web';
    lines.push(JSON.stringify(rec));
    texts.push(`${rec.instruction as string}\n\n${rec.output as string}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
  const file = await JsonlFile.open(path);
  await file.whenIndexed();
  const columns = new RowColumns();
  const schema = detectSchema(
    lines
      .slice(0, 50)
      .filter(l => l.endsWith('}'))
      .map(l => JSON.parse(l) as Record<string, unknown>),
  );
  await scanRows(file, columns, { schema, maxLineBytes: 1 << 20, isCurrent: () => true });
  const decisions = new DecisionColumn();
  decisions.resize(N);
  // Scores: some rows unscored (NaN), ties on purpose (rounded to 2 decimals).
  const askllm = new Float32Array(N);
  const density = new Float32Array(N);
  const ranks = new Uint32Array(N);
  for (let i = 0; i < N; i++) {
    askllm[i] = i % 11 === 0 ? NaN : Math.round(r() * 100) / 100;
    density[i] = i % 17 === 0 ? NaN : 0.01 + r() * 5;
  }
  const order = [...density.keys()]
    .filter(i => !Number.isNaN(density[i]))
    .sort((a, b) => density[a] - density[b]);
  order.forEach((row, k) => (ranks[row] = k + 1));
  const scores = decodeColumns({
    rowCount: N,
    fileVersion: 'v1',
    askllm: {
      data: encodeFloat32(askllm),
      scored: N - Math.ceil(N / 11),
      meta: {
        model: 'tiny',
        dtype: 'fp32',
        promptName: 'paper',
        promptHash: 'abc',
        answerTokens: ['yes'],
        maxTokens: 512,
        variant: 'p-yes',
      },
    },
    density: {
      score: encodeFloat32(density),
      rank: encodeUint32(ranks),
      meta: {
        model: 'tiny-embed',
        rows: 1000,
        buckets: 20000,
        hashesPerRow: 1,
        bandwidth: 1,
        seed: 42,
      },
    },
  });
  let lastSearch: { key: string; matches: Uint8Array } | undefined;
  const source: ViewSource = {
    rowCount: N,
    indexed: true,
    columns,
    decisions,
    scores,
    scanComplete: true,
    editable: true,
    whenScanned: async () => undefined,
    async search(search, signal, onProgress) {
      const key = JSON.stringify(search);
      if (lastSearch?.key === key) return lastSearch.matches;
      const { matches } = await searchFile(file, search, {
        schema,
        maxLineBytes: 1 << 20,
        signal,
        onProgress,
      });
      lastSearch = { key, matches };
      return matches;
    },
  };
  fx = { dir, path, lines, texts, file, columns, decisions, scores, source };
});

after(async () => {
  await fx?.file.close();
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

const notCancelled = new AbortController().signal;
const noProgress = () => undefined;

async function viewOf(q: Partial<ViewQuery>): Promise<number[]> {
  const v = await DatasetView.compute(
    fx.source,
    { sort: 'line', descending: false, ...q },
    notCancelled,
    noProgress,
  );
  return Array.from(v.allRows());
}

/** Reference order: stable sort of rows by key, missing (NaN) last. */
function reference(rows: number[], key: (i: number) => number, desc: boolean): number[] {
  return rows
    .map((r, k) => ({ r, k, v: key(r) }))
    .sort((a, b) => {
      const an = Number.isNaN(a.v);
      const bn = Number.isNaN(b.v);
      if (an || bn) return an === bn ? a.k - b.k : an ? 1 : -1;
      const d = desc ? b.v - a.v : a.v - b.v;
      return d !== 0 ? d : a.k - b.k;
    })
    .map(x => x.r);
}

const all = () => Array.from({ length: N }, (_, i) => i);

describe('radix sort of row indices', () => {
  test('float keys order numbers, put NaN last in both directions', () => {
    const vals = [-Infinity, -2.5, -0, 0, 1e-30, 0.5, 1, 3e38, Infinity];
    for (let i = 1; i < vals.length; i++) {
      assert.ok(float32Key(vals[i - 1]) <= float32Key(vals[i]), `${vals[i - 1]} < ${vals[i]}`);
      assert.ok(float32Key(vals[i - 1], true) >= float32Key(vals[i], true));
    }
    assert.equal(float32Key(NaN), LAST_KEY);
    assert.equal(float32Key(NaN, true), LAST_KEY);
    assert.ok(float32Key(Infinity) < LAST_KEY && float32Key(-Infinity, true) < LAST_KEY);
  });

  test('matches a stable comparison sort on 200k random floats with ties and NaN', () => {
    const r = rng(3);
    const n = 200_000;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = r() < 0.05 ? NaN : Math.round((r() - 0.3) * 1000) / 10;
    for (const desc of [false, true]) {
      const rows = Uint32Array.from({ length: n }, (_, i) => i);
      const got = Array.from(sortByKeys(rows.slice(), float32Keys(values, rows, desc)));
      assert.deepEqual(
        got,
        reference(Array.from(rows), i => values[i], desc),
      );
    }
  });

  test('the Float32Array fast path gives the same keys as the generic one', () => {
    const values = Float32Array.from([NaN, -0, 0, 1.5, -1.5, Infinity, -Infinity, 3e-40, -3e-40]);
    const rows = Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 99]);
    for (const desc of [false, true])
      assert.deepEqual(
        Array.from(float32Keys(values, rows, desc)),
        Array.from(float32Keys(Array.from(values), rows, desc)),
      );
  });

  test('radix select: the k smallest keys, ties at the cut to earlier rows, in input order', () => {
    const r = rng(11);
    const n = 50_000;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = r() < 0.1 ? NaN : Math.round(r() * 50) / 50;
    const rows = Uint32Array.from({ length: n }, (_, i) => i);
    for (const k of [0, 1, 7, 1000, 12_345, n - 1, n, n + 5]) {
      const got = Array.from(smallestK(rows, float32Keys(values, rows, true), k));
      const want = reference(Array.from(rows), i => values[i], true)
        .slice(0, Math.min(k, n))
        .sort((a, b) => a - b);
      assert.deepEqual(got, want, `k = ${k}`);
    }
  });

  test('integer keys sort, with a missing value last', () => {
    const values = Uint32Array.from([5, 0, 3, 3, 0, 1]);
    const rows = Uint32Array.from([0, 1, 2, 3, 4, 5]);
    assert.deepEqual(
      Array.from(sortByKeys(rows.slice(), uint32Keys(values, rows, false, 0))),
      [5, 2, 3, 0, 1, 4],
    );
    assert.deepEqual(
      Array.from(sortByKeys(rows.slice(), uint32Keys(values, rows, true, 0))),
      [0, 2, 3, 5, 1, 4],
    );
  });
});

describe('row columns from one scan', () => {
  test('blank lines get their own count, apart from invalid lines', () => {
    const cols = new RowColumns();
    const lines = ['{"text": "a"}', '', '  \t', 'broken', '{"text": "b"}', '\r'];
    cols.ensure(lines.length);
    const schema = detectSchema([{ text: 'a' }]);
    lines.forEach((l, i) => cols.record(i, Buffer.from(l), schema, 1 << 20));
    assert.equal(cols.invalid, 1, 'only the broken line is invalid');
    assert.equal(cols.blank, 3, 'an empty line, a whitespace line and a lone CR');
    assert.deepEqual(
      lines.map((_, i) => cols.errorKind(i)),
      [undefined, 'empty', 'empty', 'syntax', undefined, 'empty'],
    );
  });

  test('lengths, parse errors and fields match the rows', () => {
    const { columns } = fx;
    assert.equal(columns.scanned, N);
    const invalid = fx.lines.filter(l => !l.endsWith('}')).length;
    assert.equal(columns.invalid, invalid);
    for (const i of [0, 13, 110, 2999]) {
      const bad = !fx.lines[i].endsWith('}');
      assert.equal(columns.errorKind(i), bad ? 'syntax' : undefined, `row ${i}`);
      if (!bad) assert.equal(columns.chars[i], [...fx.texts[i]].length, `chars of row ${i}`);
    }
    assert.deepEqual(columns.fieldNames.slice().sort(), ['instruction', 'output', 'source']);
    // The stored hash is the engine's contentHash.
    assert.match(columns.hashHex(5), /^[0-9a-f]{32}$/);
  });
});

describe('views over the whole file', () => {
  test('the default query is the file itself', async () => {
    assert.ok(
      isIdentity(
        normalizeQuery({
          sort: 'line',
          descending: false,
          filter: {},
          search: { text: '', regex: false, caseSensitive: false },
        }),
      ),
    );
    const v = await DatasetView.compute(
      fx.source,
      { sort: 'line', descending: false },
      notCancelled,
      noProgress,
    );
    assert.equal(v.rows, null);
    assert.equal(v.count, N);
    assert.equal(v.rowAt(1234), 1234);
    assert.match(v.info().scope, /^All 3,000 rows$/);
  });

  test('sort by score (desc), density, length and line match a reference sort', async () => {
    const score = fx.scores.askllm!.values;
    const dens = fx.scores.density!.values;
    assert.deepEqual(
      await viewOf({ sort: 'score', descending: true }),
      reference(all(), i => score[i], true),
    );
    assert.deepEqual(
      await viewOf({ sort: 'score', descending: false }),
      reference(all(), i => score[i], false),
    );
    assert.deepEqual(
      await viewOf({ sort: 'density' }),
      reference(all(), i => dens[i], false),
    );
    assert.deepEqual(
      await viewOf({ sort: 'length', descending: true }),
      reference(all(), i => fx.columns.chars[i], true),
    );
    assert.deepEqual(await viewOf({ sort: 'line', descending: true }), all().reverse());
  });

  test('review uncertain: P(yes) nearest the threshold first', async () => {
    const score = fx.scores.askllm!.values;
    const got = await viewOf({ sort: 'uncertain', threshold: 0.3 });
    assert.deepEqual(
      got,
      reference(all(), i => Math.abs(Math.fround(score[i] - 0.3)), false),
    );
    assert.ok(Math.abs(score[got[0]] - 0.3) < 0.011);
  });

  test('filters: score and density ranges, parse errors, fields, decisions', async () => {
    const score = fx.scores.askllm!.values;
    const dens = fx.scores.density!.values;
    assert.deepEqual(
      await viewOf({ filter: { score: { min: 0.25, max: 0.5 } } }),
      all().filter(i => score[i] >= 0.25 && score[i] <= 0.5),
    );
    assert.deepEqual(
      await viewOf({ filter: { density: { max: 1 } } }),
      all().filter(i => dens[i] <= 1),
    );
    const bad = all().filter(i => !fx.lines[i].endsWith('}'));
    assert.deepEqual(await viewOf({ filter: { errors: 'only' } }), bad);
    assert.equal((await viewOf({ filter: { errors: 'exclude' } })).length, N - bad.length);
    assert.deepEqual(
      await viewOf({ filter: { field: { name: 'source', present: true } } }),
      all().filter(i => fx.lines[i].includes('"source"')),
    );
    assert.deepEqual(await viewOf({ filter: { field: { name: 'nope', present: true } } }), []);
    assert.equal((await viewOf({ filter: { field: { name: 'nope', present: false } } })).length, N);

    fx.decisions.set(3, KEEP);
    fx.decisions.set(9, DROP);
    fx.decisions.set(10, KEEP);
    assert.deepEqual(await viewOf({ filter: { decisions: ['keep'] } }), [3, 10]);
    assert.deepEqual(await viewOf({ filter: { decisions: ['keep', 'drop'] } }), [3, 9, 10]);
    assert.equal((await viewOf({ filter: { decisions: ['undecided'] } })).length, N - 3);
    fx.decisions.clear();
  });

  test('filter, search and sort combine; the scope says what is shown', async () => {
    const score = fx.scores.askllm!.values;
    const q: ViewQuery = {
      sort: 'score',
      descending: true,
      filter: { score: { min: 0.5 } },
      search: { text: 'volcano', regex: false, caseSensitive: false },
    };
    const v = await DatasetView.compute(fx.source, q, notCancelled, noProgress);
    const expected = reference(
      all().filter(i => score[i] >= 0.5 && fx.texts[i].toLowerCase().includes('volcano')),
      i => score[i],
      true,
    );
    assert.deepEqual(Array.from(v.allRows()), expected);
    const info = v.info();
    assert.equal(info.count, expected.length);
    assert.equal(
      info.scope,
      `${expected.length.toLocaleString('en-US')} of 3,000 rows · search "volcano" · score ≥ 0.5 · sorted by ASK-LLM score ↓`,
    );
    assert.equal(v.positionOf(expected[2]), 2);
    assert.equal(v.positionOf(-5), -1);
  });

  test('search: plain (case-insensitive by default), match case, regex, unicode', async () => {
    const count = async (s: ViewSearch) => (await viewOf({ search: s })).length;
    const ref = (f: (t: string) => boolean) => fx.texts.filter(f).length;
    assert.equal(
      await count({ text: 'sorting', regex: false, caseSensitive: false }),
      ref(t => t.toLowerCase().includes('sorting')),
    );
    assert.equal(
      await count({ text: 'sorting', regex: false, caseSensitive: true }),
      ref(t => t.includes('sorting')),
    );
    assert.equal(
      await count({ text: '東京', regex: false, caseSensitive: false }),
      ref(t => t.includes('東京')),
    );
    assert.equal(
      await count({ text: '^Row \\d+5: (owl|tide)', regex: true, caseSensitive: true }),
      ref(t => /^Row \d+5: (owl|tide)/u.test(t)),
    );
    // Invalid rows are searched by their raw line.
    assert.equal(await count({ text: 'broken 13$', regex: true, caseSensitive: true }), 1);
    assert.throws(
      () => compileSearch({ text: '(', regex: true, caseSensitive: false }),
      /Invalid regular expression/,
    );
  });

  test('a search can be cancelled', async () => {
    const search = new AbortController();
    let batches = 0;
    await assert.rejects(
      searchFile(
        fx.file,
        { text: 'zzz', regex: false, caseSensitive: false },
        {
          schema: detectSchema([{ instruction: 'x', output: 'y' }]),
          maxLineBytes: 1 << 20,
          signal: search.signal,
          onProgress: () => {
            batches++;
            search.abort();
          },
        },
      ),
      SearchCancelled,
    );
    assert.ok(batches >= 1);
  });

  test("histograms count every value and the view's share", async () => {
    const score = fx.scores.askllm!.values;
    const view = Uint32Array.from(all().filter(i => score[i] >= 0.5));
    const h = histogram(score, N, view, 0, 1, 10);
    const scored = all().filter(i => !Number.isNaN(score[i]));
    assert.equal(h.count, scored.length);
    assert.equal(
      h.total.reduce((a, b) => a + b, 0),
      scored.length,
    );
    assert.equal(
      h.inView.reduce((a, b) => a + b, 0),
      view.length,
    );
    // Bins below 0.5 hold nothing of the view; the top bin includes 1.0.
    assert.deepEqual(h.inView.slice(0, 5), [0, 0, 0, 0, 0]);
    assert.equal(h.total[9], scored.filter(i => score[i] >= 0.9).length);
    const v = await DatasetView.compute(
      fx.source,
      { sort: 'line', descending: false, filter: { score: { min: 0.5 } } },
      notCancelled,
      noProgress,
    );
    assert.equal(
      v.info().histograms.score?.inView.reduce((a, b) => a + b, 0),
      v.count,
    );
  });

  test('bulk targets: positions, the view, top k% by ASK-LLM, a DENSITY sample', async () => {
    const score = fx.scores.askllm!.values;
    const v = await DatasetView.compute(
      fx.source,
      { sort: 'score', descending: true },
      notCancelled,
      noProgress,
    );
    const pos = v.resolveTarget(
      {
        kind: 'positions',
        ranges: [
          [0, 2],
          [10, 10],
        ],
      },
      'keep',
    );
    assert.deepEqual(Array.from(pos.rows), [v.rowAt(0), v.rowAt(1), v.rowAt(2), v.rowAt(10)]);

    const top = v.resolveTarget({ kind: 'topPercent', percent: 10 }, 'keep');
    const scored = all().filter(i => !Number.isNaN(score[i]));
    const take = Math.round(scored.length * 0.1);
    assert.equal(top.rows.length, take);
    const expected = reference(scored, i => score[i], true)
      .slice(0, take)
      .sort((a, b) => a - b);
    assert.deepEqual(Array.from(top.rows), expected);
    assert.equal(top.rule.percent, 10);
    assert.ok(Array.from(top.rows).every(r => score[r] >= top.rule.threshold! - 1e-6));
    assert.match(top.label, /top 10% by ASK-LLM/);

    const sample = v.resolveTarget({ kind: 'densitySample', count: 100 }, 'keep');
    assert.equal(sample.rows.length, 100);
    assert.equal(new Set(sample.rows).size, 100);
    assert.ok(Array.from(sample.rows).every(r => !Number.isNaN(fx.scores.density!.values[r])));
    assert.equal(sample.rule.seed, 42);
    // Same seed, same sample.
    assert.deepEqual(
      Array.from(v.resolveTarget({ kind: 'densitySample', count: 100 }, 'keep').rows),
      Array.from(sample.rows),
    );
    assert.throws(
      () => v.resolveTarget({ kind: 'densitySample', count: N * 2 }, 'keep'),
      /sample size/,
    );
    assert.throws(
      () => v.resolveTarget({ kind: 'topPercent', percent: 0 }, 'keep'),
      /between 0 and 100/,
    );
  });

  test('without scores, the score order keeps line order and bulk rules explain what is missing', async () => {
    const bare: ViewSource = { ...fx.source, scores: undefined };
    const v = await DatasetView.compute(
      bare,
      { sort: 'score', descending: true },
      notCancelled,
      noProgress,
    );
    assert.deepEqual(Array.from(v.allRows()), all());
    assert.throws(
      () => v.resolveTarget({ kind: 'topPercent', percent: 5 }, 'keep'),
      /no ASK-LLM scores/,
    );
    assert.throws(
      () => v.resolveTarget({ kind: 'densitySample', count: 5 }, 'keep'),
      /no DENSITY scores/,
    );
    assert.equal(v.info().histograms.score, undefined);
  });

  test('computeView and filterRows work on the columns alone', () => {
    const cols = {
      rowCount: N,
      rows: fx.columns,
      decisions: fx.decisions,
      score: fx.scores.askllm!.values,
    };
    assert.equal(computeView(cols, { sort: 'line', descending: false }), null);
    const rows = filterRows(cols, { score: { min: 0.99 } });
    assert.ok(rows.length > 0 && Array.from(rows).every(r => fx.scores.askllm!.values[r] >= 0.99));
    assert.equal(
      describeScope(5, 10, { sort: 'length', descending: false }),
      '5 of 10 rows · sorted by length ↑',
    );
  });
});
