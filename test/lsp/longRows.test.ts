/**
 * Tier 2: rows of 1 MB, 10 MB and 50 MB (issue 17, defect 1) through the real worker process
 * with its JavaScript heap bounded to 512 MB. Before the fix, the whole document was tokenised
 * before truncation: a 1 MB row took gigabytes and 50 MB killed the worker. Now every row is
 * scored (ASK-LLM, tiny-t5) and embedded (DENSITY, tiny-bert) from a bounded prefix, and the rest
 * of the file is scored with them.
 */
import { strict as assert } from 'node:assert';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { MarkupContent } from 'vscode-languageserver-protocol/node';
import { ComputeDensityRequest, type ComputeDensityResult } from '../../src/shared/protocol/worker';
import { TOKENS_TRUNCATED } from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import {
  Rng,
  allWords,
  generateTinyBert,
  generateTinyT5,
  type TinyBert,
  type TinyT5,
} from '../support/fixtures';
import { WorkerSession } from './workerSession';

const MB = 1024 * 1024;
/** Lines (0-based) of the long rows and their sizes. */
const LONG = new Map([
  [3, 1 * MB],
  [7, 10 * MB],
  [11, 50 * MB],
]);
const ROWS = 16;

let root: string;
let t5: TinyT5;
let bert: TinyBert;
let uri: string;
let session: WorkerSession | undefined;

/** Fixture words `gap` spaces apart, `chars` characters or a little more. */
function words(chars: number, rng: Rng, gap = 1): string {
  const all = allWords();
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const w = all[rng.int(all.length)];
    parts.push(w);
    length += w.length + gap;
  }
  return parts.join(' '.repeat(gap));
}

/**
 * Writes the dataset line by line (a long row in 1 MB pieces of JSON string content). The long
 * rows' words are 120 spaces apart (as in fixed-width tables): a prefix of 64 characters per
 * token then holds fewer tokens than the limit, which the embedder once answered by tokenising
 * the whole text.
 */
async function writeDataset(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string) =>
    new Promise<void>((resolve, reject) => out.write(s, e => (e ? reject(e) : resolve())));
  const rng = new Rng(17);
  for (let i = 0; i < ROWS; i++) {
    const size = LONG.get(i);
    if (size === undefined) {
      await write(`${JSON.stringify({ id: i, text: words(80 + rng.int(400), rng) })}\n`);
      continue;
    }
    await write(`{"id": ${i}, "text": "`);
    for (let left = size; left > 0; left -= MB)
      await write(`${words(Math.min(MB, left), rng, 120)} `);
    await write('"}\n');
  }
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
}

/** Rejects when the worker process exits (a heap OOM aborts it), with its last stderr. */
function workerExit(s: WorkerSession): Promise<never> {
  return new Promise<never>((_, reject) =>
    s.child.once('exit', (code, signal) =>
      reject(
        new Error(`the worker exited (code ${code}, signal ${signal}): ${s.stderr.slice(-600)}`),
      ),
    ),
  );
}

const settings = (): WinnowSettingsSection => ({
  device: 'cpu',
  askllm: { model: t5.dir },
  density: { model: bert.dir },
});

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-lsp-longrows-'));
  t5 = generateTinyT5(join(root, 'tiny-t5'));
  bert = generateTinyBert(join(root, 'tiny-bert'));
  const path = join(root, 'long.jsonl');
  await writeDataset(path);
  uri = pathToFileURL(path).toString();
});

