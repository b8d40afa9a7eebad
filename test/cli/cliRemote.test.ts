/**
 * `winnow score --engine openai|vllm --endpoint URL --model NAME --out FILE`, exactly as the
 * issue writes it, against the stand-in engine (test/support/standInEngine.ts, answering with the
 * tiny-qwen2 fixture). No real engine runs here. vLLM gives exact P(yes) (logprob_token_ids);
 * the generic OpenAI route gives the top-k, where a row without its answer token is `bound`.
 * Every `ok` score equals the closed form; a rerun takes every row from the cache (only the probe is sent).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PAPER_PROMPT_DECODER, renderPrompt, sanitizeDocument } from '../../src/core/askllm';
import { type LoadedModel, loadScorerModel } from '../../src/worker/askllm';
import { type FixtureSet, causalDistribution, generateFixtureSet } from '../support/fixtures';
import { assertProbability } from '../support/probability';
import { StandInEngine } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';
import { cliEnv, jsonlRows, runCliOk } from './cliRun';

const DOCS = [
  'Photosynthesis is the process by which a cell uses energy from light, with evidence from biology.',
  'click now to buy cheap viagra, free prize, casino bonus, limited offer, hurry',
  'We went to the city on a long day and the people there were very good to us.',
  'short',
];

let fx: FixtureSet;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
let model: LoadedModel;
let server: StandInEngine;
let dir: string;
let data: string;
/** P(" yes") at the first answer position of each raw (completions) prompt, in closed form. */
const closed: number[] = [];

before(async () => {
  fx = generateFixtureSet('winnow-cli-remote-');
  brain = await fixtureBrain(fx.qwen2.dir, fx.root);
  server = await StandInEngine.start({ brain, modelName: 'tiny' });
  model = await loadScorerModel({
    model: fx.qwen2.dir,
    cacheDir: join(fx.root, 'c'),
    offline: true,
    device: 'cpu',
  });
  for (const doc of DOCS) {
    const ids = model.tokenizer.encode(renderPrompt(PAPER_PROMPT_DECODER, sanitizeDocument(doc)));
    closed.push(causalDistribution(fx.qwen2, ids)[fx.qwen2.spaceYesId]);
  }
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-remote-'));
  data = join(dir, 'data.jsonl');
  writeFileSync(data, DOCS.map(text => JSON.stringify({ text })).join('\n') + '\n');
});

after(async () => {
  await server.close();
  await model.dispose();
  await brain.dispose();
  fx.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function score(engine: 'openai' | 'vllm', out: string, env: NodeJS.ProcessEnv) {
  // The flags exactly as scripts outside the repository call them, plus --api and --json.
  const args = ['score', data, '--engine', engine, '--endpoint', `${server.url}/v1`];
  args.push('--model', 'tiny', '--out', out, '--api', 'completions', '--json');
  const r = await runCliOk(args, { env });
  return { rows: jsonlRows(readFileSync(out, 'utf8')), summary: r.summary };
}

describe('winnow score through a remote engine (the stand-in)', () => {
  it('vllm: exact P(yes) for every row, equal to the closed form; the manifest names the engine', async () => {
    const env = cliEnv({ XDG_CACHE_HOME: join(dir, 'cache-vllm') });
    const out = join(dir, 'vllm.jsonl');
    const promptsBefore = server.prompts;
    const { rows } = await score('vllm', out, env);
    assert.equal(rows.length, DOCS.length);
    rows.forEach((r, i) => {
      assert.equal(r.line, i + 1);
      assert.equal(r.askllm_status, 'ok', JSON.stringify(r));
      assertProbability(r.askllm_score as number, closed[i], `row ${i} vs closed form`);
    });
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as Record<
      string,
      unknown
    >;
    const text = JSON.stringify(manifest);
    assert.match(text, /"vllm"/);
    assert.match(text, /exact/);
    // Every run probes the engine first (docs/engines.md#probe); the rows come after it.
    const probePrompts = server.prompts - promptsBefore - DOCS.length;
    assert.ok(probePrompts >= 0 && probePrompts <= 2, `probe prompts: ${probePrompts}`);
    const before = server.prompts;
    const again = await score('vllm', join(dir, 'vllm-2.jsonl'), env);
    assert.equal(
      server.prompts - before,
      probePrompts,
      'a rerun sends only the probe: every row from the cache',
    );
    assert.deepEqual(again.rows, rows);
  });

  it('openai (top-k): ok rows equal the closed form, the others are bound with an upper bound', async () => {
    const env = cliEnv({ XDG_CACHE_HOME: join(dir, 'cache-openai') });
    const { rows } = await score('openai', join(dir, 'openai.jsonl'), env);
    assert.equal(rows.length, DOCS.length);
    rows.forEach((r, i) => {
      if (r.askllm_status === 'ok')
        assertProbability(r.askllm_score as number, closed[i], `row ${i} vs closed form`);
      else {
        assert.equal(r.askllm_status, 'bound', JSON.stringify(r));
        assert.equal(r.askllm_score, null);
        assert.ok((r.askllm_upper_bound as number) > closed[i], `row ${i}: P(yes) < its bound`);
      }
    });
  });
});
