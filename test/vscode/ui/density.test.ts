// UI test (tier 3b): DENSITY as a user does it, in a real VS Code (code-server) driven by
// Chromium. The workspace's settings.json points winnow.density.model at a generated tiny-bert
// fixture folder; the test opens a generated .jsonl (three topic clusters plus planted
// duplicates) in the dataset view, runs "Winnow: Compute Density" from the command palette,
// waits for the completion notification, checks that the grid's Density column shows ranks
// (duplicates near the bottom: dense), then reopens the file as text and checks that the hover
// shows the rank next to ASK-LLM. Screenshots: test-results/screenshots/density-*.png.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { writeDensityDataset, type DensityDataset } from '../../support/densityData';
import { generateTinyBert, type TinyBert } from '../../support/fixtures';
import { launchVSCode, poll, TIMEOUTS, type VSCodeSession } from '../../support/vscodeServer';

let vs: VSCodeSession;
let root: string;
let bert: TinyBert;
let data: DensityDataset;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-ui-density-'));
  bert = generateTinyBert(join(root, 'tiny-bert'));
  data = writeDensityDataset(join(root, 'data.jsonl'), { rows: 120, duplicates: 12, invalid: 1 });
  vs = await launchVSCode({
    files: {
      'data.jsonl': readFileSync(data.path, 'utf8'),
      '.vscode/settings.json': JSON.stringify(
        { 'winnow.density.model': bert.dir, 'winnow.device': 'cpu' },
        null,
        2,
      ),
    },
  });
});

after(async () => {
  await vs?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Line (1-based) → the Density cell text of the grid rows painted now. */
async function densityCells(view: FrameLocator): Promise<Map<number, string>> {
  const rows = await view
    .locator('.grid-body .grid-row:not(.loading)')
    .evaluateAll(els =>
      els.map(e => [
        Number(e.getAttribute('aria-rowindex')) - 1,
        (e.querySelector('.col-density') as HTMLElement | null)?.innerText ?? '',
      ]),
    );
  return new Map(rows as [number, string][]);
}

test('Compute Density from the palette fills the Density column; the text hover shows the rank', async () => {
  // Compute Density is only offered with a dataset open; this command is always in the palette.
  await vs.waitForExtension('Winnow: Show Worker Log');
  await vs.openFile('data.jsonl');
  const view = vs.webview();
  await view
    .locator('.grid-body .grid-row:not(.loading)')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });

  await vs.runCommand('Winnow: Compute Density');
  // The grid's Density column fills once the run is done (the worker's didChangeColumns).
  const cells = await poll(
    'ranks in the Density column',
    async () => {
      const c = await densityCells(view);
      const ranked = [...c.values()].filter(t => /^\d[\d,]*$/.test(t.trim()));
      return ranked.length >= 10 ? c : undefined;
    },
    120_000,
    250,
  ).catch(async e => {
    await vs.screenshot('density-failed');
    throw new Error(`${(e as Error).message}\n${vs.serverLog().slice(-2000)}`);
  });
  // The summary notification (read from the notification center: in headless Chromium a toast
  // is only drawn on the next animation frame, which an idle page may not get).
  await vs.runCommand('Notifications: Show Notifications');
  const center = vs.page.locator('.notifications-center');
  const done = await poll(
    'the DENSITY notification',
    async () =>
      (await center.allInnerTexts()).find(x => x.includes('Winnow: DENSITY of data.jsonl:')),
    TIMEOUTS.hover,
  );
  await vs.screenshot('density-1-done');
  await vs.hideNotifications();
  const valid = data.lines.length - data.invalid.length;
  assert.match(
    done,
    new RegExp(`${valid} rows \\(${valid} embedded, 0 from the cache, 1 invalid line skipped\\)`),
  );

  // Page down through the grid until every planted duplicate has been painted, so that each
  // one is checked (the file is longer than a screen).
  const seen = new Map(cells);
  const isRank = (t: string | undefined) => t !== undefined && /^\d[\d,]*$/.test(t.trim());
  await view.locator('[role="grid"]').focus();
  await poll(
    'every planted duplicate painted with its rank',
    async () => {
      for (const [line1, t] of await densityCells(view)) seen.set(line1, t);
      if (data.duplicates.every(line => isRank(seen.get(line + 1)))) return true;
      await vs.page.keyboard.press('PageDown');
      return undefined;
    },
    TIMEOUTS.webview,
    250,
  );
  // Every valid painted row has a rank; the planted duplicates are among the densest.
  for (const [line1, t] of seen)
    assert.equal(isRank(t), !data.invalid.includes(line1 - 1), `line ${line1} shows "${t}"`);
  for (const line of data.duplicates) {
    const t = seen.get(line + 1) ?? '';
    assert.ok(
      Number(t.replace(/,/g, '')) > 0.8 * valid,
      `duplicate line ${line + 1} shows rank ${t}`,
    );
  }
  await vs.screenshot('density-2-column');

  await vs.runCommand('Winnow: Open as Text');
  await vs.page
    .locator('.monaco-editor .view-lines')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  const line = data.duplicates[0] + 1;
  const text = await vs.hoverText(line, 5, t => /DENSITY: rank/.test(t));
  assert.match(text, new RegExp(`DENSITY: rank [\\d,]+ of ${valid} \\(1 = most isolated\\)`));
  assert.match(text, /ASK-LLM/);
  assert.ok(text.indexOf('ASK-LLM') < text.indexOf('DENSITY'), text);
  await vs.runCommand('Show or Focus Hover');
  await vs.page
    .locator('.monaco-hover:not(.hidden) .monaco-hover-content')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.hover });
  await vs.screenshot('density-3-hover');
  await vs.page.keyboard.press('Escape');
});
