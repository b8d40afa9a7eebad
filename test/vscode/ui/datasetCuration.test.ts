// Curation in the dataset view as a user does it (tier 3b): a real VS Code server with Winnow, its
// workbench in headless Chromium. Keyboard triage (keep, drop, undo), save to the sidecar, close,
// reopen and find the decisions again; search and sort over the whole file; the detail panel with
// chat turns; hostile text that must stay text; export of the kept rows through the command
// palette and its real file dialog; ASK-LLM scores from a tiny fixture model through "Winnow:
// Score Current File", sort by score, and a filter made by dragging across the score histogram.
// Screenshots (dark and light): test-results/screenshots/curation-*.png.
import * as assert from 'node:assert/strict';
import { murmur3x86128 } from '../../../src/core/jsonl/murmur3';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator, Locator } from 'playwright-core';
import {
  alwaysListedCommandTitle,
  launchVSCode,
  poll,
  TIMEOUTS,
  type VSCodeSession,
} from '../../support/vscodeServer';
import { generateTinyT5 } from '../../support/fixtures';
import { makeWorkspace, type TempWorkspace } from '../../support/vscodeWorkspace';

const TOPICS = ['rivers', 'volcanoes', 'bread', 'owls', 'tides', 'prime numbers', 'sorting'];
const ROWS = 2000;

/** Alpaca rows of varied length, two invalid lines, three hostile ones. */
function curateLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const topic = TOPICS[i % TOPICS.length];
    const detail = ' More detail.'.repeat((i * 7) % 23);
    lines.push(
      JSON.stringify({
        instruction: `Explain ${topic} (example ${i + 1}).`,
        input: '',
        output: `${topic[0].toUpperCase()}${topic.slice(1)} are interesting.${detail}`,
      }),
    );
  }
  lines[40] = '{"instruction": "unterminated';
  lines[41] = "{'instruction': 'python repr'}";
  lines[11] = JSON.stringify({
    instruction: '<script>window.__winnowPwned = "script"</script>',
    input: '<img src=x onerror="window.__winnowPwned = \'img\'">',
    output: '[click me](javascript:window.__winnowPwned=1) <b>bold?</b>',
  });
  return lines;
}

function chatLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 50; i++) {
    lines.push(
      JSON.stringify({
        messages: [
          { role: 'system', content: 'You are a careful tutor.' },
          { role: 'user', content: `Question ${i + 1}: why do ${TOPICS[i % 7]} matter?` },
          {
            role: 'assistant',
            content:
              i === 2
                ? '<img src=x onerror="window.__winnowPwned=\'chat\'"> and <script>window.__winnowPwned=2</script>'
                : `Because ${TOPICS[i % 7]} shape the world.\nSecond line of the answer.`,
          },
        ],
      }),
    );
  }
  return lines;
}

let vs: VSCodeSession;
let ws: TempWorkspace;
let models: string | undefined;
const curate = curateLines();

before(async () => {
  ws = makeWorkspace({
    'curate.jsonl': curate.join('\n') + '\n',
    'chat.jsonl': chatLines().join('\n') + '\n',
  });
  // A tiny T5 scorer made on the spot (the real ONNX Runtime runs it), outside the workspace.
  models = mkdtempSync(join(tmpdir(), 'winnow-models-'));
  const t5 = generateTinyT5(join(models, 'tiny-t5'));
  vs = await launchVSCode({
    workspace: ws.dir,
    settings: {
      'workbench.colorTheme': 'Default Dark Modern',
      'winnow.askllm.model': t5.dir,
      'winnow.device': 'cpu',
    },
  });
  await vs.waitForExtension(alwaysListedCommandTitle());
});

after(async () => {
  const errors = vs?.consoleErrors.filter(e => /webview|winnow|dataset/i.test(e)) ?? [];
  if (errors.length)
    console.log(`[curation-ui] console errors:\n  ${errors.slice(0, 20).join('\n  ')}`);
  await vs?.close();
  ws?.dispose();
  if (models) rmSync(models, { recursive: true, force: true });
});

/** The data row at view position `position` (0-based). */
function rowAt(view: FrameLocator, position: number): Locator {
  return view.locator(`.grid-body .grid-row[aria-rowindex="${position + 2}"]:not(.loading)`);
}

async function cell(view: FrameLocator, position: number, column: string): Promise<string> {
  const r = rowAt(view, position);
  await r.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  return (await r.locator(`.col-${column}`).innerText()).trim();
}

