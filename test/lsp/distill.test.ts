/**
 * Tier 2: the distilled scorer through the real worker process (dist/worker.js): a generated
 * file scored by the tiny-t5 fixture judge and embedded by the tiny-bert fixture (DENSITY), then
 * `winnow/distill`: the `distilled` column of `winnow/getColumns` is there, labelled with its own
 * `distilled:` key and the fit, separate from the ASK-LLM column (which is unchanged); the hover
 * and the inlay hints say "distilled (fit on N judge scores, Spearman ρ=…)"; a fresh worker
 * scores the rows again from the kept model.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { MarkupContent } from 'vscode-languageserver-protocol/node';
import {
  ComputeDensityRequest,
  DistillErrorCodes,
  DistillRequest,
  type DistillResult,
  type GetColumnsResult,
} from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import { writeDensityDataset, type DensityDataset } from '../support/densityData';
import { generateTinyBert, generateTinyT5, type TinyBert, type TinyT5 } from '../support/fixtures';
import { WorkerSession } from './workerSession';

let dir: string;
let bert: TinyBert;
let t5: TinyT5;
let data: DensityDataset;
let uri: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-distill-'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  data = writeDensityDataset(join(dir, 'data.jsonl'), { rows: 200, duplicates: 5 });
  uri = pathToFileURL(data.path).toString();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const settings = (): WinnowSettingsSection => ({
  device: 'cpu',
  askllm: { model: t5.dir },
  density: { model: bert.dir },
});

function floats(base64: string): Float32Array {
  const b = Buffer.from(base64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function hoverText(hover: { contents: unknown } | null): string {
  assert.ok(hover, 'a hover');
  return (hover.contents as MarkupContent).value
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/\*\*|\*/g, '');
}

describe('the distilled scorer in the worker', () => {
  const storagePath = () => join(dir, 'storage');
  let session: WorkerSession;
  let before: GetColumnsResult;
  let fit: DistillResult;

  it('refuses before the file has judge scores', async () => {
    session = await WorkerSession.start({ storagePath: storagePath(), settings: settings() });
    await session.openDataset(uri);
    await session.fileInfo(uri, true);
    await assert.rejects(
      session.connection.sendRequest(DistillRequest.method, { uri }),
      (e: { code?: number; message?: string }) =>
        e.code === DistillErrorCodes.failed && /Score Current File/.test(e.message ?? ''),
    );
  });

  it('fits on the judge scores and the DENSITY embeddings; the column is labelled distilled', async () => {
    await session.score(uri).result;
    await session.connection.sendRequest(ComputeDensityRequest.method, { uri });
    before = await session.columns(uri);
    assert.ok(before.askllm && before.askllm.scored > 0);
    assert.equal(before.distilled, undefined, 'no distilled column before a fit');
    fit = await session.connection.sendRequest(DistillRequest.method, { uri, sample: 120 });
    const valid = data.lines.length - data.invalid.length;
    assert.equal(fit.meta.sample, 120);
    assert.equal(fit.meta.sampling, 'density');
    assert.equal(fit.scored, valid);
    assert.match(fit.meta.scorerKey, /^distilled:/);
    assert.equal(fit.meta.judge.model, t5.dir);
    assert.equal(fit.meta.embedder, bert.dir);
    assert.ok(fit.meta.heldOutSpearman !== null && Number.isFinite(fit.meta.heldOutSpearman));
    await session.waitFor('didChangeColumns(distilled)', () =>
      session.columnChanges.some(c => c.uri === uri && c.kinds.includes('distilled')),
    );
    const cols = await session.columns(uri);
    assert.ok(cols.distilled, 'a distilled column');
    assert.deepEqual(cols.distilled.meta, fit.meta);
    assert.equal(cols.distilled.scored, valid);
    // The judge's column is untouched: distilled scores never enter it.
    assert.equal(cols.askllm?.data, before.askllm.data);
    const d = floats(cols.distilled.data);
    for (const i of data.invalid) assert.ok(Number.isNaN(d[i]), `invalid line ${i}: none`);
    const row = [...d.keys()].find(i => !data.invalid.includes(i))!;
    assert.ok(d[row] > 0 && d[row] < 1);
  });

  it('the hover and the inlay hints say distilled, with what it was fitted on', async () => {
    const row = [...Array(data.lines.length).keys()].find(i => !data.invalid.includes(i))!;
    const text = hoverText(await session.hover(uri, row));
    assert.match(text, /ASK-LLM: P\(yes\)/);
    const rho = fit.meta.heldOutSpearman!.toFixed(2);
    assert.match(
      text,
      new RegExp(
        `Distilled \\(not the ASK-LLM score\\): [0-9.e-]+ · fit on 120 judge scores, Spearman ρ=${rho.replace('.', '\\.').replace('-', '\\-')}`,
      ),
    );
    const hints = (await session.inlayHints(uri, row, row)) ?? [];
    assert.equal(hints.length, 1);
    assert.match(String(hints[0].label), /^ASK-LLM [0-9.e-]+ · distilled [0-9.e-]+$/);
    const tip = hints[0].tooltip as MarkupContent;
    assert.match(tip.value, /Distilled \(not the ASK-LLM score\) = .*fit on 120 judge scores/);
    await session.shutdown();
  });

  it('a fresh worker scores the rows again from the kept model', async () => {
    const again = await WorkerSession.start({ storagePath: storagePath(), settings: settings() });
    try {
      await again.openDataset(uri);
      await again.fileInfo(uri, true);
      const cols = await again.columns(uri);
      assert.ok(cols.distilled, 'the distilled column after a restart');
      assert.equal(cols.distilled.meta.scorerKey, fit.meta.scorerKey);
    } finally {
      await again.shutdown();
    }
  });
});
