/**
 * The engine seam of `winnow score` (src/cli/engine.ts), in process, with a scripted engine in
 * place of a remote one: what the runner writes for `ok`, `bound` and `error` results, what it
 * keeps in the crash-safe cache (scores and bounds, never errors), that a rerun sends the engine
 * only the rows it lacks, that a stopped run keeps every delivered row, and that an engine
 * breaking the interface's rules is a clear error rather than a wrong score.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDataset } from '../../src/cli/dataset';
import type { RowResult, ScoreDocument, ScoringEngine } from '../../src/cli/engine';
import { createProgress } from '../../src/cli/progress';
import { ASKLLM_COLUMNS, openSink } from '../../src/cli/records';
import { runKey, runScore } from '../../src/cli/scoreRun';
import { WHOLE } from '../../src/cli/shard';
import { ScoreStore } from '../../src/worker/askllm/scoreStore';
import { Logger } from '../../src/worker/logger';
import { jsonlRows } from './cliRun';

let dir: string;
let data: string;
const logger = new Logger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-engine-'));
  data = join(dir, 'data.jsonl');
  const texts = [
    'good one',
    'bound me',
    'please fail',
    'good two',
    'good one',
    'bound again',
    'good three',
  ];
  writeFileSync(data, texts.map(t => JSON.stringify({ text: t })).join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A scripted engine: "bound" rows are bounds, "fail" rows errors, others score by length. */
class ScriptedEngine implements ScoringEngine {
  readonly seen: string[] = [];
  readonly facts = {
    engine: 'openai' as const,
    model: 'scripted',
    endpoint: 'http://127.0.0.1:1/v1',
    mode: 'top-k' as const,
    topK: 5,
    promptName: 'ASK-LLM (paper)',
    promptHash: 'cdd4f191c12e607f',
    promptId: 'paper',
    answerTokens: [{ token: 'yes', id: 9891 }],
    answerTokenSource: 'tokenize endpoint',
    chatTemplate: 'none' as const,
    scorerKey: '0123456789abcdef0123456789abcdef',
  };

  constructor(private readonly mutate: (r: RowResult) => RowResult = r => r) {}

  async score(
    docs: readonly ScoreDocument[],
    o: { signal: AbortSignal; onResults: (r: readonly RowResult[]) => void },
  ): Promise<void> {
    // Two at a time, like concurrent requests finishing.
    for (let i = 0; i < docs.length; i += 2) {
      o.signal.throwIfAborted();
      await new Promise(r => setTimeout(r, 1));
      o.onResults(docs.slice(i, i + 2).map(d => this.mutate(this.result(d))));
    }
  }

  private result(d: ScoreDocument): RowResult {
    this.seen.push(d.text);
    if (d.text.includes('bound'))
      return { id: d.id, status: 'bound', score: null, upperBound: 0.0125 };
    if (d.text.includes('fail'))
      return { id: d.id, status: 'error', score: null, error: 'HTTP 503 after 5 tries' };
    return { id: d.id, status: 'ok', score: d.text.length / 1000 };
  }

  async dispose(): Promise<void> {}
}

async function run(
  engine: ScoringEngine,
  cacheDir: string,
  out: string,
  signal = new AbortController().signal,
) {
  const ds = await openDataset(data);
  const store = await ScoreStore.open(cacheDir, logger);
  const sink = await openSink(out, 'jsonl', ASKLLM_COLUMNS);
  try {
    const counts = await runScore({
      ds,
      shard: WHOLE,
      engine,
      store,
      sink,
      progress: createProgress('none', 'score', () => {}),
      signal,
    });
    await sink.finish();
    return { counts, key: runKey(ds, engine), store };
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    await store.close();
    await ds.close();
  }
}

describe('the engine interface', () => {
  it('writes ok, bound and error rows as the issue defines them, and caches scores and bounds only', async () => {
    const engine = new ScriptedEngine();
    const cache = join(dir, 'cache-a');
    const out = join(dir, 'a.jsonl');
    const { counts, key } = await run(engine, cache, out);
    const rows = jsonlRows(readFileSync(out, 'utf8'));
    assert.deepEqual(
      rows.map(r => r.askllm_status),
      ['ok', 'bound', 'error', 'ok', 'ok', 'bound', 'ok'],
    );
    assert.deepEqual(rows[0], {
      line: 1,
      content_hash: rows[0].content_hash,
      askllm_score: 0.008,
      askllm_status: 'ok',
      askllm_upper_bound: null,
      askllm_error: null,
      askllm_tokens: null,
      askllm_truncated: null,
    });
    assert.equal(rows[1].askllm_score, null, 'a missing answer token is never 0 or an estimate');
    assert.equal(rows[1].askllm_upper_bound, 0.0125);
    assert.equal(rows[2].askllm_error, 'HTTP 503 after 5 tries');
    assert.deepEqual([counts.ok, counts.bound, counts.error, counts.rows], [4, 2, 1, 7]);
    // "good one" twice: sent once.
    assert.equal(engine.seen.filter(t => t === 'good one').length, 1);
    const store = await ScoreStore.open(cache, logger);
    try {
      assert.equal(store.cache.get(key, String(rows[0].content_hash))?.pYes, 0.008);
      assert.ok(
        Number.isNaN(store.cache.get(key, String(rows[0].content_hash))!.pNo),
        'no P(no) from this engine',
      );
      assert.equal(store.cache.getBound(key, String(rows[1].content_hash))?.upperBound, 0.0125);
      assert.equal(store.cache.get(key, String(rows[1].content_hash)), undefined);
      assert.equal(
        store.cache.get(key, String(rows[2].content_hash)),
        undefined,
        'errors are not cached',
      );
    } finally {
      await store.close();
    }

    // The rerun sends only the row in error; everything else comes from the cache.
    const again = new ScriptedEngine();
    const r2 = await run(again, cache, join(dir, 'a2.jsonl'));
    assert.deepEqual(again.seen, ['please fail']);
    assert.equal(r2.counts.cachedAtStart, 6);
    assert.deepEqual(jsonlRows(readFileSync(join(dir, 'a2.jsonl'), 'utf8')), rows);
  });

  it('a stopped run keeps every delivered row in the cache', async () => {
    const abort = new AbortController();
    let delivered = 0;
    const engine = new ScriptedEngine(r => {
      if (++delivered === 4) abort.abort(new Error('stopped'));
      return r;
    });
    const cache = join(dir, 'cache-b');
    await assert.rejects(run(engine, cache, join(dir, 'b.jsonl'), abort.signal), /stopped/);
    const next = new ScriptedEngine();
    const r = await run(next, cache, join(dir, 'b.jsonl'));
    assert.ok(r.counts.cachedAtStart >= 3, `${r.counts.cachedAtStart} rows kept`);
    assert.ok(next.seen.length <= 6 - 3 + 1);
  });

  it('an engine that breaks the rules is an error, never a written score', async () => {
    const cases: [string, (r: RowResult) => RowResult, RegExp][] = [
      [
        'score above 1',
        r => (r.status === 'ok' ? { ...r, score: 1.5 } : r),
        /gave document \d+ the score 1.5/,
      ],
      ['unknown id', r => ({ ...r, id: 99 }), /unknown document id 99/],
      [
        'bound without a bound',
        r => (r.status === 'bound' ? { id: r.id, status: 'bound', score: null } : r),
        /bound without an upper bound/,
      ],
    ];
    for (const [name, mutate, message] of cases)
      await assert.rejects(
        run(new ScriptedEngine(mutate), join(dir, `cache-${name}`), join(dir, 'c.jsonl')),
        message,
        name,
      );
  });
});
