/**
 * ASK-LLM through the production path (transformers.js + onnxruntime-node) on generated fixture
 * models whose P(yes) has a closed form: T5 (seq2seq) and llama / qwen2 (decoder-only chat).
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, PAPER_PROMPT_DECODER, renderPrompt } from '../../src/core/askllm';
import { MultiTokenAnswerError } from '../../src/core/askllm/tokens';
import { assertProbability } from '../support/probability';
import {
  AskLlmScorer,
  fetchThrough,
  type LoadedModel,
  loadScorerModel,
} from '../../src/worker/askllm';
import {
  type FixtureSet,
  POSITIVE_WORDS,
  buildRandomModel,
  causalDistribution,
  generateFixtureSet,
  t5Distribution,
} from '../support/fixtures';

const INFORMATIVE =
  'Photosynthesis is the process by which a cell uses energy from light. The theory explains how carbon and oxygen move, with evidence from biology and chemistry experiments.';
const SPAM = 'click now to buy cheap viagra, free prize, casino bonus, limited offer, hurry';
const NEUTRAL = 'We went to the city on a long day and the people there were very good to us.';
const QUESTION_TAIL = 'OPTIONS:\n- yes\n- no\n';

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

before(() => {
  fx = generateFixtureSet('winnow-askllm-');
});
after(async () => {
  for (const m of loaded) await m.dispose();
  fx.cleanup();
});

describe('tiny-t5 (seq2seq)', () => {
  let model: LoadedModel;
  before(async () => {
    model = await load(fx.t5.dir);
  });

  test('the prompt is the paper’s, verbatim, with ### stripped from the document', () => {
    const s = AskLlmScorer.create(model);
    const text = s.promptText('a ### b');
    assert.equal(
      text,
      '###\na  b\n###\n\nDoes the previous paragraph demarcated within ### and ### contain informative signal for pre-training a large-language model? An informative datapoint should be well-formatted, contain some usable knowledge of the world, and strictly NOT have any harmful, racist, sexist, etc. content.\n\nOPTIONS:\n- yes\n- no\n',
    );
    assert.equal(s.info.yes[0].token, '▁yes');
    assert.equal(s.info.yes[0].id, fx.t5.yesId);
    assert.equal(s.info.no[0].id, fx.t5.noId);
  });

  test('P(yes) equals the closed form (fp32 log tolerance), and ranks informative > neutral > spam', async t => {
    const s = AskLlmScorer.create(model);
    let worst = 0;
    const docs = [INFORMATIVE, SPAM, NEUTRAL];
    const r = await s.score(docs);
    const tok = await AutoTokenizer.from_pretrained(fx.t5.dir);
    for (let i = 0; i < docs.length; i++) {
      // Independent tokenisation of the literal prompt, then the closed form in float64.
      const ids = tok.encode(renderPrompt(PAPER_PROMPT, docs[i]));
      assert.deepEqual(s.prepare(docs[i]).ids, ids);
      const dist = t5Distribution(fx.t5, ids);
      const got = r.scores[i];
      assert.ok(got);
      worst = Math.max(worst, assertProbability(got.pYes, dist[fx.t5.yesId], `row ${i} P(yes)`));
      assertProbability(got.pNo, dist[fx.t5.noId], `row ${i} P(no)`);
      assertProbability(
        got.normalizedVariant ?? -1,
        dist[fx.t5.yesId] / (dist[fx.t5.yesId] + dist[fx.t5.noId]),
        `row ${i} variant`,
      );
    }
    t.diagnostic(`max |ln P(yes) − closed form| ${worst.toExponential(2)}`);
    const [inf, spam, neu] = r.scores.map(x => x?.pYes ?? Number.NaN);
    assert.ok(inf > neu && neu > spam, `${inf} ${neu} ${spam}`);
  });

  test('a padded batch equals single-row scoring', async () => {
    const docs = [INFORMATIVE, SPAM, NEUTRAL, 'short', `${INFORMATIVE} ${NEUTRAL} ${SPAM}`];
    const batched = await AskLlmScorer.create(model, { batchSize: 8 }).score(docs);
    const single = await AskLlmScorer.create(model, { batchSize: 1 }).score(docs);
    assert.ok(batched.batches < single.batches);
    for (let i = 0; i < docs.length; i++)
      assertProbability(
        batched.scores[i]?.pYes ?? Number.NaN,
        single.scores[i]?.pYes ?? Number.NaN,
        `row ${i} batched vs single`,
      );
  });

  test('truncation shortens the document and keeps the question', async () => {
    const s = AskLlmScorer.create(model, { maxTokens: 96 });
    const long = Array.from(
      { length: 300 },
      (_, i) => POSITIVE_WORDS[i % POSITIVE_WORDS.length],
    ).join(' ');
    const p = s.prepare(long);
    assert.equal(p.truncated, true);
    assert.ok(p.ids.length <= 96 && p.ids.length >= 90, `${p.ids.length}`);
    const text = model.tokenizer.decode(p.ids, { skip_special_tokens: true });
    assert.ok(text.startsWith('### science knowledge'), text.slice(0, 40));
    // T5's normaliser turns newlines into spaces; the question and options survive intact.
    assert.ok(
      text.trimEnd().endsWith(`etc. content. ${QUESTION_TAIL.replace(/\n/g, ' ').trim()}`),
      text.slice(-60),
    );
    assert.equal(p.ids[p.ids.length - 1], fx.t5.eosId);
    const r = await s.score([long]);
    assert.equal(r.scores[0]?.truncated, true);
    const dist = t5Distribution(fx.t5, p.ids);
    assertProbability(r.scores[0]?.pYes ?? Number.NaN, dist[fx.t5.yesId], 'truncated row');
  });

  test('a multi-token answer is rejected; answer variants are summed', async () => {
    assert.throws(
      () => AskLlmScorer.create(model, { answer: 'zebra' }),
      (e: unknown) => {
        assert.ok(e instanceof MultiTokenAnswerError);
        assert.match(e.message, /"zebra" is \d+ tokens/);
        return true;
      },
    );
    assert.throws(
      () => AskLlmScorer.create(model, { answerVariants: ['Yess'] }),
      MultiTokenAnswerError,
    );
    const s = AskLlmScorer.create(model, { answerVariants: ['Yes'] });
    assert.deepEqual(
      s.info.yes.map(a => a.id),
      [fx.t5.yesId, fx.t5.yesCapId],
    );
    const r = await s.score([NEUTRAL]);
    const dist = t5Distribution(fx.t5, s.prepare(NEUTRAL).ids);
    assertProbability(
      r.scores[0]?.pYes ?? Number.NaN,
      dist[fx.t5.yesId] + dist[fx.t5.yesCapId],
      'yes + Yes',
    );
  });
});

for (const arch of ['llama', 'qwen2'] as const)
  describe(`tiny-${arch} (decoder-only, chat template)`, () => {
    let model: LoadedModel;
    before(async () => {
      model = await load(fx[arch].dir);
    });

    test('the ANSWER: prompt goes inside the chat template with the generation prompt', () => {
      assert.equal(model.hasNumLogitsToKeep, fx[arch].hasNumLogitsToKeep);
      const s = AskLlmScorer.create(model);
      assert.equal(s.info.chatTemplate, true);
      assert.equal(
        s.promptText('doc'),
        `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n${renderPrompt(PAPER_PROMPT_DECODER, 'doc')}<|im_end|>\n<|im_start|>assistant\n`,
      );
      // After "assistant\n" the model writes `yes` with no leading space (docs/askllm.md#answer-tokens).
      assert.equal(s.info.yes[0].token, 'yes');
      assert.equal(s.info.yes[0].id, fx[arch].yesId);
    });

    test('P(yes) equals the closed form (fp32 log tolerance); left-padded batch equals single rows', async t => {
      let worst = 0;
      const docs = [INFORMATIVE, SPAM, NEUTRAL, 'short', `${NEUTRAL} ${NEUTRAL}`];
      const s = AskLlmScorer.create(model, { batchSize: 8, tokenBudget: 1e9 });
      const batched = await s.score(docs);
      assert.equal(batched.batches, 1);
      const single = await AskLlmScorer.create(model, { batchSize: 1 }).score(docs);
      const tok = await AutoTokenizer.from_pretrained(fx[arch].dir);
      for (let i = 0; i < docs.length; i++) {
        const ids = tok.encode(s.promptText(docs[i]), { add_special_tokens: false });
        const want = causalDistribution(fx[arch], ids)[fx[arch].yesId];
        const b = batched.scores[i]?.pYes ?? Number.NaN;
        const one = single.scores[i]?.pYes ?? Number.NaN;
        worst = Math.max(worst, assertProbability(b, want, `row ${i} batched`));
        assertProbability(one, b, `row ${i} single vs batched`);
      }
      t.diagnostic(`max |ln P(yes) − closed form| ${worst.toExponential(2)}`);
      const [inf, spam, neu] = batched.scores.map(x => x?.pYes ?? Number.NaN);
      assert.ok(inf > neu && neu > spam, `${inf} ${neu} ${spam}`);
    });

    test('without the chat template the answer after "ANSWER:" is " yes" (Ġyes)', () => {
      const s = AskLlmScorer.create(model, { useChatTemplate: false });
      assert.equal(s.info.yes[0].token, 'Ġyes');
      assert.equal(s.info.yes[0].id, fx[arch].spaceYesId);
    });

    test('truncation keeps the question and the generation prompt', () => {
      const s = AskLlmScorer.create(model, { maxTokens: 120 });
      const p = s.prepare(Array.from({ length: 400 }, () => 'science').join(' '));
      assert.equal(p.truncated, true);
      assert.ok(p.ids.length <= 120);
      const text = model.tokenizer.decode(p.ids, { skip_special_tokens: false });
      assert.ok(
        text.endsWith('OPTIONS: yes/no\nANSWER:<|im_end|>\n<|im_start|>assistant\n'),
        JSON.stringify(text.slice(-80)),
      );
      assert.ok(text.includes('science science'));
    });
  });

describe('direct session.run forward (fetches only the logits)', () => {
  for (const name of ['t5', 'llama', 'qwen2'] as const)
    test(`${name}: used for the fixture's layout, and equal to transformers.js's forward`, async () => {
      const model = await load(fx[name].dir);
      const docs = [INFORMATIVE, SPAM, NEUTRAL, 'short', `${NEUTRAL} ${INFORMATIVE}`];
      const direct = AskLlmScorer.create(model, { batchSize: 8, tokenBudget: 1e9 });
      const generic = AskLlmScorer.create(model, {
        batchSize: 8,
        tokenBudget: 1e9,
        directForward: false,
      });
      assert.match(direct.forwardPath, /^session\.run/);
      assert.match(generic.forwardPath, /transformers\.js/);
      const a = await direct.score(docs);
      const b = await generic.score(docs);
      for (let i = 0; i < docs.length; i++) {
        const x = a.scores[i]!;
        const y = b.scores[i]!;
        assert.ok(
          Math.abs(x.pYes - y.pYes) <= 1e-7 * Math.max(1, y.pYes),
          `${x.pYes} vs ${y.pYes}`,
        );
        assert.ok(Math.abs(x.pNo - y.pNo) <= 1e-7 * Math.max(1, y.pNo), `${x.pNo} vs ${y.pNo}`);
      }
      await direct.dispose();
      await generic.dispose();
    });
});

describe('fetching through an output that is not listed first', () => {
  test('the fetch list is the outputs up to the one read', () => {
    const names = ['present.0.key', 'present.0.value', 'logits', 'present.1.key'];
    assert.deepEqual(fetchThrough(names, 'logits'), names.slice(0, 3));
    assert.deepEqual(fetchThrough(['logits', 'present.0.key'], 'logits'), ['logits']);
    assert.throws(() => fetchThrough(names, 'last_hidden_state'), /no output last_hidden_state/);
  });

  // Optimum lists `logits` first; these exports list it after the caches (one layer, real sizes).
  for (const shape of ['flan-t5-small', 'smollm2-135m'] as const)
    test(`${shape} with logits last: the direct forward equals transformers.js's`, async () => {
      const dir = join(fx.root, `${shape}-logits-last`);
      buildRandomModel(dir, shape, { layers: 1, logitsLast: true });
      const model = await load(dir);
      const outputs = (model.model.sessions as Record<string, { outputNames: string[] }>)[
        shape === 'flan-t5-small' ? 'decoder_model_merged' : 'model'
      ].outputNames;
      assert.equal(outputs.at(-1), 'logits');
      const docs = [INFORMATIVE, SPAM, 'short'];
      const direct = AskLlmScorer.create(model, { batchSize: 4 });
      const generic = AskLlmScorer.create(model, { batchSize: 4, directForward: false });
      assert.match(direct.forwardPath, /^session\.run/);
      const a = await direct.score(docs);
      const b = await generic.score(docs);
      docs.forEach((_, i) => {
        const [x, y] = [a.scores[i]?.pYes ?? Number.NaN, b.scores[i]?.pYes ?? Number.NaN];
        assert.ok(y > 0 && Math.abs(x - y) <= 1e-6 * y, `${x} vs ${y}`);
      });
      await direct.dispose();
      await generic.dispose();
    });
});

describe('tokenizer threads (used on GPUs)', () => {
  for (const name of ['t5', 'llama'] as const)
    test(`${name}: thread tokenisation gives the same prompts and scores as in-process`, async () => {
      const model = await load(fx[name].dir);
      const long = Array.from(
        { length: 200 },
        (_, i) => POSITIVE_WORDS[i % POSITIVE_WORDS.length],
      ).join(' ');
      const docs = [INFORMATIVE, SPAM, `${long} ### ${NEUTRAL}`, NEUTRAL, 'x', long];
      const inProcess = AskLlmScorer.create(model, { maxTokens: 128, tokenizerThreads: 0 });
      const threaded = AskLlmScorer.create(model, { maxTokens: 128, tokenizerThreads: 2 });
      try {
        const a = await inProcess.score(docs);
        const b = await threaded.score(docs);
        assert.equal(threaded.tokenization, '2 tokenizer threads');
        assert.equal(inProcess.tokenization, 'in-process');
        assert.ok(b.scores.some(s => s?.truncated));
        assert.deepEqual(
          b.scores.map(s => [s?.pYes, s?.tokens, s?.truncated]),
          a.scores.map(s => [s?.pYes, s?.tokens, s?.truncated]),
        );
      } finally {
        await threaded.dispose();
      }
    });
});
