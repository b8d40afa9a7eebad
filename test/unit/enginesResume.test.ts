/**
 * Remote runs over the crash-safe score cache (src/core/engines/cachedRun.ts): a run killed with
 * SIGKILL in a child process loses no row it had reported, and the next run sends only what the
 * cache lacks; bound rows are cached (not asked again), error rows are not (asked again).
 *
 * This file is also the child: with WINNOW_ENGINES_RESUME_CHILD set it runs one scoring pass and
 * prints one line per durable row instead of defining tests.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ScoreCache, contentHash } from '../../src/core/askllm';
import { type RemoteRowResult, RemoteScorer, scoreRemoteCached } from '../../src/core/engines';
import { type FixtureSet, generateFixtureSet } from '../support/fixtures';
import { StandInEngine } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';

const CHILD = 'WINNOW_ENGINES_RESUME_CHILD';

interface ChildSpec {
  endpoint: string;
  cachePath: string;
  docsPath: string;
}

/** The child: one cached run, one stdout line per durable row, a summary line at the end. */
async function child(spec: ChildSpec): Promise<void> {
  const docs = JSON.parse(readFileSync(spec.docsPath, 'utf8')) as string[];
  const scorer = await RemoteScorer.create({
    engine: 'vllm',
    endpoint: spec.endpoint,
    model: 'tiny',
    api: 'completions',
    concurrency: 2,
    promptsPerRequest: 2,
  });
  const cache = await ScoreCache.open(spec.cachePath);
  const r = await scoreRemoteCached(scorer, docs, {
    cache,
    onRows: rows => {
      for (const { index, result, cached } of rows)
        process.stdout.write(`${JSON.stringify({ index, result, cached })}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify({ done: true, hits: r.cached, sent: r.sent })}\n`);
  await cache.close();
  scorer.close();
}

if (process.env[CHILD]) {
  void child(JSON.parse(process.env[CHILD]) as ChildSpec).catch(e => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(1);
  });
} else defineTests();

interface ChildLine {
  index?: number;
  result?: RemoteRowResult;
  cached?: boolean;
  done?: boolean;
  hits?: number;
  sent?: number;
}

/** Runs the child; `killAfter` rows reported → SIGKILL. Resolves with its parsed lines. */
function runChild(spec: ChildSpec, killAfter?: number): Promise<ChildLine[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename], {
      env: { ...process.env, [CHILD]: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: ChildLine[] = [];
    let buf = '';
    p.stdout.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)) as ChildLine);
        buf = buf.slice(nl + 1);
        if (killAfter !== undefined && lines.length === killAfter) p.kill('SIGKILL');
      }
    });
    p.on('error', reject);
    p.on('exit', () => resolve(lines));
  });
}

function defineTests(): void {
  let fx: FixtureSet;
  let brain: Awaited<ReturnType<typeof fixtureBrain>>;
  let engine: StandInEngine;
  const docs = Array.from(
    { length: 160 },
    (_, i) =>
      `Document ${i}: ${['science', 'energy', 'casino bonus', 'the city'][i % 4]} and knowledge ${i * 7}.`,
  );
  let clean: RemoteRowResult[];

  before(async () => {
    fx = generateFixtureSet('winnow-engine-resume-');
    brain = await fixtureBrain(fx.qwen2.dir, fx.root);
    engine = await StandInEngine.start({ brain, serviceMs: 15 });
    const s = await RemoteScorer.create({
      engine: 'vllm',
      endpoint: `${engine.url}/v1`,
      model: 'tiny',
      api: 'completions',
    });
    clean = await s.score(docs);
    s.close();
  });
  after(async () => {
    await engine.close();
    await brain.dispose();
    fx.cleanup();
  });

  describe('kill and resume', () => {
    test('a SIGKILLed run loses no reported row; the next run sends only the rest', async t => {
      const spec: ChildSpec = {
        endpoint: `${engine.url}/v1`,
        cachePath: join(fx.root, 'scores.log'),
        docsPath: join(fx.root, 'docs.json'),
      };
      writeFileSync(spec.docsPath, JSON.stringify(docs));
      const first = await runChild(spec, 40);
      assert.ok(!first.some(l => l.done), 'the first run was killed before it finished');
      const reported = first.filter(l => l.index !== undefined);
      assert.ok(reported.length >= 40);
      const cache = await ScoreCache.open(spec.cachePath);
      const records = cache.loadReport.records;
      await cache.close();
      assert.ok(
        records >= reported.length,
        `${records} records for ${reported.length} reported rows`,
      );
      const second = await runChild(spec);
      const summary = second[second.length - 1];
      assert.equal(summary.done, true);
      const cachedRows = second.filter(l => l.cached);
      assert.ok((summary.hits ?? 0) >= reported.length, 'every reported row came from the cache');
      assert.equal((summary.sent ?? 0) + (summary.hits ?? 0), docs.length);
      assert.ok((summary.sent ?? 0) > 0, 'the killed run had not finished');
      t.diagnostic(
        `killed after ${reported.length} reported rows (${records} in the cache); resumed: ${summary.hits} from the cache, ${summary.sent} sent`,
      );
      for (const l of reported)
        assert.ok(
          cachedRows.some(c => c.index === l.index),
          `row ${l.index} was reported, then lost`,
        );
      const byIndex = new Map(
        second.filter(l => l.index !== undefined).map(l => [l.index, l.result]),
      );
      assert.equal(byIndex.size, docs.length);
      docs.forEach((_, i) => assert.deepEqual(byIndex.get(i), clean[i], `row ${i}`));
    });
  });

  describe('what the cache keeps', () => {
    test('bound rows are cached and not asked again; error rows are asked again', async () => {
      const e = await StandInEngine.start({ brain, logprobTokenIds: false });
      try {
        const cache = await ScoreCache.open(join(fx.root, 'bounds.log'));
        const s = await RemoteScorer.create({
          engine: 'vllm',
          endpoint: `${e.url}/v1`,
          model: 'tiny',
          api: 'chat',
          retry: { retries: 0 },
        });
        const some = docs.slice(0, 12);
        e.inject({ kind: 'status', status: 503 }, 1);
        const r1 = await scoreRemoteCached(s, some, { cache });
        const errors = r1.rows.filter(r => r.status === 'error').length;
        const bounds = r1.rows.filter(r => r.status === 'bound').length;
        assert.equal(errors, 1, 'one row met the injected 503 and has no retries');
        assert.ok(bounds > 0, 'the spam rows are bounds in top-k mode');
        const r2 = await scoreRemoteCached(s, some, { cache });
        assert.equal(r2.sent, errors, 'only the error row is sent again');
        assert.ok(r2.rows.every(r => r.status !== 'error'));
        r2.rows.forEach((r, i) => {
          if (r1.rows[i].status !== 'error') assert.deepEqual(r, r1.rows[i]);
        });
        await cache.close();
        const reopened = await ScoreCache.open(join(fx.root, 'bounds.log'));
        const boundRow = some.findIndex((_, i) => r2.rows[i].status === 'bound');
        assert.ok(reopened.getBound(s.scorerKey, contentHash(some[boundRow])));
        assert.equal(reopened.latest(contentHash(some[boundRow])), undefined);
        await reopened.close();
        s.close();
      } finally {
        await e.close();
      }
    });
  });
}
