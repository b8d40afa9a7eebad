/**
 * The dataset view's feed of row facts (src/core/dataset/rowFactsFeed.ts) against the worker's
 * real Dataset in this process (its `winnow/getRowFacts` answer, src/worker/dataset): the facts
 * equal a core scan of the file, saved decisions land on their rows, an append re-reads the old
 * last line, a rewrite is never mixed with the old version (not even while one reader has seen it
 * and the other not), and a restarted worker of the same content does not make the view read
 * everything again.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { contentHash, JsonlFile, sampleFileSchema } from '../../src/core/jsonl';
import { DecisionColumn, DROP, KEEP } from '../../src/core/dataset/decisions';
import { RowColumns, scanRows } from '../../src/core/dataset/rowColumns';
import { RowFactsFeed, type RowFactsSource } from '../../src/core/dataset/rowFactsFeed';
import { Dataset } from '../../src/worker/dataset/dataset';
import { decodeRows, rowFactsAnswer } from '../../src/worker/dataset/rowFactsAnswer';
import { Logger } from '../../src/worker/logger';
import { tempDir } from './jsonlSupport';

const dir = tempDir('winnow-feed-');
const enc = new TextEncoder();
const silent = new Logger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });
const opened: { close(): Promise<void> }[] = [];
after(() => Promise.all(opened.map(o => o.close())));

const line = (i: number, tag = 'v1') =>
  i % 17 === 5
    ? `{"broken ${i}`
    : JSON.stringify({ text: `${tag} row ${i} ${'x'.repeat(i % 90)}` });

function write(name: string, lines: string[], newline = true): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + (newline ? '\n' : ''));
  return path;
}

async function coreScan(path: string): Promise<RowColumns> {
  const file = await JsonlFile.open(path);
  try {
    const { schema } = await sampleFileSchema(file, file.maxLineBytes);
    const columns = new RowColumns();
    await scanRows(file, columns, {
      schema,
      maxLineBytes: file.maxLineBytes,
      isCurrent: () => true,
    });
    return columns;
  } finally {
    await file.close();
  }
}

/** A worker Dataset and a view-side feed of one file, wired as the extension wires them. */
async function setUp(path: string, maxRows = 100) {
  const uri = `file://${path}`;
  const worker = { current: await openWorker(uri, path) };
  const source: RowFactsSource = {
    getRowFacts: async p => rowFactsAnswer(worker.current, { uri, ...p }),
    setSavedDecisions: async p => worker.current.setSavedDecisions({ uri, ...p }),
    decisionHashes: async p => {
      await worker.current.whenFactsComplete();
      return worker.current.decisionHashes(p.version, decodeRows(p.keep), decodeRows(p.drop));
    },
  };
  const file = await JsonlFile.open(path, { lineIndex: 'sparse' });
  opened.push(file);
  const decisions = new DecisionColumn();
  const rows: { from: number; to: number; size: number; chars: number[] }[] = [];
  let completions = 0;
  const feed: RowFactsFeed = new RowFactsFeed(
    file,
    decisions,
    source,
    {
      onRows: (from, to) =>
        rows.push({
          from,
          to,
          size: file.stamp.size,
          chars: Array.from({ length: to }, (_, i) => feed.facts.charsOf(i)),
        }),
      onComplete: () => completions++,
      onError: e => assert.fail(String(e)),
    },
    maxRows,
  );
  const listen = (d: Dataset) => d.onDidUpdate(() => feed.pull());
  listen(worker.current);
  const complete = async () => {
    for (;;) {
      await worker.current.whenFactsComplete();
      await file.whenIndexed();
      feed.pull();
      await feed.settled();
      if (feed.complete) return;
      await new Promise(resolve => setTimeout(resolve, 20));
    }
  };
  return {
    uri,
    worker,
    file,
    feed,
    decisions,
    rows,
    complete,
    listen,
    completions: () => completions,
  };
}

async function openWorker(uri: string, path: string): Promise<Dataset> {
  const d = await Dataset.open(uri, path, { maxLineBytes: 1 << 20, detailCap: 100 }, silent);
  opened.push(d);
  return d;
}

function assertFacts(feed: RowFactsFeed, core: RowColumns): void {
  assert.equal(feed.facts.scanned, core.scanned);
  assert.equal(feed.facts.invalid, core.invalid);
  for (let i = 0; i < core.scanned; i++) {
    assert.equal(feed.facts.charsOf(i), core.chars[i], `length of row ${i}`);
    assert.equal(feed.facts.errorKind(i), core.errorKind(i), `status of row ${i}`);
  }
}

