/**
 * Command-line parsing for every command: Node's `util.parseArgs` (strict: an unknown flag is a
 * usage error) over a per-command option table that also writes the command's `--help`.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors';

/** One flag of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once (values are collected in order). */
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in the help (`N`, `FILE`). */
  value?: string;
  /** One or two lines for the help. */
  help: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** Flags every command takes. */
export const COMMON_OPTIONS: OptionTable = {
  json: { type: 'boolean', help: 'Print a machine-readable summary as the last line of stdout.' },
  progress: {
    type: 'string',
    value: 'MODE',
    help: 'auto (a bar when stderr is a terminal), bar, json (one object per line on stderr), none.',
  },
  'cache-dir': {
    type: 'string',
    value: 'DIR',
    help: 'Score, embedding and model cache (default: the per-user cache folder, as the worker).',
  },
  verbose: { type: 'boolean', short: 'v', help: 'Log what runs (model loads, devices) on stderr.' },
  help: { type: 'boolean', short: 'h', help: 'Show this help.' },
};

/** What a command line parsed to. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses `argv` against the command's flags plus the common ones. */
export function parseCommandArgs(argv: readonly string[], options: OptionTable): ParsedArgs {
  const table = { ...options, ...COMMON_OPTIONS };
  const config = Object.fromEntries(
    Object.entries(table).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...(o.multiple ? { multiple: true } : {}),
        ...(o.short ? { short: o.short } : {}),
      },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: config,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    // Node's messages name the flag ("Unknown option '--x'"); drop its hint about '--'.
    const message = e instanceof Error ? e.message : String(e);
    throw new UsageError(message.split('. To specify a positional argument')[0]);
  }
}

/** Help text of an option table, one flag per line (aligned). */
export function optionHelp(options: OptionTable): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return [flag, o.help + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  return rows
    .map(([flag, help]) =>
      flag.length + 2 > width
        ? `  ${flag}\n  ${' '.repeat(width)}${help}`
        : `  ${flag.padEnd(width)}${help}`,
    )
    .join('\n');
}

/** Typed access to parsed values, with usage errors that name the flag. */
export class Flags {
  constructor(private readonly parsed: ParsedArgs) {}

  get positionals(): readonly string[] {
    return this.parsed.positionals;
  }

  has(name: string): boolean {
    return this.parsed.values[name] !== undefined;
  }

  bool(name: string): boolean {
    return this.parsed.values[name] === true;
  }

  string(name: string): string | undefined {
    const v = this.parsed.values[name];
    if (Array.isArray(v)) return v[v.length - 1];
    return typeof v === 'string' ? v : undefined;
  }

  strings(name: string): string[] {
    const v = this.parsed.values[name];
    if (Array.isArray(v)) return v;
    return typeof v === 'string' ? [v] : [];
  }

  /** A required string flag. */
  required(name: string, what = 'a value'): string {
    const v = this.string(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} is required (${what})`);
    return v;
  }

  /** One of a fixed set of words. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const v = this.string(name);
    if (v === undefined) return fallback;
    if (!(choices as readonly string[]).includes(v))
      throw new UsageError(`--${name} must be one of ${choices.join(', ')} (got "${v}")`);
    return v as T;
  }

  /** An integer in [min, max]. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max)
      throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${v}")`);
    return n;
  }

  /** A finite number in [min, max]. */
  number(name: string, fallback: number, min = -Infinity, max = Infinity): number {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new UsageError(`--${name} must be a number from ${min} to ${max} (got "${v}")`);
    return n;
  }
}

/** The one dataset path a command takes as its first positional. */
export function fileArgument(flags: Flags, command: string): string {
  const [file, ...rest] = flags.positionals;
  if (file === undefined) throw new UsageError(`winnow ${command} needs a FILE (see --help)`);
  if (rest.length > 0)
    throw new UsageError(`winnow ${command} takes one FILE; unexpected "${rest[0]}"`);
  return file;
}