/** Polls until cell (position, column) satisfies `ok`. */
async function waitForCell(
  view: FrameLocator,
  position: number,
  column: string,
  ok: (text: string) => boolean,
  what: string,
): Promise<string> {
  let last = '';
  try {
    return await poll(
      what,
      async () => {
        last = await cell(view, position, column);
        return ok(last) ? last : undefined;
      },
      TIMEOUTS.webview,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last text: ${JSON.stringify(last)}`);
  }
}

async function scopeText(view: FrameLocator): Promise<string> {
  return (await view.locator('.scope-text').innerText()).trim();
}

/** Content hash v2 of a line, from the hash primitive itself (MurmurHash3 x86_128, seed 0). */
const hash = (line: string) => {
  const bytes = Buffer.from(line, 'utf8');
  const digest = Buffer.alloc(16);
  murmur3x86128(bytes, 0, bytes.length, digest, 0);
  return digest.toString('hex');
};

/**
 * The content frame of the visible dataset view: with two dataset tabs open, the hidden one's
 * webview element can stay in the page.
 */
function activeView(): FrameLocator {
  return vs.page.frameLocator('iframe.webview.ready:visible').frameLocator('iframe#active-frame');
}

async function openDataset(name: string): Promise<FrameLocator> {
  // A file that already has a tab is brought back by clicking its tab, as a user would.
  const tab = vs.page.locator('.tabs-container .tab', { hasText: name }).first();
  if (await tab.isVisible()) await tab.click();
  else await vs.openFile(name);
  const view = activeView();
  try {
    // No second chance: a dataset tab without its webview is a failure, with the state below.
    await rowAt(view, 0).waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  } catch (e) {
    const frames = await vs.page.locator('iframe.webview').evaluateAll(els =>
      els.map(f => {
        const s = getComputedStyle(f);
        const r = f.getBoundingClientRect();
        const p = f.parentElement ? getComputedStyle(f.parentElement) : undefined;
        return `${f.className} vis=${s.visibility} disp=${s.display} parent=${p?.display}/${p?.visibility} ${r.width}x${r.height}@${r.x},${r.y}`;
      }),
    );
    const shot = await vs.screenshot(`curation-failure-${name}`);
    throw new Error(
      `${(e as Error).message}\nwebview iframes: ${frames.join(' | ')}\nscreenshot: ${shot}\n` +
        `tabs: ${(await vs.page.locator('.tabs-container .tab').allInnerTexts()).join(', ')}\n` +
        `console errors: ${vs.consoleErrors.slice(-5).join('\n')}`,
    );
  }
  return view;
}

test('keyboard triage: keep, drop, undo, save to the sidecar, reopen with the decisions', async () => {
  const view = await openDataset('curate.jsonl');
  await vs.screenshot('curation-dark-open');
  const grid = view.locator('[role="grid"]');
  await grid.focus();
  // y keeps and moves on, n drops and moves on, u undoes the last one.
  await vs.page.keyboard.press('y');
  await vs.page.keyboard.press('n');
  await vs.page.keyboard.press('y');
  await waitForCell(view, 2, 'decision', t => t === 'keep', 'line 3 kept');
  await vs.page.keyboard.press('u');
  await waitForCell(view, 2, 'decision', t => !t.includes('keep'), 'the undo of line 3');
  assert.equal(await cell(view, 0, 'decision'), 'keep');
  assert.equal(await cell(view, 1, 'decision'), 'drop');
  assert.equal(await grid.getAttribute('aria-activedescendant'), 'row-3', 'the focus moved on');
  const tab = vs.page.locator('.tabs-container .tab', { hasText: 'curate.jsonl' }).first();
  await poll(
    'the dirty marker',
    async () => ((await tab.getAttribute('class'))?.includes('dirty') ? true : undefined),
    20_000,
  );
  assert.match(await view.locator('.scope-counts').innerText(), /1 kept.*1 dropped/s);
  await vs.screenshot('curation-dark-triage');

  await vs.runCommand('File: Save');
  const sidecar = `${ws.dir}/curate.jsonl.winnow.json`;
  await poll('the sidecar', async () => (existsSync(sidecar) ? true : undefined), 30_000);
  await poll(
    'the clean tab',
    async () => ((await tab.getAttribute('class'))?.includes('dirty') ? undefined : true),
    20_000,
  );
  const saved = JSON.parse(readFileSync(sidecar, 'utf8')) as { keep: string[]; drop: string[] };
  assert.deepEqual(saved.keep, [hash(curate[0])]);
  assert.deepEqual(saved.drop, [hash(curate[1])]);

  await vs.runCommand('View: Close All Editors');
  await vs.page
    .locator('iframe.webview.ready')
    .first()
    .waitFor({ state: 'detached', timeout: TIMEOUTS.webview });
  const again = await openDataset('curate.jsonl');
  await waitForCell(again, 0, 'decision', t => t === 'keep', 'line 1 kept after reopening');
  assert.equal(await cell(again, 1, 'decision'), 'drop');
  assert.ok(!(await cell(again, 2, 'decision')).includes('keep'));
});

test('search and sort over the whole file; the detail panel shows the focused row', async () => {
  const view = activeView();
  await view.locator('[role="grid"]').focus();
  await vs.page.keyboard.press('/');
  const input = view.locator('.search-input');
  await poll(
    'the search box focused',
    async () => ((await input.evaluate(e => e === document.activeElement)) ? true : undefined),
    10_000,
  );
  await vs.page.keyboard.type('volcanoes');
  await vs.page.keyboard.press('Enter');
  const expected = curate.filter(l => l.toLowerCase().includes('volcanoes')).length;
  const scope = await poll(
    'the search result',
    async () => {
      const t = await scopeText(view);
      return t.startsWith(`${expected.toLocaleString('en-US')} of 2,000 rows`) ? t : undefined;
    },
    TIMEOUTS.webview,
  );
  assert.match(scope, /search "volcanoes"/);
  assert.match(await cell(view, 0, 'preview'), /volcanoes/i);
  await vs.screenshot('curation-dark-search');

  // Back to everything, then the longest rows first.
  await view.locator('.scope-bar .link-button', { hasText: 'Show all rows' }).click();
  await poll(
    'all rows',
    async () => ((await scopeText(view)).startsWith('All 2,000 rows') ? true : undefined),
    TIMEOUTS.webview,
  );
  await view.locator('#sort-select').selectOption('length');
  await view.locator('.sort-box .icon-button').click();
  await poll(
    'the length sort',
    async () => ((await scopeText(view)).includes('sorted by length ↓') ? true : undefined),
    TIMEOUTS.webview,
  );
  // The scope line changes at once, the rows with the next paint: poll the rows.
  const maxChars = Math.max(
    ...curate.flatMap(l => {
      try {
        const o = JSON.parse(l) as Record<string, string>;
        return [[o.instruction, o.input, o.output].filter(Boolean).join('\n\n').length];
      } catch {
        return [];
      }
    }),
  );
  let lengths: number[] = [];
  await poll(
    'the longest rows first',
    async () => {
      lengths = (await Promise.all([0, 1, 2, 3].map(p => cell(view, p, 'length')))).map(l =>
        Number(l.replace(/,/g, '')),
      );
      return lengths[0] === maxChars && lengths.every((n, k) => k === 0 || n <= lengths[k - 1])
        ? true
        : undefined;
    },
    TIMEOUTS.webview,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; lengths ${lengths}, longest ${maxChars}`);
  });

  await view.locator('[role="grid"]').focus();
  await vs.page.keyboard.press('Enter');
  const detail = view.locator('.detail');
  await detail.locator('.detail-text').waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const line = Number((await cell(view, 0, 'line')).replace(/,/g, ''));
  assert.equal(
    await detail.locator('.detail-title').innerText(),
    `Line ${line.toLocaleString('en-US')}`,
  );
  assert.match(await detail.locator('.detail-text').innerText(), /More detail\. More detail\./);
  await vs.screenshot('curation-dark-sorted-detail');
});

