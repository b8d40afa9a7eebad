/**
 * `winnow lsp`: the language server over stdio, exactly `node dist/worker.js --stdio` (README
 * "Other editors"): the worker bundle beside this one is loaded in this process with `--stdio`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Command } from '../command';
import { ExitCode } from '../errors';

const description =
  'Starts the Winnow language server on stdin/stdout (diagnostics, hovers with scores, inlay ' +
  'hints, keep/drop code actions, the winnow/* requests) for Neovim, Helix, Zed or any LSP ' +
  'client. Same as `node dist/worker.js --stdio`; settings come from the client ' +
  '(initializationOptions.winnow and workspace/configuration), see the README.';

/** Loads dist/worker.js (next to dist/cli.js) with `--stdio`; it runs until the client exits. */
function startServer(argv: readonly string[]): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: winnow lsp\n\n${description}\n`);
    process.exitCode = ExitCode.ok;
    return;
  }
  const worker = join(__dirname, 'worker.js');
  process.argv = [process.argv[0], worker, '--stdio', ...argv.filter(a => a !== '--stdio')];
  createRequire(__filename)(worker);
}

export const lspCommand: Command = {
  name: 'lsp',
  summary: 'The language server over stdio (same as node dist/worker.js --stdio).',
  usage: 'winnow lsp',
  description,
  options: {},
  run: () => Promise.reject(new Error('winnow lsp runs directly')),
  direct: startServer,
};
