/**
 * The DENSITY embedding path end to end on generated models in the real layouts: tokenizer.json
 * through transformers.js, the ONNX graph on onnxruntime-node, pooling, the sentence-transformers
 * Dense layer and L2 normalisation, compared with closed forms computed from the weights.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GraphBuilder, writeModelFile } from '../../src/core/onnx';
import { ModelLoadError } from '../../src/worker/runtime';
import { type EmbeddingModel, loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { encodeSafetensors } from '../../src/worker/density/safetensors';
import { Rng, bertEmbedding, generateTinyBert, type TinyBert } from '../support/fixtures';
import { maskF, writeJson, writeModelFolder, writeOnnx } from '../support/fixtures/files';
import { buildUnigramTokenizer } from '../support/fixtures/tokenizers';

const TEXTS = [
  'a day in the city',
  'science and knowledge for everyone',
  'the',
  '',
  'Buy now!!! cheap pills, best price, click here',
  'a day in the city',
];

let root: string;
let bert: TinyBert;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'winnow-embed-'));
  bert = generateTinyBert(join(root, 'tiny-bert'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

async function load(model: string, extra: { maxTokens?: number } = {}): Promise<EmbeddingModel> {
  return loadEmbeddingModel({ model, cacheDir: join(root, 'cache'), device: 'cpu', ...extra });
}

describe('BERT-type fixture (mean pooling + L2)', () => {
  test('pooled, normalised output equals the closed form within 1e-5', async t => {
    const m = await load(bert.dir);
    try {
      assert.equal(m.dim, bert.d);
      assert.equal(m.source, 'folder');
      assert.equal(m.device, 'cpu');
      assert.equal(m.pipeline, 'last_hidden_state → mean → L2');
      const r = await m.embedBatch(TEXTS);
      let worst = 0;
      TEXTS.forEach((text, i) => {
        const ids = m.tokenize(text);
        assert.equal(ids[0], bert.clsId, 'starts with [CLS]');
        assert.equal(ids[ids.length - 1], bert.sepId, 'ends with [SEP]');
        assert.equal(r.tokens[i], ids.length);
        const got = r.vectors.subarray(i * bert.d, (i + 1) * bert.d);
        worst = Math.max(worst, maxAbsDiff(got, bertEmbedding(bert, ids)));
        assert.ok(Math.abs(norm(got) - 1) < 1e-6, 'unit norm');
      });
      t.diagnostic(`max abs error vs closed form: ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-5, `max abs error ${worst}`);
    } finally {
      await m.dispose();
    }
  });

  test('a padded batch equals one-by-one runs (padding never leaks into the mean)', async () => {
    const m = await load(bert.dir);
    try {
      const batch = await m.embedBatch(TEXTS);
      for (let i = 0; i < TEXTS.length; i++) {
        const one = await m.embedBatch([TEXTS[i]]);
        assert.ok(
          maxAbsDiff(one.vectors, batch.vectors.subarray(i * m.dim, (i + 1) * m.dim)) < 1e-6,
        );
      }
    } finally {
      await m.dispose();
    }
  });

  test('truncation keeps [CLS] and [SEP], is recorded, and matches the closed form', async () => {
    const m = await load(bert.dir, { maxTokens: 6 });
    try {
      assert.equal(m.maxTokens, 6);
      const long = 'science and knowledge for everyone in the city every day';
      const ids = m.tokenize(long);
      assert.equal(ids.length, 6);
      assert.equal(ids[0], bert.clsId);
      assert.equal(ids[5], bert.sepId);
      const r = await m.embedBatch([long, 'the']);
      assert.deepEqual([...r.truncated], [1, 0]);
      assert.deepEqual([...r.tokens], [6, 3]);
      assert.ok(maxAbsDiff(r.vectors.subarray(0, bert.d), bertEmbedding(bert, ids)) < 1e-5);
      assert.match(m.key, /"maxTokens":6/);
    } finally {
      await m.dispose();
    }
  });

  test('the default truncation is 256 tokens, capped by the model limit', async () => {
    const m = await load(bert.dir);
    try {
      assert.equal(m.maxTokens, 256);
    } finally {
      await m.dispose();
    }
    const capped = await load(bert.dir, { maxTokens: 100_000 });
    try {
      assert.equal(capped.maxTokens, 512, 'max_position_embeddings / model_max_length');
    } finally {
      await capped.dispose();
    }
  });

  test('q8 picks the _quantized file; a missing dtype names the available ones', async () => {
    const m = await loadEmbeddingModel({
      model: bert.dir,
      cacheDir: join(root, 'cache'),
      device: 'cpu',
      dtype: 'q8',
    });
    assert.equal(m.dtype, 'q8');
    await m.dispose();
    await assert.rejects(
      loadEmbeddingModel({
        model: bert.dir,
        cacheDir: join(root, 'cache'),
        device: 'cpu',
        dtype: 'fp16',
      }),
      (e: unknown) =>
        e instanceof ModelLoadError && /dtype fp16\. Available dtypes: fp32, q8/.test(e.message),
    );
  });

  test('a folder that is not a model gives a clear error', async () => {
    mkdirSync(join(root, 'empty'), { recursive: true });
    await assert.rejects(
      load(join(root, 'empty')),
      (e: unknown) => e instanceof ModelLoadError && /config\.json is missing/.test(e.message),
    );
    await assert.rejects(
      load(join(root, 'nope')),
      (e: unknown) => e instanceof ModelLoadError && /folder not found/.test(e.message),
    );
  });
});

/** A Sentence-T5-shaped fixture: T5 encoder (E[ids]) → mean → Dense → Normalize. */
interface TinySt5 {
  dir: string;
  d: number;
  out: number;
  e: Float32Array;
  /** Dense weight [out, d]. */
  w: Float32Array;
}

