// DENSITY inside a real VS Code extension host (tier 3a): "Winnow: Compute Density" on a
// generated file with the tiny-bert fixture as embedder fills the density column of
// winnow/getColumns and of the dataset view's document, the text-editor hover shows the rank,
// "Winnow: Sample by DENSITY" marks an inverse-propensity sample as keep as an undoable edit, and
// winnow.density.computeAfterScoring makes "Score Current File" compute DENSITY too.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type {
  ComputeDensityResult,
  SampleByDensityResult,
} from '../../../src/shared/protocol/worker';
import { GetColumnsRequest, type GetColumnsResult } from '../../../src/shared/protocol/worker';
import { writeDensityDataset, type DensityDataset } from '../../support/densityData';
import { generateTinyBert, generateTinyT5, type TinyBert } from '../../support/fixtures';
import { EXTENSION_ID, hoverMarkdown, waitFor } from '../../support/vscodeApi';
import { makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

interface Api {
  worker: {
    request<P, R>(d: { method: string; kind: 'request' }, p: P): Promise<R>;
  };
  datasets: {
    document(
      uri: vscode.Uri,
    ): { scores?: { density?: { values: Float32Array; ranks: Uint32Array } } } | undefined;
  };
}

/** Hover text without markdown escapes and emphasis. */
function hoverText(hovers: vscode.Hover[]): string {
  return hoverMarkdown(hovers).replace(/\*\*|\*/g, '');
}

function densityOf(cols: GetColumnsResult): { scores: Float32Array; ranks: Uint32Array } {
  assert.ok(cols.density, 'a density column');
  const s = Buffer.from(cols.density.score, 'base64');
  const r = Buffer.from(cols.density.rank, 'base64');
  return {
    scores: new Float32Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.length)),
    ranks: new Uint32Array(r.buffer.slice(r.byteOffset, r.byteOffset + r.length)),
  };
}

describe('DENSITY (Winnow: Compute Density, Sample by DENSITY)', () => {
  let api: Api;
  let ws: TempWorkspace;
  let modelRoot: string;
  let bert: TinyBert;
  let data: DensityDataset;
  let uri: vscode.Uri;
  const config = () => vscode.workspace.getConfiguration('winnow');
  const columns = () =>
    api.worker.request<{ uri: string }, GetColumnsResult>(GetColumnsRequest.type, {
      uri: uri.toString(),
    });

  before(async () => {
    api = (await vscode.extensions.getExtension(EXTENSION_ID)?.activate()) as Api;
    ws = makeWorkspace();
    modelRoot = mkdtempSync(join(tmpdir(), 'winnow-api-embed-'));
    bert = generateTinyBert(join(modelRoot, 'tiny-bert'));
    data = writeDensityDataset(join(ws.dir, 'density.jsonl'), {
      rows: 200,
      duplicates: 20,
      invalid: 1,
    });
    uri = vscode.Uri.file(data.path);
    await config().update('density.model', bert.dir, vscode.ConfigurationTarget.Global);
    await config().update('device', 'cpu', vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const key of ['density.model', 'device', 'density.computeAfterScoring', 'askllm.model'])
      await config().update(key, undefined, vscode.ConfigurationTarget.Global);
    ws.dispose();
    rmSync(modelRoot, { recursive: true, force: true });
  });

  it('computes DENSITY for the active text editor; the hover shows the rank', async () => {
    await vscode.window.showTextDocument(uri, { preview: false });
    const r = await vscode.commands.executeCommand<ComputeDensityResult | undefined>(
      'winnow.computeDensity',
    );
    assert.ok(r, 'the command ran');
    const valid = data.lines.length - data.invalid.length;
    assert.equal(r.uri, uri.toString());
    assert.equal(r.rows, valid);
    assert.equal(r.device, 'cpu');

    const { ranks } = densityOf(await columns());
    for (const i of data.duplicates)
      assert.ok(ranks[i] > 0.9 * valid, `duplicate line ${i}: rank ${ranks[i]}`);
    const line = data.duplicates[0];
    const text = await waitFor('a hover with the DENSITY rank', async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        uri,
        new vscode.Position(line, 3),
      );
      const t = hoverText(hovers);
      return /DENSITY: rank/.test(t) ? t : undefined;
    });
    assert.match(
      text,
      new RegExp(
        `DENSITY: rank ${ranks[line].toLocaleString('en-US')} of ${valid.toLocaleString('en-US')} \\(1 = most isolated\\)`,
      ),
    );
  });

  it('fills the density column of the dataset view', async () => {
    await vscode.commands.executeCommand('vscode.openWith', uri, 'winnow.datasetView');
    const { ranks } = densityOf(await columns());
    const density = await waitFor(
      'the document’s density column',
      () => api.datasets.document(uri)?.scores?.density,
    );
    assert.equal(density.values.length, data.lines.length);
    assert.deepEqual([...density.ranks], [...ranks]);
    assert.ok(Number.isNaN(density.values[data.invalid[0]]));
  });

  it('Sample by DENSITY marks the sample as keep, and undo takes it back', async () => {
    await vscode.commands.executeCommand('vscode.openWith', uri, 'winnow.datasetView');
    const r = await vscode.commands.executeCommand<
      (SampleByDensityResult & { changed: number }) | undefined
    >('winnow.sampleByDensity', uri, '10%', 5);
    assert.ok(r);
    assert.equal(r.lines.length, Math.round(r.eligible / 10));
    const again = await vscode.commands.executeCommand<SampleByDensityResult | undefined>(
      'winnow.sampleByDensity',
      uri,
      '10%',
      5,
    );
    assert.deepEqual(again?.lines, r.lines, 'same seed, same sample');
    const d = await vscode.commands.executeCommand<{ keep: number[]; drop: number[] }>(
      'winnow.getDecisions',
      uri,
    );
    assert.deepEqual(
      [...d.keep].sort((a, b) => a - b),
      r.lines,
    );
    // Both runs were edits of the dataset view's document (the second changed nothing new).
    await vscode.commands.executeCommand('undo');
    await vscode.commands.executeCommand('undo');
    const undone = await waitFor('the sample undone', async () => {
      const x = await vscode.commands.executeCommand<{ keep: number[] }>(
        'winnow.getDecisions',
        uri,
      );
      return x.keep.length === 0 ? x : undefined;
    });
    assert.deepEqual(undone.keep, []);
  });

  it('winnow.density.computeAfterScoring: Score Current File computes DENSITY too', async () => {
    const t5 = generateTinyT5(join(modelRoot, 'tiny-t5'));
    await config().update('askllm.model', t5.dir, vscode.ConfigurationTarget.Global);
    await config().update('density.computeAfterScoring', true, vscode.ConfigurationTarget.Global);
    const other = writeDensityDataset(join(ws.dir, 'scored.jsonl'), {
      rows: 40,
      duplicates: 5,
      invalid: 0,
      seed: 3,
    });
    const otherUri = vscode.Uri.file(other.path);
    await vscode.window.showTextDocument(otherUri, { preview: false });
    const scored = await vscode.commands.executeCommand<{ scored: number } | undefined>(
      'winnow.scoreFile',
    );
    assert.equal(scored?.scored, other.lines.length);
    const cols = await api.worker.request<{ uri: string }, GetColumnsResult>(
      GetColumnsRequest.type,
      { uri: otherUri.toString() },
    );
    assert.ok(cols.askllm, 'ASK-LLM scores');
    const { ranks } = densityOf(cols);
    assert.equal([...ranks].filter(x => x > 0).length, other.lines.length);
  });
});
