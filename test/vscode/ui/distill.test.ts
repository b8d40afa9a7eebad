// UI test (tier 3b): the distilled scorer in a real VS Code (code-server + Chromium), as a user
// does it. The tiny-t5 fixture judge scores a generated file, the tiny-bert fixture computes
// DENSITY, then "Winnow: Score the Rest with the Distilled Model" fits the distilled scorer: the
// view shows its own Distilled column (marked "d", its tooltip says what it was fitted on) beside
// the ASK-LLM one; labelling rows with the keyboard moves the calibrated threshold and its
// interval. Screenshots, dark and light: test-results/screenshots/distill-*.png.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { AutoTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt } from '../../../src/core/askllm/prompt';
import {
  Rng,
  allWords,
  generateTinyBert,
  generateTinyT5,
  t5Distribution,
  type TinyT5,
} from '../../support/fixtures';
import { launchVSCode, poll, TIMEOUTS, type VSCodeSession } from '../../support/vscodeServer';

const ROWS = 120;
/** Rows labelled with the keyboard, from the top of the file. */
const LABELLED = 48;

let vs: VSCodeSession;
let modelRoot: string;
let t5: TinyT5;
const docs: string[] = [];
/** The fixture's closed-form P(yes) of each row. */
let scores: number[] = [];
/** The label of each of the first LABELLED rows: keep above the median score, every 4th flipped. */
let labels: boolean[] = [];

before(async () => {
  modelRoot = mkdtempSync(join(tmpdir(), 'winnow-ui-distill-'));
  t5 = generateTinyT5(join(modelRoot, 'tiny-t5'));
  const rng = new Rng(23);
  const words = allWords();
  for (let i = 0; i < ROWS; i++)
    docs.push(
      Array.from({ length: 4 + rng.int(14) }, () => words[rng.int(words.length)]).join(' '),
    );
  const tok = await AutoTokenizer.from_pretrained(t5.dir);
  scores = docs.map(d => t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, d)))[t5.yesId]);
  const median = [...scores.slice(0, LABELLED)].sort((a, b) => a - b)[LABELLED / 2];
  labels = scores.slice(0, LABELLED).map((s, i) => s >= median !== (i % 4 === 3));
  vs = await launchVSCode({
    files: {
      'distill.jsonl': docs.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n',
    },
    settings: {
      'workbench.colorTheme': 'Default Dark Modern',
      'winnow.askllm.model': t5.dir,
      'winnow.density.model': generateTinyBert(join(modelRoot, 'tiny-bert')).dir,
      'winnow.device': 'cpu',
    },
  });
});

after(async () => {
  await vs?.close();
  if (modelRoot) rmSync(modelRoot, { recursive: true, force: true });
});

async function counts(view: FrameLocator): Promise<string> {
  return (await view.locator('.scope-counts').innerText()).replace(/\s+/g, ' ');
}

async function waitForCounts(view: FrameLocator, re: RegExp, what: string): Promise<string> {
  let last = '';
  return poll(
    what,
    async () => {
      last = await counts(view);
      return re.test(last) ? last : undefined;
    },
    TIMEOUTS.webview,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; counts: ${last}`);
  });
}

/** The calibration panel's threshold line, e.g. "Threshold 0.412 (95%: 0.3–0.5) …". */
async function thresholdLine(view: FrameLocator): Promise<string> {
  const text = await view.locator('.calibration').innerText();
  return text.split('\n').find(l => l.startsWith('Threshold')) ?? '';
}

async function label(view: FrameLocator, vs: VSCodeSession, from: number, to: number) {
  await view.locator('[role="grid"]').focus();
  for (const keep of labels.slice(from, to)) await vs.page.keyboard.press(keep ? 'y' : 'n');
  const kept = labels.slice(0, to).filter(Boolean).length;
  await waitForCounts(
    view,
    new RegExp(`✓ ${kept} kept.*✗ ${to - kept} dropped`),
    `${to} rows labelled`,
  );
}

test('score, density, distill from the view: a labelled Distilled column; labels move the threshold', async () => {
  await vs.waitForExtension('Winnow: Create Prompt Template');
  await vs.openFile('distill.jsonl');
  const view = vs.webview();
  await view
    .locator('.grid-body .grid-row[aria-rowindex="2"]:not(.loading)')
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  await vs.runCommand('Winnow: Score Current File');
  await poll(
    'every row scored',
    async () => {
      const cap = await view.locator('.histogram-caption').first().innerText();
      return cap.includes(`of ${ROWS}`) ? cap : undefined;
    },
    120_000,
    250,
  );
  await vs.hideNotifications().catch(() => undefined);
  await vs.runCommand('Winnow: Compute Density');
  await view
    .locator('.grid-header [data-col="density"], .grid-header .col-density')
    .first()
    .waitFor({ state: 'visible', timeout: 120_000 })
    .catch(() => undefined);
  await poll(
    'density ranks in the grid',
    async () => {
      const t = await view
        .locator('.grid-body .grid-row[aria-rowindex="2"] .col-density')
        .innerText();
      return /^\d/.test(t.trim()) ? t : undefined;
    },
    120_000,
    250,
  ).catch(async e => {
    await vs.screenshot('distill-failure');
    throw new Error(`${(e as Error).message}\n${vs.serverLog().slice(-3000)}`);
  });
  await vs.hideNotifications().catch(() => undefined);

  // Fit the distilled scorer: its own column, marked "d", never the ASK-LLM cell.
  await vs.runCommand('Winnow: Score the Rest with the Distilled Model');
  const cell = view.locator('.grid-body .grid-row[aria-rowindex="2"] .col-distilled');
  const text = await poll(
    'the Distilled column',
    async () => {
      const t = (await cell.innerText().catch(() => '')).trim();
      return / d$/.test(t) ? t : undefined;
    },
    120_000,
    250,
  ).catch(async e => {
    await vs.screenshot('distill-failure');
    throw new Error(`${(e as Error).message}\n${vs.serverLog().slice(-3000)}`);
  });
  assert.match(text, /^[0-9.e-]+ d$/);
  assert.match(
    (await cell.getAttribute('title')) ?? '',
    /^Distilled .* \(not the ASK-LLM score\): fit on \d+ judge scores, Spearman ρ=/,
  );
  const score = (
    await view.locator('.grid-body .grid-row[aria-rowindex="2"] .col-score').innerText()
  ).trim();
  assert.doesNotMatch(score, / d$/, 'the ASK-LLM cell stays the judge score');
  assert.match(await view.locator('.grid-header').innerText(), /Distilled/);
  const notes = await vs.page.locator('.notification-toast, .notifications-center').allInnerTexts();
  await vs.screenshot('distill-1-column-dark');
  await vs.hideNotifications().catch(() => undefined);

  // Labels move the calibrated threshold and its interval, live.
  await label(view, vs, 0, LABELLED / 2);
  const first = await poll(
    'a calibrated threshold',
    async () => (await thresholdLine(view)) || undefined,
    TIMEOUTS.webview,
  );
  await label(view, vs, LABELLED / 2, LABELLED);
  const second = await poll(
    'the threshold after more labels',
    async () => {
      const t = await thresholdLine(view);
      return t && t !== first ? t : undefined;
    },
    TIMEOUTS.webview,
  );
  assert.notEqual(second, first, `${first} → ${second}; ${notes.join(' | ')}`);
  await vs.screenshot('distill-2-labelled-dark');
  await vs.switchToLightTheme();
  await view.locator('.calibration').waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  await vs.screenshot('distill-3-light');
});
