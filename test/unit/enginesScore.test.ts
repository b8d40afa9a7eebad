/**
 * Remote ASK-LLM scoring through each engine adapter against the stand-in engine
 * (test/support/standInEngine.ts), which answers with the tiny-qwen2 fixture: remote P(yes)
 * equals local scoring and the closed form; exact and top-k modes; rows whose answer token is not
 * among the top k are `bound` with the k-th probability as their upper bound. No real engine
 * (vLLM, SGLang, llama.cpp, Ollama) runs here: the stand-in speaks their documented shapes.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PAPER_PROMPT_DECODER, renderPrompt, sanitizeDocument } from '../../src/core/askllm';
import {
  type EngineApi,
  type RemoteEngineName,
  type RemoteRowResult,
  RemoteScorer,
} from '../../src/core/engines';
import { AskLlmScorer, type LoadedModel, loadScorerModel } from '../../src/worker/askllm';
import { type FixtureSet, causalDistribution, generateFixtureSet } from '../support/fixtures';
import { assertProbability } from '../support/probability';
import { StandInEngine, type StandInOptions } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';

const DOCS = [
  'Photosynthesis is the process by which a cell uses energy from light. The theory explains how carbon and oxygen move, with evidence from biology and chemistry experiments.',
  'click now to buy cheap viagra, free prize, casino bonus, limited offer, hurry',
  'We went to the city on a long day and the people there were very good to us.',
  'short',
  'a ### b: the science of energy and knowledge',
];

let fx: FixtureSet;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
let model: LoadedModel;
const engines: StandInEngine[] = [];
/** Local P(yes) per API: chat template (chat) and raw prompt (completions). */
const local: Record<EngineApi, number[]> = { chat: [], completions: [] };
/** The closed form's full distribution per API and row. */
const closed: Record<EngineApi, Float64Array[]> = { chat: [], completions: [] };

async function engine(options: Partial<StandInOptions> = {}): Promise<StandInEngine> {
  const e = await StandInEngine.start({ brain, ...options });
  engines.push(e);
  return e;
}

before(async () => {
  fx = generateFixtureSet('winnow-engines-');
  brain = await fixtureBrain(fx.qwen2.dir, fx.root);
  model = await loadScorerModel({
    model: fx.qwen2.dir,
    cacheDir: join(fx.root, 'c'),
    offline: true,
    device: 'cpu',
  });
  for (const api of ['chat', 'completions'] as const) {
    const s = AskLlmScorer.create(model, { useChatTemplate: api === 'chat' });
    const r = await s.score(DOCS);
    local[api] = r.scores.map(x => x?.pYes ?? Number.NaN);
    for (const doc of DOCS) {
      const text =
        api === 'chat'
          ? s.promptText(doc)
          : renderPrompt(PAPER_PROMPT_DECODER, sanitizeDocument(doc));
      const ids = model.tokenizer.encode(text, { add_special_tokens: api !== 'chat' });
      closed[api].push(causalDistribution(fx.qwen2, ids));
    }
    await s.dispose();
  }
});

after(async () => {
  for (const e of engines) await e.close();
  await model.dispose();
  await brain.dispose();
  fx.cleanup();
});

async function scoreWith(
  e: StandInEngine,
  engineName: RemoteEngineName,
  api: EngineApi,
  extra: { topLogprobs?: number } = {},
): Promise<{ scorer: RemoteScorer; rows: RemoteRowResult[] }> {
  const base = engineName === 'vllm' || engineName === 'openai' ? `${e.url}/v1` : e.url;
  const scorer = await RemoteScorer.create({
    engine: engineName,
    endpoint: base,
    model: 'tiny',
    api,
    ...extra,
  });
  const rows = await scorer.score(DOCS);
  scorer.close();
  return { scorer, rows };
}

/** Every row equals local scoring and the closed form; returns how many were ok. */
function checkRows(
  rows: readonly RemoteRowResult[],
  api: EngineApi,
  k: number | undefined,
): number {
  let ok = 0;
  rows.forEach((r, i) => {
    const dist = closed[api][i];
    const want = dist[api === 'chat' ? fx.qwen2.yesId : fx.qwen2.spaceYesId];
    if (r.status === 'ok') {
      ok++;
      assertProbability(r.score ?? Number.NaN, want, `row ${i} vs closed form`);
      assertProbability(r.score ?? Number.NaN, local[api][i], `row ${i} vs local`);
      return;
    }
    assert.equal(r.status, 'bound', `row ${i}: ${r.error ?? ''}`);
    assert.ok(k !== undefined, `row ${i} is a bound in exact mode`);
    assert.equal(r.score, null);
    const kth = [...dist].sort((a, b) => b - a)[k - 1];
    assertProbability(r.upperBound ?? Number.NaN, kth, `row ${i} bound = the k-th probability`);
    assert.ok(want < (r.upperBound ?? 0), `row ${i}: P(yes) ${want} is below its bound`);
  });
  return ok;
}

