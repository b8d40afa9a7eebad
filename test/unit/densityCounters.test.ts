/**
 * The WebAssembly counting kernel (src/core/density/counters.wat, loaded from the committed
 * countersWasm.ts) against the sketch's JavaScript loops: on random projections, including buckets off the fast
 * path (|h| ≥ B) and invalid values (NaN, ±Infinity, beyond int32), `count` must give the same
 * counters as `DensitySketch.addHashes` of the ints ORT's Floor → Cast would produce, and `score`
 * the same scores as `scoreHashes`, bit for bit. And the committed bytes must be exactly what wabt
 * assembles from the .wat today, so the two cannot drift.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import wabtInit from 'wabt';
import { INVALID_HASH } from '../../src/core/density/buckets';
import {
  type CounterKernelExports,
  counterKernelBytes,
  createCounterKernel,
} from '../../src/core/density/counterKernel';
import { sketchParams } from '../../src/core/density/params';
import { Xoshiro128 } from '../../src/core/density/prng';
import { DensitySketch } from '../../src/core/density/sketch';

const WAT = join(__dirname, '..', '..', '..', 'src', 'core', 'density', 'counters.wat');

/** What ORT's Floor → Cast(int32) gives on x86: INT32_MIN for NaN and out-of-range values. */
function castFloor(v: number): number {
  const f = Math.floor(v);
  return f >= -2147483648 && f <= 2147483647 ? f : INVALID_HASH;
}

function projections(n: number, rows: number, seed: number, spice: boolean): Float32Array {
  const g = new Xoshiro128(seed, 0);
  const y = new Float32Array(n * rows);
  for (let i = 0; i < y.length; i++) y[i] = g.nextNormal() + g.nextFloat();
  if (spice) for (let i = 0; i < y.length; i += 97) y[i] = (g.nextFloat() - 0.5) * 3e5; // |h| ≥ B
  return y;
}

test('countersWasm.ts holds exactly the bytes wabt assembles from counters.wat', async () => {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('counters.wat', readFileSync(WAT, 'utf8'));
  const assembled = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  assert.ok(assembled.length > 100);
  assert.deepEqual(
    counterKernelBytes(),
    assembled,
    'countersWasm.ts is stale: run node scripts/build-wasm.mjs',
  );
});

describe('WebAssembly counting kernel vs the sketch loops', () => {
  let k: CounterKernelExports;
  before(() => {
    k = createCounterKernel(65536);
  });

  function layout(rows: number, buckets: number, n: number) {
    const cBytes = rows * buckets * 4;
    const outOffset = Math.ceil((cBytes + n * rows * 4) / 8) * 8;
    const need = outOffset + n * 8;
    const have = k.memory.buffer.byteLength;
    if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
    const buf = k.memory.buffer;
    const counters = new Uint32Array(buf, 0, rows * buckets);
    counters.fill(0);
    const y = new Float32Array(buf, cBytes, n * rows);
    const out = new Float64Array(buf, outOffset, n);
    return { cBytes, counters, y, outOffset, out };
  }

  for (const [rows, buckets, n] of [
    [1000, 20000, 300],
    [7, 5, 53],
    [13, 3000, 41],
    [4, 1, 9],
  ])
    test(`R=${rows} B=${buckets} n=${n}: same counters and scores`, () => {
      const params = sketchParams({ dim: 3, rows, buckets });
      const mem = layout(rows, buckets, n);
      mem.y.set(projections(n, rows, rows * 31 + n, true));
      const hashes = Int32Array.from(mem.y, castFloor);
      const sketch = new DensitySketch(params);
      sketch.addHashes(hashes, n);
      assert.equal(k.count(mem.cBytes, n * rows, rows, buckets, 0, 1), -1);
      assert.deepEqual(mem.counters, sketch.counters);
      const want = new Float64Array(n);
      sketch.scoreHashes(hashes, n, want);
      assert.equal(k.score(mem.cBytes, n, rows, buckets, 0, mem.outOffset), -1);
      assert.deepEqual(mem.out, want);
    });

  for (const bad of [NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 3e9, -3e9])
    test(`invalid projection ${bad}: found at its index, earlier elements counted, undo restores`, () => {
      const rows = 10;
      const n = 20;
      const mem = layout(rows, 20000, n);
      mem.y.set(projections(n, rows, 5, false));
      const at = 137;
      mem.y[at] = bad;
      assert.equal(k.count(mem.cBytes, n * rows, rows, 20000, 0, 1), at);
      let total = 0;
      for (const v of mem.counters) total += v;
      assert.equal(total, at);
      assert.equal(k.count(mem.cBytes, at, rows, 20000, 0, -1), -1);
      assert.ok(mem.counters.every(v => v === 0));
      assert.equal(k.score(mem.cBytes, n, rows, 20000, 0, mem.outOffset), at);
    });

  test('the largest valid float32 below 2^31 is counted', () => {
    const mem = layout(4, 20000, 1);
    mem.y.set([2147483520, -2147483520, 0.5, -0.5]);
    assert.equal(k.count(mem.cBytes, 4, 4, 20000, 0, 1), -1);
    const sketch = new DensitySketch(sketchParams({ dim: 3, rows: 4 }));
    sketch.addHashes(Int32Array.from(mem.y, castFloor), 1);
    assert.deepEqual(mem.counters, sketch.counters);
  });
});