test('chat turns by role; hostile text in the grid and the detail stays text', async () => {
  const view = await openDataset('chat.jsonl');
  // The preview leaves out the system prompt that every row repeats.
  assert.match(
    await cell(view, 0, 'preview'),
    /^user: Question 1: why do rivers matter\? ⏎ assistant: /,
  );
  await view.locator('[role="grid"]').focus();
  await vs.page.keyboard.press('j');
  await vs.page.keyboard.press('j');
  // Each view keeps its own panels: open the detail here too.
  await vs.page.keyboard.press('Enter');
  const detail = view.locator('.detail');
  await detail
    .locator('.chat-turn')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  assert.equal(await detail.locator('.detail-title').innerText(), 'Line 3');
  const roles = await detail.locator('.chat-role').allInnerTexts();
  assert.deepEqual(roles, ['system', 'user', 'assistant']);
  assert.match(
    await detail.locator('.chat-turn.role-assistant .chat-content').innerText(),
    /<img src=x onerror=/,
  );
  await vs.screenshot('curation-dark-chat-detail');

  const curateView = await openDataset('curate.jsonl');
  const showAll = curateView.locator('.scope-bar .link-button', { hasText: 'Show all rows' });
  if (await showAll.isVisible()) await showAll.click();
  await poll(
    'all rows',
    async () => ((await scopeText(curateView)).startsWith('All 2,000 rows') ? true : undefined),
    TIMEOUTS.webview,
  );
  await curateView.locator('[role="grid"]').focus();
  for (let k = 0; k < 11; k++) await vs.page.keyboard.press('j');
  await waitForCell(curateView, 11, 'preview', t => t.includes('<script>'), 'the hostile row');
  if (!(await curateView.locator('.detail').isVisible())) await vs.page.keyboard.press('Enter');
  await curateView
    .locator('.detail .detail-text')
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  for (const v of [view, curateView]) {
    // An evaluation that fails fails the test: a frame that cannot be read proves nothing. The
    // marker says that this code, and not a missing frame, gave the answer.
    const probe = await v.locator('body').evaluate(() => ({
      evaluated: true,
      pwned: (window as unknown as { __winnowPwned?: unknown }).__winnowPwned ?? null,
      rows: document.querySelectorAll('.grid-body .grid-row').length,
    }));
    assert.equal(probe.evaluated, true);
    assert.ok(probe.rows > 0, 'the probed frame is a dataset view with rows');
    assert.equal(probe.pwned, null, 'dataset content executed in the webview');
  }
  assert.equal(
    await curateView
      .locator(
        '.grid-body img, .grid-body script, .grid-body b, .detail-content img, .detail-content script, .detail-content b',
      )
      .count(),
    0,
  );
  await vs.screenshot('curation-dark-hostile');
});