describe('exact engines (named answer ids)', () => {
  for (const api of ['chat', 'completions'] as const)
    test(`vLLM ${api}: logprob_token_ids gives every row, equal to local and the closed form`, async () => {
      const e = await engine();
      const { scorer, rows } = await scoreWith(e, 'vllm', api);
      const m = scorer.manifest;
      assert.equal(m.mode, 'exact');
      assert.equal(m.chatTemplate, api === 'chat' ? 'engine' : 'none');
      assert.equal(m.answerTokens[0].source, 'tokenize-endpoint');
      assert.equal(m.answerTokens[0].id, api === 'chat' ? fx.qwen2.yesId : fx.qwen2.spaceYesId);
      assert.equal(m.negativeTokens.length, 1);
      assert.equal(checkRows(rows, api, undefined), DOCS.length);
      for (const r of rows) assert.ok(r.pNo !== undefined && r.pNo > 0);
      assert.ok((e.requests.get('/tokenize') ?? 0) >= 2);
    });

  test('SGLang /generate: token_ids_logprob, raw prompt', async () => {
    const e = await engine();
    const { scorer, rows } = await scoreWith(e, 'sglang', 'completions');
    assert.equal(scorer.manifest.mode, 'exact');
    assert.equal(scorer.manifest.answerTokens[0].id, fx.qwen2.spaceYesId);
    assert.equal(checkRows(rows, 'completions', undefined), DOCS.length);
    // Several prompts per request.
    assert.ok((e.requests.get('/generate') ?? 0) < DOCS.length + 2);
  });
});

describe('top-k engines: exact where the answer is among the k, a bound where it is not', () => {
  test('an older vLLM without logprob_token_ids: top-k, ids from /tokenize', async () => {
    const e = await engine({ logprobTokenIds: false });
    const { scorer, rows } = await scoreWith(e, 'vllm', 'chat');
    assert.equal(scorer.manifest.mode, 'top-k');
    const ok = checkRows(rows, 'chat', 20);
    assert.ok(ok >= 1 && ok < DOCS.length, `${ok} ok rows: both kinds are exercised`);
    assert.equal(rows[1].status, 'bound', 'the spam row is a bound');
  });

  for (const api of ['chat', 'completions'] as const)
    test(`llama.cpp ${api}: /completion n_probs, /tokenize, /apply-template`, async () => {
      const e = await engine();
      // llama.cpp does not cap n_probs: k above the vocabulary size reads every row (the
      // fixture ranks " yes" low in the raw prompt).
      const k = api === 'chat' ? 20 : 4000;
      const { scorer, rows } = await scoreWith(e, 'llamacpp', api, { topLogprobs: k });
      assert.equal(scorer.manifest.mode, 'top-k');
      assert.equal(scorer.manifest.chatTemplate, api === 'chat' ? 'engine-rendered' : 'none');
      assert.equal(scorer.manifest.answerTokens[0].source, 'tokenize-endpoint');
      if (api === 'chat') assert.equal(e.requests.get('/apply-template'), 1);
      assert.ok(checkRows(rows, api, k) >= 1);
    });

  for (const api of ['chat', 'completions'] as const)
    test(`Ollama ${api}: logprobs + top_logprobs, answers by the token-text rule`, async () => {
      const e = await engine();
      const { scorer, rows } = await scoreWith(e, 'ollama', api);
      assert.equal(scorer.manifest.mode, 'top-k');
      assert.equal(scorer.manifest.answerTokens[0].source, 'token-text');
      assert.equal(scorer.manifest.answerTokens[0].continuation, api === 'chat' ? 'yes' : ' yes');
      // Ollama caps k at 20; in the raw prompt " yes" is outside the fixture's top 20 (bounds).
      const ok = checkRows(rows, api, 20);
      if (api === 'chat') assert.ok(ok >= 1);
    });

  for (const api of ['chat', 'completions'] as const)
    test(`generic OpenAI-compatible ${api}: top logprobs by token text, no extensions`, async () => {
      const e = await engine({
        tokenize: false,
        logprobTokenIds: false,
        tokenIdsInReplies: false,
        maxLogprobs: 5,
      });
      const { scorer, rows } = await scoreWith(e, 'openai', api, { topLogprobs: 5 });
      assert.equal(scorer.manifest.mode, 'top-k');
      assert.match(scorer.manifest.answerTokensFoundBy, /token-text rule/);
      checkRows(rows, api, 5);
      assert.ok(rows.some(r => r.status === 'bound'));
    });
});
