/**
 * The PyTorch comparison of bench:score (test/bench/torchBaseline.ts): reading
 * torch_baseline.py's JSON, the ratio and agreement maths, and the prompts file, on generated
 * sample documents (no torch needed). Where python3 exists, torch_baseline.py itself runs: without
 * torch it must print a "skipped" document, which the bench must refuse with that reason.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  compareWithTorch,
  formatComparison,
  maxRelativeDifference,
  readTorchBaseline,
  writePromptsFile,
} from '../bench/torchBaseline';

const dir = mkdtempSync(join(tmpdir(), 'winnow-torch-baseline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const winnowPYes = [0.0125, 3.1e-5, 0.5, 0.25];

/** A document shaped like torch_baseline.py's output, with P(yes) off by known amounts. */
function sampleDoc(): Record<string, unknown> {
  return {
    tool: 'test/bench/torch_baseline.py',
    device: 'NVIDIA H100 80GB HBM3',
    driver: '580.95.05',
    torch: '2.11.0',
    transformers: '5.17.0',
    models: [
      {
        model: 'flan-t5-small',
        kind: 'seq2seq',
        runs: [
          { precision: 'fp32', mode: 'eager', batch: 8, rows_per_s: 900 },
          { precision: 'fp32', mode: 'eager', batch: 256, error: 'out of memory' },
        ],
        best: {
          fp32: { mode: 'eager', batch: 64, rows_per_s: 1000 },
          bf16: { mode: 'compile', batch: 128, rows_per_s: 2500 },
        },
        p_yes: {
          // Within 1e-5 relative: the largest is row 1, 3e-10 / 3.1e-5 ≈ 9.7e-6.
          fp32: [0.0125 * (1 + 4e-6), 3.1e-5 + 3e-10, 0.5, 0.25 * (1 - 1e-6)],
          // Row 2 off by 2 % relative: over the 1e-2 of bf16.
          bf16: [0.0125, 3.1e-5, 0.5 * 1.02, 0.25],
        },
      },
    ],
  };
}

function writeDoc(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

describe('torch baseline comparison', () => {
  test('reads the document and computes ratios against the best torch figure per precision', () => {
    const baseline = readTorchBaseline(writeDoc('torch.json', sampleDoc()));
    assert.equal(baseline.device, 'NVIDIA H100 80GB HBM3');
    assert.equal(baseline.driver, '580.95.05');
    const rows = compareWithTorch(
      {
        model: 'flan-t5-small',
        device: 'webgpu',
        pipelineExPerS: 1250,
        rawExPerS: 1300,
        pYes: winnowPYes,
      },
      baseline,
    );
    assert.deepEqual(
      rows.map(r => [r.precision, r.ratio, r.rawRatio]),
      [
        ['fp32', 1.25, 1.3],
        ['bf16', 0.5, 0.52],
      ],
    );
    const [fp32, bf16] = rows;
    assert.equal(fp32.agreement.rows, 4);
    assert.ok(fp32.agreement.max > 9e-6 && fp32.agreement.max < 1e-5, `${fp32.agreement.max}`);
    assert.equal(fp32.agreement.tolerance, 1e-5);
    assert.equal(fp32.agreement.met, true);
    assert.ok(Math.abs(bf16.agreement.max - 0.02 / 1.02) < 1e-12);
    assert.equal(bf16.agreement.met, false);
    const lines = formatComparison(fp32, 'webgpu');
    assert.match(lines[0], /flan-t5-small fp32: Winnow WEBGPU pipeline 1\.25× PyTorch/);
    assert.match(lines[0], /torch eager B=64: 1000\.0 examples\/s/);
    assert.match(lines[0], /MET$/);
    assert.match(formatComparison(bf16, 'webgpu')[0], /0\.50× PyTorch.*NOT MET$/);
    assert.match(lines[1], /9\.\d\de-6 over 4 rows .*MET/);
  });

  test('a model torch did not run gives no rows; no P(yes) rows is never agreement', () => {
    const doc = sampleDoc();
    const baseline = readTorchBaseline(writeDoc('torch2.json', doc));
    const w = { model: 'smollm2-135m', device: 'cuda', pipelineExPerS: 1, rawExPerS: 1, pYes: [] };
    assert.deepEqual(compareWithTorch(w, baseline), []);
    const none = compareWithTorch({ ...w, model: 'flan-t5-small' }, baseline);
    assert.equal(none[0].agreement.rows, 0);
    assert.equal(none[0].agreement.met, false);
    assert.match(formatComparison(none[0], 'cuda')[1], /no P\(yes\) rows/);
  });

  test('maxRelativeDifference compares the rows both lists have', () => {
    const d = maxRelativeDifference([1, 2, 0], [1.1, 2]);
    assert.equal(d.rows, 2);
    assert.ok(Math.abs(d.max - 0.1 / 1.1) < 1e-15, `${d.max}`);
    assert.deepEqual(maxRelativeDifference([0], [0]), { max: 0, rows: 1 });
    assert.ok(Number.isNaN(maxRelativeDifference([], [1]).max));
  });

  test('bad files get clear errors', () => {
    assert.throws(() => readTorchBaseline(join(dir, 'missing.json')), /--baseline .*missing\.json/);
    assert.throws(() => readTorchBaseline(writeDoc('bad.json', '{"models": [')), /--baseline/);
    assert.throws(
      () => readTorchBaseline(writeDoc('skip.json', { skipped: 'No module named torch' })),
      /skipped \(No module named torch\)/,
    );
    const neg = sampleDoc();
    (neg.models as { best: { fp32: { rows_per_s: number } } }[])[0].best.fp32.rows_per_s = -1;
    assert.throws(() => readTorchBaseline(writeDoc('neg.json', neg)), /fp32: "rows_per_s"/);
    const p = sampleDoc();
    (p.models as { p_yes: { fp32: unknown[] } }[])[0].p_yes.fp32 = [1.5];
    assert.throws(() => readTorchBaseline(writeDoc('p.json', p)), /"p_yes" must be/);
  });

  test('the prompts file is written whole, with nothing left beside it', () => {
    const path = join(dir, 'prompts.json');
    const set = {
      model: 'flan-t5-small',
      kind: 'seq2seq' as const,
      dir: '/models/flan-t5-small',
      yes_ids: [46],
      pad_id: 0,
      decoder_start_id: 0,
      rows: [{ ids: [5, 6, 1], text: 'a prompt' }],
    };
    writePromptsFile(path, [set]);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, models: [set] });
    assert.deepEqual(
      readdirSync(dir).filter(f => f.startsWith('prompts.json')),
      ['prompts.json'],
    );
  });

  const script = join(__dirname, '..', '..', '..', 'test', 'bench', 'torch_baseline.py');
  const python = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
  const skip = python.error
    ? 'python3 is not installed'
    : python.status === 0
      ? 'torch is installed here: the device run covers it'
      : !existsSync(script)
        ? `${script} not found`
        : false;
  test(
    'torch_baseline.py without torch prints a skipped document the bench refuses',
    { skip },
    () => {
      const prompts = join(dir, 'prompts.json');
      const out = join(dir, 'py.json');
      const r = spawnSync('python3', [script, '--prompts', prompts, '--out', out], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { skipped: string; python: string; models: unknown[] };
      assert.match(doc.skipped, /torch/);
      assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), doc);
      assert.throws(() => readTorchBaseline(out), /the baseline was skipped/);
    },
  );
});
