/**
 * Map and near-duplicate benchmark: `npm run bench:map [-- flags]`.
 *
 * Generates planted sets (test/support/mapData.ts: 50 topics with cosine ≈ 0.5 inside a topic,
 * 20 % of rows in near-duplicate groups at cosine 0.93–0.995 to their original; generation is
 * not counted) and measures, each with wall and CPU time (user + system of this process):
 * - **layout** of `--layout-n` rows (100,000) × 384: the production `computeLayout`; the
 *   baseline in the same run is umap-js alone (its own NN-descent) on `--umap-n` rows (5,000),
 *   against `computeLayout` on the same rows, all of them landmarks;
 * - **near-duplicate grouping** of `--dedup-n` rows (1,000,000) × 384 at cosine 0.95, hashing
 *   included; the baseline is one bare pass of the DENSITY hasher over the same rows (the ORT
 *   MatMul every grouping must pay), printed as a ratio;
 * - **recall and precision** on `--recall-n` rows (20,000) against brute force (every pair's
 *   cosine on ORT MatMul blocks), with the speed-up over brute force.
 * - **rendering**: frames per second while the dataset view's map renderer pans `--render-n`
 *   points (1,000,000) in the headless Chromium the UI tests use, with the renderer string
 *   WebGL reports (software GL here: a floor), beside a frame loop that draws nothing and
 *   100,000 points, in the same browser.
 * `--only layout|dedup|recall|render` runs one part. Goals: layout ≤ 60 s, grouping ≤ 60 s on
 * 2 cores, recall ≥ 0.99 and precision 1; rendering has no goal here (software GL).
 */
import { UMAP } from 'umap-js';
import { OrtLshHasher, sketchParams } from '../../src/core/density';
import {
  bruteForceGroups,
  compareGroupings,
  computeLayout,
  findNearDuplicates,
  planBands,
} from '../../src/core/map';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { launchChromium } from '../../scripts/vscodeRuntime.mjs';
import { plantedSet } from '../support/mapData';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`Bad ${name} ${process.argv[i + 1]}`);
  return v;
}
const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1]
  : '';
const D = 384;
const THRESHOLD = 0.95;

/** Runs `f` and returns its result with wall and CPU seconds. */
async function timed<T>(f: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}
const secs = (t: { wall: number; cpu: number }) =>
  `${t.wall.toFixed(1)} s wall, ${t.cpu.toFixed(1)} s CPU`;

