/**
 * ASK-LLM on long rows (issue 17, defect 1): `fitPrompt` tokenises only the prefix of a document
 * that the token limit can need, and the result equals tokenising the whole document and then
 * truncating. The tokenizers are the real ones of the tiny fixtures (T5: Unigram + Metaspace;
 * qwen2: byte-level BPE), through transformers.js.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt, sanitizeDocument } from '../../src/core/askllm';
import { type FittedPrompt, type PromptTokenizer, fitPrompt } from '../../src/core/askllm/tokens';
import { AskLlmScorer, loadScorerModel } from '../../src/worker/askllm';
import { type FixtureSet, Rng, allWords, generateFixtureSet } from '../support/fixtures';

let fx: FixtureSet;
const tokenizers = new Map<string, PreTrainedTokenizer>();

before(async () => {
  fx = generateFixtureSet('winnow-longrows-');
  tokenizers.set('t5', await AutoTokenizer.from_pretrained(fx.t5.dir));
  tokenizers.set('qwen2', await AutoTokenizer.from_pretrained(fx.qwen2.dir));
});
after(() => fx.cleanup());

/** The scorer's tokenizer operations over a transformers.js tokenizer, counting characters. */
function counting(tokenizer: PreTrainedTokenizer, maxChars = Infinity) {
  const seen = { chars: 0, calls: 0 };
  const charge = (text: string): void => {
    seen.chars += text.length;
    seen.calls++;
    if (text.length > maxChars)
      throw new Error(`tokenised ${text.length} characters at once (bound ${maxChars})`);
  };
  const tok: PromptTokenizer = {
    encodePrompt: text => (charge(text), tokenizer.encode(text)),
    encodePlain: text => (charge(text), tokenizer.encode(text, { add_special_tokens: false })),
    decode: ids => tokenizer.decode([...ids], { skip_special_tokens: true }),
    tokensOf: ids => ids.map(String),
  };
  return { tok, seen };
}

/**
 * The reference: the whole document tokenised, then the document truncated token-wise (the
 * algorithm `fitPrompt` had before it cut long documents, kept here verbatim).
 */
function fitWhole(
  tok: PromptTokenizer,
  render: (d: string) => string,
  document: string,
  maxTokens: number,
): FittedPrompt {
  let ids = tok.encodePrompt(render(document));
  if (ids.length <= maxTokens) return { ids, truncated: false };
  const docIds = tok.encodePlain(document);
  let keep = docIds.length - (ids.length - maxTokens) - 1;
  for (let attempt = 0; attempt < 8 && keep > 0; attempt++) {
    ids = tok.encodePrompt(render(tok.decode(docIds.slice(0, keep))));
    if (ids.length <= maxTokens) return { ids, truncated: true, documentTokens: keep };
    keep -= ids.length - maxTokens + 1;
  }
  return { ids: tok.encodePrompt(render('')), truncated: true, documentTokens: 0 };
}

/** Fixture words joined by spaces (and now and then a newline) up to `chars` characters. */
function wordsText(chars: number, seed: number): string {
  const rng = new Rng(seed);
  const words = allWords();
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const w = words[rng.int(words.length)];
    parts.push(w);
    length += w.length + 1;
  }
  return parts.map((w, i) => (i % 37 === 36 ? `${w}\n` : `${w} `)).join('');
}

const render = (doc: string): string => renderPrompt(PAPER_PROMPT, doc);

describe('fitPrompt on long documents', () => {
  // [name, document of about n characters, least saving in characters tokenised (0: none)]
  const cases: [string, (n: number) => string, number][] = [
    ['words', n => wordsText(n, 7), 4],
    // One pre-token of 50 KB: no whitespace to cut at.
    ['no whitespace', n => wordsText(n, 8).replace(/\s/g, ''), 4],
    // A long whitespace run early on, which the T5 normaliser collapses to one space.
    // The cut grows through the run (which holds few tokens): no saving on 50 KB.
    ['a whitespace run', n => `${wordsText(200, 9)}${' '.repeat(20_000)}${wordsText(n, 10)}`, 0],
    ['LaTeX-like', n => wordsText(n, 11).replace(/ /g, (_, i: number) => (i % 5 ? ' ' : '\\$')), 4],
  ];
  for (const name of ['t5', 'qwen2'])
    for (const [what, make, saving] of cases)
      for (const maxTokens of [128, 512])
        test(`${name}, ${what}, ${maxTokens} tokens: a 50 KB row gives the tokens of the whole row truncated`, () => {
          const tokenizer = tokenizers.get(name) as PreTrainedTokenizer;
          const doc = sanitizeDocument(make(50_000));
          const whole = counting(tokenizer);
          const want = fitWhole(whole.tok, render, doc, maxTokens);
          assert.equal(want.truncated, true);
          const cheap = counting(tokenizer);
          const got = fitPrompt(cheap.tok, render, doc, maxTokens);
          assert.deepEqual(got, want);
          assert.ok(
            saving === 0 || cheap.seen.chars < whole.seen.chars / saving,
            `tokenised ${cheap.seen.chars} characters, the whole-row path ${whole.seen.chars}`,
          );
        });

  test('a row that fits is tokenised once, whole, exactly as before', () => {
    const tokenizer = tokenizers.get('t5') as PreTrainedTokenizer;
    const doc = wordsText(3000, 12);
    const { tok, seen } = counting(tokenizer);
    const got = fitPrompt(tok, render, doc, 2048);
    assert.equal(seen.calls, 1);
    assert.deepEqual(got, { ids: tokenizer.encode(render(doc)), truncated: false });
  });

  for (const mb of [1, 10, 50])
    test(`a ${mb} MB row: no more than 64 characters per token of the limit are tokenised`, () => {
      const tokenizer = tokenizers.get('t5') as PreTrainedTokenizer;
      const doc = wordsText(mb * 1024 * 1024, 13);
      const maxTokens = 512;
      const bound = 64 * maxTokens;
      const { tok, seen } = counting(tokenizer, bound);
      const got = fitPrompt(tok, render, doc, maxTokens);
      assert.equal(got.truncated, true);
      assert.ok(
        got.ids.length <= maxTokens && got.ids.length >= maxTokens - 8,
        `${got.ids.length}`,
      );
      assert.ok(seen.chars <= 4 * bound, `${seen.chars} characters tokenised in all`);
    });

  test('a huge whitespace run stops growing the cut at 256 characters per token', () => {
    const tokenizer = tokenizers.get('t5') as PreTrainedTokenizer;
    const maxTokens = 128;
    const doc = `science ${' '.repeat(1024 * 1024)} proof`;
    const { tok } = counting(tokenizer, 256 * maxTokens + 1000);
    const got = fitPrompt(tok, render, doc, maxTokens);
    assert.equal(got.truncated, true);
    assert.deepEqual(got.ids, tokenizer.encode(render('science ')));
  });
});

