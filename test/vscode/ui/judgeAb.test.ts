// UI test (tier 3b): judge A/B in a real VS Code (code-server + Chromium), as a user does it.
// Two generated tiny-t5 fixtures (different weights) score the same file one after the other
// (the workspace setting winnow.askllm.model changes between the runs); the Judge A/B panel then
// offers the first scorer, the test picks it and checks the flips it reports, and the rows the
// "Show flips" filter leaves, against a helper's count from the fixtures' closed-form P(yes) of
// the same rows (no labels: both keep the same share, half the rows). The detail panel shows both
// scores. Screenshots, dark and light: test-results/screenshots/judge-ab-*.png.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { AutoTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt } from '../../../src/core/askllm/prompt';
import { thresholdForKeepRate } from '../../../src/core/judge';
import { Rng, allWords, generateTinyT5, t5Distribution, type TinyT5 } from '../../support/fixtures';
import { launchVSCode, poll, TIMEOUTS, type VSCodeSession } from '../../support/vscodeServer';

const ROWS = 100;

let vs: VSCodeSession;
let modelRoot: string;
let judgeA: TinyT5;
let judgeB: TinyT5;
const docs: string[] = [];

function settings(model: string): string {
  return JSON.stringify({ 'winnow.askllm.model': model, 'winnow.device': 'cpu' }, null, 2);
}

before(async () => {
  modelRoot = mkdtempSync(join(tmpdir(), 'winnow-ui-ab-'));
  judgeA = generateTinyT5(join(modelRoot, 'judge-a'), { seed: 1234 });
  judgeB = generateTinyT5(join(modelRoot, 'judge-b'), { seed: 777 });
  const rng = new Rng(31);
  const words = allWords();
  for (let i = 0; i < ROWS; i++)
    docs.push(
      Array.from({ length: 4 + rng.int(14) }, () => words[rng.int(words.length)]).join(' '),
    );
  vs = await launchVSCode({
    files: {
      'ab.jsonl': docs.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n',
      '.vscode/settings.json': settings(judgeA.dir),
    },
    settings: { 'workbench.colorTheme': 'Default Dark Modern' },
  });
});

after(async () => {
  await vs?.close();
  if (modelRoot) rmSync(modelRoot, { recursive: true, force: true });
});

/** The fixture's closed-form P(yes) of every row. */
async function closedForm(t5: TinyT5): Promise<number[]> {
  const tok = await AutoTokenizer.from_pretrained(t5.dir);
  return docs.map(d => t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, d)))[t5.yesId]);
}

/** Flips at the same keep rate (half the rows): the helper's own count. */
function helperFlips(a: number[], b: number[]): number {
  // Float32, as the score cache stores them.
  const fa = Float32Array.from(a);
  const fb = Float32Array.from(b);
  const tA = thresholdForKeepRate(fa, 0.5);
  const tB = thresholdForKeepRate(fb, 0.5);
  let n = 0;
  for (let i = 0; i < ROWS; i++) if (fa[i] >= tA !== fb[i] >= tB) n++;
  return n;
}

async function scoreAll(view: FrameLocator, what: string): Promise<void> {
  await vs.runCommand('Winnow: Score Current File');
  await poll(
    what,
    async () => {
      const cap = await view.locator('.histogram-caption').first().innerText();
      return cap.includes(`of ${ROWS}`) ? cap : undefined;
    },
    120_000,
    250,
  ).catch(async e => {
    await vs.screenshot('judge-ab-failure');
    throw new Error(`${(e as Error).message}\n${vs.serverLog().slice(-3000)}`);
  });
  // The run summary and judge-health toasts would cover the panels.
  await vs.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
}

test('two fixture judges score the file: the flips filter shows the rows a helper counts', async () => {
  await vs.waitForExtension('Winnow: Create Prompt Template');
  await vs.openFile('ab.jsonl');
  const view = vs.webview();
  await view
    .locator('.grid-body .grid-row[aria-rowindex="2"]:not(.loading)')
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  await scoreAll(view, 'every row scored by judge A');
  writeFileSync(join(vs.workspace, '.vscode', 'settings.json'), settings(judgeB.dir));
  // The new settings have no scores yet: the histogram empties, then judge B scores.
  await poll(
    'the scores of judge A put away',
    async () =>
      (await view.locator('.histogram-caption').first().innerText()).includes(`of ${ROWS}`)
        ? undefined
        : true,
    30_000,
  );
  await scoreAll(view, 'every row scored by judge B');

  const panel = view.locator('.judge-ab');
  await panel.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const select = view.locator('#compare-select');
  const options = await select.locator('option').allInnerTexts();
  const a = options.find(o => o.includes('judge-a'));
  assert.ok(a, `judge A is offered: ${options.join(' | ')}`);
  assert.ok(!options.some(o => o.includes('judge-b')), 'the current scorer is A, not offered');
  assert.match(a, new RegExp(`\\(${ROWS} rows\\)`));
  await select.selectOption({ label: a });

  const want = helperFlips(await closedForm(judgeB), await closedForm(judgeA));
  assert.ok(want > 0, 'the fixtures disagree on some rows');
  const flips = await poll(
    'the comparison',
    async () => {
      const t = await view.locator('#compare-flips').innerText();
      return t.startsWith(`${want} flips `) ? t : undefined;
    },
    TIMEOUTS.webview,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}; helper ${want}; panel: ${await panel.innerText()}`);
  });
  assert.match(flips, /at the same keep rate 50%/);
  assert.match(
    await view.locator('#compare-correlation').innerText(),
    new RegExp(`^${ROWS} rows scored by both · Spearman -?[\\d.]+ · Kendall τ -?[\\d.]+`),
  );
  await vs.screenshot('judge-ab-1-compare-dark');

  await view.locator('#compare-flips-filter').click();
  await poll(
    'the flips filter',
    async () => {
      const t = await view.locator('.scope-text').innerText();
      return t.startsWith(`${want} of ${ROWS} rows`) ? t : undefined;
    },
    TIMEOUTS.webview,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}; scope: ${await view.locator('.scope-text').innerText()}`);
  });
  // The detail panel of the first flip shows both scores.
  await view.locator('.grid-body .grid-row[aria-rowindex="2"]:not(.loading)').click();
  const detail = view.locator('.detail');
  if (!(await detail.isVisible())) {
    await view.locator('[role="grid"]').focus();
    await vs.page.keyboard.press('Enter');
  }
  await poll(
    'both scores in the detail panel',
    async () => {
      const t = await detail.innerText();
      return /ASK-LLM P\(yes\)/.test(t) && /Second scorer \(B\) P\(yes\)[\s\S]*judge-a/.test(t)
        ? t
        : undefined;
    },
    TIMEOUTS.webview,
  );
  await vs.screenshot('judge-ab-2-flips-dark');
  await vs.switchToLightTheme();
  await panel.waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  await vs.screenshot('judge-ab-3-flips-light');
});