/**
 * Toggles the Length column through the Columns menu; waits until it is `hidden` or shown. (Not
 * Density: with no density computed it stays hidden for lack of data, whatever the menu says.)
 */
async function toggleLengthColumn(view: FrameLocator, hidden: boolean): Promise<void> {
  await view.locator('.toolbar .icon-button[aria-label="Columns"]').click();
  await view.locator('.column-menu .menu-item', { hasText: 'Length' }).click();
  await poll(
    `the length column ${hidden ? 'hidden' : 'shown'}`,
    async () =>
      (await view.locator('.grid.hide-length').count()) === (hidden ? 1 : 0) ? true : undefined,
    10_000,
  );
  await vs.page.keyboard.press('Escape');
  assert.equal(await view.locator('.grid-header .col-length').isVisible(), !hidden);
}

test('columns hide and come back; the choice survives a reload of the view', async () => {
  const view = await openDataset('curate.jsonl');
  assert.equal(await view.locator('.grid-header .col-length').isVisible(), true, 'shown at first');
  await toggleLengthColumn(view, true);
  // A mark on this webview's window: gone after a real reload.
  type Marked = { __winnowBeforeReload?: boolean };
  await view.locator('body').evaluate(() => ((window as Marked).__winnowBeforeReload = true));
  // Another tab in front: this webview is torn down (retainContextWhenHidden is off). Back on its
  // tab, it starts again from its saved state, with the column still hidden.
  await openDataset('chat.jsonl');
  const reloaded = await openDataset('curate.jsonl');
  await reloaded.locator('.grid').waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const marked = await reloaded
    .locator('body')
    .evaluate(() => (window as Marked).__winnowBeforeReload ?? false);
  assert.equal(marked, false, 'the view was not reloaded');
  assert.equal(await reloaded.locator('.grid.hide-length').count(), 1, 'hidden after the reload');
  assert.equal(await reloaded.locator('.grid-header .col-length').isVisible(), false);
  await toggleLengthColumn(reloaded, false);
});

