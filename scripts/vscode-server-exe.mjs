#!/usr/bin/env node
// A "VS Code executable" for @vscode/test-electron (`vscodeExecutablePath`) and @vscode/test-cli
// (`useInstallation.fromPath`) on machines where desktop VS Code cannot be downloaded.
//
//   vscode-server-exe.mjs --version
//   vscode-server-exe.mjs --extensionDevelopmentPath=DIR --extensionTestsPath=FILE [FOLDER] [...]
//
// It starts the VS Code server from code-server (Node 24) with --enable-smoke-test-driver in a
// temp folder, opens the workbench with the test payload in headless Chromium, relays the
// extension host's console output, and exits with the test run's exit code. The server's whole
// process tree is killed in every case. Desktop-only flags that the runners add (--no-sandbox,
// --disable-updates, --user-data-dir, --extensions-dir, ...) are accepted and ignored: every
// run gets fresh user data and extension folders.
//
// Environment: WINNOW_VSCODE_TEST_TIMEOUT_MS (default 600000) limits a run;
// WINNOW_VSCODE_VERBOSE=1 also prints the server's output and the page's console;
// WINNOW_KEEP_RUN_DIR=1 keeps the run folder (server log, user data) for debugging.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { format, inspect } from 'node:util';
import { launchChromium, runtimePaths, startServer } from './vscodeRuntime.mjs';

const argv = process.argv.slice(2);
const verbose = process.env.WINNOW_VSCODE_VERBOSE === '1';
const timeoutMs = Number(process.env.WINNOW_VSCODE_TEST_TIMEOUT_MS || 600_000);

if (argv.includes('--version') || argv.includes('-v')) {
  const { node, serverMain } = runtimePaths();
  const r = spawnSync(node, [serverMain, '--version'], { encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.exit(r.status ?? 1);
}

/** Reads `--name=value` and `--name value` options (repeatable) and positional folders. */
function parseArgs(args) {
  const devPaths = [];
  let testsPath;
  const folders = [];
  const ignored = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--(extensionDevelopmentPath|extensionTestsPath)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? args[++i];
      if (m[1] === 'extensionDevelopmentPath') devPaths.push(resolve(value));
      else testsPath = resolve(value);
    } else if (a.startsWith('-')) {
      ignored.push(a);
    } else {
      folders.push(resolve(a));
    }
  }
  return { devPaths, testsPath, folders, ignored };
}

const { devPaths, testsPath, folders, ignored } = parseArgs(argv);
if (!testsPath || devPaths.length === 0) {
  console.error(
    'usage: vscode-server-exe.mjs --extensionDevelopmentPath=DIR --extensionTestsPath=FILE [FOLDER]\n' +
      '       vscode-server-exe.mjs --version',
  );
  process.exit(2);
}
if (folders.length > 1)
  console.error(`[vscode-exe] only the first folder is opened: ${folders[0]}`);
if (verbose && ignored.length) console.error(`[vscode-exe] ignoring ${ignored.join(' ')}`);

/** Formats one console call (mocha's reporter uses printf-style `%s` / `%d` arguments). */
function formatLogArgs(args) {
  const list = Array.isArray(args) ? args : [args];
  if (typeof list[0] === 'string' && /%[sdifjoO%]/.test(list[0])) return format(...list);
  return list.map(a => (typeof a === 'string' ? a : inspect(a, { depth: 4 }))).join(' ');
}

/**
 * The workbench's own log lines reach codeAutomationLog too. These are known to be harmless
 * here (connection chatter; no gallery, GitHub or service worker offline) and are dropped
 * unless WINNOW_VSCODE_VERBOSE=1, so that the extension host's output stands out.
 */
const WORKBENCH_NOISE = [
  /^Resolv(ing|ed) connection token/,
  /^Creating a socket \(/,
  /^\[reconnection-grace-time\]/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\]/,
  /^\[AgentHost/,
  /^\[AccountPolicyGate\]/,
  /ENOTFOUND open-vsx\.org/,
  /Timed out waiting for authentication provider 'github'/,
  /vsda/,
  /^Creation of workbench contribution/,
];

let server;
let browser;
let finishing = false;

async function cleanup() {
  try {
    await browser?.close();
  } catch {
    // The browser may already be gone.
  }
  server?.stop();
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (finishing) return;
    finishing = true;
    console.error(`[vscode-exe] ${sig}: stopping VS Code`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main() {
  const started = Date.now();
  server = await startServer({
    smokeTestDriver: true,
    keepRunDir: process.env.WINNOW_KEEP_RUN_DIR === '1',
    onOutput: verbose ? line => console.error(`[server] ${line}`) : undefined,
  });
  if (verbose) console.error(`[vscode-exe] server ${server.base} in ${server.runDir}`);
  browser = await launchChromium();
  const page = await browser.newPage();

  const result = new Promise(resolveResult => {
    void page.exposeFunction('codeAutomationExit', code => {
      resolveResult({
        code: typeof code === 'number' ? code : 1,
        why: `extension host exited (${code})`,
      });
    });
    void page.exposeFunction('codeAutomationLog', (type, args) => {
      const text = formatLogArgs(args);
      if (!verbose && WORKBENCH_NOISE.some(re => re.test(text))) return;
      if (type === 'error' || type === 'warn') process.stderr.write(text + '\n');
      else process.stdout.write(text + '\n');
    });
    page.on('crash', () => resolveResult({ code: 1, why: 'the page crashed' }));
    browser.on('disconnected', () => resolveResult({ code: 1, why: 'the browser disconnected' }));
    setTimeout(
      () => resolveResult({ code: 1, why: `timed out after ${timeoutMs} ms` }),
      timeoutMs,
    ).unref();
  });
  if (verbose) {
    page.on('console', msg => console.error(`[page:${msg.type()}] ${msg.text()}`));
    page.on('pageerror', err => console.error(`[page:error] ${err.message}`));
  }
  // The payload URIs must carry exactly the host:port the page is loaded from.
  const payload = [
    ...devPaths.map(p => ['extensionDevelopmentPath', server.remoteUri(p)]),
    ['extensionTestsPath', server.remoteUri(testsPath)],
  ];
  await page.goto(server.workbenchUrl(folders[0], payload));
  const { code, why } = await result;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (code !== 0) {
    console.error(`[vscode-exe] test run failed: ${why} after ${seconds} s`);
    const tail = server.readLog().trimEnd().split('\n').slice(-40).join('\n');
    if (tail) console.error(`[vscode-exe] last lines of ${server.logFile}:\n${tail}`);
  } else if (verbose) {
    console.error(`[vscode-exe] test run passed in ${seconds} s`);
  }
  return code;
}

main().then(
  async code => {
    finishing = true;
    await cleanup();
    process.exit(code);
  },
  async e => {
    finishing = true;
    console.error(`[vscode-exe] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await cleanup();
    process.exit(1);
  },
);
