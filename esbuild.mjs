// One build script for every bundle (extension host, worker, webview, tests).
//   node esbuild.mjs            production build of the extension bundles
//   node esbuild.mjs --watch    rebuild on change
//   node esbuild.mjs --tests    also bundle test/**/*.test.ts into out/test
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const watch = process.argv.includes('--watch');
const tests = process.argv.includes('--tests');
const production = process.argv.includes('--production');

/** Native or runtime-loaded packages stay outside the bundles and ship in node_modules. */
const nodeExternals = [
  'vscode',
  'onnxruntime-node',
  'onnxruntime-web',
  'sharp',
  '@huggingface/transformers',
];

/** Prints errors in a form VS Code's `$esbuild-watch` problem matcher understands. */
const problemMatcher = {
  name: 'problem-matcher',
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd(result => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      console.log('[watch] build finished');
    });
  },
};

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  plugins: watch ? [problemMatcher] : [],
};

/** The row scan's helper thread entry: bundled beside every bundle that may scan rows. */
const ROW_SCAN_THREAD = 'src/core/dataset/rowScanThread.ts';

const nodeCommon = {
  ...common,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: nodeExternals,
};

/** @type {import('esbuild').BuildOptions[]} */
const builds = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { worker: 'src/worker/server.ts' }, outdir: 'dist' },
  // The row scan's helper thread, started from beside extension.js, worker.js and cli.js (rowScanThreads.ts).
  { ...nodeCommon, entryPoints: { rowScanThread: ROW_SCAN_THREAD }, outdir: 'dist' },
  // The winnow CLI (package.json "bin"): node dist/cli.js <command>.
  {
    ...nodeCommon,
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: { main: 'webview-ui/src/main.ts' },
    outdir: 'dist/webview',
    loader: { '.ttf': 'file' },
  },
];

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (/\.(test|bench)\.ts$/.test(name) || p === join('test', 'vscode', 'api', 'index.ts'))
      out.push(p);
  }
  return out;
}

if (tests) {
  const entryPoints = Object.fromEntries(
    findTests('test').map(p => [relative('test', p).replace(/\.ts$/, ''), p]),
  );
  // Beside the unit tests and the benches, which scan rows with helper threads.
  for (const dir of ['unit', 'bench']) entryPoints[`${dir}/rowScanThread`] = ROW_SCAN_THREAD;
  builds.push({
    ...nodeCommon,
    sourcemap: 'inline',
    minify: false,
    entryPoints,
    outdir: 'out/test',
    external: [...nodeExternals, 'mocha', 'playwright-core', '@vscode/test-electron', 'esbuild'],
  });
}

/** Codicons are copied next to the webview bundle: localResourceRoots is limited to dist/webview. */
function copyAssets() {
  mkdirSync('dist/webview/codicons', { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf'])
    cpSync(join('node_modules/@vscode/codicons/dist', f), join('dist/webview/codicons', f));
}

copyAssets();
if (watch) {
  const contexts = await Promise.all(builds.map(b => esbuild.context(b)));
  await Promise.all(contexts.map(c => c.watch()));
} else {
  await Promise.all(builds.map(b => esbuild.build(b)));
}