after(async () => {
  if (session && session.child.exitCode === null && session.child.signalCode === null)
    await session.shutdown().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe('rows of 1, 10 and 50 MB in a worker with a 512 MB heap', () => {
  before(async () => {
    session = await WorkerSession.start({
      settings: settings(),
      storagePath: join(root, 'storage'),
      execArgv: ['--max-old-space-size=512'],
    });
    await session.openDataset(uri);
  });

  it('ASK-LLM scores every row; the long ones are truncated to the token limit', async () => {
    const s = session as WorkerSession;
    const r = await Promise.race([s.score(uri).result, workerExit(s)]);
    assert.equal(r.rows, ROWS);
    assert.equal(r.scorable, ROWS);
    assert.equal(r.scored, ROWS, `failed: ${JSON.stringify(r.failures)}`);
    assert.equal(r.failed, 0);
    const cols = await s.columns(uri);
    assert.ok(cols.askllm?.tokens);
    const tokens = new Uint32Array(
      new Uint8Array(Buffer.from(cols.askllm.tokens, 'base64')).buffer,
    );
    for (let i = 0; i < ROWS; i++) {
      const truncated = (tokens[i] & TOKENS_TRUNCATED) !== 0;
      assert.equal(truncated, LONG.has(i), `row ${i} truncated`);
      if (LONG.has(i)) assert.ok((tokens[i] & ~TOKENS_TRUNCATED) <= 512, `row ${i} tokens`);
    }
    const hover = await s.hover(uri, 11);
    assert.match((hover?.contents as MarkupContent).value, /P\(yes\) = .*document truncated/s);
    assert.equal(s.child.exitCode, null, 'the worker is alive');
    assert.ok(
      !s.logs.some(l => /Unhandled promise rejection/.test(l.message)),
      'no unhandled rejection',
    );
  });

  it('DENSITY embeds every row; the long ones are truncated to the max sequence length', async () => {
    const s = session as WorkerSession;
    const r = await Promise.race([
      s.connection.sendRequest<ComputeDensityResult>(ComputeDensityRequest.method, { uri }),
      workerExit(s),
    ]);
    assert.equal(r.rows, ROWS);
    assert.equal(r.embedded, ROWS);
    assert.equal(r.truncatedRows, LONG.size);
    assert.equal(s.child.exitCode, null, 'the worker is alive');
  });
});

describe('rows the scorer fails on, through the worker', () => {
  it('are marked failed with their line and the reason in the result, the columns and the hover', async () => {
    const path = join(root, 'short.jsonl');
    const rng = new Rng(5);
    writeFileSync(
      path,
      Array.from({ length: 6 }, (_, id) => JSON.stringify({ id, text: words(60, rng) })).join(
        '\n',
      ) + '\n',
    );
    const shortUri = pathToFileURL(path).toString();
    // A token limit below the prompt's own length: the tokenizer step fails on every row, for a
    // reason the user can act on.
    const s = await WorkerSession.start({
      settings: { ...settings(), askllm: { model: t5.dir, maxTokens: 40 } },
      storagePath: join(root, 'storage-failing'),
    });
    try {
      await s.openDataset(shortUri);
      const r = await Promise.race([s.score(shortUri).result, workerExit(s)]);
      assert.equal(r.scorable, 6);
      assert.equal(r.scored, 0);
      assert.equal(r.failed, 6);
      assert.deepEqual(
        r.failures.map(f => f.line),
        [1, 2, 3, 4, 5, 6],
      );
      assert.match(
        r.failures[0].reason,
        /The prompt alone is \d+ tokens, more than the max-token setting \(40\)/,
      );
      const cols = await s.columns(shortUri);
      assert.ok(cols.askllm, 'a column that carries the failures');
      assert.deepEqual(
        cols.askllm.failed?.map(f => f.row),
        [0, 1, 2, 3, 4, 5],
      );
      const values = new Float32Array(
        new Uint8Array(Buffer.from(cols.askllm.data, 'base64')).buffer,
      );
      assert.ok(
        [...values].every(v => Number.isNaN(v)),
        'no score is invented',
      );
      const hover = (await s.hover(shortUri, 2))?.contents as MarkupContent;
      assert.match(
        hover.value.replace(/\\(.)/g, '$1'),
        /ASK-LLM:\*\* could not score line 3: .*The prompt alone is/,
      );
      assert.ok(s.logs.some(l => /line 3 could not be scored/.test(l.message)));
      assert.ok(!s.logs.some(l => /Unhandled promise rejection/.test(l.message)));
    } finally {
      await s.shutdown().catch(() => undefined);
    }
  });
});