test('export of the kept rows through the command palette and the file dialog', async () => {
  const view = await openDataset('curate.jsonl');
  if (!(await scopeText(view)).startsWith('All 2,000 rows'))
    await view.locator('.scope-bar .link-button', { hasText: 'Show all rows' }).click();
  await poll(
    'all rows',
    async () => ((await scopeText(view)).startsWith('All 2,000 rows') ? true : undefined),
    TIMEOUTS.webview,
  );
  await view.locator('[role="grid"]').focus();
  await vs.page.keyboard.press('Home');
  for (let k = 0; k < 11; k++) await vs.page.keyboard.press('j');
  // Keep lines 12..15 with a Shift selection (the view is in line order here).
  await vs.page.keyboard.press('Shift+J');
  await vs.page.keyboard.press('Shift+J');
  await vs.page.keyboard.press('Shift+J');
  await vs.page.keyboard.press('y');
  await waitForCell(view, 14, 'decision', t => t === 'keep', 'line 15 kept');
  await vs.runCommand('Winnow: Export Kept Examples');
  // VS Code's own save dialog (a quick input in the browser) proposes <name>.kept.jsonl.
  const input = vs.page.locator('.quick-input-widget input');
  await poll(
    'the save dialog',
    async () => ((await input.inputValue()).endsWith('curate.kept.jsonl') ? true : undefined),
    20_000,
  );
  await vs.screenshot('curation-dark-export-dialog');
  await vs.page.keyboard.press('Enter');
  // Extra formats: none picked, Enter exports the kept rows and the manifest.
  await poll(
    'the format pick',
    async () =>
      (await vs.page.locator('.quick-input-widget').innerText()).includes('JSONL with scores')
        ? true
        : undefined,
    20_000,
  );
  await vs.page.keyboard.press('Enter');
  const target = `${ws.dir}/curate.kept.jsonl`;
  await poll(
    'the export',
    async () => (existsSync(`${target}.manifest.json`) ? true : undefined),
    30_000,
  );
  const expected = [0, 11, 12, 13, 14].map(i => curate[i] + '\n').join('');
  assert.equal(readFileSync(target, 'utf8'), expected);
  // Toasts show only without the smoke-test driver, i.e. with the packaged VSIX installed.
  if (process.env.WINNOW_VSIX)
    await poll(
      'the notification',
      async () =>
        (await vs.notifications()).some(n => n.includes('Exported 5 kept rows')) ? true : undefined,
      20_000,
    );
  await vs.screenshot('curation-dark-exported');
});

test('score with ASK-LLM, sort by score, filter by dragging across the histogram', async () => {
  const view = await openDataset('curate.jsonl');
  if (!(await scopeText(view)).startsWith('All 2,000 rows'))
    await view.locator('.scope-bar .link-button', { hasText: 'Show all rows' }).click();
  // The tiny fixture model (settings): every valid row gets a score.
  await vs.runCommand('Winnow: Score Current File');
  const scoreHistogram = view.locator('.histogram').first();
  await poll(
    'every valid row scored',
    async () =>
      (await scoreHistogram.locator('.histogram-caption').innerText()).endsWith('of 1,998')
        ? true
        : undefined,
    120_000,
    1_000,
  );
  assert.match(await cell(view, 0, 'score'), /^(0\.\d{3}|\d\.\de-\d+)$/);
  // The Tokens column appears with the scores: the prompt tokens the model read for the row.
  await waitForCell(view, 0, 'tokens', t => /^\d+$/.test(t), 'the prompt tokens of line 1');

  // Sort by ASK-LLM score: highest first.
  await view.locator('#sort-select').selectOption('score');
  await poll(
    'the score sort',
    async () => ((await scopeText(view)).includes('sorted by ASK-LLM score ↓') ? true : undefined),
    TIMEOUTS.webview,
  );
  const top = await Promise.all([0, 1, 2, 3, 4, 5].map(p => cell(view, p, 'score')));
  const values = top.map(Number);
  assert.ok(
    values.every((v, k) => k === 0 || v <= values[k - 1]),
    `scores ${top}`,
  );
  await vs.screenshot('curation-dark-sorted-by-score');

  // Drag across the upper half of the bins that hold rows: the filter's count must be the sum of
  // those bins.
  const bins = await scoreHistogram
    .locator('.histogram-bin')
    .evaluateAll(els =>
      els.map(e =>
        Number(/of ([\d,]+)$/.exec(e.getAttribute('title') ?? '')?.[1]?.replace(/,/g, '') ?? 0),
      ),
    );
  const filled = bins.map((c, i) => (c > 0 ? i : -1)).filter(i => i >= 0);
  const from = filled[Math.floor(filled.length / 2)];
  const to = filled[filled.length - 1];
  const expected = bins.slice(from, to + 1).reduce((a, b) => a + b, 0);
  const box = await scoreHistogram.locator('.histogram-bars').boundingBox();
  assert.ok(box, 'the histogram is visible');
  const x = (bin: number) => box.x + ((bin + 0.5) * box.width) / bins.length;
  const y = box.y + box.height / 2;
  await vs.page.mouse.move(x(from), y);
  await vs.page.mouse.down();
  await vs.page.mouse.move(x(to), y, { steps: 6 });
  await vs.page.mouse.up();
  const scope = await poll(
    'the histogram filter',
    async () => {
      const t = await scopeText(view);
      return t.startsWith(`${expected.toLocaleString('en-US')} of 2,000 rows · score `)
        ? t
        : undefined;
    },
    TIMEOUTS.webview,
  );
  console.log(`[curation-ui] histogram bins ${from}..${to} of ${bins.length}: ${scope}`);
  assert.match(
    await scoreHistogram.locator('.histogram-caption').innerText(),
    new RegExp(`^${expected.toLocaleString('en-US')} in view`),
  );
  const [lo, hi] = /score ([\d.e-]+)–([\d.e-]+)/.exec(scope)!.slice(1).map(Number);
  for (const p of [0, 1, 2]) {
    const v = Number(await cell(view, p, 'score'));
    assert.ok(v >= lo - 5e-4 && v <= hi + 5e-4, `row ${p} score ${v} outside ${lo}–${hi}`);
  }
  await vs.screenshot('curation-dark-histogram-filter');
});