function writeSt5Folder(dir: string, d: number): { e: Float32Array; V: number } {
  const tok = buildUnigramTokenizer();
  const V = tok.size;
  const e = new Rng(99).normals(V * d, 1);
  writeModelFolder(dir, {
    config: {
      architectures: ['T5EncoderModel'],
      model_type: 't5',
      d_model: d,
      d_kv: 4,
      d_ff: 2 * d,
      num_heads: 2,
      num_layers: 1,
      vocab_size: V,
      pad_token_id: 0,
      eos_token_id: 1,
      is_encoder_decoder: true,
      n_positions: 512,
      transformers_version: '4.45.0',
    },
    tokenizerJson: tok.tokenizerJson,
    tokenizerConfig: tok.tokenizerConfig,
  });
  writeJson(join(dir, 'modules.json'), [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' },
    { idx: 3, name: '3', path: '3_Normalize', type: 'sentence_transformers.models.Normalize' },
  ]);
  writeJson(join(dir, 'sentence_bert_config.json'), { max_seq_length: 256, do_lower_case: false });
  mkdirSync(join(dir, '1_Pooling'));
  writeJson(join(dir, '1_Pooling', 'config.json'), {
    word_embedding_dimension: d,
    pooling_mode_cls_token: false,
    pooling_mode_mean_tokens: true,
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
  });
  mkdirSync(join(dir, '2_Dense'));
  mkdirSync(join(dir, '3_Normalize'));
  return { e, V };
}

function writeDense(dir: string, w: Float32Array, inF: number, outF: number): void {
  writeJson(join(dir, '2_Dense', 'config.json'), {
    in_features: inF,
    out_features: outF,
    bias: false,
    activation_function: 'torch.nn.modules.linear.Identity',
  });
  writeFileSync(
    join(dir, '2_Dense', 'model.safetensors'),
    encodeSafetensors({ 'linear.weight': { shape: [outF, inF], data: w } }),
  );
}

/** Transformer-only export (Optimum --library transformers): onnx/model.onnx → last_hidden_state. */
function generateTinySt5(dir: string): TinySt5 {
  const d = 12;
  const out = 10;
  const { e, V } = writeSt5Folder(dir, d);
  const w = new Rng(7).normals(out * d, 0.5);
  writeDense(dir, w, d, out);
  const g = new GraphBuilder('tiny_st5_encoder');
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
  const h = g.op('Gather', [g.init('shared.weight', 'float32', [V, d], e), ids]);
  g.output('last_hidden_state', 'float32', ['batch_size', 'sequence_length', d], h);
  writeOnnx(dir, 'model', g);
  return { dir, d, out, e, w };
}

/** normalize(W · mean_t E[ids_t]). */
function st5Embedding(f: TinySt5, ids: readonly number[]): Float64Array {
  const mean = new Float64Array(f.d);
  for (const t of ids) for (let k = 0; k < f.d; k++) mean[k] += f.e[t * f.d + k] / ids.length;
  const y = new Float64Array(f.out);
  for (let o = 0; o < f.out; o++) for (let k = 0; k < f.d; k++) y[o] += f.w[o * f.d + k] * mean[k];
  const n = norm(y) || 1;
  return y.map(v => v / n);
}

