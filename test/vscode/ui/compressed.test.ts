// A gzip-compressed dataset in the dataset view as a user meets it (tier 3b): a real VS Code
// server with Winnow, its workbench in headless Chromium. `data.jsonl.gz` opens from Quick Open
// in the dataset view (not as a binary file), the header says "compressed (gzip), read-only",
// keyboard triage keeps and drops rows, File: Save writes the sidecar beside the file (never the
// file), and Export Kept Examples writes plain JSONL and, picked in its menu, gzip.
// Screenshots: test-results/screenshots/compressed-*.png.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { FrameLocator, Locator } from 'playwright-core';
import {
  alwaysListedCommandTitle,
  launchVSCode,
  poll,
  TIMEOUTS,
  type VSCodeSession,
} from '../../support/vscodeServer';
import { makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

const ROWS = 500;
const lines = Array.from({ length: ROWS }, (_, i) =>
  JSON.stringify({
    instruction: `Summarise web page ${i + 1}.`,
    output: `Page ${i + 1} is about ${['rivers', 'owls', 'bread'][i % 3]}.`,
  }),
);
lines[9] = '{"instruction": "unterminated';

let vs: VSCodeSession;
let ws: TempWorkspace;
let packed: Buffer;

before(async () => {
  ws = makeWorkspace();
  packed = gzipSync(lines.join('\n') + '\n');
  writeFileSync(ws.path('data.jsonl.gz'), packed);
  vs = await launchVSCode({
    workspace: ws.dir,
    settings: { 'workbench.colorTheme': 'Default Dark Modern' },
  });
  await vs.waitForExtension(alwaysListedCommandTitle());
});

after(async () => {
  await vs?.close();
  ws?.dispose();
});

function rowAt(view: FrameLocator, position: number): Locator {
  return view.locator(`.grid-body .grid-row[aria-rowindex="${position + 2}"]:not(.loading)`);
}

async function decision(view: FrameLocator, position: number): Promise<string> {
  return (await rowAt(view, position).locator('.col-decision').innerText()).trim();
}

/** Runs Export Kept Examples: accepts the proposed name, picks the extras named `pick`. */
async function exportKept(pick: string[]): Promise<void> {
  await vs.runCommand('Winnow: Export Kept Examples');
  const input = vs.page.locator('.quick-input-widget input');
  await poll(
    'the save dialog',
    async () => ((await input.inputValue()).endsWith('data.kept.jsonl') ? true : undefined),
    20_000,
  );
  await vs.page.keyboard.press('Enter');
  const widget = vs.page.locator('.quick-input-widget');
  let seen = '';
  await poll(
    'the extras',
    async () => {
      seen = await widget.innerText();
      return seen.includes('Compressed like the source (gzip)') ? true : undefined;
    },
    20_000,
  ).catch(async (e: Error) => {
    const shot = await vs.screenshot('compressed-failure-extras');
    throw new Error(`${e.message}; the menu said ${JSON.stringify(seen)}; screenshot ${shot}`);
  });
  for (const label of pick) {
    await widget.locator('.quick-input-list .monaco-list-row', { hasText: label }).click();
  }
  if (pick.length) await vs.screenshot('compressed-export-menu');
  await vs.page.keyboard.press('Enter');
}

test('a .jsonl.gz opens read-only in the dataset view; triage, save and export work', async () => {
  await vs.openFile('data.jsonl.gz');
  const view = vs.webview();
  await rowAt(view, 0).waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const badge = view.locator('.header-compressed');
  await badge.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  assert.equal((await badge.innerText()).trim(), 'compressed (gzip), read-only');
  await poll(
    'every row indexed',
    async () =>
      (await view.locator('.header-rows').innerText()).includes(`${ROWS} rows`) ? true : undefined,
    TIMEOUTS.webview,
  );
  // The invalid-line count comes with the worker's row facts, after the row count.
  await poll(
    'the invalid line counted',
    async () =>
      /1 invalid line/.test(await view.locator('.header-invalid').innerText()) ? true : undefined,
    TIMEOUTS.webview,
  );

  const grid = view.locator('[role="grid"]');
  await grid.focus();
  await vs.page.keyboard.press('y');
  await vs.page.keyboard.press('n');
  await vs.page.keyboard.press('y');
  await poll(
    'line 3 kept',
    async () => ((await decision(view, 2)) === 'keep' ? true : undefined),
    TIMEOUTS.webview,
  );
  assert.equal(await decision(view, 1), 'drop');
  await vs.screenshot('compressed-dark-triage');

  await vs.runCommand('File: Save');
  const sidecar = ws.path('data.jsonl.gz.winnow.json');
  await poll('the sidecar', async () => (existsSync(sidecar) ? true : undefined), 30_000);
  assert.deepEqual(readFileSync(ws.path('data.jsonl.gz')), packed, 'the dataset is untouched');

  const want = [0, 2].map(i => lines[i] + '\n').join('');
  // gzip first: the plain export's proposed name (data.kept.jsonl) does not exist yet then.
  const gz = ws.path('data.kept.jsonl.gz');
  await exportKept(['Compressed like the source (gzip)']);
  await poll(
    'the gzip export',
    async () => (existsSync(`${gz}.manifest.json`) ? true : undefined),
    30_000,
  );
  assert.equal(gunzipSync(readFileSync(gz)).toString('utf8'), want);
  const plain = ws.path('data.kept.jsonl');
  await exportKept([]);
  await poll(
    'the plain export',
    async () => (existsSync(`${plain}.manifest.json`) ? true : undefined),
    30_000,
  );
  assert.equal(readFileSync(plain, 'utf8'), want);

  const manifest = JSON.parse(readFileSync(`${gz}.manifest.json`, 'utf8')) as {
    source: { compression: string };
    outputs: { compression: string | null }[];
  };
  assert.equal(manifest.source.compression, 'gzip');
  assert.equal(manifest.outputs[0]?.compression, 'gzip');
  await vs.screenshot('compressed-dark-exported');
});
