// The text-editor side of Winnow as a user sees it (tier 3b): a real VS Code server with Winnow,
// its workbench in headless Chromium. A small generated .jsonl with three invalid lines (a syntax
// error, a Python repr, a JSON array) opens in the dataset view; a row is read out of the
// webview; the "Open as Text" title button switches to the text editor on the focused row; the
// worker's hover is read on a valid line and on each invalid line; the Problems panel lists the
// invalid lines with the worker's messages; the "Open in Dataset View" title button goes back
// with the cursor's row focused. Screenshots: test-results/screenshots/text-*.png (dark theme,
// the last two in the light theme).
import * as assert from 'node:assert/strict';
import { murmur3x86128 } from '../../../src/core/jsonl/murmur3';
import { after, before, test } from 'node:test';
import type { FrameLocator, Locator } from 'playwright-core';
import {
  alwaysListedCommandTitle,
  launchVSCode,
  poll,
  TIMEOUTS,
  type VSCodeSession,
} from '../../support/vscodeServer';
import { generateJsonl, makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

const FILE = 'mixed.jsonl';

/** 1-based line numbers of the invalid lines, with what the worker must say about each. */
const SYNTAX = {
  line: 4,
  kind: 'syntax',
  // generateJsonl's truncated object: `{"id":3,"instruction":"Explain volcanoes`; the string
  // that never closes opens at character 23.
  column: 23,
  // A syntax error points at its character.
  problemColumn: 23,
  message: 'Unterminated string (no closing quote on this line)',
};
const PYTHON = {
  line: 7,
  text: "{'text': 'a python dict', 'ok': True}",
  kind: 'python-repr',
  // The first single quote, right after the brace.
  column: 2,
  // The diagnostic covers the whole line: the line as a whole is not JSON.
  problemColumn: 1,
  message: 'Line is a Python dict (repr) rather than JSON: use json.dumps, not str(), to write it',
};
const NOT_OBJECT = {
  line: 10,
  text: '[1, 2, 3]',
  kind: 'not-object',
  column: 1,
  problemColumn: 1,
  message: 'Line is a JSON array, not a JSON object',
};
const INVALID = [SYNTAX, PYTHON, NOT_OBJECT];
const LINE_COUNT = 12;

/** The dataset: generated Dolly-style records (id, instruction, response, source) + 3 bad lines. */
function dataset(): string[] {
  const lines = generateJsonl(LINE_COUNT, { invalidLines: [SYNTAX.line - 1] })
    .trimEnd()
    .split('\n');
  lines[PYTHON.line - 1] = PYTHON.text;
  lines[NOT_OBJECT.line - 1] = NOT_OBJECT.text;
  return lines;
}

const LINES = dataset();

/**
 * The first 12 hex digits of a line's content hash (v2: MurmurHash3 x86_128 of its bytes),
 * computed here from the hash primitive, not from the engine's `contentHash`.
 */
function hashOf(line: number): string {
  const bytes = Buffer.from(LINES[line - 1], 'utf8');
  const digest = Buffer.alloc(16);
  murmur3x86128(bytes, 0, bytes.length, digest, 0);
  return digest.toString('hex').slice(0, 12);
}

let vs: VSCodeSession;
let ws: TempWorkspace;

before(async () => {
  ws = makeWorkspace({ [FILE]: LINES.join('\n') + '\n' });
  vs = await launchVSCode({
    workspace: ws.dir,
    settings: { 'workbench.colorTheme': 'Default Dark Modern' },
  });
});

after(async () => {
  const errors = vs?.consoleErrors.filter(e => /webview|winnow|hover|marker/i.test(e)) ?? [];
  if (errors.length)
    console.log(`[text-ui] console errors:\n  ${errors.slice(0, 20).join('\n  ')}`);
  await vs?.close();
  ws?.dispose();
});

/** The painted, loaded grid row of line `line` (1-based). */
async function loadedRow(view: FrameLocator, line: number): Promise<Locator> {
  const r = view.locator(`.grid-body .grid-row[aria-rowindex="${line + 1}"]:not(.loading)`);
  await r.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  return r;
}

/** An action button of the active editor's title bar, by (the start of) its label. */
function titleButton(label: string): Locator {
  return vs.page.locator(`.editor-actions .action-label[aria-label^="${label}"]`).first();
}

/** The "Ln L, Col C" item of the status bar. */
async function cursorStatus(): Promise<string> {
  return vs.page.locator('.statusbar-item[id="status.editor.selection"]').innerText();
}

/** Shows the hover at the cursor again (hoverText closes it) and waits for Winnow's part. */
async function showHoverForScreenshot(): Promise<Locator> {
  const hover = vs.page.locator('.monaco-hover:not(.hidden) .monaco-hover-content');
  await poll(
    "Winnow's hover to show again",
    async () => {
      await vs.runCommand('Show or Focus Hover');
      await hover.first().waitFor({ state: 'visible', timeout: 3_000 });
      return (await hover.allInnerTexts()).join('\n').includes('Winnow') ? true : undefined;
    },
    TIMEOUTS.hover,
    500,
  );
  return hover;
}

/** Whitespace-tolerant: the rendered Markdown separates paragraphs with blank lines. */
function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Hovers `line` and returns the squashed text once the worker's part is in it. */
async function winnowHover(line: number, column = 1): Promise<string> {
  const text = await vs.hoverText(line, column, t => /Winnow\s*·\s*row/.test(t));
  return squash(text);
}

test('the file opens in the dataset view; a row is read out of the webview', async () => {
  await vs.waitForExtension(alwaysListedCommandTitle());
  await vs.openFile(FILE);
  const view = vs.webview();
  const second = await loadedRow(view, 2);
  assert.equal((await second.locator('.col-line').innerText()).trim(), '2');
  assert.equal(
    await second.locator('.col-preview').innerText(),
    'Explain prime numbers in 2 sentences. ⏎ Row 1: a short answer about prime numbers.',
  );
  // The webview and the worker agree on why the syntax-error line is invalid.
  const bad = await loadedRow(view, SYNTAX.line);
  assert.match(await bad.locator('.badge').innerText(), /syntax/);
  assert.equal(
    await bad.locator('.col-status').getAttribute('title'),
    `${SYNTAX.kind}: ${SYNTAX.message} (column ${SYNTAX.column})`,
  );
  // Focus line 5 with the keyboard: "Open as Text" must put the cursor there.
  await view.locator('[role="grid"]').focus();
  for (let k = 0; k < 4; k++) await vs.page.keyboard.press('j');
  const focused = view.locator('.grid-body .grid-row.focused');
  await poll(
    'line 5 focused in the dataset view',
    async () => ((await focused.getAttribute('aria-rowindex')) === '6' ? true : undefined),
    10_000,
  );
  assert.equal(
    await vs.page.locator('.monaco-workbench.vs-dark').count(),
    1,
    'the dark theme is on',
  );
  await vs.screenshot('text-1-dataset-view');
});

test('"Open as Text" in the editor title opens the text editor on the focused row', async () => {
  await titleButton('Open as Text').click();
  const lines = await poll(
    'the text editor with the file',
    async () => {
      // The editor renders spaces as no-break spaces.
      const l = (await vs.editorLines()).map(t => t.replace(/\u00a0/g, ' '));
      return l.some(t => t.includes('a python dict')) ? l : undefined;
    },
    TIMEOUTS.webview,
  );
  assert.ok(lines.length >= LINE_COUNT, `${lines.length} lines rendered`);
  // The dataset view's tab is replaced, not kept next to the text editor: the command opens the
  // text editor first and then closes the dataset view's tab, so wait for that second step.
  await poll(
    'the dataset view tab closed and its webview gone',
    async () =>
      (await vs.page.locator('iframe.webview.ready').count()) === 0 &&
      (await vs.page.locator('.tabs-container .tab', { hasText: FILE }).count()) === 1
        ? true
        : undefined,
    10_000,
  );
  assert.match(await cursorStatus(), /Ln 5, Col 1\b/);
  // The text editor's title offers the way back.
  await titleButton('Open in Dataset View').waitFor({ state: 'visible', timeout: 10_000 });
  await vs.screenshot('text-2-editor');
});

test("the worker's hover on a valid line: row, parse status, fields, schema, hash", async () => {
  const text = await winnowHover(2, 5);
  assert.match(text, new RegExp(`Winnow · row 2 of ${LINE_COUNT}(?! ?\\+)`));
  assert.match(text, /Parse: OK: JSON object with 4 fields/);
  assert.match(text, /Fields: id, instruction, response, source/);
  assert.match(text, /File schema: Dolly \(instruction\/context\/response\)/);
  const bytes = Buffer.byteLength(LINES[1], 'utf8');
  assert.match(text, new RegExp(`Size: ${bytes} bytes · Content hash: ${hashOf(2)}`));
  // The order the hover promises: row, parse, fields, schema, size and hash.
  const order = ['Winnow · row', 'Parse:', 'Fields:', 'File schema:', 'Content hash:'].map(s =>
    text.indexOf(s),
  );
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    `hover sections out of order: ${text}`,
  );
  // Markdown is rendered, not shown raw.
  assert.doesNotMatch(text, /\*\*|\\\(/);
  await showHoverForScreenshot();
  await vs.screenshot('text-3-hover-valid');
  await vs.page.keyboard.press('Escape');
});

test("the worker's hover on each invalid line gives the reason and the column", async () => {
  for (const bad of INVALID) {
    const text = await winnowHover(bad.line);
    assert.match(text, new RegExp(`Winnow · row ${bad.line} of ${LINE_COUNT}\\b`));
    const expected = `Parse: Error (${bad.kind}) at column ${bad.column}: ${bad.message}`;
    assert.ok(
      text.includes(expected),
      `hover of line ${bad.line}:\n  ${text}\nlacks\n  ${expected}`,
    );
    assert.doesNotMatch(text, /Fields:/, `an invalid line lists no fields: ${text}`);
    assert.match(text, new RegExp(`Content hash: ${hashOf(bad.line)}`));
  }
  await showHoverForScreenshot();
  await vs.screenshot('text-4-hover-not-object');
  // The syntax error too, for a look at a message with punctuation in it.
  await winnowHover(SYNTAX.line);
  await showHoverForScreenshot();
  await vs.screenshot('text-5-hover-syntax-error');
  await vs.page.keyboard.press('Escape');
});

test('the Problems panel lists the invalid lines with the worker messages', async () => {
  const rows = await vs.waitForProblems(r =>
    INVALID.every(bad => r.some(t => t.includes(bad.message))),
  );
  const markers = rows.filter(r => /\[Ln \d+, Col \d+\]/.test(r));
  assert.equal(markers.length, INVALID.length, `marker rows:\n${rows.join('\n---\n')}`);
  for (const bad of INVALID) {
    const row = markers.find(t => t.includes(bad.message));
    assert.ok(row, `no Problems row for line ${bad.line}`);
    assert.match(row, new RegExp(`\\[Ln ${bad.line}, Col ${bad.problemColumn}\\]`), row);
    // Source and code: "Winnow(syntax)" on screen, separate elements in the DOM.
    assert.match(row, new RegExp(`Winnow\\s*\\(?${bad.kind}\\)?`), row);
  }
  // The file's row in the tree counts the problems.
  assert.ok(
    rows.some(r => r.includes(FILE) && /\b3\b/.test(r)),
    `no file row with the count: ${rows.join(' | ')}`,
  );
  await vs.screenshot('text-6-problems');
});

test('light theme: the hover and the Problems panel follow it', async () => {
  await vs.switchToLightTheme();
  const text = await winnowHover(PYTHON.line, 3);
  assert.ok(text.includes(`Parse: Error (${PYTHON.kind}) at column ${PYTHON.column}`), text);
  await showHoverForScreenshot();
  await vs.screenshot('text-7-hover-light');
  await vs.page.keyboard.press('Escape');
});

test('"Open in Dataset View" in the editor title goes back with the cursor row focused', async () => {
  // The cursor is on the Python-repr line (the last hover): that row must be focused again.
  assert.match(await cursorStatus(), new RegExp(`Ln ${PYTHON.line},`));
  await titleButton('Open in Dataset View').click();
  const view = vs.webview();
  const focused = view.locator('.grid-body .grid-row.focused:not(.loading)');
  await focused.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  assert.equal(await focused.getAttribute('aria-rowindex'), String(PYTHON.line + 1));
  assert.equal((await focused.locator('.col-line').innerText()).trim(), String(PYTHON.line));
  assert.match(await focused.locator('.badge').innerText(), /python-repr/);
  assert.equal(await vs.page.locator('.monaco-editor .view-lines').count(), 0, 'text editor left');
  assert.equal(await vs.page.locator('.tabs-container .tab', { hasText: FILE }).count(), 1);
  await vs.screenshot('text-8-back-in-dataset-view-light');
});
