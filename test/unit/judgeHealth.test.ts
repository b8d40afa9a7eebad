/**
 * Judge health (docs/judge.md#judge-health) through the production scorer on fixture models
 * whose next-token distribution has a closed form: the masses of the configured answers and of
 * their single-token case/space variants, and the top-5 tokens, are asserted exactly; the
 * verdicts (a variant takes the mass, the prompt does not fit) on fixtures steered to `Yes`.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoTokenizer } from '@huggingface/transformers';
import { type JudgeProbe, answerVariantWords, judgeHealth } from '../../src/core/judge';
import { renderPrompt, PAPER_PROMPT } from '../../src/core/askllm';
import { AskLlmScorer, type LoadedModel, loadScorerModel } from '../../src/worker/askllm';
import {
  type FixtureSet,
  causalDistribution,
  generateFixtureSet,
  t5Distribution,
} from '../support/fixtures';
import { generateTinyT5 } from '../support/fixtures/tinyT5';
import { assertProbability } from '../support/probability';

const INFORMATIVE = [
  'Photosynthesis is the process by which a cell uses energy from light. The theory explains how carbon and oxygen move.',
  'The science of energy: knowledge from physics and chemistry experiments, with evidence and theory.',
  'Biology explains how a cell grows; the evidence comes from experiments and careful research.',
];
const NEUTRAL = [
  'We went to the city on a long day and the people there were very good to us.',
  'The day was long and we went home.',
];

let fx: FixtureSet;
const loaded: LoadedModel[] = [];

async function load(dir: string): Promise<LoadedModel> {
  const m = await loadScorerModel({
    model: dir,
    cacheDir: join(fx.root, 'cache'),
    offline: true,
    device: 'cpu',
  });
  loaded.push(m);
  return m;
}

/** Scores `docs` and returns the probe of the run. */
async function probeOf(scorer: AskLlmScorer, docs: string[]): Promise<JudgeProbe> {
  let probe: JudgeProbe | undefined;
  let calls = 0;
  await scorer.score(docs, {
    onProbe: p => {
      probe = p;
      calls++;
    },
  });
  assert.equal(calls, 1, 'one probe per run');
  assert.ok(probe);
  return probe;
}

/** The ids of the k largest entries of `dist`, descending (ties: lower id first). */
function topIds(dist: Float64Array, k: number): number[] {
  return [...dist.keys()].sort((a, b) => dist[b] - dist[a] || a - b).slice(0, k);
}

before(() => {
  fx = generateFixtureSet('winnow-judge-health-');
});
after(async () => {
  for (const m of loaded) await m.dispose();
  fx.cleanup();
});

describe('judge health: variants', () => {
  test('the variants of an answer are its case and space forms, without configured words', () => {
    assert.deepEqual(answerVariantWords('yes'), ['Yes', 'YES', ' yes', ' Yes', ' YES']);
    assert.deepEqual(answerVariantWords('yes', ['Yes']), ['YES', ' yes', ' Yes', ' YES']);
  });
});