test('light theme: the same view in light colours', async () => {
  await vs.switchToLightTheme();
  const view = activeView();
  await rowAt(view, 0).waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const background = await view.locator('body').evaluate(b => getComputedStyle(b).backgroundColor);
  assert.equal(background, 'rgb(255, 255, 255)');
  await vs.screenshot('curation-light-scored');
  await view.locator('[role="grid"]').focus();
  await vs.page.keyboard.press('?');
  await view.locator('.help').waitFor({ state: 'visible', timeout: 10_000 });
  await vs.screenshot('curation-light-help');
  await vs.page.keyboard.press('Escape');

  // The other triage layout (winnow.datasetView.triageKeys = "k/d"): k keeps, d drops, and k
  // no longer moves up. The open view picks the setting up without reopening.
  mkdirSync(join(ws.dir, '.vscode'), { recursive: true });
  writeFileSync(
    join(ws.dir, '.vscode', 'settings.json'),
    JSON.stringify({ 'winnow.datasetView.triageKeys': 'k/d' }),
  );
  const grid = view.locator('[role="grid"]');
  await grid.focus();
  const focused = async () =>
    Number(/^row-(\d+)$/.exec((await grid.getAttribute('aria-activedescendant')) ?? '')?.[1]);
  const at = await focused();
  await poll(
    'the k/d keys in the tooltips',
    async () =>
      /k keeps, d drops|\(k\)|\(d\)/.test(
        (await rowAt(view, at).locator('.col-decision').getAttribute('title')) ?? '',
      )
        ? true
        : undefined,
    20_000,
  );
  const before = [await cell(view, at, 'decision'), await cell(view, at + 1, 'decision')];
  await vs.page.keyboard.press('d');
  await waitForCell(view, at, 'decision', t => t === 'drop', 'd drops the focused row');
  assert.equal(await focused(), at + 1, 'd moved on');
  await vs.page.keyboard.press('k');
  await waitForCell(view, at + 1, 'decision', t => t === 'keep', 'k keeps the focused row');
  assert.equal(await focused(), at + 2, 'k kept and moved on instead of moving up');
  // One undo at a time: VS Code takes each edit onto its undo stack asynchronously.
  await vs.page.keyboard.press('u');
  await waitForCell(view, at + 1, 'decision', t => t === before[1], 'the undo of k');
  await vs.page.keyboard.press('u');
  await waitForCell(view, at, 'decision', t => t === before[0], 'the undo of d');
  writeFileSync(join(ws.dir, '.vscode', 'settings.json'), '{}');
  const chat = await openDataset('chat.jsonl');
  await chat
    .locator('.detail .chat-turn')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  await vs.screenshot('curation-light-chat-detail');
});

test('the curation views break no Content Security Policy rule', () => {
  const violations = vs.consoleErrors.filter(e => /Content Security Policy|Refused to/i.test(e));
  assert.deepEqual(violations, []);
});
