/**
 * Remote rows truncated as local scoring truncates them (docs/engines.md#truncation): a row
 * longer than the token limit scores the same (1e-5, and by log-probability) locally and through the stand-in's vLLM
 * and llama.cpp routes, which cut the document with `/tokenize` + `/detokenize` (the tiny-qwen2 fixture's
 * tokenizer), through both the chat and the completions API. Sent whole, the same row scores
 * differently (so the check can fail). An engine without those endpoints sends rows whole and
 * says so (`truncation: "none"`). No real engine runs here.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type EngineApi, RemoteScorer } from '../../src/core/engines';
import { AskLlmScorer, type LoadedModel, loadScorerModel } from '../../src/worker/askllm';
import { type FixtureSet, generateFixtureSet } from '../support/fixtures';
import { StandInEngine } from '../support/standInEngine';
import { fixtureBrain } from '../support/standInModel';
import { assertProbability, logError } from '../support/probability';

/** The paper's prompt alone is 89 tokens with the fixture's tokenizer. */
const MAX_TOKENS = 120;
const WORDS = ['science', 'energy', 'the', 'city', 'knowledge', 'of', 'light', 'cells', 'market'];
/** A long row whose second half (cut away at the limit) is unlike its first. */
const LONG = [
  ...Array.from({ length: 120 }, (_, i) => WORDS[(i * 5 + (i >> 3)) % WORDS.length]),
  ...Array.from({ length: 120 }, (_, i) => (i % 2 ? 'casino' : 'bonus')),
].join(' ');
const DOCS = [LONG, `${LONG} ### and more at the end`, 'short row that fits'];

let fx: FixtureSet;
let brain: Awaited<ReturnType<typeof fixtureBrain>>;
let model: LoadedModel;
let engine: StandInEngine;

before(async () => {
  fx = generateFixtureSet('winnow-engines-trunc-');
  brain = await fixtureBrain(fx.qwen2.dir, fx.root);
  model = await loadScorerModel({
    model: fx.qwen2.dir,
    cacheDir: join(fx.root, 'c'),
    offline: true,
    device: 'cpu',
  });
  engine = await StandInEngine.start({ brain });
});

after(async () => {
  await engine.close();
  await model.dispose();
  await brain.dispose();
  fx.cleanup();
});

async function localScores(api: EngineApi) {
  const s = AskLlmScorer.create(model, { useChatTemplate: api === 'chat', maxTokens: MAX_TOKENS });
  try {
    return (await s.score(DOCS)).scores;
  } finally {
    await s.dispose();
  }
}

function remote(api: EngineApi, maxTokens: number, name: 'vllm' | 'llamacpp' | 'openai' = 'vllm') {
  return RemoteScorer.create({
    engine: name,
    endpoint: name === 'llamacpp' ? engine.url : `${engine.url}/v1`,
    model: 'tiny',
    api,
    maxTokens,
    // llama.cpp is top-k only: k = the whole (fixture) vocabulary, so every row gets its score.
    ...(name === 'llamacpp' ? { topLogprobs: brain.vocabSize } : {}),
  });
}

describe('remote truncation', () => {
  for (const [name, api] of [
    ['vllm', 'chat'],
    ['vllm', 'completions'],
    ['llamacpp', 'chat'],
    ['llamacpp', 'completions'],
  ] as const)
    test(`${name} ${api}: a row over max tokens scores as locally (1e-5); sent whole it does not`, async () => {
      const want = await localScores(api);
      assert.ok(want[0]?.truncated && want[1]?.truncated, 'the long rows are truncated locally');
      assert.equal(want[2]?.truncated, false);
      const cut = await remote(api, MAX_TOKENS, name);
      const whole = await remote(api, 0, name);
      try {
        assert.equal(cut.manifest.truncation, 'tokens');
        assert.equal(cut.manifest.maxTokens, MAX_TOKENS);
        assert.match(
          cut.manifest.probe,
          /documents cut to 120 prompt tokens by POST \/tokenize \+ \/detokenize/,
        );
        assert.equal(whole.manifest.truncation, 'none');
        assert.notEqual(cut.scorerKey, whole.scorerKey, 'the limit is part of the cache key');
        const got = await cut.score(DOCS);
        const sentWhole = await whole.score(DOCS);
        DOCS.forEach((_, i) => {
          const w = want[i];
          assert.ok(w);
          assert.equal(got[i].status, 'ok', `row ${i}: ${got[i].error}`);
          assert.ok(
            Math.abs((got[i].score as number) - w.pYes) <= 1e-5,
            `row ${i}: ${got[i].score} vs local ${w.pYes}`,
          );
          // The fixture's P(yes) is small here: compare log-probabilities too (relative error).
          assertProbability(got[i].score as number, w.pYes, `row ${i}`, { precision: 'fp32' });
          assert.equal(got[i].truncated, w.truncated, `row ${i} truncated`);
          assert.equal(got[i].tokens, w.tokens, `row ${i} tokens`);
        });
        assert.ok(
          logError(sentWhole[0].score as number, want[0]?.pYes as number) > 0.05,
          `sent whole, the long row scores differently (${sentWhole[0].score} vs ${want[0]?.pYes})`,
        );
        assertProbability(sentWhole[2].score as number, want[2]?.pYes as number, 'the short row', {
          precision: 'fp32',
        });
      } finally {
        cut.close();
        whole.close();
      }
    });

  test('an engine without tokenize + detokenize sends rows whole and says so', async () => {
    const s = await remote('completions', MAX_TOKENS, 'openai');
    try {
      assert.equal(s.manifest.truncation, 'none');
      assert.equal(s.manifest.maxTokens, undefined);
      assert.match(s.manifest.probe, /rows sent whole \(truncation: none: openai has no tokenize/);
    } finally {
      s.close();
    }
  });

  test('a vLLM without /detokenize (404) sends rows whole and says so', async () => {
    const old = await StandInEngine.start({ brain, detokenize: false });
    try {
      const s = await RemoteScorer.create({
        engine: 'vllm',
        endpoint: `${old.url}/v1`,
        model: 'tiny',
        api: 'completions',
        maxTokens: MAX_TOKENS,
      });
      assert.equal(s.manifest.truncation, 'none');
      assert.match(s.manifest.probe, /rows sent whole \(truncation: none: .*HTTP 404/);
      s.close();
    } finally {
      await old.close();
    }
  });
});
