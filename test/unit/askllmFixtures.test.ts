/**
 * The fixture generator itself: fast, byte-for-byte deterministic, tokenizers that behave like
 * the real component types, and the tiny-bert closed form that DENSITY tests rely on.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AutoTokenizer, pipeline } from '@huggingface/transformers';
import { type FixtureSet, allWords, bertEmbedding, generateFixtureSet } from '../support/fixtures';

const sets: FixtureSet[] = [];
after(() => sets.forEach(s => s.cleanup()));

function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out.set(`${rel}${e.name}`, readFileSync(join(d, e.name)));
  };
  walk(dir, '');
  return out;
}

test('generation is deterministic', t => {
  const t0 = performance.now();
  const a = generateFixtureSet();
  const ms = performance.now() - t0;
  sets.push(a);
  const b = generateFixtureSet();
  sets.push(b);
  // Logged, not asserted: a time limit would only measure how loaded the machine is.
  t.diagnostic(`generation took ${ms.toFixed(0)} ms`);
  const fa = files(a.root);
  const fb = files(b.root);
  assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
  for (const [k, v] of fa) assert.ok(v.equals(fb.get(k) as Buffer), `${k} differs between runs`);
  for (const f of [
    'tiny-t5/onnx/encoder_model.onnx',
    'tiny-t5/onnx/decoder_model_merged_quantized.onnx',
    'tiny-llama/onnx/model.onnx',
    'tiny-bert/onnx/model.onnx',
  ])
    assert.ok(fa.has(f), f);
});

test('every fixture word is one token in the T5 (▁word) and byte-level BPE (word, Ġword) tokenizers', async () => {
  const s = sets[0];
  const t5 = await AutoTokenizer.from_pretrained(s.t5.dir);
  const bpe = await AutoTokenizer.from_pretrained(s.qwen2.dir);
  for (const w of allWords()) {
    assert.deepEqual(t5.tokenize(w), [`▁${w}`], w);
    assert.deepEqual(bpe.tokenize(w), [w], w);
    assert.deepEqual(bpe.tokenize(` ${w}`), [`Ġ${w}`], w);
  }
  // Unknown text still tokenises: characters for T5, bytes for BPE (no <unk> for ASCII).
  assert.ok(t5.tokenize('zebra{}').length > 1);
  assert.equal(
    bpe.decode(bpe.encode('naïve ✓ text', { add_special_tokens: false })),
    'naïve ✓ text',
  );
  assert.deepEqual(t5.encode('yes'), [s.t5.yesId, s.t5.eosId]);
});

test('tiny-bert: feature-extraction mean-pooled, normalised embeddings equal the closed form', async () => {
  const s = sets[0];
  const extractor = await pipeline('feature-extraction', s.bert.dir, {
    dtype: 'fp32',
    device: 'cpu',
  });
  const texts = ['Science explains the world.', 'click now, buy cheap', 'a'];
  const out = await extractor(texts, { pooling: 'mean', normalize: true });
  const tok = await AutoTokenizer.from_pretrained(s.bert.dir);
  const data = out.data as Float32Array;
  texts.forEach((t, i) => {
    const want = bertEmbedding(s.bert, tok.encode(t));
    for (let k = 0; k < s.bert.d; k++) assert.ok(Math.abs(data[i * s.bert.d + k] - want[k]) < 1e-5);
  });
  await extractor.dispose();
});
