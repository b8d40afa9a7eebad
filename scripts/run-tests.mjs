#!/usr/bin/env node
// Runs Winnow's checks and test tiers in order and sums their counts. Expects a build made with
// `node esbuild.mjs --tests` (scripts/test.sh does all set-up first).
//
//   node scripts/run-tests.mjs [checks] [unit] [lsp] [api] [ui]     (default: all, in this order)
//
//   checks  `npm run typecheck` and `npm run lint`, one count each
//   unit    node:test, out/test/unit/**/*.test.js
//   lsp     node:test, out/test/lsp/**/*.test.js and out/test/cli/**/*.test.js (spawn the real
//           dist/worker.js and dist/cli.js)
//   api     mocha inside a real VS Code extension host, out/test/vscode/api/**/*.test.js,
//           through @vscode/test-electron and scripts/vscode-server-exe.mjs
//   release the release steps short of publishing (scripts/release.mjs --no-setup --no-tests):
//           every target packaged and verified into out/release, the linux-x64 VSIX loaded
//           natively and the linux-arm64 VSIX under qemu-user; one count per step and per
//           load test. Runs only when named, or with WINNOW_TEST_RELEASE=1 (.ci/run sets it).
//   ui      node:test + playwright-core against a real VS Code, out/test/vscode/ui/**/*.test.js,
//           one file at a time, with the packaged VSIX installed (WINNOW_VSIX, the release
//           tier's VSIX of this platform when it ran, or packaged here with scripts/package.mjs)
//
// WINNOW_TEST_ONLY=a,b runs only the test files whose path contains a or b (API tests: see
// WINNOW_API_GREP in test/vscode/api/index.ts). A tier without test files counts 0 and is skipped. The last line is
// `N passed, N failed, N skipped` (skips summed over every tier);
// the exit code is 1 when anything failed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ALL = ['checks', 'unit', 'lsp', 'api', 'release', 'ui'];
const requested = process.argv.slice(2).filter(a => !a.startsWith('-'));
/** The release tier is opt-in: it packages six VSIXs and runs an emulated arm64 Node. */
const withRelease = requested.includes('release') || process.env.WINNOW_TEST_RELEASE === '1';
for (const t of requested) {
  if (!ALL.includes(t)) {
    console.error(`unknown tier "${t}"; tiers: ${ALL.join(', ')}`);
    process.exit(2);
  }
}
const tiers = requested.length
  ? ALL.filter(t => requested.includes(t))
  : ALL.filter(t => t !== 'release' || withRelease);
const work = mkdtempSync(join(tmpdir(), 'winnow-tests-'));

/** Wall-clock limits per tier: a hung run fails instead of blocking CI. */
const LIMIT_MS = { checks: 10, unit: 20, lsp: 15, api: 15, release: 20, ui: 30 };

/**
 * WINNOW_TEST_ONLY: comma-separated substrings; when set, only test files whose path contains
 * one of them run (for working on one suite; CI never sets it).
 */
const only = (process.env.WINNOW_TEST_ONLY ?? '').split(',').filter(Boolean);

/** Every *.test.js below out/test/<sub>, sorted (filtered by WINNOW_TEST_ONLY). */
function testFiles(sub) {
  const root = join(repo, 'out', 'test', sub);
  const out = [];
  const walk = dir => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.test.js')) out.push(p);
    }
  };
  if (existsSync(root)) walk(root);
  return only.length ? out.filter(p => only.some(o => p.includes(o))) : out;
}

/**
 * Runs a command with inherited output in its own process group; resolves with its exit code
 * (1 after killing the group when it exceeds `limitMs`).
 */
