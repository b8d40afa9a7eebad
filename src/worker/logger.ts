import { format } from 'node:util';
import type { LogLevel } from '../shared/settings';

/** Where log lines go: the connection's console (window/logMessage) in the server. */
export interface LogSink {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * The worker's logger. Lines travel to the client as `window/logMessage` and land in the
 * "Winnow" LogOutputChannel (other clients show them in their LSP log); nothing is ever written
 * to stdout. Honours `winnow.worker.logLevel`.
 */
export class Logger {
  private level: LogLevel = 'info';

  constructor(private readonly sink: LogSink) {}

  setLevel(level: LogLevel | undefined): void {
    if (level && level in rank) this.level = level;
  }

  getLevel(): LogLevel {
    return this.level;
  }

  enabled(level: LogLevel): boolean {
    return rank[level] <= rank[this.level];
  }

  error(message: string, err?: unknown): void {
    // Errors are always written, whatever the level.
    this.sink.error(err === undefined ? message : `${message}: ${errorText(err)}`);
  }

  warn(message: string): void {
    if (this.enabled('warn')) this.sink.warn(message);
  }

  info(message: string): void {
    if (this.enabled('info')) this.sink.info(message);
  }

  debug(message: string): void {
    if (this.enabled('debug')) this.sink.debug(message);
  }

  /**
   * Routes `console.*` and `process.stdout.write` of this process to the log, so that a library
   * that prints (transformers.js does) can never write to stdout. Over stdio the protocol keeps
   * the original `write` (src/worker/transport.ts), so call this after the connection exists.
   * Native code writes its logs to stderr (ONNX Runtime does), which clients copy into the log.
   */
  captureConsole(): void {
    const target = console as unknown as Record<string, (...args: unknown[]) => void>;
    const route =
      (level: LogLevel) =>
      (...args: unknown[]) =>
        this[level](format(...args));
    target.log = route('info');
    target.info = route('info');
    target.warn = route('warn');
    target.error = route('error');
    target.debug = route('debug');
    target.trace = route('debug');
    process.stdout.write = ((chunk: unknown): boolean => {
      this.info(String(chunk).replace(/\n$/, ''));
      return true;
    }) as typeof process.stdout.write;
  }
}

/** Formats an unknown thrown value with its stack. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
