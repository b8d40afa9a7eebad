/**
 * The CLI's exit codes (README "The winnow CLI") and the errors that carry them. Every failure
 * ends as one line on stderr, `winnow <command>: <message>`; stack traces only with `--verbose`.
 */

/** Documented exit codes. Scripts and schedulers branch on these, so they never change. */
export const ExitCode = {
  /** Done: every row the command was asked for has its result. */
  ok: 0,
  /** Failed: bad input, a model or engine that cannot be used, a file that cannot be written. */
  failed: 1,
  /** Usage: an unknown command or flag, or a flag value that does not parse. */
  usage: 2,
  /**
   * Finished with rows in error (status `"error"`): the outputs are written and name them; a
   * rerun retries exactly those rows.
   */
  incomplete: 3,
  /** Stopped by SIGINT; finished rows are in the cache and a rerun continues from them. */
  interrupted: 130,
  /** Stopped by SIGTERM (a scheduler's cancel or time limit); as for SIGINT. */
  terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the user can act on: its message is printed as is, and it exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ExitCodeValue = ExitCode.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command line that cannot be run (exit 2); the message says which flag and why. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** The run was stopped by a signal (SIGINT / SIGTERM); finished work is kept. */
export class InterruptedError extends CliError {
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(
      `stopped by ${signal}: finished rows are in the cache; run the same command again to continue`,
      signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated,
    );
    this.name = 'InterruptedError';
  }
}

/** The first line of an error's message (errors are one line on stderr). */
export function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n').find(l => l.trim() !== '') ?? text;
}