describe('a row that cannot be scored', () => {
  test('is reported with its reason, gets no score and no cache entry; the other rows are scored', async () => {
    const model = await loadScorerModel({
      model: fx.t5.dir,
      cacheDir: join(fx.root, 'cache'),
      offline: true,
      device: 'cpu',
    });
    try {
      // The real tokenizer, made to fail on one document the way Unigram's encode overflowed
      // its stack on long rows.
      const encode = model.tokenizer.encode.bind(model.tokenizer);
      model.tokenizer.encode = ((text: string, options?: object) => {
        if (text.includes('POISON')) throw new RangeError('Maximum call stack size exceeded');
        return encode(text, options);
      }) as typeof model.tokenizer.encode;
      const scorer = AskLlmScorer.create(model, { maxTokens: 128, batchSize: 2, bucketing: false });
      const docs = [wordsText(300, 1), 'x', `${wordsText(300, 2)} POISON`, wordsText(5000, 3)];
      const puts: string[] = [];
      const cache = {
        get: () => undefined,
        putMany: async (_key: string, entries: readonly { hash: string }[]) => {
          puts.push(...entries.map(e => e.hash));
        },
      };
      const reported: number[] = [];
      const hashes = docs.map((_, i) => `h${i}`);
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      // Two rows per batch: the failing row's batch is tokenised while the first one runs.
      const r = await scorer
        .score(docs, {
          cache: cache as never,
          hashes,
          onFailed: f => reported.push(...f.map(x => x.index)),
        })
        .finally(() => process.off('unhandledRejection', onUnhandled));
      assert.deepEqual(unhandled, []);
      assert.deepEqual(r.failed, [
        { index: 2, reason: 'tokenising the prompt failed: Maximum call stack size exceeded' },
      ]);
      assert.deepEqual(reported, [2]);
      assert.equal(r.scores[2], undefined);
      for (const i of [0, 1, 3]) assert.ok((r.scores[i]?.pYes ?? 0) > 0, `row ${i} scored`);
      assert.deepEqual(puts.sort(), ['h0', 'h1', 'h3']);
      await scorer.dispose();
    } finally {
      await model.dispose();
    }
  });

  test('a failing forward pass is run again row by row: only the row that fails alone fails', async () => {
    const model = await loadScorerModel({
      model: fx.t5.dir,
      cacheDir: join(fx.root, 'cache'),
      offline: true,
      device: 'cpu',
    });
    try {
      const scorer = AskLlmScorer.create(model, { maxTokens: 128, batchSize: 4, bucketing: false });
      // A word outside the fixture's vocabulary is its unknown token (id 2); the model is made
      // to fail on any batch that holds it.
      const unk = 2;
      const internals = scorer as unknown as {
        runModel: (rows: readonly (readonly number[])[]) => Promise<Record<string, unknown>>;
      };
      const runModel = internals.runModel.bind(scorer);
      let passes = 0;
      internals.runModel = async rows => {
        passes++;
        if (rows.some(ids => ids.includes(unk))) throw new Error('the session failed\nat run');
        return runModel(rows);
      };
      const docs = [wordsText(200, 4), wordsText(200, 5), '漢字 の 文', wordsText(200, 6)];
      assert.ok(!scorer.prepare(docs[0]).ids.includes(unk));
      assert.ok(scorer.prepare(docs[2]).ids.includes(unk));
      const r = await scorer.score(docs);
      assert.deepEqual(r.failed, [{ index: 2, reason: 'the session failed' }]);
      for (const i of [0, 1, 3]) assert.ok((r.scores[i]?.pYes ?? 0) > 0, `row ${i} scored`);
      // The batch of four, then each row alone.
      assert.equal(passes, 5);
      assert.equal(r.batches, 5);
      await scorer.dispose();
    } finally {
      await model.dispose();
    }
  });
});
