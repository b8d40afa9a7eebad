// UI test (tier 3b): the embedding map as a user drives it, in a real VS Code (code-server)
// with Chromium. The workspace points the scorer at a tiny-t5 fixture and DENSITY at a tiny-bert
// fixture; the file has three topic clusters and a planted cluster of copies (same text,
// different ids). The test scores the file, computes DENSITY, opens the map, draws a lasso with
// mouse events around the planted cluster, checks that the selection holds exactly the rows
// inside the polygon (computed here from the worker's layout cache file), keeps them and
// undoes it, colours by score, finds near-duplicates and keeps one per group, then takes
// screenshots in the dark and light themes (test-results/screenshots/map-*.png).
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { contentHash } from '../../../src/core/jsonl';
import { LAYOUT_MAGIC, readMapFile } from '../../../src/core/map/mapFiles';
import { writeDensityDataset, type DensityDataset } from '../../support/densityData';
import { generateTinyBert, generateTinyT5 } from '../../support/fixtures';
import { launchVSCode, poll, TIMEOUTS, type VSCodeSession } from '../../support/vscodeServer';

let vs: VSCodeSession;
let root: string;
let data: DensityDataset;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-ui-map-'));
  const bert = generateTinyBert(join(root, 'tiny-bert'));
  const t5 = generateTinyT5(join(root, 'tiny-t5'));
  data = writeDensityDataset(join(root, 'data.jsonl'), { rows: 240, duplicates: 20, invalid: 1 });
  vs = await launchVSCode({
    files: {
      'data.jsonl': readFileSync(data.path, 'utf8'),
      '.vscode/settings.json': JSON.stringify(
        { 'winnow.density.model': bert.dir, 'winnow.askllm.model': t5.dir, 'winnow.device': 'cpu' },
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

/** Every file under `dir` whose name ends with `suffix`. */
function findFiles(dir: string, suffix: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findFiles(p, suffix, out);
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

/** Per line: its map position, from the worker's layout cache (items = sorted content hashes). */
async function layoutOfLines(): Promise<{ x: number[]; y: number[] }> {
  const [path] = findFiles(vs.server.runDir, '.layout.wnml');
  assert.ok(path, 'the layout cache file');
  const file = await readMapFile(LAYOUT_MAGIC, path);
  assert.ok(file);
  const hashes = data.lines.map(l => contentHash(Buffer.from(l, 'utf8')));
  const items = [...new Set(hashes.filter((_, i) => !data.invalid.includes(i)))].sort();
  assert.equal(items.length, file.meta.items);
  const fx = new Float32Array(file.columns[0].buffer);
  const fy = new Float32Array(file.columns[1].buffer);
  const at = new Map(items.map((h, k) => [h, k]));
  const x = hashes.map((h, i) => (data.invalid.includes(i) ? NaN : fx[at.get(h)!]));
  const y = hashes.map((h, i) => (data.invalid.includes(i) ? NaN : fy[at.get(h)!]));
  return { x, y };
}

/** Even-odd ray casting, written here apart from the webview's own. */
function inside(px: number, py: number, poly: [number, number][]): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

async function waitForColumn(view: FrameLocator, column: string, pattern: RegExp): Promise<void> {
  await poll(
    `values in the ${column} column`,
    async () => {
      const texts = await view
        .locator(`.grid-body .grid-row:not(.loading) .col-${column}`)
        .allInnerTexts();
      return texts.filter(t => pattern.test(t.trim())).length >= 10 ? true : undefined;
    },
    180_000,
    300,
  ).catch(async e => {
    await vs.screenshot(`map-failed-${column}`);
    throw new Error(`${(e as Error).message}\n${vs.serverLog().slice(-2000)}`);
  });
}

/** The workbench's theme kind now. */
const theme = async () =>
  (await vs.page.locator('.monaco-workbench.vs-dark, .monaco-workbench.hc-black').count()) > 0
    ? 'dark'
    : 'light';

const keptCount = async (view: FrameLocator) =>
  Number(
    /([\d,]+) kept/.exec(await view.locator('.scope-counts').innerText())?.[1]?.replace(/,/g, '') ??
      0,
  );

test('the map: lasso a planted cluster, keep and undo, colour by score, near-duplicates', async () => {
  await vs.waitForExtension('Winnow: Show Worker Log');
  await vs.openFile('data.jsonl');
  const view = vs.webview();
  await view
    .locator('.grid-body .grid-row:not(.loading)')
    .first()
    .waitFor({ state: 'visible', timeout: TIMEOUTS.webview });
  await vs.runCommand('Winnow: Score Current File');
  await waitForColumn(view, 'score', /^\d\.\d{3}|e-/);
  await vs.runCommand('Winnow: Compute Density');
  await waitForColumn(view, 'density', /^\d[\d,]*$/);
  // The run summaries go to the notification centre, out of the way of the screenshots.
  await vs.runCommand('Notifications: Show Notifications');
  await vs.hideNotifications();

  await view.locator('.map-toggle').click();
  const canvas = view.locator('.map-canvas');
  await poll(
    'the map drawn',
    async () => {
      const status = await view.locator('.map-status').innerText();
      return /rows/.test(status) && Number(await canvas.getAttribute('data-frames')) > 0
        ? status
        : undefined;
    },
    120_000,
    250,
  );
  await vs.screenshot(`map-1-${await theme()}`);
  const renderer = await canvas.getAttribute('data-renderer');

  // A polygon around the planted copies, its edge in empty space (no point within 5 px of it).
  const { x, y } = await layoutOfLines();
  const t = JSON.parse((await canvas.getAttribute('data-transform'))!) as {
    cx: number;
    cy: number;
    k: number;
    width: number;
    height: number;
  };
  const cx = data.duplicates.reduce((a, i) => a + x[i], 0) / data.duplicates.length;
  const cy = data.duplicates.reduce((a, i) => a + y[i], 0) / data.duplicates.length;
  const dist = x.map((xi, i) => Math.hypot(xi - cx, y[i] - cy));
  const margin = 5 / t.k;
  let r = Math.max(...data.duplicates.map(i => dist[i])) + margin;
  while (dist.some(d => Math.abs(d - r) < margin)) r += margin / 2;
  const polygon: [number, number][] = Array.from({ length: 24 }, (_, k) => [
    cx + r * Math.cos((2 * Math.PI * k) / 24),
    cy + r * Math.sin((2 * Math.PI * k) / 24),
  ]);
  const want = x.filter((xi, i) => xi === xi && inside(xi, y[i], polygon)).length;
  assert.ok(
    want >= data.duplicates.length,
    `${want} rows inside, planted ${data.duplicates.length}`,
  );
  const box = (await canvas.boundingBox())!;
  const screen = polygon.map(([px, py]) => [
    box.x + (px - t.cx) * t.k + t.width / 2,
    box.y + t.height / 2 - (py - t.cy) * t.k,
  ]);
  await vs.page.mouse.move(screen[0][0], screen[0][1]);
  await vs.page.mouse.down();
  for (const [sx, sy] of [...screen.slice(1), screen[0]])
    await vs.page.mouse.move(sx, sy, { steps: 4 });
  await vs.page.mouse.up();
  const selected = await poll(
    'the selection',
    async () => {
      const m = /([\d,]+) rows? selected/.exec(
        await view.locator('.map-selection-count').innerText(),
      );
      return m ? Number(m[1].replace(/,/g, '')) : undefined;
    },
    10_000,
  );
  assert.equal(selected, want, `selected ${selected}, inside the polygon ${want}`);
  await vs.screenshot(`map-2-lasso-${await theme()}`);

  // Keep them (one edit), then undo it.
  await view.locator('.map-selection button[data-action="keep"]').click();
  await poll(
    'the rows kept',
    async () => ((await keptCount(view)) === want ? true : undefined),
    20_000,
  );
  await view.locator('.toolbar button[aria-label="Undo"]').click();
  await poll(
    'the keep undone',
    async () => ((await keptCount(view)) === 0 ? true : undefined),
    20_000,
  );

  // Colour by score: the legend shows the score range.
  await view.locator('.map-color').selectOption('score');
  const legend = await poll(
    'the score legend',
    async () => {
      const text = await view.locator('.map-legend').innerText();
      return /not scored/.test(text) && /\d\.\d/.test(text) ? text : undefined;
    },
    10_000,
  );
  assert.match(legend, /not scored/);
  await vs.screenshot(`map-3-score-${await theme()}`);

  // Near-duplicates: the planted copies form a group; keep one per group (first row), undo.
  await view.locator('.duplicates-find').click();
  const summary = await poll(
    'the groups found',
    async () => {
      const text = await view.locator('.duplicates-summary').innerText();
      return /groups?,/.test(text) ? text : undefined;
    },
    120_000,
  );
  const groups = Number(/([\d,]+) groups?/.exec(summary)![1].replace(/,/g, ''));
  assert.ok(groups >= 1, summary);
  // The "in a group" filter: exactly the planted copies, each showing its group.
  await view.locator('#duplicates-select').selectOption('grouped');
  await poll(
    'the grouped rows',
    async () => {
      const scope = await view.locator('.scope-text').innerText();
      if (!scope.startsWith(`${data.duplicates.length} of ${data.lines.length} rows`))
        return undefined;
      const rows = view.locator('.grid-body .grid-row:not(.loading)');
      const lines = (await rows.locator('.col-line').allInnerTexts()).map(l => Number(l) - 1);
      const cells = await rows.locator('.col-duplicates').allInnerTexts();
      const planted = lines.length > 0 && lines.every(i => data.duplicates.includes(i));
      return planted && cells.every(c => /^#\d/.test(c.trim())) ? true : undefined;
    },
    20_000,
  );
  await vs.screenshot(`map-4-grouped-${await theme()}`);
  await view.locator('.duplicates-group select:not(#duplicates-select)').selectOption('first');
  await view.locator('.duplicates-keep-one').click();
  const kept = await poll(
    'one row kept per group',
    async () => {
      const n = await keptCount(view);
      return n > 0 ? n : undefined;
    },
    20_000,
  );
  assert.equal(kept, groups, 'one row kept per group');
  await view.locator('.map-color').selectOption('duplicates');
  await vs.screenshot(`map-5-keep-one-${await theme()}`);
  await view.locator('.toolbar button[aria-label="Undo"]').click();
  await poll(
    'keep-one undone',
    async () => ((await keptCount(view)) === 0 ? true : undefined),
    20_000,
  );
  await view.locator('#duplicates-select').selectOption('');

  // The other theme (the workbench may start in either): keys go to it from the grid.
  const first = await theme();
  await view.locator('[role="grid"]').focus();
  await vs.runCommand('Preferences: Toggle between Light/Dark Themes');
  await poll('the other theme', async () => ((await theme()) !== first ? true : undefined), 20_000);
  await view.locator('.map-color').selectOption('score');
  await vs.screenshot(`map-6-score-${await theme()}`);
  console.log(`renderer: ${renderer}; lasso ${selected} rows; keep one per group kept ${kept}`);
  assert.deepEqual(
    vs.consoleErrors.filter(e => /winnow|map/i.test(e)),
    [],
  );
});
