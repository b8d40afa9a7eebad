/**
 * The ONNX writer: models it serialises load and run in the real onnxruntime-node, attributes of
 * every kind reach the operators, and big initializers are referenced rather than copied.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  GraphBuilder,
  float,
  float32ToFloat16Bits,
  modelBytes,
  modelChunks,
  tensor,
  writeModelFile,
} from '../../src/core/onnx';

async function run(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

test('MatMul + Add + Floor hashing graph runs in ORT and matches plain arithmetic', async () => {
  const d = 5;
  const k = 3;
  const w = Float32Array.from({ length: d * k }, (_, i) => ((i * 7) % 11) / 3 - 1.5);
  const b = Float32Array.from({ length: k }, (_, i) => i * 0.25);
  const g = new GraphBuilder('hash');
  const x = g.input('x', 'float32', ['batch_size', d]);
  const wi = g.init('w', 'float32', [d, k], w);
  const bi = g.init('b', 'float32', [k], b);
  const r = g.const('float32', [], [0.5]);
  const h = g.op('Floor', [g.op('Div', [g.op('Add', [g.op('MatMul', [x, wi]), bi]), r])]);
  g.output('h', 'float32', ['batch_size', k], h);
  const xs = Float32Array.from({ length: 2 * d }, (_, i) => Math.sin(i + 1));
  const out = await run(modelBytes(g), { x: new ort.Tensor('float32', xs, [2, d]) });
  const got = out.h.data as Float32Array;
  assert.deepEqual(out.h.dims, [2, k]);
  for (let n = 0; n < 2; n++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += xs[n * d + i] * w[i * k + j];
      assert.equal(got[n * k + j], Math.floor((Math.fround(s) + b[j]) / 0.5));
    }
});

test('attributes: INT, negative INTS, FLOAT, TENSOR, and multiple outputs', async () => {
  const g = new GraphBuilder('attrs');
  const x = g.input('x', 'float32', [2, 3]);
  // Negative axes exercise the 10-byte two's-complement varint path.
  const t = g.op('Transpose', [x], { perm: [1, 0] });
  const sm = g.op('Softmax', [t], { axis: -1 });
  const leaky = g.op('LeakyRelu', [g.op('Neg', [x])], { alpha: float(0.5) });
  const filled = g.op('ConstantOfShape', [g.const('int64', [2], [2, 2])], {
    value: tensor('float32', [1], [7]),
  });
  const [a, b] = g.op('Split', [x, g.const('int64', [2], [1, 2])], { axis: 1 }, 2);
  const i64 = g.op('Cast', [x], { to: 7 });
  g.output('sm', 'float32', [3, 2], sm);
  g.output('leaky', 'float32', [2, 3], leaky);
  g.output('filled', 'float32', [2, 2], filled);
  g.output('a', 'float32', [2, 1], a);
  g.output('b', 'float32', [2, 2], b);
  g.output('i64', 'int64', [2, 3], i64);
  const xs = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const o = await run(modelBytes(g, { opset: 14 }), { x: new ort.Tensor('float32', xs, [2, 3]) });
  const smv = o.sm.data as Float32Array;
  const e = [Math.exp(1), Math.exp(4)];
  assert.ok(Math.abs(smv[0] - e[0] / (e[0] + e[1])) < 1e-6);
  assert.deepEqual(Array.from(o.leaky.data as Float32Array), [-0.5, -1, -1.5, -2, -2.5, -3]);
  assert.deepEqual(Array.from(o.filled.data as Float32Array), [7, 7, 7, 7]);
  assert.deepEqual(Array.from(o.a.data as Float32Array), [1, 4]);
  assert.deepEqual(Array.from(o.b.data as Float32Array), [2, 3, 5, 6]);
  assert.deepEqual(Array.from(o.i64.data as BigInt64Array), [1n, 2n, 3n, 4n, 5n, 6n]);
});

test('float16 initializers, int64 symbolic inputs and an If subgraph', async () => {
  const g = new GraphBuilder('f16');
  const x = g.input('x', 'float16', ['n']);
  const flag = g.input('flag', 'bool', [1]);
  const w = g.init('w', 'float16', [3], [0.5, -2, 1.5]);
  const y = g.op('Mul', [x, w]);
  const thenG = new GraphBuilder('then');
  thenG.output('t', 'float16', ['n'], thenG.op('Identity', [y]));
  const elseG = new GraphBuilder('else');
  elseG.output('e', 'float16', ['n'], elseG.op('Neg', [y]));
  const cond = g.op('Squeeze', [flag, g.const('int64', [1], [0])]);
  g.output('z', 'float16', ['n'], g.op('If', [cond], { then_branch: thenG, else_branch: elseG }));
  const bytes = modelBytes(g);
  const xs = Uint16Array.from([1, 2, 3], v => float32ToFloat16Bits(v));
  const half = (bits: number): number => {
    const s = bits & 0x8000 ? -1 : 1;
    const e = (bits >> 10) & 0x1f;
    const m = bits & 0x3ff;
    return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
  };
  for (const [f, expect] of [
    [true, [0.5, -4, 4.5]],
    [false, [-0.5, 4, -4.5]],
  ] as const) {
    const o = await run(bytes, {
      x: new ort.Tensor('float16', xs, [3]),
      flag: new ort.Tensor('bool', Uint8Array.from([f ? 1 : 0]), [1]),
    });
    assert.deepEqual(Array.from(o.z.data as Uint16Array, half), expect);
  }
});

test('float32ToFloat16Bits rounds, saturates and keeps subnormals', () => {
  assert.equal(float32ToFloat16Bits(1), 0x3c00);
  assert.equal(float32ToFloat16Bits(-2), 0xc000);
  assert.equal(float32ToFloat16Bits(65504), 0x7bff);
  assert.equal(float32ToFloat16Bits(1e6), 0x7c00);
  assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001);
  assert.equal(float32ToFloat16Bits(Number.NaN) & 0x7c00, 0x7c00);
  // 1 + 2^-11 is exactly halfway between 1 and the next half; ties go to even (1).
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00);
});

test('large initializers are referenced, not copied, and writeModelFile streams them', async () => {
  const big = new Float32Array(64 * 1024).fill(0.25);
  const g = new GraphBuilder('big');
  const x = g.input('x', 'float32', [1, 64 * 1024]);
  const w = g.init('w', 'float32', [64 * 1024, 1], big);
  g.output('y', 'float32', [1, 1], g.op('MatMul', [x, w]));
  const chunks = modelChunks(g);
  const view = chunks.find(c => c.byteLength === big.byteLength);
  assert.ok(view, 'raw_data is one chunk');
  assert.equal(view.buffer, big.buffer, 'the chunk is a view on the caller’s array');
  const dir = mkdtempSync(join(tmpdir(), 'winnow-onnx-'));
  try {
    const path = join(dir, 'm.onnx');
    const n = writeModelFile(path, g);
    const onDisk = readFileSync(path);
    assert.equal(onDisk.byteLength, n);
    assert.deepEqual(new Uint8Array(onDisk), modelBytes(g));
    const s = await ort.InferenceSession.create(path);
    const o = await s.run({
      x: new ort.Tensor('float32', new Float32Array(64 * 1024).fill(1), [1, 64 * 1024]),
    });
    assert.equal((o.y.data as Float32Array)[0], 16384);
    await s.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('builder errors: duplicate names, undefined inputs, wrong initializer size', () => {
  const g = new GraphBuilder('bad');
  g.input('x', 'float32', [1]);
  assert.throws(() => g.input('x', 'float32', [1]), /duplicate value name "x"/);
  assert.throws(() => g.init('w', 'float32', [2, 2], [1, 2, 3]), /need 4 float32 values, got 3/);
  g.op('Relu', ['nope'], {}, 'y');
  g.output('y', 'float32', [1]);
  assert.throws(() => modelBytes(g), /uses undefined "nope"/);
  const h = new GraphBuilder('h');
  h.input('x', 'float32', [1]);
  h.output('z', 'float32', [1]);
  assert.throws(() => modelBytes(h), /output "z" is never produced/);
});
