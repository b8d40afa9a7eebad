/**
 * `winnow embed|density --engine openai|tei --endpoint URL --model NAME` against the stand-in
 * engine (test/support/standInEngine.ts, embedding with the tiny-bert fixture). No real engine
 * runs here. Remote DENSITY scores equal local ones; remote vectors are cached apart from local
 * vectors (a remote run after a local one embeds every row again); a rerun sends only the probe.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FixtureSet, generateFixtureSet } from '../support/fixtures';
import { StandInEngine } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';
import { cliEnv, jsonlRows, runCliOk } from './cliRun';

const KEY = 'sk-embed-0123456789';
const TEXTS = Array.from(
  { length: 24 },
  (_, i) => `${['science and energy', 'cheap casino bonus', 'the city at night'][i % 3]} ${i % 5}`,
);

let fx: FixtureSet;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
let server: StandInEngine;
let dir: string;
let data: string;

before(async () => {
  fx = generateFixtureSet('winnow-cli-embed-remote-');
  brain = await fixtureBrain(fx.qwen2.dir, fx.root, fx.bert.dir);
  server = await StandInEngine.start({ brain, apiKey: KEY });
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-embed-remote-'));
  data = join(dir, 'data.jsonl');
  writeFileSync(data, TEXTS.map(text => JSON.stringify({ text })).join('\n') + '\n');
});

after(async () => {
  await server.close();
  await brain.dispose();
  fx.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function scores(out: string): (number | null)[] {
  return jsonlRows(readFileSync(out, 'utf8')).map(r => r.density_score as number | null);
}

describe('winnow embed and density through a remote embedding engine (the stand-in)', () => {
  const env = () => cliEnv({ XDG_CACHE_HOME: join(dir, 'cache'), EMBED_KEY: KEY });

  it('local, then openai and tei: the same DENSITY scores, remote vectors cached apart', async () => {
    const local = join(dir, 'local.jsonl');
    await runCliOk(['density', data, '--model', fx.bert.dir, '--device', 'cpu', '--out', local], {
      env: env(),
    });
    const want = scores(local);
    assert.equal(want.length, TEXTS.length);
    for (const engine of ['openai', 'tei'] as const) {
      const endpoint = engine === 'tei' ? server.url : `${server.url}/v1`;
      const args = ['--engine', engine, '--endpoint', endpoint, '--api-key-env', 'EMBED_KEY'];
      if (engine === 'openai') args.push('--model', 'tiny');
      const embed = await runCliOk(['embed', data, ...args, '--batch-size', '5', '--json'], {
        env: env(),
      });
      const s = embed.summary as { engine: string; counts: { embedded: number; cached: number } };
      assert.equal(s.engine, engine);
      assert.equal(s.counts.cached, 0, 'no local vector is reused for a remote embedder');
      assert.ok(s.counts.embedded > 0);
      const before = server.prompts;
      const out = join(dir, `${engine}.jsonl`);
      await runCliOk(['density', data, ...args, '--out', out], { env: env() });
      assert.equal(server.prompts - before, 1, 'every row from the cache: only the probe is sent');
      assert.deepEqual(scores(out), want, `${engine}: DENSITY equals local`);
      const manifest = readFileSync(`${out}.manifest.json`, 'utf8');
      assert.match(manifest, new RegExp(`"engine": ?"${engine}"`));
      assert.ok(!manifest.includes(KEY), 'the key is not in the manifest');
    }
    assert.ok(server.authorizations.has(`Bearer ${KEY}`));
  });
});
