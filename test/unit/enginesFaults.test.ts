/**
 * Remote scoring under faults, the capability probe's refusals and API-key hygiene, against the
 * stand-in engine (test/support/standInEngine.ts) on the tiny-qwen2 fixture. Every fault of
 * docs/engines.md#faults is injected: 429 with Retry-After, 5xx, timeouts, dropped connections,
 * malformed, partial and wrongly shaped JSON, an engine restart mid-run. Nothing is lost and no
 * score differs from a clean run; rows with no result after the retries are `error`, and the next
 * run scores them.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { MultiTokenAnswerError } from '../../src/core/askllm/tokens';
import {
  EngineCapabilityError,
  type RemoteEngineName,
  type RemoteRowResult,
  RemoteScorer,
  type RemoteScorerConfig,
} from '../../src/core/engines';
import { backoffDelay, parseRetryAfter } from '../../src/core/engines/retry';
import { type FixtureSet, generateFixtureSet } from '../support/fixtures';
import { StandInEngine, type StandInFault, type StandInOptions } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';

const DOCS = Array.from(
  { length: 12 },
  (_, i) =>
    `Row ${i}: the science of energy and knowledge, ${'with evidence '.repeat(i % 4)}from biology.`,
);

let fx: FixtureSet;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
const engines: StandInEngine[] = [];
let clean: RemoteRowResult[];

async function engine(options: Partial<StandInOptions> = {}): Promise<StandInEngine> {
  const e = await StandInEngine.start({ brain, ...options });
  engines.push(e);
  return e;
}

/** Fast, deterministic retries: the full backoff window every time. */
const RETRY = { retries: 6, baseMs: 40, maxMs: 400, random: () => 0.999 };

function config(e: StandInEngine, extra: Partial<RemoteScorerConfig> = {}): RemoteScorerConfig {
  return {
    engine: 'vllm',
    endpoint: `${e.url}/v1`,
    model: 'tiny',
    api: 'completions',
    concurrency: 3,
    promptsPerRequest: 2,
    retry: RETRY,
    ...extra,
  };
}

before(async () => {
  fx = generateFixtureSet('winnow-engine-faults-');
  brain = await fixtureBrain(fx.qwen2.dir, fx.root);
  const e = await engine();
  const s = await RemoteScorer.create(config(e));
  clean = await s.score(DOCS);
  s.close();
  assert.ok(clean.every(r => r.status === 'ok'));
});

after(async () => {
  for (const e of engines) await e.close();
  await brain.dispose();
  fx.cleanup();
});

/** Scores DOCS with `fault` injected `times` after the probe; the rows equal the clean run. */
async function underFault(
  fault: StandInFault,
  times: number,
  extra: Partial<RemoteScorerConfig> = {},
) {
  const e = await engine();
  const log: string[] = [];
  const s = await RemoteScorer.create(config(e, { log: l => log.push(l), ...extra }));
  e.inject(fault, times);
  const t0 = performance.now();
  const rows = await s.score(DOCS);
  const ms = performance.now() - t0;
  s.close();
  assert.equal(e.pendingFaults, 0, 'every injected fault was met');
  assert.deepEqual(rows, clean, 'the same results as a clean run');
  assert.ok(
    log.some(l => /retry 1\//.test(l)),
    'the retries are logged',
  );
  return { ms, log };
}

describe('faults are retried; nothing is lost and no score changes', () => {
  test('429 with Retry-After waits at least the server’s delay', async () => {
    const { ms, log } = await underFault({ kind: 'status', status: 429, retryAfter: '1' }, 2);
    assert.ok(ms >= 1000, `${ms} ms`);
    assert.ok(log.some(l => l.includes('HTTP 429')));
  });
  for (const status of [500, 502, 503])
    test(`HTTP ${status}`, async () => {
      await underFault({ kind: 'status', status }, 4);
    });
  test('a request that never gets a reply times out and is sent again', async () => {
    const { log } = await underFault({ kind: 'timeout' }, 2, { timeoutMs: 300 });
    assert.ok(log.some(l => l.includes('no reply within 300 ms')));
  });
  test('a dropped connection', async () => {
    await underFault({ kind: 'drop' }, 3);
  });
  test('malformed JSON', async () => {
    const { log } = await underFault({ kind: 'malformed' }, 3);
    assert.ok(log.some(l => l.includes('not valid JSON')));
  });
  test('a reply cut off half way (partial JSON)', async () => {
    const { log } = await underFault({ kind: 'partial' }, 3);
    assert.ok(log.some(l => /cut off|ECONNRESET|socket hang up/.test(l)));
  });
  test('JSON of the wrong shape', async () => {
    const { log } = await underFault({ kind: 'shape' }, 3);
    assert.ok(log.some(l => l.includes('malformed reply')));
  });
  test('the engine restarts mid-run (connections closed, the port refused for 300 ms)', async () => {
    const { log } = await underFault({ kind: 'restart', downMs: 300 }, 1);
    assert.ok(
      log.some(l => /ECONNREFUSED|ECONNRESET|socket hang up|connection/.test(l)),
      log.join('\n'),
    );
  });
  test('a request the server rejects (400) is split into its rows', async () => {
    const e = await engine();
    const s = await RemoteScorer.create(config(e));
    e.inject({ kind: 'status', status: 400 }, 1);
    const rows = await s.score(DOCS);
    s.close();
    assert.deepEqual(rows, clean);
  });
});

describe('after the retries a row is an error, scored again by the next run', () => {
  test('rows whose requests keep failing are errors; the next run scores them', async () => {
    const e = await engine();
    const s = await RemoteScorer.create(
      config(e, { concurrency: 1, retry: { ...RETRY, retries: 2 } }),
    );
    // The first request (2 rows) fails 3 times: its first attempt and both retries.
    e.inject({ kind: 'status', status: 503 }, 3);
    const rows = await s.score(DOCS);
    assert.deepEqual(
      rows.map(r => r.status),
      DOCS.map((_, i) => (i < 2 ? 'error' : 'ok')),
    );
    assert.equal(rows[0].score, null);
    assert.match(rows[0].error ?? '', /HTTP 503/);
    assert.deepEqual(rows.slice(2), clean.slice(2));
    assert.deepEqual(await s.score(DOCS.slice(0, 2)), clean.slice(0, 2));
    s.close();
  });

  test('an engine that keeps failing stops the run: the rest is marked error, not sent', async () => {
    const e = await engine();
    const s = await RemoteScorer.create(
      config(e, { concurrency: 1, maxConsecutiveFailures: 2, retry: { ...RETRY, retries: 1 } }),
    );
    e.inject({ kind: 'status', status: 500 }, 1000);
    const before = e.requests.get('/v1/completions') ?? 0;
    const rows = await s.score(DOCS);
    s.close();
    assert.ok(rows.every(r => r.status === 'error' && r.score === null));
    assert.match(
      rows[DOCS.length - 1].error ?? '',
      /not sent: the engine failed 2 requests in a row/,
    );
    assert.equal((e.requests.get('/v1/completions') ?? 0) - before, 4, '2 requests × 2 attempts');
  });
});

describe('retry timing', () => {
  test('Retry-After is read as seconds or an HTTP date; backoff grows and is capped', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.ok((parseRetryAfter(new Date(Date.now() + 5000).toUTCString()) ?? 0) > 3000);
    assert.equal(parseRetryAfter('soon'), undefined);
    const p = { retries: 5, baseMs: 100, maxMs: 1000, maxRetryAfterMs: 2000, random: () => 0.5 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map(n => backoffDelay(n, p)),
      [50, 100, 200, 400, 500, 500],
    );
    assert.equal(backoffDelay(0, p, 60_000), 2050, 'a long Retry-After is capped');
  });
});

