/**
 * `winnow`: the command-line front end of Winnow (README "The winnow CLI"), built to
 * dist/cli.js and shipped in the VSIX. It runs the same core as the extension (src/core) and the
 * worker's scoring and embedding code; one file per command in ./commands.
 *
 * Conventions shared by every command:
 * - results and the `--json` summary (always the last line) on stdout; progress, logs and
 *   errors on stderr; an error is one line, `winnow <command>: <message>`;
 * - exit codes in errors.ts (0 done, 1 failed, 2 usage, 3 rows in error, 130/143 stopped);
 * - SIGINT / SIGTERM stop between batches, keeping every finished row in the cache; a second
 *   signal exits at once (the cache is crash-safe, so nothing finished is lost either way).
 */
import { format } from 'node:util';
import { version } from '../../package.json';
import { Logger, errorText } from '../worker/logger';
import { Flags, optionHelp, parseCommandArgs, COMMON_OPTIONS } from './args';
import { resolveCacheDir, type Command, type CommandOutcome } from './command';
import { COMMANDS } from './commands';
import { CliError, ExitCode, InterruptedError, oneLine, type ExitCodeValue } from './errors';
import { createProgress, progressMode } from './progress';

/** Where main writes, and what it knows of its process (tests pass their own). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Aborts on SIGINT / SIGTERM with an {@link InterruptedError} as the reason. */
  signal: AbortSignal;
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map(c => c.name.length)) + 2;
  return [
    `winnow ${version}: inspect and curate JSONL training data with ASK-LLM and DENSITY`,
    '',
    'Usage: winnow <command> [FILE] [options]     winnow <command> --help',
    '',
    'Commands:',
    ...COMMANDS.map(c => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options of every command:',
    optionHelp(COMMON_OPTIONS),
    '',
    'Exit codes: 0 done · 1 failed (one line on stderr) · 2 usage · 3 finished with rows in',
    'error (rerun to retry them) · 130 / 143 stopped by SIGINT / SIGTERM (rerun to continue).',
    '',
  ].join('\n');
}

/** A paragraph wrapped at `width` columns. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return `${lines.join('\n')}\n`;
}

function commandHelp(c: Command): string {
  return [
    `Usage: ${c.usage}`,
    '',
    ...c.description.split('\n\n').map(p => wrap(p, 96)),
    '',
    'Options:',
    optionHelp({ ...c.options, ...COMMON_OPTIONS }),
    ...(c.examples?.length ? ['', 'Examples:', ...c.examples.map(e => `  ${e}`)] : []),
    '',
  ].join('\n');
}

/** Runs a command line (without `node cli.js`); resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(topHelp());
    return ExitCode.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topHelp());
    return ExitCode.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`${version}\n`);
    return ExitCode.ok;
  }
  const command = COMMANDS.find(c => c.name === name);
  if (!command) {
    io.stderr(`winnow: unknown command "${name}" (winnow --help lists them)\n`);
    return ExitCode.usage;
  }
  let json = rest.includes('--json');
  try {
    const parsed = parseCommandArgs(rest, command.options);
    const flags = new Flags(parsed);
    json = flags.bool('json');
    if (flags.bool('help')) {
      io.stdout(commandHelp(command));
      return ExitCode.ok;
    }
    const outcome = await runCommand(command, flags, io);
    finish(command, outcome, json, io);
    return outcome.code;
  } catch (e) {
    return fail(command, e, json, io, rest.includes('--verbose') || rest.includes('-v'));
  }
}

async function runCommand(command: Command, flags: Flags, io: CliIo): Promise<CommandOutcome> {
  const progress = createProgress(
    progressMode(flags.string('progress'), io.stderrIsTTY),
    command.name,
    io.stderr,
  );
  const err = (line: string): void => progress.log(line);
  const logger = new Logger({ error: err, warn: err, info: err, debug: err });
  logger.setLevel(flags.bool('verbose') ? 'info' : 'warn');
  routeConsole(logger);
  return command.run({
    flags,
    env: io.env,
    out: line => io.stdout(`${line}\n`),
    err,
    progress,
    logger,
    signal: io.signal,
    cacheDir: resolveCacheDir(flags.string('cache-dir'), io.env),
  });
}

/** Libraries that print (transformers.js does) write to the log on stderr, never to stdout. */
function routeConsole(logger: Logger): void {
  const target = console as unknown as Record<string, (...args: unknown[]) => void>;
  target.log = (...a) => logger.info(format(...a));
  target.info = target.log;
  target.debug = (...a) => logger.debug(format(...a));
  target.warn = (...a) => logger.warn(format(...a));
  target.error = target.warn;
}

function finish(command: Command, o: CommandOutcome, json: boolean, io: CliIo): void {
  const text = o.lines.map(l => `${l}\n`).join('');
  if (!json) {
    io.stdout(text);
    return;
  }
  io.stderr(text);
  io.stdout(
    `${JSON.stringify({ ...o.summary, command: command.name, ok: o.code === ExitCode.ok, exitCode: o.code })}\n`,
  );
}

function fail(
  command: Command,
  e: unknown,
  json: boolean,
  io: CliIo,
  verbose: boolean,
): ExitCodeValue {
  const reason = io.signal.aborted ? io.signal.reason : undefined;
  const error = e instanceof CliError ? e : reason instanceof InterruptedError ? reason : undefined;
  const code = error?.code ?? ExitCode.failed;
  const message = error ? error.message : oneLine(e);
  io.stderr(`winnow ${command.name}: ${message}\n`);
  if (verbose && !error) io.stderr(`${errorText(e)}\n`);
  if (json)
    io.stdout(
      `${JSON.stringify({ command: command.name, ok: false, exitCode: code, error: message })}\n`,
    );
  return code;
}

/** Aborts the returned signal on SIGINT / SIGTERM; a second signal exits at once. */
function stopSignal(): AbortSignal {
  const abort = new AbortController();
  const on = (sig: 'SIGINT' | 'SIGTERM') => () => {
    if (abort.signal.aborted)
      process.exit(sig === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated);
    abort.abort(new InterruptedError(sig));
  };
  process.on('SIGINT', on('SIGINT'));
  process.on('SIGTERM', on('SIGTERM'));
  return abort.signal;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const direct = COMMANDS.find(c => c.name === argv[0])?.direct;
  if (direct) direct(argv.slice(1));
  else
    void main(argv, {
      stdout: t => process.stdout.write(t),
      stderr: t => process.stderr.write(t),
      stderrIsTTY: process.stderr.isTTY === true,
      env: process.env,
      signal: stopSignal(),
    }).then(code => {
      process.exitCode = code;
    });
}
