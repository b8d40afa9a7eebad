#!/usr/bin/env node
// Serves VS Code (the code-server runtime's VS Code server) in the foreground with Winnow
// installed from a VSIX, prints the URL to open in a browser, and cleans up on Ctrl-C.
// Used by scripts/start.sh when no desktop `code` is installed.
//
//   node scripts/serve-vscode.mjs --vsix FILE --folder DIR [--open FILE] [--host H] [--port N]
//
// --host defaults to 127.0.0.1 and --port to WINNOW_PORT or a free port. The server runs
// without a connection token: anyone who can reach host:port can use it, so keep 127.0.0.1
// (forward the port, e.g. `ssh -L`) unless the network is private.
import { relative, resolve } from 'node:path';
import { startServer } from './vscodeRuntime.mjs';

const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const vsix = opt('--vsix');
const folder = opt('--folder');
if (!vsix || !folder) {
  console.error(
    'usage: serve-vscode.mjs --vsix FILE --folder DIR [--open FILE] [--host H] [--port N]',
  );
  process.exit(2);
}
const open = opt('--open');
const port = Number(opt('--port') ?? process.env.WINNOW_PORT ?? 0);

const server = await startServer({
  installExtensions: [vsix],
  host: opt('--host') ?? '127.0.0.1',
  port,
  settings: { 'workbench.startupEditor': 'none' },
});

let stopping = false;
const stop = code => {
  if (stopping) return;
  stopping = true;
  server.stop();
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.log('\nStopping VS Code.');
    stop(0);
  });
}

// The URL payload could name a file to open, but the workbench opens it before Winnow's custom
// editor is registered, so it would show as plain text: the user clicks it in the Explorer.
const url = server.workbenchUrl(folder);
console.log(`\nWinnow is running in VS Code ${server.base} (server log: ${server.logFile})`);
console.log(`Open this URL in a browser:\n\n  ${url}\n`);
if (open) console.log(`Then click ${relative(resolve(folder), resolve(open))} in the Explorer.`);
console.log('Press Ctrl-C to stop.');

const code = await server.exited;
if (!stopping) {
  console.error(`The VS Code server exited unexpectedly (${code}). Last lines of its log:`);
  console.error(server.readLog().trimEnd().split('\n').slice(-20).join('\n'));
  stop(1);
}
