// UI test (tier 3b): judging the judge in a real VS Code (code-server + Chromium), as a user
// does it. A generated tiny-t5 fixture scores a generated file; the test labels rows with the
// keyboard (y / n) and checks that the calibration panel shows the AUC a helper computes here
// from the same data (the fixture's closed-form P(yes) and the same labels, by counting pairs);
// it then applies "Keep rows at or above the threshold", checks the kept count against the
// helper, undoes it, and looks at the run's judge-health warning. Screenshots, dark and light:
// test-results/screenshots/calibration-*.png.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { AutoTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt } from '../../../src/core/askllm/prompt';
import { calibrate } from '../../../src/core/judge';
import { Rng, allWords, generateTinyT5, t5Distribution, type TinyT5 } from '../../support/fixtures';
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
  modelRoot = mkdtempSync(join(tmpdir(), 'winnow-ui-judge-'));
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
      'judge.jsonl': docs.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n',
    },
    settings: {
      'workbench.colorTheme': 'Default Dark Modern',
      'winnow.askllm.model': t5.dir,
      'winnow.device': 'cpu',
    },
  });
});

after(async () => {
  await vs?.close();
  if (modelRoot) rmSync(modelRoot, { recursive: true, force: true });
});

/** AUC by counting every (kept, dropped) pair of labelled rows: the helper's own figure. */
function pairwiseAuc(): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < LABELLED; i++)
    for (let j = 0; j < LABELLED; j++)
      if (labels[i] && !labels[j]) {
        pairs++;
        wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
  return wins / pairs;
}

/** The 3 significant digits the panel prints (exponent form below 0.001). */
const three = (v: number): string =>
  v !== 0 && Math.abs(v) < 0.001 ? v.toExponential(2) : String(Number(v.toPrecision(3)));

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

test('score, label with the keyboard: the calibration panel shows the AUC of the same data; apply the threshold, undo it', async () => {
  await vs.waitForExtension('Winnow: Create Prompt Template');
  await vs.openFile('judge.jsonl');
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
  ).catch(async e => {
    await vs.screenshot('calibration-failure');
    throw new Error(`${(e as Error).message}\n${vs.serverLog().slice(-3000)}`);
  });
  // The run's judge health: the tiny fixture's yes and no get little of its mass.
  await vs.runCommand('Notifications: Show Notifications');
  const health = await poll(
    'the judge-health warning',
    async () =>
      (
        await vs.page
          .locator('.notifications-center .notification-list-item, .notification-toast')
          .allInnerTexts()
      ).find(t => t.includes('judge health of judge.jsonl')),
    TIMEOUTS.hover,
  );
  assert.match(health, /Yes and no together get .* the prompt does not fit this model/);
  await vs.screenshot('calibration-1-health');
  await vs.hideNotifications();

  // Label the first rows with the keyboard: y keeps, n drops, each moves to the next row.
  const panel = view.locator('.calibration');
  assert.match(await panel.innerText(), /Needs kept and dropped rows/);
  await view.locator('[role="grid"]').focus();
  for (const keep of labels) await vs.page.keyboard.press(keep ? 'y' : 'n');
  const kept = labels.filter(Boolean).length;
  const dropped = LABELLED - kept;
  await waitForCounts(
    view,
    new RegExp(`✓ ${kept} kept.*✗ ${dropped} dropped`),
    'the labels counted',
  );

  const want = pairwiseAuc();
  const auc = await poll(
    'the calibration AUC',
    async () => {
      const t = await view.locator('.calibration-auc').innerText();
      return t.startsWith(`AUC ${three(want)} (95%: `) ? t : undefined;
    },
    TIMEOUTS.webview,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}; helper AUC ${want}; panel: ${await panel.innerText()}`);
  });
  const text = await panel.innerText();
  assert.match(text, new RegExp(`Labels: ${kept} kept · ${dropped} dropped`));
  assert.match(text, /Rests on \d+ kept and \d+ dropped rows: with fewer than 30 of each/);
  assert.match(text, /precision .* · recall .* · κ /);
  // The threshold the helper's calibration of the same data picks, marked on the histogram.
  const c = calibrate(scores.slice(0, LABELLED), labels, { replicates: 0 });
  assert.ok(c.threshold !== null);
  assert.match(text, new RegExp(`Threshold ${three(c.threshold).replace(/[.+]/g, '\\$&')} `));
  assert.equal(await view.locator('.histogram-marker:not(.hidden)').count(), 1);
  await vs.screenshot('calibration-2-labelled-dark');

  // Keep rows at or above the threshold: the unlabelled scored rows ≥ it; labels stay.
  const t = c.threshold;
  const above = scores.filter((s, i) => i >= LABELLED && s >= t).length;
  await view.locator('#keep-calibrated').click();
  await waitForCounts(
    view,
    new RegExp(`✓ ${kept + above} kept.*✗ ${dropped} dropped`),
    `${kept + above} kept after applying the threshold`,
  );
  assert.equal(await view.locator('.calibration-auc').innerText(), auc, 'the labels are the same');
  await vs.screenshot('calibration-3-applied-dark');

  await view.locator('[role="grid"]').focus();
  await vs.page.keyboard.press('u');
  await waitForCounts(view, new RegExp(`✓ ${kept} kept.*✗ ${dropped} dropped`), 'the undo');

  await vs.switchToLightTheme();
  await view.locator('.calibration-auc').waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  await vs.screenshot('calibration-4-light');
});