describe('the row facts feed', () => {
  test('reads every fact in chunks, and the saved decisions of their rows', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => line(i));
    const path = write('facts.jsonl', lines);
    const t = await setUp(path);
    const h = (i: number) => contentHash(enc.encode(lines[i]));
    t.feed.setSaved({ keep: [h(3), h(700)], drop: [h(4)] });
    t.feed.start();
    await t.complete();
    assertFacts(t.feed, await coreScan(path));
    assert.ok(t.rows.length >= 10, 'in chunks of 100 rows');
    assert.equal(t.completions(), 1);
    assert.deepEqual(Array.from(t.decisions.rowsWith(KEEP)), [3, 700]);
    assert.deepEqual(Array.from(t.decisions.rowsWith(DROP)), [4]);
    // A decision made here, then saved by hash through the worker.
    t.decisions.set(3, 0);
    t.decisions.set(9, DROP);
    const saved = await t.feed.hashes(t.decisions.rowsWith(KEEP), t.decisions.rowsWith(DROP));
    assert.deepEqual(saved.keep, [h(700)]);
    assert.deepEqual(saved.drop, [h(4), h(9)].sort());
  });

  test('an append re-reads the old last line, which had no newline and grew', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => line(i));
    const path = write('append.jsonl', lines, false);
    const t = await setUp(path);
    t.feed.start();
    await t.complete();
    const shortLast = t.feed.facts.charsOf(299);
    assert.equal(t.feed.facts.errorKind(299), undefined);
    // The last line grows (and stops being valid JSON), and two rows follow.
    appendFileSync(path, ` and more\n${line(300)}\n${line(301)}\n`);
    for (const f of [t.file, t.worker.current.file]) await f.checkForChanges();
    await t.complete();
    const core = await coreScan(path);
    assertFacts(t.feed, core);
    assert.equal(t.feed.facts.scanned, 302);
    assert.equal(t.feed.facts.errorKind(299), 'syntax', 'the grown line was read again');
    assert.notEqual(t.feed.facts.charsOf(299), shortLast);
  });

  test('a rewrite is never mixed with the old version, whichever reader sees it first', async () => {
    const oldLines = Array.from({ length: 400 }, (_, i) => line(i, 'old'));
    const path = write('rewrite.jsonl', oldLines);
    const t = await setUp(path, 64);
    t.feed.start();
    await t.complete();
    const oldSize = t.file.stamp.size;
    const newLines = Array.from({ length: 250 }, (_, i) => line(i * 3, 'brand-new'));
    writeFileSync(path, newLines.join('\n') + '\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    // This window sees the rewrite first; the worker still serves the old version.
    assert.equal(await t.file.checkForChanges(), 'rebuilt');
    t.feed.reset();
    t.feed.start();
    await t.feed.settled();
    assert.equal(t.feed.facts.scanned, 0, 'no fact of the old version is taken for the new one');
    await t.worker.current.file.checkForChanges();
    await t.complete();
    const fresh = await coreScan(path);
    assertFacts(t.feed, fresh);
    // Every chunk ever taken matched the content this window had then.
    const old = await coreScanOf(oldLines);
    for (const r of t.rows) {
      const ref = r.size === oldSize ? old : fresh;
      for (let i = 0; i < r.to; i++)
        assert.equal(r.chars[i], ref.chars[i], `row ${i} at size ${r.size}`);
    }
  });

  test('a restarted worker of the same content: the facts held are kept, the saved decisions sent again', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => line(i));
    const path = write('restart.jsonl', lines);
    const t = await setUp(path);
    const h = (i: number) => contentHash(enc.encode(lines[i]));
    t.feed.setSaved({ keep: [h(1)], drop: [] });
    t.feed.start();
    await t.complete();
    const chunks = t.rows.length;
    const before = t.feed.version;
    t.worker.current = await openWorker(t.uri, path);
    t.listen(t.worker.current);
    await t.complete();
    assert.notEqual(t.feed.version, before);
    assert.equal(t.rows.length, chunks, 'nothing was read again');
    assert.equal(t.worker.current.savedDecisions?.params.keep[0], h(1));
    const saved = await t.feed.hashes(t.decisions.rowsWith(KEEP), t.decisions.rowsWith(DROP));
    assert.deepEqual(saved.keep, [h(1)]);
  });
});

async function coreScanOf(lines: string[]): Promise<RowColumns> {
  return coreScan(write(`ref${Math.random().toString(36).slice(2)}.jsonl`, lines));
}
