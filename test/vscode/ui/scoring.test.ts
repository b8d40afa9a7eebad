// UI test (tier 3b): ASK-LLM scoring as a user does it, in a real VS Code (code-server) driven by
// Chromium. The workspace's settings.json points winnow.askllm.model at a generated tiny-t5
// fixture folder; the test opens a generated .jsonl (in the dataset view), runs
// "Winnow: Score Current File" from the command palette, waits for the completion notification,
// reopens the file as text, hovers a line and checks that the hover shows the probability the
// fixture's closed form predicts, and that the inline scores of the painted lines show their rows'
// closed-form values. Screenshots: test-results/screenshots/scoring-*.png.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AutoTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt } from '../../../src/core/askllm/prompt';
import { Rng, allWords, generateTinyT5, t5Distribution, type TinyT5 } from '../../support/fixtures';
import { assertProbability } from '../../support/probability';
import { launchVSCode, poll, TIMEOUTS, type VSCodeSession } from '../../support/vscodeServer';

const ROWS = 60;
let vs: VSCodeSession;
let modelRoot: string;
let t5: TinyT5;
const docs: string[] = [];

before(async () => {
  modelRoot = mkdtempSync(join(tmpdir(), 'winnow-ui-model-'));
  t5 = generateTinyT5(join(modelRoot, 'tiny-t5'));
  const rng = new Rng(11);
  const words = allWords();
  for (let i = 0; i < ROWS; i++)
    docs.push(
      Array.from({ length: 4 + rng.int(16) }, () => words[rng.int(words.length)]).join(' '),
    );
  vs = await launchVSCode({
    files: {
      'data.jsonl': docs.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n',
      '.vscode/settings.json': JSON.stringify(
        { 'winnow.askllm.model': t5.dir, 'winnow.device': 'auto' },
        null,
        2,
      ),
    },
  });
});

after(async () => {
  await vs?.close();
  if (modelRoot) rmSync(modelRoot, { recursive: true, force: true });
});