function run(cmd, args, { env, limitMs }) {
  return new Promise(resolveRun => {
    const child = spawn(cmd, args, {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: 'inherit',
      detached: true,
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    // Ctrl-C or a CI cancel: take the tier's processes down with us.
    const onSignal = () => {
      killGroup();
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const timer = setTimeout(() => {
      console.error(`\n[run-tests] ${cmd} ${args[0]} exceeded ${limitMs / 60000} min: killed`);
      killGroup();
    }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      // The tier's leftovers (a test that forgot to close its server) go with it.
      killGroup();
      resolveRun(code ?? (signal ? 1 : 0));
    });
  });
}

/** Reads node:test's TAP summary (`# pass N`, `# fail N`, ...). */
function tapCounts(file) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const num = key => {
    const all = [...text.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
    return all.length ? Number(all[all.length - 1][1]) : 0;
  };
  return {
    passed: num('pass'),
    failed: num('fail') + num('cancelled'),
    skipped: num('skipped') + num('todo'),
  };
}

/** A node:test tier: spec output on the console, TAP to a file for the counts. */
async function nodeTestTier(name, files, { concurrency, env } = {}) {
  const tap = join(work, `${name}.tap`);
  const code = await run(
    process.execPath,
    [
      '--test',
      ...(concurrency ? [`--test-concurrency=${concurrency}`] : []),
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { env, limitMs: LIMIT_MS[name] * 60_000 },
  );
  const counts = tapCounts(tap);
  // A crash or a kill before any test reported still counts as a failure.
  if (code !== 0 && counts.failed === 0) counts.failed = 1;
  return counts;
}

/** This platform's VSIX, when the release tier made it in this run. */
let releaseVsix;

/** Packages the VSIX for the UI tier unless WINNOW_VSIX names one or the release tier made it. */
async function vsixForUi() {
  if (process.env.WINNOW_VSIX) return resolve(process.env.WINNOW_VSIX);
  if (releaseVsix && existsSync(releaseVsix)) return releaseVsix;
  const out = join(repo, 'out', 'vsix', 'winnow-test.vsix');
  const code = await run(process.execPath, ['scripts/package.mjs', '--out', out], {
    limitMs: 10 * 60_000,
  });
  return code === 0 ? out : undefined;
}

const TIERS = {
  async checks() {
    let passed = 0;
    let failed = 0;
    for (const script of ['typecheck', 'lint']) {
      console.log(`\n[run-tests] npm run ${script}`);
      const code = await run('npm', ['run', '--silent', script], {
        limitMs: LIMIT_MS.checks * 60_000,
      });
      if (code === 0) passed++;
      else {
        failed++;
        console.error(`[run-tests] npm run ${script} FAILED (exit ${code})`);
      }
    }
    return { passed, failed, skipped: 0 };
  },
  async unit() {
    const files = testFiles('unit');
    return files.length ? nodeTestTier('unit', files) : undefined;
  },
  async lsp() {
    // The CLI's tests (test/cli) run with the LSP tier: both spawn the built dist/ bundles.
    const files = [...testFiles('lsp'), ...testFiles('cli')];
    return files.length ? nodeTestTier('lsp', files) : undefined;
  },
  async api() {
    if (!testFiles('vscode/api').length) return undefined;
    const summary = join(work, 'api.json');
    const code = await run(
      process.execPath,
      ['scripts/run-vscode-api-tests.mjs', '--summary', summary],
      {
        limitMs: LIMIT_MS.api * 60_000,
      },
    );
    const counts = existsSync(summary)
      ? JSON.parse(readFileSync(summary, 'utf8'))
      : { passed: 0, failed: 0, pending: 0 };
    if (code !== 0 && counts.failed === 0) counts.failed = 1;
    return { passed: counts.passed, failed: counts.failed, skipped: counts.pending ?? 0 };
  },
  async release() {
    const outDir = join(repo, 'out', 'release');
    const report = join(work, 'release.json');
    const code = await run(
      process.execPath,
      ['scripts/release.mjs', '--no-setup', '--no-tests', '--out-dir', outDir, '--report', report],
      { limitMs: LIMIT_MS.release * 60_000 },
    );
    const steps = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')).steps : [];
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const s of steps) {
      // The load step counts its tests (each VSIX loaded, or skipped with the reason).
      if (s.id === 'load' && s.passed + s.failed + s.skipped > 0) {
        counts.passed += s.passed;
        counts.failed += s.failed;
        counts.skipped += s.skipped;
      } else counts[s.ok ? 'passed' : 'failed']++;
    }
    if (code !== 0 && counts.failed === 0) counts.failed = 1;
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    const host = `${process.platform}-${process.arch}`;
    releaseVsix = join(outDir, `${pkg.name}-${host}-${pkg.version}.vsix`);
    return counts;
  },
  async ui() {
    const files = testFiles('vscode/ui');
    if (!files.length) return undefined;
    const vsix = await vsixForUi();
    if (!vsix) {
      console.error('[run-tests] packaging the VSIX failed: the UI tier cannot run');
      return { passed: 0, failed: 1, skipped: 0 };
    }
    console.log(`[run-tests] UI tests use ${relative(repo, vsix)}`);
    return nodeTestTier('ui', files, { concurrency: 1, env: { WINNOW_VSIX: vsix } });
  },
};

const LABEL = {
  checks: 'checks',
  unit: 'unit',
  lsp: 'lsp',
  api: 'vscode api',
  release: 'release',
  ui: 'vscode ui',
};
const results = [];
try {
  for (const tier of tiers) {
    console.log(`\n======== ${LABEL[tier]} ========`);
    const t0 = Date.now();
    const counts = await TIERS[tier]();
    const seconds = (Date.now() - t0) / 1000;
    if (!counts) console.log(`[run-tests] ${LABEL[tier]}: no test files, skipped`);
    results.push({
      tier,
      counts: counts ?? { passed: 0, failed: 0, skipped: 0 },
      seconds,
      ran: !!counts,
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log('\n======== summary ========');
const setup = Number(process.env.WINNOW_TEST_SETUP_SECONDS || 0);
const testSeconds = results.reduce((s, r) => s + r.seconds, 0);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const { tier, counts, seconds, ran } of results) {
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
  const extra = !ran ? '  (no test files)' : counts.skipped ? `  (${counts.skipped} skipped)` : '';
  console.log(
    `${LABEL[tier].padEnd(11)} ${String(counts.passed).padStart(5)} passed, ${String(counts.failed).padStart(3)} failed` +
      `  ${seconds.toFixed(1).padStart(6)} s${extra}`,
  );
}
console.log(
  `wall time ${(setup + testSeconds).toFixed(0)} s` +
    (setup ? ` (set-up and build ${setup} s, checks and tests ${testSeconds.toFixed(0)} s)` : ''),
);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
