// The dataset view as a user sees it (tier 3b): a real VS Code server with Winnow, its workbench
// in headless Chromium. Opens a generated 1M-line .jsonl, reads rows out of the webview, checks
// the first rows appear (the times are logged) and that the keyboard and the custom scrollbar reach the last line
// number; then a small file with invalid and hostile lines: error badges, nothing executed, and
// the switch to the text editor and back. Screenshots: test-results/screenshots/dataset-*.png.
import * as assert from 'node:assert/strict';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FrameLocator, Locator } from 'playwright-core';
import { writeLargeJsonl } from '../../support/datasetFiles';
import {
  alwaysListedCommandTitle,
  launchVSCode,
  poll,
  TIMEOUTS,
  type VSCodeSession,
} from '../../support/vscodeServer';
import { generateJsonl, makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

const MILLION = 1_000_000;

/** Lines of a small file that must stay text: markup, a script, an image with onerror, a link. */
const HOSTILE = [
  '<script>window.__winnowPwned = "script"</script>',
  '<img src=x onerror="window.__winnowPwned = \'img\'">',
  '[click me](javascript:window.__winnowPwned=1) <b>bold?</b>',
];

function smallDataset(): string {
  const lines = generateJsonl(60, { invalidLines: [2, 9] })
    .trimEnd()
    .split('\n');
  HOSTILE.forEach(
    (text, k) =>
      (lines[20 + k] = JSON.stringify({ id: 20 + k, instruction: text, response: 'hostile' })),
  );
  lines[30] = "{'text': 'python repr'}";
  return lines.join('\n') + '\n';
}

let vs: VSCodeSession;
let ws: TempWorkspace;
let bigPath: string;

before(async () => {
  ws = makeWorkspace({ 'small.jsonl': smallDataset() });
  // Written in chunks (never one 110 MB string), before launch so Quick Open lists it at once.
  bigPath = ws.path('million.jsonl');
  await writeLargeJsonl(bigPath, MILLION, { invalidLines: [MILLION - 3] });
  vs = await launchVSCode({
    workspace: ws.dir,
    settings: { 'workbench.colorTheme': 'Default Dark Modern' },
  });
});

after(async () => {
  const errors = vs?.consoleErrors.filter(e => /webview|winnow|dataset/i.test(e)) ?? [];
  if (errors.length)
    console.log(`[dataset-ui] console errors:\n  ${errors.slice(0, 20).join('\n  ')}`);
  await vs?.close();
  ws?.dispose();
});

/** The data row showing line `line` (1-based) in the grid, if painted. */
function row(view: FrameLocator, line: number): Locator {
  return view.locator(`.grid-body .grid-row[aria-rowindex="${line + 1}"]`);
}

/** Waits until line `line` is painted with loaded content (not a placeholder). */
async function waitForLoadedRow(
  view: FrameLocator,
  line: number,
  timeout = TIMEOUTS.webview,
): Promise<Locator> {
  const r = row(view, line);
  await view
    .locator(`.grid-body .grid-row[aria-rowindex="${line + 1}"]:not(.loading)`)
    .waitFor({ state: 'visible', timeout });
  return r;
}

/** The texts of a row's cells by column (line, decision, preview, score, density, length, status). */
async function cellTexts(r: Locator): Promise<Record<string, string>> {
  const cells = await r
    .locator('.grid-cell')
    .evaluateAll(els =>
      els.map(e => [/col-(\w+)/.exec(e.className)?.[1] ?? '', (e as HTMLElement).innerText]),
    );
  return Object.fromEntries(cells);
}

test('opens a 1M-line file in the dataset view and shows the first rows', async () => {
  await vs.waitForExtension(alwaysListedCommandTitle());
  // Open it the way a user does: a click in the explorer.
  const entry = vs.page
    .locator('.explorer-folders-view .monaco-list-row', { hasText: 'million.jsonl' })
    .first();
  await entry.waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
  const t0 = Date.now();
  await entry.click();
  await vs.page
    .locator('.tabs-container .tab', { hasText: 'million.jsonl' })
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const tabMs = Date.now() - t0;
  const view = vs.webview();
  // No second chance: a dataset tab without its webview fails, with what the page showed.
  await view
    .locator('body')
    .waitFor({ state: 'attached', timeout: TIMEOUTS.webview })
    .catch(async (e: Error) => {
      const frames = await vs.page
        .locator('iframe.webview')
        .evaluateAll(els => els.map(f => `${f.className} ${f.getBoundingClientRect().width}px`));
      const shot = await vs.screenshot('dataset-1m-no-webview');
      throw new Error(
        `${e.message}\nwebview iframes: ${frames.join(' | ') || 'none'}; screenshot ${shot}\n` +
          `console errors: ${vs.consoleErrors.slice(-5).join('\n')}`,
      );
    });
  const webviewMs = Date.now() - t0;
  const first = await waitForLoadedRow(view, 1);
  const firstRowsMs = Date.now() - t0;
  console.log(
    `[dataset-ui] 1M lines (${(statSync(bigPath).size / 1e6).toFixed(0)} MB): first rows visible ` +
      `${firstRowsMs} ms after the click in the explorer (tab shown at ${tabMs} ms, webview document at ` +
      `${webviewMs} ms), ${Date.now() - vs.launchedAt} ms after launch`,
  );
  const { line, preview, length } = await cellTexts(first);
  assert.equal(line.trim(), '1');
  assert.match(preview, /^Line 1: explain rivers in 1 sentences\./);
  assert.match(length, /^\d[\d,]*$/);
  assert.match((await cellTexts(row(view, 2))).preview, /^Line 2: explain prime numbers/);
  await vs.screenshot('dataset-1m-first-rows');

  const header = view.locator('.header');
  await poll(
    'the header to show the full row count',
    async () => ((await header.innerText()).includes('1,000,000 rows') ? true : undefined),
    TIMEOUTS.webview,
  );
  const headerText = await header.innerText();
  assert.match(headerText, /million\.jsonl/);
  assert.match(headerText, /Alpaca/);
  const grid = view.locator('[role="grid"]');
  assert.equal(await grid.getAttribute('aria-rowcount'), String(MILLION + 1));
  // Only a screenful of rows exists in the DOM, however long the file.
  const rowsInDom = await view.locator('.grid-body .grid-row').count();
  assert.ok(rowsInDom > 5 && rowsInDom < 200, `${rowsInDom} row elements`);
});

test('reopened (extension already active), the 1M-line file shows its first rows again', async () => {
  await vs.runCommand('View: Close All Editors');
  await vs.page
    .locator('iframe.webview.ready')
    .first()
    .waitFor({ state: 'detached', timeout: TIMEOUTS.webview });
  const entry = vs.page
    .locator('.explorer-folders-view .monaco-list-row', { hasText: 'million.jsonl' })
    .first();
  const t0 = Date.now();
  await entry.click();
  await waitForLoadedRow(vs.webview(), 1);
  const warmMs = Date.now() - t0;
  // Logged, not asserted: a time limit only measures how loaded the machine is.
  console.log(`[dataset-ui] reopened: first rows visible ${warmMs} ms after the click`);
});

test('End reaches the last line number; the invalid line near it has a badge', async () => {
  const view = vs.webview();
  await view.locator('[role="grid"]').focus();
  await vs.page.keyboard.press('End');
  const last = await waitForLoadedRow(view, MILLION);
  assert.equal((await cellTexts(last)).line.trim(), String(MILLION));
  assert.match((await cellTexts(last)).preview, /^Line 1000000: explain/);
  assert.ok(await last.evaluate(e => e.classList.contains('focused')), 'the last row is focused');
  const bad = await waitForLoadedRow(view, MILLION - 2);
  assert.match(await bad.locator('.badge').innerText(), /syntax/);
  await poll(
    'the invalid-line count',
    async () =>
      (await view.locator('.header').innerText()).includes('1 invalid line') ? true : undefined,
    120_000,
    1_000,
  );
  await vs.screenshot('dataset-1m-end');
});

test('the keyboard moves the focus; the custom scrollbar jumps to the middle', async () => {
  const view = vs.webview();
  await vs.page.keyboard.press('Home');
  await waitForLoadedRow(view, 1);
  await vs.page.keyboard.press('j');
  await vs.page.keyboard.press('j');
  await vs.page.keyboard.press('ArrowDown');
  await vs.page.keyboard.press('k');
  const focused = view.locator('.grid-body .grid-row.focused');
  await poll(
    'line 3 focused',
    async () => ((await focused.getAttribute('aria-rowindex')) === '4' ? true : undefined),
    10_000,
  );
  assert.equal(
    await view.locator('[role="grid"]').getAttribute('aria-activedescendant'),
    await focused.getAttribute('id'),
  );
  await vs.page.keyboard.press('PageDown');
  await poll(
    'PageDown to move the focus by a screen',
    async () => Number(await focused.getAttribute('aria-rowindex')) > 10 || undefined,
    10_000,
  );

  // Drag the thumb to the middle of the track: the grid lands near line 500,000.
  const track = view.locator('.scrollbar');
  const thumb = view.locator('.scrollbar-thumb');
  const t = await track.boundingBox();
  const h = await thumb.boundingBox();
  assert.ok(t && h, 'the scrollbar is visible');
  await vs.page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
  await vs.page.mouse.down();
  await vs.page.mouse.move(h.x + h.width / 2, t.y + t.height / 2, { steps: 8 });
  await vs.page.mouse.up();
  const middle = await poll(
    'rows near the middle of the file',
    async () => {
      const lines = (
        await view.locator('.grid-body .grid-row:not(.loading) .col-line').allInnerTexts()
      ).map(Number);
      return lines.length > 0 && lines[0] > 0.4 * MILLION && lines[0] < 0.6 * MILLION
        ? lines
        : undefined;
    },
    TIMEOUTS.webview,
  );
  console.log(
    `[dataset-ui] scrollbar at the middle shows lines ${middle[0]}..${middle[middle.length - 1]}`,
  );
  for (let k = 1; k < middle.length; k++)
    assert.equal(middle[k], middle[k - 1] + 1, 'lines are consecutive');
  await vs.screenshot('dataset-1m-middle');
});

test('a small file: parse-error badges, hostile text stays text, switch to text and back', async () => {
  await vs.openFile('small.jsonl');
  const view = vs.webview();
  const bad = await waitForLoadedRow(view, 3);
  assert.match(await bad.locator('.badge').innerText(), /syntax/);
  assert.ok((await bad.locator('.col-status').getAttribute('title'))?.includes('syntax'));
  await view.locator('[role="grid"]').focus();
  for (let k = 0; k < 21; k++) await vs.page.keyboard.press('j');
  const script = await waitForLoadedRow(view, 21);
  assert.equal((await cellTexts(script)).preview, `${HOSTILE[0]} ⏎ hostile`);
  assert.equal(
    (await cellTexts(await waitForLoadedRow(view, 22))).preview,
    `${HOSTILE[1]} ⏎ hostile`,
  );
  assert.equal(
    (await cellTexts(await waitForLoadedRow(view, 23))).preview,
    `${HOSTILE[2]} ⏎ hostile`,
  );
  // Line 31 may be below the fold (the filter panel takes room): move down to it.
  for (let k = 0; k < 9; k++) await vs.page.keyboard.press('j');
  assert.match((await cellTexts(await waitForLoadedRow(view, 31))).status, /python/);
  for (let k = 0; k < 9; k++) await vs.page.keyboard.press('k');
  // Dataset text is text: no element from the data, no script ran.
  assert.equal(
    await view.locator('.grid-body img, .grid-body script, .grid-body a, .grid-body b').count(),
    0,
  );
  const pwned = await view
    .locator('body')
    .evaluate(() => (window as unknown as { __winnowPwned?: unknown }).__winnowPwned);
  assert.equal(pwned, undefined, 'dataset content executed in the webview');
  await poll(
    'the invalid-line count of the small file',
    async () =>
      (await view.locator('.header').innerText()).includes('3 invalid lines') ? true : undefined,
    TIMEOUTS.webview,
  );
  assert.equal(
    await vs.page.locator('.monaco-workbench.vs-dark').count(),
    1,
    'the dark theme is on',
  );
  await vs.screenshot('dataset-small-dark');

  await vs.runCommand('Winnow: Open as Text');
  await poll(
    'the text editor at line 22',
    async () => {
      const lines = await vs.editorLines();
      return lines.some(l => l.includes('__winnowPwned')) ? lines : undefined;
    },
    TIMEOUTS.webview,
  );
  const status = await vs.page.locator('.statusbar-item[id="status.editor.selection"]').innerText();
  assert.match(status, /Ln 22\b/, `cursor position: ${status}`);
  await vs.screenshot('dataset-small-as-text');

  await vs.runCommand('Winnow: Open in Dataset View');
  const back = vs.webview().locator('.grid-body .grid-row.focused:not(.loading)');
  await back.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  assert.equal(await back.getAttribute('aria-rowindex'), '23', 'line 22 is focused again');
  const shown = (await vs.webview().locator('.grid-body .grid-row .col-line').allInnerTexts()).map(
    Number,
  );
  assert.ok(
    shown[0] < 22 && shown.includes(22),
    `line 22 is revealed mid-view, not at the top: ${shown[0]}..`,
  );

  // The webview takes its colours from the theme: switch to the light theme and look again.
  await vs.switchToLightTheme();
  await waitForLoadedRow(vs.webview(), 22);
  const background = await vs
    .webview()
    .locator('body')
    .evaluate(b => getComputedStyle(b).backgroundColor);
  assert.equal(background, 'rgb(255, 255, 255)', 'the webview follows the light theme');
  await vs.screenshot('dataset-small-light');
});

test('a deleted file: the banner says so; re-created, the view shows the new rows', async () => {
  const path = ws.write('gone.jsonl', generateJsonl(30));
  await vs.openFile('gone.jsonl');
  const view = vs.webview();
  await waitForLoadedRow(view, 1);
  const notice = view.locator('.header-notice:not(.hidden)');
  assert.equal(await notice.count(), 0, 'no banner before the file goes away');
  rmSync(path);
  await notice.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  assert.match(await notice.innerText(), /gone\.jsonl is no longer on disk/);
  await vs.screenshot('dataset-file-gone');
  writeFileSync(path, generateJsonl(5));
  await notice.waitFor({ state: 'detached', timeout: TIMEOUTS.webview });
  await poll(
    'the header of the re-created file',
    async () => (/\b5 rows\b/.test(await view.locator('.header').innerText()) ? true : undefined),
    TIMEOUTS.webview,
  );
  await waitForLoadedRow(view, 5);
  assert.equal(await row(view, 6).count(), 0, 'rows of the deleted file are still shown');
});

test('the dataset view breaks no Content Security Policy rule', () => {
  const violations = vs.consoleErrors.filter(e => /Content Security Policy|Refused to/i.test(e));
  assert.deepEqual(violations, []);
});
