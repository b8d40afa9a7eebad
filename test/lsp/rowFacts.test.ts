/**
 * Tier 2: the row facts the dataset view reads from the real worker (dist/worker.js over IPC):
 * `winnow/getRowFacts` chunks equal a scan by the core engine of the same file, the worker says
 * `winnow/didChangeRowFacts` as they grow (no polling), saved decisions are matched to rows by
 * content hash in the worker (`winnow/setSavedDecisions`) and the hashes of decided rows come
 * back for saving (`winnow/decisionHashes`), an old sidecar keyed by SHA-256 (version 1) is
 * re-keyed, and an append or rewrite on disk never mixes the facts of two versions.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ResponseError } from 'vscode-languageserver-protocol/node';
import { contentHash, JsonlFile, legacyContentHash, sampleFileSchema } from '../../src/core/jsonl';
import { RowColumns, scanRows } from '../../src/core/dataset/rowColumns';
import { RowFacts } from '../../src/core/dataset/rowFacts';
import {
  WorkerErrorCodes,
  type RowFactsChange,
  type RowFactsResult,
} from '../../src/shared/protocol/worker';
import { WorkerSession } from './workerSession';

const enc = new TextEncoder();
let dir: string;
let worker: WorkerSession;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-rowfacts-lsp-'));
  worker = await WorkerSession.start();
});
after(async () => {
  await worker?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** Lines of every kind the facts describe. */
function datasetLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 53 === 7) out.push('');
    else if (i % 41 === 3) out.push(`{"instruction": "broken ${i}`);
    else if (i === 500) out.push(JSON.stringify({ instruction: 'é'.repeat(70_000), output: 'x' }));
    else {
      const rec: Record<string, unknown> = { instruction: `Task ${i % 300}`, output: `A ${i}` };
      if (i % 9 === 0) rec[`f${i % 11}`] = true;
      out.push(JSON.stringify(rec) + (i % 13 === 0 ? '\r' : ''));
    }
  }
  return out;
}

function write(name: string, lines: string[]): { path: string; uri: string } {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return { path, uri: pathToFileURL(path).toString() };
}

/** What the core engine says about the file: the same scan, in this process. */
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

/** Waits for a `winnow/didChangeRowFacts` of `uri` after the first `seen` that `test` accepts. */
function factsChange(uri: string, seen: number, test: (c: RowFactsChange) => boolean) {
  return worker.waitFor('row facts of ' + uri, () =>
    worker.factsChanges.slice(seen).find(c => c.uri === uri && test(c)),
  );
}

/** Reads every row's facts in chunks of `maxRows`, as the dataset view does. */
async function pull(
  uri: string,
  maxRows: number,
): Promise<{ facts: RowFacts; results: RowFactsResult[] }> {
  await worker.waitFor('the complete row facts', () =>
    worker.factsChanges.some(c => c.uri === uri && c.complete),
  );
  const facts = new RowFacts();
  const results: RowFactsResult[] = [];
  for (;;) {
    const r = await worker.rowFacts({ uri, from: facts.scanned, maxRows });
    results.push(r);
    facts.apply(r);
    if (r.count === 0 || facts.scanned >= r.scanned) return { facts, results };
  }
}

/** Rows of a base64 list (copied into aligned memory). */
function decodeRows(base64: string): number[] {
  const b = Buffer.from(base64, 'base64');
  const u8 = new Uint8Array(b.length);
  u8.set(b);
  return Array.from(new Uint32Array(u8.buffer));
}
const rowsText = (rows: number[]) => Buffer.from(Uint32Array.from(rows).buffer).toString('base64');