describe('Sentence-T5-shaped fixtures (T5 encoder → mean → Dense → Normalize)', () => {
  test('transformer-only export: the Dense layer is read from 2_Dense/model.safetensors', async t => {
    const f = generateTinySt5(join(root, 'tiny-st5'));
    const m = await load(f.dir);
    try {
      assert.equal(m.dim, f.out);
      assert.equal(m.pipeline, `last_hidden_state → mean → Dense ${f.d}→${f.out} → L2`);
      assert.equal(m.maxTokens, 256, 'max_seq_length of sentence_bert_config.json');
      const r = await m.embedBatch(TEXTS);
      let worst = 0;
      TEXTS.forEach((text, i) => {
        const ids = m.tokenize(text);
        assert.equal(ids[ids.length - 1], 1, 'ends with </s>');
        worst = Math.max(
          worst,
          maxAbsDiff(r.vectors.subarray(i * f.out, (i + 1) * f.out), st5Embedding(f, ids)),
        );
      });
      t.diagnostic(`max abs error vs closed form: ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-5, `max abs error ${worst}`);
    } finally {
      await m.dispose();
    }
  });

  test('truncation keeps the trailing </s>', async () => {
    const f = generateTinySt5(join(root, 'tiny-st5-trunc'));
    const m = await load(f.dir, { maxTokens: 4 });
    try {
      const ids = m.tokenize('science and knowledge for everyone');
      assert.equal(ids.length, 4);
      assert.equal(ids[3], 1);
      const r = await m.embedBatch(['science and knowledge for everyone']);
      assert.equal(r.truncated[0], 1);
      assert.ok(maxAbsDiff(r.vectors, st5Embedding(f, ids)) < 1e-5);
    } finally {
      await m.dispose();
    }
  });

  test('sentence-transformers export with pooling and Dense in the graph: used as is, Dense not applied twice', async () => {
    const dir = join(root, 'tiny-st5-full');
    const d = 12;
    const outF = 10;
    const { e, V } = writeSt5Folder(dir, d);
    const w = new Rng(7).normals(outF * d, 0.5);
    // The folder's own Dense files hold different weights: applying them again would show.
    writeDense(dir, new Rng(8).normals(outF * d, 0.5), d, outF);
    const wt = new Float32Array(d * outF);
    for (let o = 0; o < outF; o++) for (let k = 0; k < d; k++) wt[k * outF + o] = w[o * d + k];
    const g = new GraphBuilder('tiny_st5_full');
    const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
    const mask = g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
    const tokens = g.op('Gather', [g.init('shared.weight', 'float32', [V, d], e), ids]);
    const mf = maskF(g, mask);
    const axis = g.const('int64', [1], [1]);
    const sum = g.op('ReduceSum', [g.op('Mul', [tokens, mf]), axis], { keepdims: 0 });
    const count = g.op('ReduceSum', [mf, axis], { keepdims: 0 });
    const mean = g.op('Div', [sum, count]);
    const dense = g.op('MatMul', [mean, g.init('dense.weight', 'float32', [d, outF], wt)]);
    g.output('token_embeddings', 'float32', ['batch_size', 'sequence_length', d], tokens);
    g.output('sentence_embedding', 'float32', ['batch_size', outF], dense);
    // Optimum writes the graph into the root of its output folder.
    rmSync(join(dir, 'onnx'), { recursive: true, force: true });
    writeModelFile(join(dir, 'model.onnx'), g, { opset: 14, irVersion: 8 });
    const m = await load(dir);
    try {
      assert.equal(m.pipeline, 'sentence_embedding (pooling in the graph) → L2');
      const f: TinySt5 = { dir, d, out: outF, e, w };
      const r = await m.embedBatch(TEXTS);
      TEXTS.forEach((text, i) => {
        const got = r.vectors.subarray(i * outF, (i + 1) * outF);
        assert.ok(maxAbsDiff(got, st5Embedding(f, m.tokenize(text))) < 1e-5, text);
      });
    } finally {
      await m.dispose();
    }
  });

  test('only 2_Dense/pytorch_model.bin: a clear error with the conversion command', async () => {
    const f = generateTinySt5(join(root, 'tiny-st5-bin'));
    rmSync(join(f.dir, '2_Dense', 'model.safetensors'));
    writeFileSync(join(f.dir, '2_Dense', 'pytorch_model.bin'), 'PK');
    await assert.rejects(
      load(f.dir),
      (e: unknown) =>
        e instanceof ModelLoadError &&
        /no model\.safetensors \(only pytorch_model\.bin/.test(e.message) &&
        /safetensors\.torch/.test(e.message),
    );
  });

  test('an unsupported pooling mode is refused by name', async () => {
    const f = generateTinySt5(join(root, 'tiny-st5-pool'));
    writeJson(join(f.dir, '1_Pooling', 'config.json'), {
      word_embedding_dimension: f.d,
      pooling_mode_weightedmean_tokens: true,
    });
    await assert.rejects(
      load(f.dir),
      (e: unknown) =>
        e instanceof ModelLoadError &&
        /pooling_mode_weightedmean_tokens is not supported/.test(e.message),
    );
  });
});