async function benchLayout(): Promise<string> {
  const n = arg('--layout-n', 100_000);
  const set = plantedSet({ n, d: D, seed: 21 });
  const run = await timed(() => computeLayout(set.vectors.slice(), n, D));
  const ms = run.value.ms;
  console.log(
    `layout: ${n} × ${D} in ${secs(run)} (landmark kNN ${(ms.neighbours / 1000).toFixed(1)} s, ` +
      `UMAP of ${run.value.landmarks.length} landmarks ${(ms.layout / 1000).toFixed(1)} s, ` +
      `placing ${n - run.value.landmarks.length} rows ${(ms.placing / 1000).toFixed(1)} s)`,
  );
  const m = arg('--umap-n', 5000);
  const rows: number[][] = [];
  for (let i = 0; i < m; i++) rows.push(Array.from(set.vectors.subarray(i * D, (i + 1) * D)));
  let seed = 1;
  const random = () => (seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647;
  const alone = await timed(async () =>
    new UMAP({ nComponents: 2, nNeighbors: 15, nEpochs: 200, random }).fitAsync(rows),
  );
  const ours = await timed(() => computeLayout(set.vectors.slice(0, m * D), m, D));
  console.log(
    `baseline: umap-js alone (its NN-descent, 200 epochs) on ${m} rows: ${secs(alone)}; ` +
      `computeLayout on the same ${m} rows: ${secs(ours)} (${(alone.wall / ours.wall).toFixed(1)}× faster)`,
  );
  return `layout ${n} × ${D}: ${secs(run)} (goal ≤ 60 s: ${run.wall <= 60 ? 'met' : 'NOT met'})`;
}

async function groupingRun(vectors: Float32Array, n: number) {
  const density = sketchParams({ dim: D });
  const plan = planBands(density, THRESHOLD);
  const hasher = await OrtLshHasher.create(sketchParams({ ...density, rows: plan.rowsUsed }), {
    allowSpinning: false,
  });
  try {
    return await findNearDuplicates(vectors, n, hasher, plan);
  } finally {
    await hasher.dispose();
  }
}

async function benchDedup(): Promise<string> {
  const n = arg('--dedup-n', 1_000_000);
  const set = plantedSet({ n, d: D, seed: 22 });
  const run = await timed(() => groupingRun(set.vectors, n));
  const { stats, plan, groupOf } = run.value;
  let grouped = 0;
  for (let i = 0; i < n; i++) if (groupOf[i] !== i) grouped++;
  console.log(
    `dedup: ${n} × ${D} at cosine ${THRESHOLD} in ${secs(run)} (hash ${(stats.ms.hash / 1000).toFixed(1)} s, ` +
      `group ${(stats.ms.group / 1000).toFixed(1)} s); plan b=${plan.bandWidth} L=${plan.bands} ` +
      `check ${plan.checkMin}/${plan.checkRows}; ${stats.candidates} candidates, ${stats.verified} cosines, ` +
      `${grouped} rows joined a group, largest bucket ${stats.largestBucket}`,
  );
  const bare = await timed(async () => {
    const h = await OrtLshHasher.create(sketchParams({ dim: D, rows: plan.rowsUsed }));
    for (let s = 0; s < n; s += h.blockRows)
      await h.hash(
        set.vectors.subarray(s * D, Math.min(n, s + h.blockRows) * D),
        Math.min(h.blockRows, n - s),
      );
    await h.dispose();
  });
  console.log(
    `baseline: one bare DENSITY hash pass (${plan.rowsUsed} sketch rows) over the same rows: ${secs(bare)}; ` +
      `grouping takes ${(run.wall / bare.wall).toFixed(2)}× its time`,
  );
  return `dedup ${n} × ${D}: ${secs(run)} (goal ≤ 60 s: ${run.wall <= 60 ? 'met' : 'NOT met'})`;
}

async function benchRecall(): Promise<string> {
  const n = arg('--recall-n', 20_000);
  const set = plantedSet({ n, d: D, seed: 23 });
  const brute = await timed(() => bruteForceGroups(set.vectors.slice(), n, D, THRESHOLD));
  const ours = await timed(() => groupingRun(set.vectors.slice(), n));
  const a = compareGroupings(brute.value.groupOf, ours.value.groupOf);
  let pairs = 0;
  const g = ours.value.groupOf;
  for (const p of brute.value.pairs) if (g[Math.floor(p / n)] === g[p % n]) pairs++;
  const pairRecall = pairs / brute.value.pairs.length;
  console.log(
    `recall: ${n} planted rows, ${brute.value.pairs.length} pairs ≥ ${THRESHOLD} by brute force (${secs(brute)}); ` +
      `grouping ${secs(ours)} (${(brute.wall / ours.wall).toFixed(1)}× faster); group-pair recall ${a.recall.toFixed(4)}, ` +
      `precision ${a.precision.toFixed(4)} (${a.commonPairs}/${a.referencePairs}); pairs ≥ threshold found ${pairRecall.toFixed(4)}`,
  );
  const met = a.recall >= 0.99 && a.precision === 1;
  return `recall ${a.recall.toFixed(4)}, precision ${a.precision.toFixed(4)} on ${n} (goal ≥ 0.99 and 1: ${met ? 'met' : 'NOT met'})`;
}

interface FrameResult {
  frames: number;
  seconds: number;
  renderer: string;
}

async function benchRender(): Promise<string> {
  const n = arg('--render-n', 1_000_000);
  const bundle = await esbuild.build({
    entryPoints: [join(__dirname, '..', '..', '..', 'test', 'bench', 'pages', 'mapRenderPage.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const style = 'position:absolute;left:0;top:0;width:1000px;height:700px';
    await page.setContent(
      `<html><body style="margin:0"><canvas id="map" style="${style}"></canvas>` +
        `<canvas id="overlay" style="${style}"></canvas></body></html>`,
    );
    await page.addScriptTag({ content: bundle.outputFiles[0].text });
    const run = (count: number, draw: boolean) =>
      page.evaluate(
        ([c, d]) =>
          (
            window as unknown as {
              benchMap(n: number, ms: number, d: boolean): Promise<FrameResult>;
            }
          ).benchMap(c as number, 4000, d as boolean),
        [count, draw] as const,
      );
    const fps = (r: FrameResult) => r.frames / r.seconds;
    const idle = await run(1000, false);
    const small = await run(100_000, true);
    const big = await run(n, true);
    console.log(
      `render: ${n} points panned at ${fps(big).toFixed(1)} frames/s (${big.frames} frames in ${big.seconds.toFixed(1)} s); ` +
        `100,000 points ${fps(small).toFixed(1)} frames/s; empty frame loop ${fps(idle).toFixed(1)} frames/s; renderer: ${big.renderer}`,
    );
    return `render ${n} points: ${fps(big).toFixed(1)} frames/s on ${big.renderer} (${(fps(big) / fps(idle)).toFixed(2)}× the empty frame loop)`;
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  console.log(`map bench: d=${D}, threshold ${THRESHOLD}, ${only ? `only ${only}` : 'all parts'}`);
  const summary: string[] = [];
  if (!only || only === 'recall') summary.push(await benchRecall());
  if (!only || only === 'layout') summary.push(await benchLayout());
  if (!only || only === 'dedup') summary.push(await benchDedup());
  if (!only || only === 'render') summary.push(await benchRender());
  console.log('--- summary ---');
  for (const line of summary) console.log(line);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
