/**
 * The dataset view's copy of the row facts (src/core/dataset/rowFacts.ts): the worker's columns of
 * a real scan, sent in chunks in the wire format, give back exactly the same facts (lengths past
 * 16 bits included, through the side table), the same views (sort by length, the parse-error and
 * field filters) and counts, at 4 bytes per row and without a content hash.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { detectSchema, JsonlFile } from '../../src/core/jsonl';
import { DatasetView, type ViewSource } from '../../src/core/dataset/datasetView';
import { DecisionColumn } from '../../src/core/dataset/decisions';
import { RowColumns, scanRows, type RowFactColumns } from '../../src/core/dataset/rowColumns';
import { encodeRowFacts, RowFacts } from '../../src/core/dataset/rowFacts';
import type { ViewQuery } from '../../src/shared/protocol/webview';
import { Prng, tempDir } from './jsonlSupport';

const dir = tempDir('winnow-rowfacts-');

/** Lines of every kind: long texts (past 65,535 characters), invalid, blank, many field names. */
function lines(n: number): string[] {
  const rng = new Prng(3);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.03) out.push('');
    else if (r < 0.06) out.push(`{"instruction": "broken ${i}`);
    else if (r < 0.08) out.push(JSON.stringify({ instruction: 'x'.repeat(65_530 + rng.int(20)) }));
    else {
      const rec: Record<string, unknown> = { instruction: `task ${i} ${'w'.repeat(rng.int(300))}` };
      if (rng.next() < 0.5) rec.output = `answer ${i}`;
      // A new field name every so often: the bits widen past 8 and 16 names.
      if (i % 40 === 0) rec[`extra${Math.floor(i / 40)}`] = 1;
      out.push(JSON.stringify(rec));
    }
  }
  return out;
}

async function scanned(text: string[]): Promise<{ file: JsonlFile; columns: RowColumns }> {
  const path = join(dir, `f${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(path, text.join('\n') + '\n');
  const file = await JsonlFile.open(path);
  await file.whenIndexed();
  const columns = new RowColumns();
  const schema = detectSchema([{ instruction: 'a', output: 'b' }]);
  await scanRows(file, columns, { schema, maxLineBytes: 1 << 20, isCurrent: () => true });
  return { file, columns };
}

/** Copies `columns` into a RowFacts in chunks of `chunk` rows, as the dataset view fetches them. */
function copied(columns: RowColumns, chunk: number): RowFacts {
  const facts = new RowFacts();
  facts.ensure(columns.scanned, true);
  for (let from = 0; from < columns.scanned; from += chunk)
    facts.apply(encodeRowFacts(columns, from, Math.min(chunk, columns.scanned - from)));
  return facts;
}

function assertSameFacts(facts: RowFactColumns, columns: RowColumns): void {
  assert.equal(facts.scanned, columns.scanned);
  assert.equal(facts.invalid, columns.invalid);
  assert.equal(facts.blank, columns.blank);
  assert.deepEqual(facts.fieldNames, columns.fieldNames);
  for (let i = 0; i < columns.scanned; i++) {
    assert.equal(facts.charsOf(i), columns.chars[i], `chars of row ${i}`);
    assert.equal(facts.errorKind(i), columns.errorKind(i), `error of row ${i}`);
    assert.equal(facts.fieldBits[i], columns.fieldBits[i], `fields of row ${i}`);
  }
}

function source(facts: RowFactColumns, n: number): ViewSource {
  const decisions = new DecisionColumn();
  decisions.resize(n);
  return {
    rowCount: n,
    indexed: true,
    columns: facts,
    decisions,
    scores: undefined,
    scanComplete: true,
    editable: true,
    whenScanned: async () => undefined,
    search: async () => new Uint8Array(0),
  };
}

describe('row facts in the dataset view', () => {
  test('chunks of the wire format give back every fact exactly, at 4 bytes per row', async () => {
    const { file, columns } = await scanned(lines(1500));
    try {
      assert.ok(columns.fieldNames.length > 16, 'the bits widened to 32');
      assert.ok(
        Array.from(columns.chars).some(c => c >= 65_535),
        'a row past 16 bits',
      );
      for (const chunk of [1, 97, 1500]) assertSameFacts(copied(columns, chunk), columns);
      const facts = copied(columns, 256);
      assert.ok(!('hashes' in facts) && !('hashHex' in facts), 'the copy holds no hashes');
      const small = await scanned(['{"instruction":"a"}', '', '{"output":"b"}']);
      const smallFacts = copied(small.columns, 2);
      assert.equal(smallFacts.memoryBytes, 3 * 4, '2 bytes of length, 1 of status, 1 of fields');
      await small.file.close();
    } finally {
      await file.close();
    }
  });

  test('views over the copy are the views over the scan: sort by length, filters, counts', async () => {
    const { file, columns } = await scanned(lines(1500));
    try {
      const facts = copied(columns, 300);
      const queries: ViewQuery[] = [
        { sort: 'length', descending: false },
        { sort: 'length', descending: true },
        { sort: 'length', descending: true, filter: { errors: 'exclude' } },
        { sort: 'line', descending: false, filter: { errors: 'only' } },
        { sort: 'line', descending: false, filter: { field: { name: 'output', present: true } } },
        { sort: 'line', descending: true, filter: { field: { name: 'extra30', present: false } } },
      ];
      for (const q of queries) {
        const signal = new AbortController().signal;
        const [a, b] = await Promise.all([
          DatasetView.compute(source(columns, columns.scanned), q, signal, () => undefined),
          DatasetView.compute(source(facts, columns.scanned), q, signal, () => undefined),
        ]);
        assert.deepEqual(b.rows, a.rows, JSON.stringify(q));
        assert.deepEqual(b.info().fields, a.info().fields);
      }
    } finally {
      await file.close();
    }
  });

  test('a truncated copy forgets the rows and their counts, and takes them again', async () => {
    const { file, columns } = await scanned(lines(600));
    try {
      const facts = copied(columns, 128);
      facts.truncate(250);
      assert.equal(facts.scanned, 250);
      let invalid = 0;
      for (let i = 0; i < 250; i++)
        if (columns.errors[i] && columns.errorKind(i) !== 'empty') invalid++;
      assert.equal(facts.invalid, invalid);
      facts.apply(encodeRowFacts(columns, 250, columns.scanned - 250));
      assertSameFacts(facts, columns);
      // A chunk may start below the rows held (the worker re-read them): later rows go first.
      facts.apply(encodeRowFacts(columns, 100, 50));
      assert.equal(facts.scanned, 150);
      assert.throws(() => facts.apply(encodeRowFacts(columns, 400, 10)), /after 150/);
      // The worker's own columns truncate the same way.
      columns.truncate(150);
      assertSameFacts(facts, columns);
    } finally {
      await file.close();
    }
  });
});
