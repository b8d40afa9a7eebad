/**
 * Out-of-memory back-off: the model's ONNX Runtime sessions are wrapped so that a run with more
 * than `limit` rows throws ORT's real CUDA arena message (and, in one case, WebGPU's). The scorer
 * must split the batch in half, run the halves, keep the smaller cap for the rest of the run,
 * report each split, and score every row exactly as an unconstrained run does.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  AskLlmScorer,
  type LoadedModel,
  type OutOfMemoryInfo,
  loadScorerModel,
} from '../../src/worker/askllm';
import { capAfterOutOfMemory, chunksOf, isOutOfMemoryError } from '../../src/core/askllm';
import { type FixtureSet, generateFixtureSet } from '../support/fixtures';

const CUDA_OOM =
  "Non-zero status code returned while running MatMul node. Name:'/encoder/block.0/MatMul' " +
  'Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* ' +
  'onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, ' +
  'onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 2830172160';
const WEBGPU_OOM = 'WebGPU device error(2): Out of memory';

type Run = (feeds: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => unknown;

/** Makes every session of `model` throw `message` when fed more than `limit` rows. */
function limitRows(model: LoadedModel, limit: number, message: string): { calls: number[] } {
  const seen = { calls: [] as number[] };
  const sessions = model.model.sessions as Record<string, { run: Run }>;
  for (const s of Object.values(sessions)) {
    const run = s.run.bind(s);
    s.run = (feeds, ...rest) => {
      const rows = Object.values(feeds)[0]?.dims[0] ?? 0;
      seen.calls.push(rows);
      if (rows > limit) throw new Error(message);
      return run(feeds, ...rest);
    };
  }
  return seen;
}

let fx: FixtureSet;
const loaded: LoadedModel[] = [];
async function load(): Promise<LoadedModel> {
  const m = await loadScorerModel({
    model: fx.t5.dir,
    cacheDir: join(fx.root, 'cache'),
    offline: true,
    device: 'cpu',
  });
  loaded.push(m);
  return m;
}
before(() => {
  fx = generateFixtureSet('winnow-oom-');
});
after(async () => {
  for (const m of loaded) await m.dispose();
  fx.cleanup();
});

const docs = Array.from(
  { length: 40 },
  (_, i) => `Row ${i}: ${'the people of the city went there on a long day '.repeat(1 + (i % 3))}`,
);

test('the real ORT out-of-memory texts are recognised, other errors are not', () => {
  assert.ok(isOutOfMemoryError(new Error(CUDA_OOM)));
  assert.ok(isOutOfMemoryError(new Error(WEBGPU_OOM)));
  assert.ok(
    isOutOfMemoryError(
      'CUDA failure 2: out of memory ; GPU=0 ; hostname=h ; file=cuda_allocator.cc ; line=47 ; ' +
        'expr=cudaMalloc((void**)&p, size);',
    ),
  );
  assert.ok(
    isOutOfMemoryError('Buffer size (3185049600) exceeds the max buffer size limit (1073741824)'),
  );
  assert.ok(!isOutOfMemoryError(new Error('Invalid rank for input: input_ids Got: 3 Expected: 2')));
  assert.equal(capAfterOutOfMemory(16, Infinity), 8);
  assert.equal(capAfterOutOfMemory(1, Infinity), 1);
  assert.equal(capAfterOutOfMemory(16, 4), 4);
  assert.deepEqual(chunksOf([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
});

describe('a batch that runs out of device memory', () => {
  let reference: number[];
  before(async () => {
    const model = await load();
    const r = await AskLlmScorer.create(model, { batchSize: 16 }).score(docs);
    reference = r.scores.map(s => s!.pYes);
  });

  for (const [name, message] of [
    ['CUDA arena', CUDA_OOM],
    ['WebGPU', WEBGPU_OOM],
  ] as const)
    test(`is split in half until it fits (${name}), the cap stays, nothing is lost`, async () => {
      const model = await load();
      const seen = limitRows(model, 4, message);
      const events: OutOfMemoryInfo[] = [];
      const scorer = AskLlmScorer.create(model, { batchSize: 16 });
      const r = await scorer.score(docs, { onOutOfMemory: e => events.push(e) });
      assert.equal(r.failed.length, 0);
      assert.equal(r.scores.filter(s => s !== undefined).length, docs.length);
      r.scores.forEach((s, i) => assert.ok(Math.abs(s!.pYes - reference[i]) < 1e-6, `row ${i}`));
      assert.deepEqual(
        events.map(e => [e.rows, e.cap]),
        [
          [16, 8],
          [8, 4],
        ],
      );
      assert.match(events[0].message, /BFCArena|Out of memory/);
      assert.equal(scorer.batchCap, 4);
      // After the back-off no batch larger than the cap is tried again, in this call or the next.
      const firstOk = seen.calls.findIndex(n => n <= 4);
      assert.ok(
        seen.calls.slice(firstOk).every(n => n <= 4),
        seen.calls.join(','),
      );
      seen.calls.length = 0;
      const again = await scorer.score(docs.map(d => `${d} again`));
      assert.equal(again.failed.length, 0);
      assert.ok(seen.calls.every(n => n <= 4));
    });

  test('a batch of one row that runs out of memory fails that row alone, with the reason', async () => {
    const model = await load();
    limitRows(model, 0, CUDA_OOM);
    const r = await AskLlmScorer.create(model, { batchSize: 4 }).score(docs.slice(0, 3));
    assert.equal(r.failed.length, 3);
    assert.match(r.failed[0].reason, /BFCArena::AllocateRawInternal/);
  });
});
