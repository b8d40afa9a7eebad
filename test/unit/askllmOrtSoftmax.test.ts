// The answer softmax on ONNX Runtime (src/core/askllm/ortSoftmax.ts) against the float64
// reference (src/core/askllm/softmax.ts): real sessions, random logits, real vocabulary sizes.
import { strict as assert } from 'node:assert';
import { after, describe, test } from 'node:test';
import { OrtAnswerSoftmax } from '../../src/core/askllm/ortSoftmax';
import { answerProbabilities, float16ToNumber } from '../../src/core/askllm/softmax';
import { float32ToFloat16Bits } from '../../src/core/onnx';

/** Seeded logits: a spread like a language model's (most far below the top few). */
function logits(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() - 0.5) * 12 + (next() < 0.001 ? 14 : 0);
  return out;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('answer softmax on ONNX Runtime', () => {
  const made: OrtAnswerSoftmax[] = [];
  const make = (yes: number[], no: number[]) => {
    const s = new OrtAnswerSoftmax(yes, no);
    made.push(s);
    return s;
  };
  after(async () => {
    for (const s of made) await s.dispose();
  });

  for (const vocab of [32128, 49152, 151936]) {
    test(`matches the float64 reference to 1e-6 over a ${vocab}-token vocabulary`, async () => {
      const rows = 6;
      const data = logits(rows * vocab, vocab);
      const yes = [17, vocab - 1];
      const no = [vocab >> 1];
      // Make the answers plausible: one row where "yes" is the top token.
      data[2 * vocab + 17] = 30;
      const got = await make(yes, no).answers(data, rows, 1, vocab);
      assert.equal(got.length, rows);
      for (let b = 0; b < rows; b++) {
        const want = answerProbabilities(data, b * vocab, vocab, yes, no);
        assert.ok(rel(got[b].pYes, want.pYes) < 1e-6, `row ${b}: ${got[b].pYes} vs ${want.pYes}`);
        assert.ok(rel(got[b].pNo, want.pNo) < 1e-6, `row ${b}: ${got[b].pNo} vs ${want.pNo}`);
        assert.ok(Math.abs(got[b].logPYes - want.logPYes) < 1e-6);
      }
      assert.ok(got[2].pYes > 0.5, 'the row whose top token is "yes"');
    });
  }

  test('reads the last position of each row; a single yes id gives its log-probability', async () => {
    const vocab = 1000;
    const rows = 3;
    const positions = 4;
    const data = logits(rows * positions * vocab, 7);
    const got = await make([5], []).answers(data, rows, positions, vocab);
    for (let b = 0; b < rows; b++) {
      const want = answerProbabilities(
        data,
        (b * positions + positions - 1) * vocab,
        vocab,
        [5],
        [],
      );
      assert.ok(rel(got[b].pYes, want.pYes) < 1e-6);
      assert.ok(Math.abs(got[b].logPYes - want.logPYes) < 1e-6);
      assert.equal(got[b].pNo, 0, 'no negative ids: P(no) = 0');
    }
  });

  test('float16 logits (as ORT returns them) are widened the same way', async () => {
    const vocab = 4096;
    const f32 = logits(2 * vocab, 11);
    const bits = new Uint16Array(f32.length);
    for (let i = 0; i < f32.length; i++) bits[i] = float32ToFloat16Bits(f32[i]);
    const got = await make([3, 9], [4]).answers(bits, 2, 1, vocab);
    for (let b = 0; b < 2; b++) {
      const want = answerProbabilities(bits, b * vocab, vocab, [3, 9], [4]);
      assert.ok(rel(got[b].pYes, want.pYes) < 1e-6, `${got[b].pYes} vs ${want.pYes}`);
      // The fp16 values themselves were used, not the fp32 ones they came from.
      assert.ok(Number.isFinite(float16ToNumber(bits[3])));
    }
  });

  test('other element types (float64, Float16Array where it exists) are widened to float32', async () => {
    const vocab = 3000;
    const f32 = logits(2 * vocab, 21);
    const got = await make([8], [9]).answers(Float64Array.from(f32), 2, 1, vocab);
    for (let b = 0; b < 2; b++) {
      const want = answerProbabilities(f32, b * vocab, vocab, [8], [9]);
      assert.ok(rel(got[b].pYes, want.pYes) < 1e-6);
    }
  });

  test('NaN or infinite logits anywhere in a row are an error, not a score', async () => {
    const vocab = 2048;
    const s = make([1], [2]);
    for (const bad of [Number.NaN, Infinity]) {
      const data = logits(2 * vocab, 3);
      data[vocab + 1500] = bad;
      await assert.rejects(s.answers(data, 2, 1, vocab), /NaN or infinite logits/);
    }
    await assert.rejects(s.answers(new Float32Array(10), 2, 1, vocab), /logits expected/);
    assert.deepEqual(await s.answers(new Float32Array(0), 0, 1, vocab), []);
  });
});
