// UI smoke test (tier 3b): the harness itself. A real VS Code server with Winnow installed, its
// workbench in headless Chromium on a generated workspace; screenshots go to
// test-results/screenshots/workbench*.png.
import * as assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  alwaysListedCommandTitle,
  launchVSCode,
  TIMEOUTS,
  type VSCodeSession,
} from '../../support/vscodeServer';
import { generateJsonl } from '../../support/vscodeWorkspace';

let vs: VSCodeSession;

before(async () => {
  vs = await launchVSCode({
    files: {
      'smoke.jsonl': generateJsonl(40),
      'README.txt': 'A generated workspace for the Winnow UI smoke test.\n',
    },
  });
});

after(async () => {
  await vs?.close();
});

test('the workbench renders the generated workspace in the explorer', async () => {
  await vs.waitForWorkbench();
  const row = vs.page.locator('.explorer-folders-view .monaco-list-row', {
    hasText: 'smoke.jsonl',
  });
  await row.first().waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
  const path = await vs.screenshot('workbench');
  assert.ok(statSync(path).size > 10_000, 'the screenshot is suspiciously small');
});

test('Winnow registers its commands in the palette', async () => {
  await vs.waitForExtension(alwaysListedCommandTitle());
});

test('a .jsonl opens in the Winnow dataset view (a webview), not the text editor', async () => {
  await vs.openFile('smoke.jsonl');
  await vs.page
    .locator('iframe.webview.ready')
    .first()
    .waitFor({ state: 'attached', timeout: TIMEOUTS.webview });
  // The webview's own document has loaded: its body is reachable through both frames.
  await vs.webview().locator('body').waitFor({ state: 'attached', timeout: TIMEOUTS.webview });
  assert.equal(
    await vs.page.locator('.monaco-editor .view-lines').count(),
    0,
    'a text editor is open',
  );
  await vs.screenshot('workbench-dataset-view');
});
