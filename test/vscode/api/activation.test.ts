// Runs inside the VS Code extension host (tier 3a): the extension activates, registers what it
// contributes, and opens a generated dataset in its custom editor without touching the file.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { EXTENSION_ID, waitFor } from '../../support/vscodeApi';
import { generateJsonl, makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

const VIEW_TYPE = 'winnow.datasetView';

interface ContributedCommand {
  readonly command: string;
}

describe('Winnow activation', () => {
  let ws: TempWorkspace | undefined;

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    ws?.dispose();
  });

  it('is installed and activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers every command it contributes, all in the Winnow category', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    const contributed = (ext.packageJSON.contributes?.commands ?? []) as ContributedCommand[];
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map(c => c.command).filter(c => !registered.has(c));
    assert.deepEqual(missing, [], 'contributed but not registered');
    for (const c of contributed as (ContributedCommand & { category?: string })[]) {
      assert.equal(c.category, 'Winnow', `${c.command} has no Winnow category`);
    }
  });

  it('opens a generated .jsonl in the dataset view and leaves the file unchanged', async () => {
    ws = makeWorkspace();
    const text = generateJsonl(200, { invalidLines: [7] });
    const file = ws.write('activation.jsonl', text);
    const uri = vscode.Uri.file(file);

    await vscode.commands.executeCommand('vscode.openWith', uri, VIEW_TYPE);

    const input = await waitFor(
      'the dataset view tab',
      () => {
        const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
        return tab?.input instanceof vscode.TabInputCustom ? tab.input : undefined;
      },
      20_000,
    );
    assert.equal(input.viewType, VIEW_TYPE);
    assert.equal(input.uri.toString(), uri.toString());
    assert.equal(readFileSync(file, 'utf8'), text, 'opening the dataset changed the file');
  });
});
