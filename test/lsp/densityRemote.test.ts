/**
 * Compute Density through a remote embedding engine (`winnow.density.engine: openai | tei`), end
 * to end: the real dist/worker.js embeds a dataset through the stand-in engine
 * (test/support/standInEngine.ts, embedding with the tiny-bert fixture) and its DENSITY column
 * equals the local fixture embedder's; the API key travels the way the extension passes it
 * (`winnow/computeDensity`'s `apiKey`, from SecretStorage), never in settings, and is in no log
 * line; an unreachable engine is one clear error and leaves no scores. No real engine runs here.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  ComputeDensityRequest,
  type ComputeDensityResult,
  type GetColumnsResult,
} from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import { type FixtureSet, generateFixtureSet } from '../support/fixtures';
import { StandInEngine } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';
import { WorkerSession } from './workerSession';

const KEY = 'sk-density-lsp-0123456789abcdef';
const TEXTS = Array.from(
  { length: 30 },
  (_, i) =>
    `${['science and energy of light', 'cheap casino bonus now', 'the city at night'][i % 3]} ${i % 4}`,
);

let fx: FixtureSet;
let root: string;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
let engine: StandInEngine;
let localScores: Float32Array;
const sessions: WorkerSession[] = [];

function dataset(name: string): string {
  const path = join(root, name);
  writeFileSync(path, `${TEXTS.map((text, id) => JSON.stringify({ id, text })).join('\n')}\n`);
  return pathToFileURL(path).toString();
}

async function start(density: WinnowSettingsSection['density']): Promise<WorkerSession> {
  const s = await WorkerSession.start({
    settings: { device: 'cpu', density },
    storagePath: mkdtempSync(join(root, 'storage-')),
  });
  sessions.push(s);
  return s;
}

function scoresOf(c: GetColumnsResult): Float32Array {
  assert.ok(c.density, 'a density column');
  const b = Buffer.from(c.density.score, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** Compute Density on a fresh copy of the dataset, as the extension asks for it. */
async function density(
  w: WorkerSession,
  name: string,
  apiKey?: string,
): Promise<{ uri: string; result: ComputeDensityResult }> {
  const uri = dataset(name);
  await w.openDataset(uri);
  const result: ComputeDensityResult = await w.connection.sendRequest(
    ComputeDensityRequest.method,
    { uri, ...(apiKey !== undefined ? { apiKey } : {}) },
  );
  return { uri, result };
}

function assertNoKey(w: WorkerSession): void {
  const logs = w.logs.map(l => l.message).join('\n');
  assert.ok(
    !logs.includes(KEY) && !w.stderr.includes(KEY) && !w.stdout.includes(KEY),
    'the key leaked into the worker output',
  );
}

before(async () => {
  fx = generateFixtureSet('winnow-lsp-density-remote-');
  root = mkdtempSync(join(tmpdir(), 'winnow-lsp-density-remote-data-'));
  brain = await fixtureBrain(fx.qwen2.dir, fx.root, fx.bert.dir);
  engine = await StandInEngine.start({ brain, apiKey: KEY });
  const w = await start({ model: fx.bert.dir });
  const { uri } = await density(w, 'local.jsonl');
  localScores = scoresOf(await w.columns(uri));
  assert.equal(localScores.length, TEXTS.length);
});

after(async () => {
  for (const s of sessions) await s.shutdown().catch(() => undefined);
  await engine.close();
  await brain.dispose();
  fx.cleanup();
  rmSync(root, { recursive: true, force: true });
});

describe('Compute Density with a remote embedding engine', () => {
  for (const name of ['openai', 'tei'] as const)
    it(`${name}: the density column equals the local embedder's; the key is in no log`, async () => {
      const settings: WinnowSettingsSection['density'] = {
        engine: name,
        engineEndpoint: name === 'tei' ? engine.url : `${engine.url}/v1`,
        ...(name === 'openai' ? { model: 'tiny' } : {}),
      };
      assert.ok(!JSON.stringify(settings).includes(KEY));
      const w = await start(settings);
      const before = engine.prompts;
      const { uri, result } = await density(w, `${name}.jsonl`, KEY);
      assert.equal(result.rows, TEXTS.length);
      assert.equal(result.embedded, TEXTS.length);
      assert.ok(engine.prompts - before >= TEXTS.length, 'the rows went to the engine');
      const got = scoresOf(await w.columns(uri));
      assert.deepEqual([...got], [...localScores], `${name}: DENSITY equals local`);
      assert.ok(engine.authorizations.has(`Bearer ${KEY}`));
      assert.match(w.logs.map(l => l.message).join('\n'), new RegExp(`${name} at 127\\.0\\.0\\.1`));
      assertNoKey(w);
    });

  it('without the key: the engine’s 401 is one clear error, and no scores', async () => {
    const w = await start({ engine: 'openai', engineEndpoint: `${engine.url}/v1`, model: 'tiny' });
    const uri = dataset('no-key.jsonl');
    await w.openDataset(uri);
    await assert.rejects(
      w.connection.sendRequest(ComputeDensityRequest.method, { uri }),
      /HTTP 401/,
    );
    assert.equal((await w.columns(uri)).density, undefined);
  });

  it('an unreachable engine: one clear error naming it, no invented scores', async () => {
    const w = await start({
      engine: 'openai',
      engineEndpoint: 'http://127.0.0.1:9/v1',
      model: 'tiny',
    });
    const uri = dataset('unreachable.jsonl');
    await w.openDataset(uri);
    await assert.rejects(
      w.connection.sendRequest(ComputeDensityRequest.method, { uri, apiKey: KEY }),
      (e: Error) => {
        assert.match(e.message, /127\.0\.0\.1:9/);
        assert.match(e.message, /ECONNREFUSED|connection/i);
        assert.ok(!e.message.includes(KEY));
        return true;
      },
    );
    assert.equal((await w.columns(uri)).density, undefined);
    assertNoKey(w);
  });
});
