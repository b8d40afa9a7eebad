// Generated workspaces for the tests that run in a real VS Code (API and UI tiers). Tests make
// their own data: never read /work/shared or the user's files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Options for {@link generateJsonl}. */
export interface JsonlOptions {
  /** 0-based line indexes to write as invalid JSON instead of a record. */
  readonly invalidLines?: readonly number[];
  /** Adds a trailing newline after the last line (default true). */
  readonly trailingNewline?: boolean;
}

const TOPICS = ['rivers', 'prime numbers', 'bread', 'volcanoes', 'sorting', 'tides', 'owls'];

/**
 * A deterministic instruction-tuning style JSONL text with `count` lines:
 * `{"id":i,"instruction":"...","response":"...","source":"gen"}`. Lines listed in
 * `invalidLines` hold a truncated object so parsers report them.
 */
export function generateJsonl(count: number, opts: JsonlOptions = {}): string {
  const invalid = new Set(opts.invalidLines ?? []);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const topic = TOPICS[i % TOPICS.length];
    if (invalid.has(i)) {
      lines.push(`{"id":${i},"instruction":"Explain ${topic}`);
      continue;
    }
    lines.push(
      JSON.stringify({
        id: i,
        instruction: `Explain ${topic} in ${(i % 3) + 1} sentences.`,
        response: `Row ${i}: a short answer about ${topic}.`,
        source: 'gen',
      }),
    );
  }
  return lines.join('\n') + (opts.trailingNewline === false ? '' : '\n');
}

/** A temp folder with generated files; `dispose()` removes it. */
export interface TempWorkspace {
  readonly dir: string;
  /** Absolute path of a file in the workspace. */
  path(name: string): string;
  /** Writes (or overwrites) a file in the workspace and returns its absolute path. */
  write(name: string, text: string): string;
  dispose(): void;
}

/** Creates a temp workspace folder holding `files` (relative name -> contents). */
export function makeWorkspace(files: Record<string, string> = {}): TempWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'winnow-ws-'));
  const ws: TempWorkspace = {
    dir,
    path: name => join(dir, name),
    write(name, text) {
      const p = join(dir, name);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      return p;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
  for (const [name, text] of Object.entries(files)) ws.write(name, text);
  return ws;
}
