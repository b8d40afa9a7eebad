// ASK-LLM scoring inside a real VS Code extension host (tier 3a): "Winnow: Score Current File"
// from the text editor and from the dataset view (found through the tab API), with the model
// setting pointing at a generated tiny-t5 fixture folder; the hover and inlay hints of the
// language server show the fixture's closed-form P(yes); the keep/drop code actions reach the
// host command winnow.setDecision with a vscode.Uri; "Create Prompt Template" writes the paper's
// prompt.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import * as vscode from 'vscode';
import { PAPER_PROMPT, renderPrompt } from '../../../src/core/askllm/prompt';
import type { ScoreResult } from '../../../src/shared/protocol/worker';
import { Rng, allWords, generateTinyT5, t5Distribution, type TinyT5 } from '../../support/fixtures';
import { assertProbability } from '../../support/probability';
import { EXTENSION_ID, hoverMarkdown as hoverText, waitFor } from '../../support/vscodeApi';
import { makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

function documents(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const words = allWords();
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 + rng.int(20) }, () => words[rng.int(words.length)]).join(' '),
  );
}

function jsonl(docs: string[]): string {
  return docs.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n';
}

describe('ASK-LLM scoring (Winnow: Score Current File)', () => {
  let ws: TempWorkspace;
  let modelRoot: string;
  let t5: TinyT5;
  let tok: PreTrainedTokenizer;
  const textDocs = documents(24, 3);
  const viewDocs = documents(16, 4);
  let textUri: vscode.Uri;
  let viewUri: vscode.Uri;
  const config = () => vscode.workspace.getConfiguration('winnow');

  const closedForm = (text: string): number =>
    t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, text)))[t5.yesId];

  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    ws = makeWorkspace();
    modelRoot = mkdtempSync(join(tmpdir(), 'winnow-api-model-'));
    t5 = generateTinyT5(join(modelRoot, 'tiny-t5'));
    tok = await AutoTokenizer.from_pretrained(t5.dir);
    textUri = vscode.Uri.file(ws.write('scored-text.jsonl', jsonl(textDocs)));
    viewUri = vscode.Uri.file(ws.write('scored-view.jsonl', jsonl(viewDocs)));
    await config().update('askllm.model', t5.dir, vscode.ConfigurationTarget.Global);
    await config().update('device', 'cpu', vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await config().update('askllm.model', undefined, vscode.ConfigurationTarget.Global);
    await config().update('device', undefined, vscode.ConfigurationTarget.Global);
    ws.dispose();
    rmSync(modelRoot, { recursive: true, force: true });
  });

  it('scores the active text editor; hover and inlay hints show the closed-form P(yes)', async () => {
    await vscode.window.showTextDocument(textUri, { preview: false });
    const result = await vscode.commands.executeCommand<ScoreResult | undefined>(
      'winnow.scoreFile',
    );
    assert.ok(result, 'the command ran');
    assert.equal(result.uri, textUri.toString());
    assert.equal(result.scored, textDocs.length);
    assert.equal(result.cancelled, false);
    assert.equal(result.device, 'cpu');

    const line = 5;
    const text = await waitFor('a hover with P(yes)', async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        textUri,
        new vscode.Position(line, 3),
      );
      const t = hoverText(hovers);
      return /P\(yes\) = /.test(t) ? t : undefined;
    });
    const shown = Number(/P\(yes\) = ([0-9.e-]+)/.exec(text)?.[1]);
    const want = closedForm(textDocs[line]);
    assertProbability(shown, want, text, { printed: true });
    assert.match(text, /percentile in this file/);
    assert.match(text, /prompt ASK-LLM \(paper\)/);

    const hints = await waitFor('inlay hints', async () => {
      const h = await vscode.commands.executeCommand<vscode.InlayHint[]>(
        'vscode.executeInlayHintProvider',
        textUri,
        new vscode.Range(0, 0, textDocs.length, 0),
      );
      return h.length === textDocs.length ? h : undefined;
    });
    const hint = hints.find(h => h.position.line === line);
    assert.ok(hint);
    const label =
      typeof hint.label === 'string' ? hint.label : hint.label.map(p => p.value).join('');
    assert.match(label, /^ASK-LLM [0-9.e-]+$/);
    assert.ok(Math.abs(Number(label.split(' ')[1]) - want) <= Math.abs(want) * 5e-3);

    // Turning inline scores off removes the hints.
    await config().update('inlineScores.enabled', false, vscode.ConfigurationTarget.Global);
    try {
      await waitFor('no inlay hints', async () => {
        const h = await vscode.commands.executeCommand<vscode.InlayHint[]>(
          'vscode.executeInlayHintProvider',
          textUri,
          new vscode.Range(0, 0, textDocs.length, 0),
        );
        return h.length === 0 ? true : undefined;
      });
    } finally {
      await config().update('inlineScores.enabled', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('offers Keep / Drop code actions that run winnow.setDecision with the file URI', async () => {
    await vscode.window.showTextDocument(textUri, { preview: false });
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      textUri,
      new vscode.Range(2, 0, 2, 0),
    );
    const keep = actions.find(a => a.title === 'Keep example');
    const drop = actions.find(a => a.title === 'Drop example');
    assert.ok(keep?.command && drop?.command, JSON.stringify(actions.map(a => a.title)));
    assert.equal(keep.command.command, 'winnow.setDecision');
    const [uri, lines, decision] = keep.command.arguments ?? [];
    assert.ok(uri instanceof vscode.Uri, 'the URI argument is a vscode.Uri');
    assert.equal(uri.toString(), textUri.toString());
    assert.deepEqual(lines, [2]);
    assert.equal(decision, 'keep');
    assert.deepEqual(drop.command.arguments?.slice(1), [[2], 'drop']);
    // The code action's command really keeps the line (winnow.getDecisions must exist).
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('winnow.getDecisions'), 'winnow.getDecisions is registered');
    await vscode.commands.executeCommand(keep.command.command, ...(keep.command.arguments ?? []));
    const d = await vscode.commands.executeCommand<{ keep: number[]; drop: number[] }>(
      'winnow.getDecisions',
      textUri,
    );
    assert.ok(d.keep.includes(2), JSON.stringify(d));
  });

  it('scores the file of the active dataset view (found through the tab API)', async () => {
    await vscode.commands.executeCommand('vscode.openWith', viewUri, 'winnow.datasetView');
    await waitFor('the dataset view tab', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputCustom && input.uri.toString() === viewUri.toString()
        ? true
        : undefined;
    });
    const result = await vscode.commands.executeCommand<ScoreResult | undefined>(
      'winnow.scoreFile',
    );
    assert.ok(result);
    assert.equal(result.uri, viewUri.toString());
    assert.equal(result.scored, viewDocs.length);
  });

  it('writes the paper’s prompt into a new .winnow-prompt file', async () => {
    const file = await vscode.commands.executeCommand<vscode.Uri>(
      'winnow.createPromptTemplate',
      'seq2seq',
      vscode.Uri.file(ws.dir),
      false,
    );
    assert.ok(file);
    assert.ok(file.fsPath.endsWith('askllm.winnow-prompt'), file.fsPath);
    assert.equal(readFileSync(file.fsPath, 'utf8'), PAPER_PROMPT.text);
    assert.equal(vscode.window.activeTextEditor?.document.languageId, 'winnow-prompt');
  });
});