describe('judge health on tiny-t5', () => {
  let model: LoadedModel;
  before(async () => {
    model = await load(fx.t5.dir);
  });

  test('masses of yes, no and the single-token variant ▁Yes equal the closed form; ▁yes is not counted twice', async () => {
    const scorer = AskLlmScorer.create(model, { batchSize: 8 });
    assert.deepEqual(
      scorer.info.yesVariants.map(v => [v.word, v.token]),
      [['Yes', '▁Yes']],
    );
    const docs = [...INFORMATIVE, ...NEUTRAL];
    const probe = await probeOf(scorer, docs);
    assert.equal(probe.rows, docs.length);
    const tok = await AutoTokenizer.from_pretrained(fx.t5.dir);
    const dists = docs.map(d => t5Distribution(fx.t5, tok.encode(renderPrompt(PAPER_PROMPT, d))));
    const mean = (id: number): number => dists.reduce((s, d) => s + d[id], 0) / dists.length;
    assertProbability(probe.yes[0].mass, mean(fx.t5.yesId), 'yes');
    assertProbability(probe.no[0].mass, mean(fx.t5.noId), 'no');
    assert.equal(probe.yesVariants[0].id, fx.t5.yesCapId);
    assertProbability(probe.yesVariants[0].mass, mean(fx.t5.yesCapId), 'Yes');
    assert.equal(probe.top.length, 3);
    for (const t of probe.top) {
      const want = topIds(dists[t.row], 5);
      assert.deepEqual(
        t.tokens.map(x => x.id),
        want,
        `row ${t.row}`,
      );
      for (const x of t.tokens) assertProbability(x.p, dists[t.row][x.id], `top p row ${t.row}`);
    }
  });

  test('a prompt whose yes and no get little of the mass is a misfit, with the top tokens named', async t => {
    const probe = await probeOf(AskLlmScorer.create(model), NEUTRAL);
    const h = judgeHealth(probe);
    t.diagnostic(h.warning ?? '');
    assert.ok(h.yesMass + h.noMass + h.yesVariantMass + h.noVariantMass < 0.1);
    assert.equal(h.status, 'misfit');
    assert.deepEqual(h.fix, { kind: 'openPrompt' });
    assert.match(
      h.warning ?? '',
      /Yes and no together get .* the prompt does not fit this model; its likeliest next tokens are "/,
    );
  });

  test('a judge steered to ▁Yes: the configured yes gets a sliver, the warning offers the variant; with it configured, health is ok', async t => {
    const steered = await load(generateTinyT5(join(fx.root, 't5-Yes'), { steerAnswer: 'Yes' }).dir);
    const h = judgeHealth(await probeOf(AskLlmScorer.create(steered), INFORMATIVE));
    t.diagnostic(h.warning ?? '');
    assert.equal(h.status, 'variant');
    assert.deepEqual(h.fix, { kind: 'addVariant', word: 'Yes' });
    assert.ok(h.yesVariantMass > 10 * h.yesMass, `${h.yesVariantMass} vs ${h.yesMass}`);
    assert.match(h.warning ?? '', /on "Yes" \(token "▁Yes"\) but only .* on the configured "yes"/);
    const fixed = AskLlmScorer.create(steered, { answerVariants: ['Yes'] });
    assert.notEqual(fixed.info.scorerKey, AskLlmScorer.create(steered).info.scorerKey);
    const h2 = judgeHealth(await probeOf(fixed, INFORMATIVE));
    assert.equal(h2.status, 'ok');
    assert.equal(h2.yesVariants.length, 0);
    assert.ok(h2.yesMass > 0.05);
  });

  test('a run whose rows are all cached measures nothing', async () => {
    const { ScoreCache } = await import('../../src/core/askllm/scoreCache');
    const cache = await ScoreCache.open(join(fx.root, 'health-cache.log'));
    const scorer = AskLlmScorer.create(model);
    await scorer.score(NEUTRAL, { cache });
    let probed = false;
    await scorer.score(NEUTRAL, { cache, onProbe: () => (probed = true) });
    assert.equal(probed, false);
    await cache.close();
  });
});

for (const arch of ['llama', 'qwen2'] as const)
  describe(`judge health on tiny-${arch} (chat template)`, () => {
    test('after the generation prompt, Yes, Ġyes and ĠYes are single-token variants with exact masses', async () => {
      const model = await load(fx[arch].dir);
      const scorer = AskLlmScorer.create(model, { batchSize: 8, tokenBudget: 1e9 });
      const tokens = scorer.info.yesVariants.map(v => v.token);
      assert.deepEqual(tokens, ['Yes', 'Ġyes', 'ĠYes']);
      assert.ok(scorer.info.noVariants.some(v => v.token === 'No'));
      const docs = [...INFORMATIVE, NEUTRAL[0]];
      const probe = await probeOf(scorer, docs);
      const tok = await AutoTokenizer.from_pretrained(fx[arch].dir);
      const dists = docs.map(d =>
        causalDistribution(
          fx[arch],
          tok.encode(scorer.promptText(d), { add_special_tokens: false }),
        ),
      );
      const mean = (id: number): number => dists.reduce((s, d) => s + d[id], 0) / dists.length;
      assertProbability(probe.yes[0].mass, mean(fx[arch].yesId), 'yes');
      for (const v of probe.yesVariants) assertProbability(v.mass, mean(v.id), v.token);
      assert.equal(probe.yesVariants[1].id, fx[arch].spaceYesId);
      for (const t of probe.top)
        assert.deepEqual(
          t.tokens.map(x => x.id),
          topIds(dists[t.row], 5),
        );
    });
  });
