// Starts and stops a real VS Code (the server inside code-server 4.139.1, on Node 24) and the
// headless Chromium that drives its web workbench. Shared by the API-test launcher
// (scripts/vscode-server-exe.mjs), the UI-test support (test/support/vscodeServer.ts) and
// scripts/serve-vscode.mjs (used by scripts/start.sh). The recipe is docs/testing.md.
// Types for TypeScript callers are in vscodeRuntime.d.mts next to this file.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The VS Code version inside code-server 4.139.1. */
export const VSCODE_VERSION = '1.139.1';

/** Where scripts/setup-vscode-runtime.sh installs Node 24 and code-server. */
export function runtimeDir() {
  if (process.env.WINNOW_VSCODE_RUNTIME) return resolve(process.env.WINNOW_VSCODE_RUNTIME);
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'winnow', 'vscode-runtime');
}

/** Paths of the Node 24 binary and VS Code's server-main.js; throws a clear error when missing. */
export function runtimePaths() {
  const rt = runtimeDir();
  const node = join(rt, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  const serverMain = join(
    rt,
    'node_modules',
    'code-server',
    'lib',
    'vscode',
    'out',
    'server-main.js',
  );
  if (!existsSync(node) || !existsSync(serverMain)) {
    throw new Error(
      `The VS Code runtime is not installed in ${rt}. Run: bash scripts/setup-vscode-runtime.sh`,
    );
  }
  return { node, serverMain };
}

/** User settings that keep the workbench quiet and deterministic. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'chat.disableAIFeatures': true,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  'workbench.editor.enablePreview': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
  'github.gitAuthentication': false,
};

/** Chromium flags that worked headless on these machines (docs/testing.md). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Debian's Chromium, or CHROMIUM_PATH. */
export function chromiumPath() {
  const p = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(p))
    throw new Error(`Chromium not found at ${p}. Run: bash scripts/setup-vscode-runtime.sh`);
  return p;
}

/** Launches headless Chromium through playwright-core (no browser download). */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

/** PIDs of every descendant of `pid` (read from /proc), deepest last. */
function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name in field 2 may contain spaces; fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // The process exited while we were reading.
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * Kills a process group and, in case a child moved to its own group, every descendant.
 * Synchronous, so it also works from an 'exit' handler.
 */
export function killProcessTree(pid) {
  let pids = [];
  try {
    pids = descendants(pid);
  } catch {
    // No /proc: the group kill below still covers the usual case.
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
  for (const p of [pid, ...pids]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Starts a VS Code server on a free port, with every file of the run (data, extensions, logs,
 * sockets) in a fresh temp folder.
 * @param {object} [opts]
 * @param {boolean} [opts.smokeTestDriver] add --enable-smoke-test-driver (needed for API tests)
 * @param {string[]} [opts.installExtensions] VSIX files to install (offline) before starting
 * @param {Record<string, unknown>} [opts.settings] extra user settings
 * @param {Record<string, string>} [opts.env] extra environment for the server and extension host
 * @param {string} [opts.runDir] use this folder instead of a fresh temp folder
 * @param {boolean} [opts.keepRunDir] keep the run folder after stop() (for debugging)
 * @param {number} [opts.port] listen on this port instead of a free one
 * @param {string} [opts.host] listen on this host (default 127.0.0.1)
 * @param {(line: string) => void} [opts.onOutput] receives the server's output lines
 */
export async function startServer(opts = {}) {
  const { node, serverMain } = runtimePaths();
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), 'winnow-vscode-'));
  const tmp = join(runDir, 'tmp');
  const userDir = join(runDir, 'data');
  mkdirSync(join(userDir, 'User'), { recursive: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(
    join(userDir, 'User', 'settings.json'),
    JSON.stringify({ ...QUIET_SETTINGS, ...opts.settings }, null, 2),
  );
  const dirs = [
    '--server-data-dir',
    runDir,
    '--user-data-dir',
    userDir,
    '--extensions-dir',
    join(runDir, 'extensions'),
  ];
  // TMPDIR in the run folder keeps the server's sockets out of /tmp.
  const env = { ...process.env, ...opts.env, TMPDIR: tmp };
  const logFile = join(runDir, 'server.log');

  for (const vsix of opts.installExtensions ?? []) {
    const r = spawnSync(
      node,
      [serverMain, ...dirs, '--install-extension', resolve(vsix), '--force'],
      {
        env,
        encoding: 'utf8',
      },
    );
    if (r.status !== 0 || /Failed|Error/i.test(r.stdout + r.stderr)) {
      if (!opts.keepRunDir) rmSync(runDir, { recursive: true, force: true });
      throw new Error(`Installing ${vsix} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    }
  }

  const args = [
    serverMain,
    '--host',
    opts.host ?? '127.0.0.1',
    '--port',
    String(opts.port ?? 0),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--disable-telemetry',
    '--disable-workspace-trust',
    // After the browser goes away the extension host would wait 3 hours for a reconnect.
    '--reconnection-grace-time',
    '60',
    ...dirs,
    ...(opts.smokeTestDriver ? ['--enable-smoke-test-driver'] : []),
  ];
  const logFd = openSync(logFile, 'a');
  // detached: the server leads its own process group, so stop() can kill the whole tree.
  const child = spawn(node, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  const exited = new Promise(r => child.on('exit', (code, signal) => r(code ?? signal)));
  let stopped = false;
  const onExit = () => stop();
  process.on('exit', onExit);

  function stop() {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    if (pid) killProcessTree(pid);
    if (!opts.keepRunDir && !opts.runDir)
      rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
  }

  const port = await new Promise((resolvePort, reject) => {
    let buffered = '';
    let listening = false;
    const timer = setTimeout(
      () => fail(new Error('VS Code server did not start within 30 s')),
      30_000,
    );
    const fail = e => {
      // Once the server listens, a later exit is the caller's business (it reads the log).
      if (listening) return;
      clearTimeout(timer);
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      stop();
      reject(new Error(`${e.message}\n--- server output ---\n${log}`));
    };
    const onData = chunk => {
      writeFileSync(logFd, chunk);
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        opts.onOutput?.(line);
        const m = /Extension host agent listening on (\d+)/.exec(line);
        if (m && !listening) {
          listening = true;
          clearTimeout(timer);
          resolvePort(Number(m[1]));
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', fail);
    child.on('exit', code =>
      fail(new Error(`VS Code server exited with code ${code} before listening`)),
    );
  });

  const host = opts.host ?? '127.0.0.1';
  const base = `http://${host}:${port}`;
  // The port is bound before the HTTP handler is ready; wait until /version answers.
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${base}/version`);
      if (res.ok) break;
    } catch {
      // Not ready yet.
    }
    if (i > 300) {
      stop();
      throw new Error(`VS Code server at ${base} did not answer /version`);
    }
    await new Promise(r => setTimeout(r, 100));
  }

  return {
    pid,
    port,
    host,
    base,
    runDir,
    logFile,
    /** Reads the server's output so far. */
    readLog: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    /** The workbench URL for a folder, optionally with a test payload (see payloadFor). */
    workbenchUrl(folder, payload) {
      const q = new URLSearchParams();
      if (folder) q.set('folder', resolve(folder));
      if (payload) q.set('payload', JSON.stringify(payload));
      return `${base}/?${q.toString()}`;
    },
    /** A `vscode-remote://` URI for a path on this server, as the workbench payload wants. */
    remoteUri: path => `vscode-remote://${host}:${port}${resolve(path)}`,
    /** Settles with the exit code (or signal) when the server process exits. */
    exited,
    stop,
  };
}