describe('the capability probe', () => {
  const names: RemoteEngineName[] = ['vllm', 'openai', 'sglang', 'llamacpp', 'ollama'];
  for (const name of names)
    test(`${name}: an engine that returns no log-probs is refused with a clear message`, async () => {
      const e = await engine({ logprobs: false });
      const endpoint = name === 'vllm' || name === 'openai' ? `${e.url}/v1` : e.url;
      await assert.rejects(
        RemoteScorer.create({
          engine: name,
          endpoint,
          model: 'tiny',
          api: 'completions',
          retry: RETRY,
        }),
        (err: unknown) => {
          assert.ok(err instanceof EngineCapabilityError, String(err));
          assert.match(err.message, /returns no log-probs/);
          assert.match(err.message, new RegExp(`${name} at 127\\.0\\.0\\.1:\\d+`));
          return true;
        },
      );
    });

  test('a multi-token answer word is refused through the engine’s tokenizer', async () => {
    const e = await engine();
    await assert.rejects(
      RemoteScorer.create(config(e, { answer: 'zebrafish' })),
      MultiTokenAnswerError,
    );
  });

  test('a k above the server’s cap (--max-logprobs) is refused with the server’s reason', async () => {
    const e = await engine({ logprobTokenIds: false });
    await assert.rejects(
      RemoteScorer.create(config(e, { topLogprobs: 50 })),
      /greater than max allowed: 20/,
    );
  });

  test('the probe names the mode and how the answer tokens were found', async () => {
    const e = await engine({ logprobTokenIds: false });
    const s = await RemoteScorer.create(config(e));
    s.close();
    assert.equal(s.manifest.mode, 'top-k');
    assert.match(s.manifest.probe, /top-k: the engine returned the 20 most likely tokens/);
    assert.match(s.manifest.answerTokensFoundBy, /POST \/tokenize/);
  });
});

describe('API keys', () => {
  const KEY = 'sk-test-0123456789abcdef';
  test('the key is sent as a bearer token and appears in no log line, error or manifest', async () => {
    const e = await engine({ apiKey: KEY });
    const log: string[] = [];
    const s = await RemoteScorer.create(config(e, { apiKey: KEY, log: l => log.push(l) }));
    // A careless server quotes the Authorization header in its error bodies.
    e.inject({ kind: 'status', status: 500, echoAuth: true }, 2);
    e.inject({ kind: 'status', status: 401, echoAuth: true }, 1);
    const rows = await s.score(DOCS);
    s.close();
    assert.ok(e.authorizations.has(`Bearer ${KEY}`));
    assert.ok(
      log.some(l => l.includes('[redacted]')),
      'the echoed key was redacted',
    );
    const everything = JSON.stringify({
      log,
      rows,
      manifest: s.manifest,
      identity: s.identity,
      key: s.scorerKey,
    });
    assert.ok(!everything.includes(KEY), 'the key leaked');
    assert.ok(!everything.includes(KEY.slice(3)), 'part of the key leaked');
  });

  test('a missing or wrong key is refused by the probe, without the key in the message', async () => {
    const e = await engine({ apiKey: KEY });
    await assert.rejects(
      RemoteScorer.create(config(e, { apiKey: 'wrong-key-xyz' })),
      (err: unknown) => {
        assert.match(String(err), /HTTP 401/);
        assert.ok(!String(err).includes('wrong-key-xyz'));
        return true;
      },
    );
    await assert.rejects(
      RemoteScorer.create(config(e, { endpoint: `http://user:${KEY}@127.0.0.1:1/v1` })),
      /not in the URL/,
    );
  });
});
