/**
 * ASK-LLM on accelerators: on every GPU device this machine offers (WebGPU, CUDA when its
 * provider library is installed), the production scorer's P(yes) must equal the fixtures' closed
 * form within the fp32 log tolerance (support/probability.ts), for T5 and a decoder-only model, through both forward paths (plain
 * `session.run` and transformers.js's forward). Outputs may come back in GPU memory there, which
 * CPU-only runs never exercise; random-weight models of real size, with `logits` listed after the
 * caches, must score as on the CPU. Devices that are not available are skipped with the reason.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt } from '../../src/core/askllm';
import type { DeviceName } from '../../src/worker/runtime/device';
import { AskLlmScorer, type LoadedModel, loadScorerModel } from '../../src/worker/askllm';
import {
  type FixtureSet,
  buildRandomModel,
  causalDistribution,
  generateFixtureSet,
  t5Distribution,
} from '../support/fixtures';
import { deviceSkipReason, loadOnDevice } from '../support/deviceAvailability';
import { assertProbability } from '../support/probability';

const DOCS = [
  'Photosynthesis is the process by which a cell uses energy from light, with evidence from biology.',
  'click now to buy cheap viagra, free prize, casino bonus',
  'short',
  'We went to the city on a long day and the people there were very good to us.',
];

let fx: FixtureSet;
before(() => {
  fx = generateFixtureSet('winnow-askllm-device-');
});
after(() => fx.cleanup());

for (const device of ['webgpu', 'cuda'] as DeviceName[])
  describe(`on ${device}`, () => {
    for (const arch of ['t5', 'qwen2'] as const)
      test(`tiny-${arch}: P(yes) equals the closed form (fp32 log tolerance) on both forward paths`, async t => {
        const reason = deviceSkipReason(device);
        if (reason) return t.skip(reason);
        const loaded = await loadOnDevice(device, () =>
          loadScorerModel({
            model: fx[arch].dir,
            cacheDir: join(fx.root, 'cache'),
            offline: true,
            device,
          }),
        );
        if ('skip' in loaded) return t.skip(loaded.skip);
        const model: LoadedModel = loaded.value;
        try {
          assert.equal(model.device, device);
          const tok = await AutoTokenizer.from_pretrained(fx[arch].dir);
          let worst = 0;
          for (const directForward of [true, false]) {
            const s = AskLlmScorer.create(model, { batchSize: 8, directForward });
            assert.equal(s.forwardPath.startsWith('session.run'), directForward);
            const r = await s.score(DOCS);
            DOCS.forEach((doc, i) => {
              const want =
                arch === 't5'
                  ? t5Distribution(fx.t5, tok.encode(renderPrompt(PAPER_PROMPT, doc)))[fx.t5.yesId]
                  : causalDistribution(
                      fx.qwen2,
                      tok.encode(s.promptText(doc), { add_special_tokens: false }),
                    )[fx.qwen2.yesId];
              const got = r.scores[i]?.pYes ?? Number.NaN;
              worst = Math.max(worst, assertProbability(got, want, s.forwardPath));
            });
          }
          t.diagnostic(
            `${device} tiny-${arch}: max |ln P(yes) − closed form| ${worst.toExponential(2)}`,
          );
        } finally {
          await model.dispose();
        }
      });

    // Real-size vocabularies, and `logits` listed after the caches: on WebGPU transformers.js asks
    // for the caches in GPU memory, which must not move `logits` there (see fetchThrough).
    for (const shape of ['flan-t5-small', 'smollm2-135m'] as const)
      test(`${shape} (2 layers, logits last): P(yes) equals the CPU's on both forward paths`, async t => {
        const reason = deviceSkipReason(device);
        if (reason) return t.skip(reason);
        const dir = join(fx.root, `${shape}-logits-last`);
        buildRandomModel(dir, shape, { layers: 2, logitsLast: true });
        const opts = { model: dir, cacheDir: join(fx.root, 'cache'), offline: true };
        const loaded = await loadOnDevice(device, () => loadScorerModel({ ...opts, device }));
        if ('skip' in loaded) return t.skip(loaded.skip);
        const model: LoadedModel = loaded.value;
        const cpu = await loadScorerModel({ ...opts, device: 'cpu' });
        try {
          const want = await AskLlmScorer.create(cpu, { batchSize: 8 }).score(DOCS);
          let worst = 0;
          for (const directForward of [true, false]) {
            const r = await AskLlmScorer.create(model, { batchSize: 8, directForward }).score(DOCS);
            DOCS.forEach((_, i) => {
              const [x, y] = [r.scores[i]?.pYes ?? Number.NaN, want.scores[i]?.pYes ?? Number.NaN];
              worst = Math.max(worst, Math.abs(x - y) / y);
              assert.ok(y > 0 && Math.abs(x - y) <= 1e-3 * y, `${directForward}: ${x} vs ${y}`);
            });
          }
          t.diagnostic(`${device} ${shape}: max relative |P(yes) − CPU| ${worst.toExponential(2)}`);
        } finally {
          await model.dispose();
          await cpu.dispose();
        }
      });
  });
