/**
 * Score Current File through a remote engine (`winnow.askllm.engine: vllm`), end to end: the real
 * dist/worker.js scores a dataset against the stand-in engine (test/support/standInEngine.ts) on
 * the tiny-qwen2 fixture; the column equals local scoring through the chat template; the API key
 * travels with the request and is in no log line; an untrusted workspace sends nothing. No real
 * engine runs here.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { GetColumnsResult } from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import { AskLlmScorer, loadScorerModel } from '../../src/worker/askllm';
import { type FixtureSet, generateFixtureSet } from '../support/fixtures';
import { assertProbability } from '../support/probability';
import { StandInEngine } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';
import { WorkerSession } from './workerSession';

const KEY = 'sk-lsp-0123456789abcdef';
const TEXTS = [
  'Photosynthesis is the process by which a cell uses energy from light, with evidence.',
  'We went to the city on a long day and the people there were very good to us.',
  'the science of energy and knowledge',
  'a short one',
];

let fx: FixtureSet;
let root: string;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
let engine: StandInEngine;
let localScores: number[];
const sessions: WorkerSession[] = [];

function dataset(name: string): string {
  const path = join(root, name);
  writeFileSync(path, `${TEXTS.map((text, id) => JSON.stringify({ id, text })).join('\n')}\n`);
  return pathToFileURL(path).toString();
}

function settings(extra: WinnowSettingsSection['askllm'] = {}): WinnowSettingsSection {
  return {
    askllm: {
      engine: 'vllm',
      engineEndpoint: `${engine.url}/v1`,
      engineApi: 'chat',
      model: 'tiny',
      ...extra,
    },
    device: 'cpu',
  };
}

async function start(trusted = true): Promise<WorkerSession> {
  const s = await WorkerSession.start({
    settings: settings(),
    storagePath: mkdtempSync(join(root, 'storage-')),
    trusted,
  });
  sessions.push(s);
  return s;
}

function decode(c: GetColumnsResult): Float32Array {
  assert.ok(c.askllm, 'an askllm column');
  return new Float32Array(new Uint8Array(Buffer.from(c.askllm.data, 'base64')).buffer);
}

before(async () => {
  fx = generateFixtureSet('winnow-lsp-remote-');
  root = mkdtempSync(join(tmpdir(), 'winnow-lsp-remote-data-'));
  brain = await fixtureBrain(fx.qwen2.dir, fx.root);
  engine = await StandInEngine.start({ brain, apiKey: KEY });
  const model = await loadScorerModel({
    model: fx.qwen2.dir,
    cacheDir: join(fx.root, 'c'),
    offline: true,
    device: 'cpu',
  });
  const s = AskLlmScorer.create(model);
  localScores = (await s.score(TEXTS)).scores.map(x => x?.pYes ?? Number.NaN);
  await s.dispose();
  await model.dispose();
});

after(async () => {
  for (const s of sessions) await s.shutdown().catch(() => undefined);
  await engine.close();
  await brain.dispose();
  fx.cleanup();
  rmSync(root, { recursive: true, force: true });
});

describe('Score Current File with a remote engine', () => {
  test('the worker scores through vLLM’s chat API: the column equals local scoring', async () => {
    const w = await start();
    const uri = dataset('remote.jsonl');
    await w.openDataset(uri);
    const r = await w.score(uri, { apiKey: KEY }).result;
    assert.equal(r.scored, TEXTS.length);
    assert.equal(r.failed, 0);
    assert.match(r.device, /^vllm at 127\.0\.0\.1:\d+$/);
    assert.equal(r.model, 'vllm:tiny');
    const col = await w.columns(uri);
    const values = decode(col);
    TEXTS.forEach((_, i) =>
      assertProbability(values[i], localScores[i], `row ${i}`, { precision: 'fp32' }),
    );
    assert.match(col.askllm?.meta.device ?? '', /vllm at 127\.0\.0\.1/);
    const hover = JSON.stringify(await w.hover(uri, 0)).replace(/\\+/g, '');
    assert.match(hover, /Model `vllm:tiny` \(remote\/chat\/exact, vllm at 127\.0\.0\.1:\d+\)/);
    assert.doesNotMatch(hover, / 0 tokens/);
    assert.ok(engine.authorizations.has(`Bearer ${KEY}`));
    const logs = w.logs.map(l => l.message).join('\n');
    assert.match(logs, /exact: the engine returned the log-probs of the named answer ids/);
    assert.ok(
      !logs.includes(KEY) && !w.stderr.includes(KEY) && !w.stdout.includes(KEY),
      'the key leaked',
    );
    // A second run finds every row in the cache.
    const again = await w.score(uri, { apiKey: KEY }).result;
    assert.equal(again.cached, TEXTS.length);
    assert.equal(again.newlyScored, 0);
  });

  test('a wrong key is one clear error from the probe', async () => {
    const w = await start();
    const uri = dataset('wrong-key.jsonl');
    await w.openDataset(uri);
    await assert.rejects(w.score(uri, { apiKey: 'not-the-key' }).result, /HTTP 401/);
    assert.ok(!w.logs.some(l => l.message.includes('not-the-key')));
  });

  test('in an untrusted workspace nothing is sent to the endpoint', async () => {
    const before = [...engine.requests.values()].reduce((a, b) => a + b, 0);
    const w = await start(false);
    const uri = dataset('untrusted.jsonl');
    await w.openDataset(uri);
    await assert.rejects(w.score(uri, { apiKey: KEY }).result, /untrusted/);
    assert.equal(
      [...engine.requests.values()].reduce((a, b) => a + b, 0),
      before,
    );
  });
});