describe('row facts from the worker', () => {
  it('equal a scan by the core engine, in chunks, announced by didChangeRowFacts', async () => {
    const lines = datasetLines(2000);
    const { path, uri } = write('facts.jsonl', lines);
    await worker.openDataset(uri);
    const { facts, results } = await pull(uri, 300);
    const core = await coreScan(path);
    assert.ok(results.length >= 7, `${results.length} chunks of at most 300 rows`);
    assert.ok(results.every(r => r.count <= 300));
    assert.equal(facts.scanned, lines.length);
    assert.equal(facts.invalid, core.invalid);
    assert.equal(facts.blank, core.blank);
    assert.ok(core.invalid > 0 && core.blank > 0);
    assert.deepEqual(facts.fieldNames, core.fieldNames);
    for (let i = 0; i < lines.length; i++) {
      assert.equal(facts.charsOf(i), core.chars[i], `length of row ${i}`);
      assert.equal(facts.errorKind(i), core.errorKind(i), `status of row ${i}`);
      assert.equal(facts.fieldBits[i], core.fieldBits[i], `fields of row ${i}`);
    }
    assert.equal(facts.charsOf(500), 70_001 + 'x'.length + 1, 'past 16 bits, exact');
    const last = results[results.length - 1];
    assert.equal(last.complete, true);
    assert.equal(last.rowCount, lines.length);
    assert.equal(last.schema?.kind, 'alpaca');
    await worker.closeDataset(uri);
  });

  it('match saved decisions by content hash and give the hashes of decided rows to save', async () => {
    // The last line repeats line 10: identical lines share a hash.
    const lines = datasetLines(1200);
    lines.push(lines[10]);
    const { uri } = write('decisions.jsonl', lines);
    const h = (i: number) => contentHash(enc.encode(lines[i]));
    const orphan = 'f'.repeat(32);
    await worker.openDataset(uri);
    await worker.setSavedDecisions({
      uri,
      id: 'saved-1',
      keep: [h(10), h(20), orphan],
      drop: [h(30)],
    });
    const { results } = await pull(uri, 400);
    const keep = results.flatMap(r => (r.saved ? decodeRows(r.saved.keep) : []));
    const drop = results.flatMap(r => (r.saved ? decodeRows(r.saved.drop) : []));
    assert.ok(results.every(r => r.saved?.id === 'saved-1'));
    assert.deepEqual(keep, [10, 20, lines.length - 1], 'a duplicate line shares the decision');
    assert.deepEqual(drop, [30]);

    // This window: row 20's keep undone, row 40 dropped. The orphan is kept, never forgotten.
    const version = results[results.length - 1].version;
    const saved = await worker.decisionHashes({
      uri,
      version,
      keep: rowsText([10, lines.length - 1]),
      drop: rowsText([30, 40]),
    });
    assert.deepEqual(saved.keep, [h(10), orphan].sort());
    assert.deepEqual(saved.drop, [h(30), h(40)].sort());
    assert.deepEqual(saved.legacy, { keep: [], drop: [] });
    await worker.closeDataset(uri);
  });

  it('an old (version 1, SHA-256) sidecar is matched and re-keyed to content hash version 2', async () => {
    const lines = datasetLines(900);
    const { uri } = write('legacy.jsonl', lines);
    const old = (i: number) => legacyContentHash(enc.encode(lines[i]));
    const gone = '0'.repeat(32);
    await worker.openDataset(uri);
    // Set after the scan has passed the rows: they are hashed the old way in a pass of their own.
    await pull(uri, 5000);
    const seen = worker.factsChanges.length;
    await worker.setSavedDecisions({
      uri,
      id: 'v1',
      keep: [],
      drop: [],
      legacy: { keep: [old(5), old(600)], drop: [old(8), gone] },
    });
    await factsChange(uri, seen, c => c.complete && c.scanned === lines.length);
    const r = await worker.rowFacts({ uri, from: 0, maxRows: 5000 });
    assert.equal(r.count, lines.length);
    assert.equal(r.saved?.id, 'v1');
    assert.deepEqual(decodeRows(r.saved.keep), [5, 600]);
    assert.deepEqual(decodeRows(r.saved.drop), [8]);
    const saved = await worker.decisionHashes({
      uri,
      version: r.version,
      keep: rowsText([5, 600]),
      drop: rowsText([8]),
    });
    const h = (i: number) => contentHash(enc.encode(lines[i]));
    assert.deepEqual(saved.keep, [h(5), h(600)].sort());
    assert.deepEqual(saved.drop, [h(8)]);
    assert.deepEqual(
      saved.legacy,
      { keep: [], drop: [gone] },
      'unmatched ones stay, keyed the old way',
    );
    await worker.closeDataset(uri);
  });

  it('an append re-reads from the old last line; a rewrite is another version', async () => {
    const lines = datasetLines(400);
    const { path, uri } = write('versions.jsonl', lines);
    await worker.openDataset(uri);
    const first = (await pull(uri, 1000)).results.pop()!;
    assert.equal(first.scanned, 400);

    let seen = worker.factsChanges.length;
    appendFileSync(path, '{"instruction":"appended","output":"row"}\n');
    await factsChange(uri, seen, c => c.complete && c.scanned === 401);
    const appended = await worker.rowFacts({ uri, from: 400, since: first.version });
    assert.notEqual(appended.version, first.version);
    assert.equal(appended.from, 399, 'the facts start again at the old last line');
    assert.equal(appended.count, 2);
    assert.equal(appended.file.size, first.file.size + 42);

    seen = worker.factsChanges.length;
    writeFileSync(path, '{"text":"a new file"}\n{"text":"two rows"}\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    await factsChange(uri, seen, c => c.complete && c.scanned === 2);
    const rewritten = await worker.rowFacts({ uri, from: 401, since: appended.version });
    assert.equal(rewritten.from, 0, 'nothing of the old version is kept');
    assert.equal(rewritten.count, 2);
    assert.equal(rewritten.schema?.kind, 'text');
    assert.notEqual(rewritten.file.size, appended.file.size);
    // Decisions made on the old version's rows can still be saved by their hashes, once.
    const carried = await worker.decisionHashes({
      uri,
      version: appended.version,
      keep: rowsText([400]),
      drop: rowsText([]),
    });
    assert.deepEqual(carried.keep, [
      contentHash(enc.encode('{"instruction":"appended","output":"row"}')),
    ]);
    await assert.rejects(
      worker.decisionHashes({ uri, version: appended.version, keep: rowsText([0]), drop: '' }),
      (e: unknown) => e instanceof ResponseError && e.code === WorkerErrorCodes.factsVersionGone,
    );
    await worker.closeDataset(uri);
  });
});
