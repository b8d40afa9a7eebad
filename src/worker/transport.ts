import { Writable } from 'node:stream';
import {
  createConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ProposedFeatures,
  type Connection,
  type ConnectionOptions,
} from 'vscode-languageserver/node';

/**
 * How the worker talks LSP, named on its command line as vscode-languageserver reads it:
 * `--node-ipc` (VS Code's language client, TransportKind.ipc), `--stdio` (other editors),
 * `--socket=N` or `--pipe=NAME`.
 */
export type Transport = 'ipc' | 'stdio' | 'socket' | 'pipe';

/** The transport named in `argv` (the process arguments after the script), first match wins. */
export function transportFromArgv(argv: readonly string[]): Transport | undefined {
  for (const arg of argv) {
    if (arg === '--stdio') return 'stdio';
    if (arg === '--node-ipc') return 'ipc';
    const name = arg.split('=')[0];
    if (name === '--socket') return 'socket';
    if (name === '--pipe') return 'pipe';
  }
  return undefined;
}

/** Says how to start the worker, for a process started with no transport. */
export const usage =
  'The Winnow worker is a language server: start it with --stdio (any LSP client, e.g. ' +
  '`node dist/worker.js --stdio`) or --node-ipc (the VS Code extension does this).\n';

/**
 * The connection over the transport of the command line. A process forked with an IPC channel
 * but no argument still talks IPC. Returns undefined when no transport is given.
 *
 * Over stdio, stdout carries the protocol only: the protocol writes through the original
 * `process.stdout.write`, captured here, so the logger can then route every other write to
 * stdout (a library that prints) into the log (see Logger.captureConsole).
 */
export function connectFromArgv(
  argv: readonly string[],
  options: ConnectionOptions,
): { connection: Connection; transport: Transport } | undefined {
  const transport = transportFromArgv(argv);
  if (transport === 'stdio') {
    const connection = createConnection(
      ProposedFeatures.all,
      process.stdin,
      protocolStdout(),
      options,
    );
    return { connection, transport };
  }
  if (transport) return { connection: createConnection(ProposedFeatures.all, options), transport };
  if (typeof process.send !== 'function') return undefined;
  const connection = createConnection(
    ProposedFeatures.all,
    new IPCMessageReader(process),
    new IPCMessageWriter(process),
    options,
  );
  return { connection, transport: 'ipc' };
}

/** A stream onto stdout that keeps writing through stdout's own `write` of this moment. */
function protocolStdout(): Writable {
  const stdout = process.stdout;
  const write = stdout.write.bind(stdout);
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk, err => callback(err ?? null));
    },
  });
  stdout.on('error', err => out.destroy(err));
  return out;
}
