#!/usr/bin/env node
// Runs the API-level tests (out/test/vscode/api/**/*.test.js, loaded by index.js) inside a real
// VS Code extension host through @vscode/test-electron, given the local "VS Code executable"
// scripts/vscode-server-exe.mjs (VS Code server + headless Chromium, see docs/testing.md).
//
//   node scripts/run-vscode-api-tests.mjs [--extension DIR] [--summary FILE] [--grep REGEX]
//
// --extension  the extension folder to load (default: this repository, which must be built)
// --summary    write {"passed","failed","pending"} JSON here (read by scripts/run-tests.mjs)
// --grep       only run tests whose full title matches REGEX
// Exit code 0 when every test passed.
import { runTests } from '@vscode/test-electron';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const extensionDevelopmentPath = resolve(opt('--extension') ?? repo);
const extensionTestsPath = join(repo, 'out', 'test', 'vscode', 'api', 'index.js');
const summaryFile = opt('--summary');
const executable = join(repo, 'scripts', 'vscode-server-exe.mjs');

for (const [what, p] of [
  ['test entry (run: node esbuild.mjs --tests)', extensionTestsPath],
  [
    'extension bundle (run: node esbuild.mjs)',
    join(extensionDevelopmentPath, 'dist', 'extension.js'),
  ],
]) {
  if (!existsSync(p)) {
    console.error(`[api-tests] missing ${what}: ${p}`);
    process.exit(1);
  }
}

// Everything of this run (the opened workspace folder, the results file) lives here.
const runDir = mkdtempSync(join(tmpdir(), 'winnow-api-'));
const workspace = join(runDir, 'workspace');
const resultsFile = join(runDir, 'results.json');
mkdirSync(workspace);

let exitCode = 0;
try {
  await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath,
    extensionTestsPath,
    launchArgs: [workspace],
    extensionTestsEnv: {
      WINNOW_API_RESULTS: resultsFile,
      ...(opt('--grep') ? { WINNOW_API_GREP: opt('--grep') } : {}),
    },
  });
} catch (e) {
  exitCode = 1;
  console.error(`[api-tests] ${e instanceof Error ? e.message : String(e)}`);
}

let results = { passed: 0, failed: 0, pending: 0 };
if (existsSync(resultsFile)) results = JSON.parse(readFileSync(resultsFile, 'utf8'));
// A run that died before mocha reported (activation crash, timeout) still counts as a failure.
if (exitCode !== 0 && results.failed === 0) results.failed = 1;
if (summaryFile) writeFileSync(summaryFile, JSON.stringify(results));
console.log(
  `[api-tests] ${results.passed} passed, ${results.failed} failed, ${results.pending} pending`,
);
rmSync(runDir, { recursive: true, force: true });
process.exit(exitCode);
