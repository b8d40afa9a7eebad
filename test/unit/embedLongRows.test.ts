/**
 * DENSITY embeddings of long rows (issue 17, defect 1): the embedder tokenises only the prefix of
 * a text that its max sequence length can need, and the ids equal those of the whole text
 * truncated. Real tiny-bert fixture (WordPiece) through transformers.js and onnxruntime-node.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { type EmbeddingModel, loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { Rng, allWords, generateTinyBert, type TinyBert } from '../support/fixtures';

let root: string;
let bert: TinyBert;
let tok: PreTrainedTokenizer;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-embed-long-'));
  bert = generateTinyBert(join(root, 'tiny-bert'));
  tok = await AutoTokenizer.from_pretrained(bert.dir);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Fixture words separated by `gap` spaces, up to `chars` characters. */
function spacedWords(chars: number, gap: number, seed: number): string {
  const rng = new Rng(seed);
  const words = allWords();
  const sep = ' '.repeat(gap);
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const w = words[rng.int(words.length)];
    parts.push(w);
    length += w.length + gap;
  }
  return parts.join(sep);
}

/** Counts the characters the model's own tokenizer is given, failing above `maxChars` at once. */
function countTokenizer(m: EmbeddingModel, maxChars: number): { chars: number } {
  const seen = { chars: 0 };
  const inner = (m as unknown as { parts: { tokenizer: PreTrainedTokenizer } }).parts.tokenizer;
  const encode = inner.encode.bind(inner);
  inner.encode = ((text: string, options?: object) => {
    seen.chars += text.length;
    if (text.length > maxChars)
      throw new Error(`tokenised ${text.length} characters at once (bound ${maxChars})`);
    return encode(text, options);
  }) as typeof inner.encode;
  return seen;
}

describe('DENSITY embedder on long rows', () => {
  let m: EmbeddingModel;
  before(async () => {
    m = await loadEmbeddingModel({ model: bert.dir, cacheDir: join(root, 'cache'), device: 'cpu' });
  });
  after(() => m.dispose());

  for (const [what, gap] of [
    ['words', 1],
    ['words 60 spaces apart', 60],
  ] as const)
    test(`${what}: a 50 KB row gives the ids of the whole row truncated`, () => {
      const text = spacedWords(50_000, gap, gap);
      const whole = tok.encode(text);
      assert.ok(whole.length > m.maxTokens);
      const want = [...whole.slice(0, m.maxTokens - 1), whole[whole.length - 1]];
      assert.deepEqual(m.tokenize(text), want);
    });

  for (const mb of [1, 10, 50])
    test(`a ${mb} MB row of widely spaced words is embedded from a bounded prefix`, async () => {
      const text = spacedWords(mb * 1024 * 1024, 60, mb);
      const bound = 256 * m.maxTokens;
      const seen = countTokenizer(m, bound);
      const r = await m.embedBatch([text, 'a day in the city']);
      assert.deepEqual([...r.truncated], [1, 0]);
      assert.equal(r.tokens[0], m.maxTokens);
      assert.ok(seen.chars <= 2 * bound, `${seen.chars} characters tokenised in all`);
    });
});