test('Score Current File from the palette, then the hover shows the closed-form P(yes)', async () => {
  await vs.waitForExtension('Winnow: Create Prompt Template');
  await vs.openFile('data.jsonl');
  await vs.webview().locator('body').waitFor({ state: 'attached', timeout: TIMEOUTS.webview });
  await vs.screenshot('scoring-1-dataset-view');

  await vs.runCommand('Winnow: Score Current File');
  // Completion: the status bar goes back to idle and names the device of the loaded model.
  const statusItem = vs.page.locator('.statusbar-item', { hasText: 'Winnow:' });
  const status = await poll(
    'the status bar to show "idle · CPU · ORT 1.30.0"',
    async () => {
      const texts = await statusItem.allInnerTexts();
      return texts.find(t => /Winnow: idle · CPU · ORT 1\.30\.0/.test(t));
    },
    120_000,
    250,
  ).catch(async e => {
    await vs.screenshot('scoring-failure');
    throw new Error(`${(e as Error).message}\n${vs.serverLog().slice(-3000)}`);
  });
  assert.match(status, /idle · CPU · ORT 1\.30\.0/);
  // Hovering names the model, the device and ONNX Runtime, and every device tried before it.
  const tooltip = await poll(
    'the status-bar hover with the devices tried',
    async () => {
      await statusItem.first().hover({ force: true });
      const texts = await vs.page
        .locator('.monaco-hover:not(.hidden), .workbench-hover')
        .allInnerTexts();
      return texts.find(t => /Devices tried/.test(t));
    },
    20_000,
    500,
  ).catch(async e => {
    await vs.screenshot('scoring-status-hover-failure');
    const shown = await vs.page.locator('.monaco-hover, .workbench-hover').allInnerTexts();
    throw new Error(`${(e as Error).message}; hovers shown: ${JSON.stringify(shown)}`);
  });
  assert.match(tooltip, /CPU \(ONNX Runtime 1\.30\.0\)[\s\S]*CUDA: skipped/);
  await vs.screenshot('scoring-status-hover');
  await vs.page.mouse.move(0, 0);
  // The completion message: a toast, or in the notification centre when toasts are suppressed
  // (a development-extension run uses the smoke-test driver, which hides toasts).
  await vs.runCommand('Notifications: Show Notifications');
  const done = await poll(
    'the "scored" notification',
    async () => {
      const texts = await vs.page
        .locator('.notifications-center .notification-list-item, .notification-toast')
        .allInnerTexts();
      return texts.find(t => t.includes('Winnow: scored data.jsonl'));
    },
    TIMEOUTS.hover,
  );
  assert.match(done, new RegExp(`${ROWS} of ${ROWS} rows have scores`));
  assert.match(done, /on cpu/);
  await vs.screenshot('scoring-2-done');
  await vs.hideNotifications();

  await vs.runCommand('Winnow: Open as Text');
  await vs.page
    .locator('.monaco-editor .view-lines')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const line = 3; // 1-based editor line, row index 2
  const text = await vs.hoverText(line, 5, t => /P\(yes\) = /.test(t));
  const shown = Number(/P\(yes\) = ([0-9.e-]+)/.exec(text)?.[1]);
  const tok = await AutoTokenizer.from_pretrained(t5.dir);
  const want = t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, docs[line - 1])))[t5.yesId];
  assertProbability(shown, want, `hover shows ${shown}\n${text}`, { printed: true });
  assert.match(text, /percentile in this file/);
  assert.match(text, /prompt ASK-LLM \(paper\)/);

  // Keep the hover on screen for the screenshot.
  await vs.runCommand('Show or Focus Hover');
  await vs.page
    .locator('.monaco-hover:not(.hidden) .monaco-hover-content')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.hover });
  await vs.screenshot('scoring-3-hover');
  await vs.page.keyboard.press('Escape');

  // Inlay hints show the score at the end of the lines. VS Code renders them as injected text,
  // through CSS generated content or as spans of their own, so both are read; each editor line
  // names its row by the `"id"` of its JSON text.
  const hints = await poll(
    'inline scores',
    async () => {
      const found = await vs.page.evaluate(() => {
        const out: { id: number; hint: string }[] = [];
        for (const line of Array.from(document.querySelectorAll('.monaco-editor .view-line'))) {
          const id = /"id":\s*(\d+)/.exec(line.textContent ?? '')?.[1];
          const texts: string[] = [];
          for (const el of Array.from(line.querySelectorAll('span'))) {
            for (const pseudo of ['::before', '::after']) {
              const c = getComputedStyle(el, pseudo).content;
              if (c && c !== 'none' && c !== 'normal') texts.push(c);
            }
            if (el.children.length === 0 && el.textContent) texts.push(el.textContent);
          }
          // Rendered with a non-breaking space.
          const hint = texts.find(t => /ASK-LLM\s\d/.test(t));
          if (id !== undefined && hint !== undefined) out.push({ id: Number(id), hint });
        }
        return out;
      });
      return found.length >= 5 ? found : undefined;
    },
    TIMEOUTS.hover,
  ).catch(async e => {
    const html = await vs.page.evaluate(
      () => document.querySelector('.monaco-editor .view-lines .view-line')?.outerHTML ?? '',
    );
    throw new Error(`${(e as Error).message}; first line: ${html}`);
  });
  // Each shown value is its row's closed-form P(yes), to the three digits the hint prints.
  for (const { id, hint } of hints) {
    const shown = Number(/ASK-LLM\s([0-9.e+-]+)/.exec(hint)?.[1]);
    const want = t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, docs[id])))[t5.yesId];
    assertProbability(shown, want, `inline score of row ${id}: "${hint}"`, { printed: 3 });
  }
  await vs.screenshot('scoring-4-inline');
});
