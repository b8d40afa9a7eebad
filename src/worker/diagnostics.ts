import type { Diagnostic } from 'vscode-languageserver/node';
import type { ParseError } from '../core/jsonl';

/** The LSP severities used here (numeric values from the protocol). */
const Severity = { Error: 1, Information: 3 } as const;

/** One invalid line as the worker records it: row index, engine error and its editor range. */
export interface InvalidRow {
  /** 0-based row index = editor line. */
  index: number;
  error: ParseError;
  /** UTF-16 start and end character of the range to underline on that line. */
  startChar: number;
  endChar: number;
}

/** The diagnostic source shown in the Problems panel. */
export const diagnosticSource = 'Winnow';

/** Codes that are not parse-error kinds. */
export const DiagnosticCodes = {
  jsonArray: 'json-array',
  moreProblems: 'more-problems',
  fileUnavailable: 'file-unavailable',
} as const;

/**
 * The editor range of a parse error. A syntax or UTF-8 error points at one character: the
 * engine's 1-based column, or the last character when the line ended early (column past the end).
 * Errors about the line as a whole (not an object, Python repr, empty, too long) cover the line.
 */
export function errorRange(error: ParseError, lineLength: number): { start: number; end: number } {
  const length = Math.max(0, lineLength);
  const pointed = error.kind === 'syntax' || error.kind === 'invalid-utf8';
  if (!pointed || error.column === undefined || error.column < 1) return { start: 0, end: length };
  const start = Math.min(error.column - 1, Math.max(0, length - 1));
  return { start, end: Math.min(start + 1, Math.max(length, 1)) };
}

/**
 * Builds the diagnostics for one file: one Error per invalid line, at most `maxProblems`, then
 * one Information line that says how many more there are. A pretty-printed JSON array saved as
 * JSONL gets a single diagnostic instead of one per line (every line of it is "invalid"). A file
 * that is gone from disk or cannot be read gets one diagnostic that says so: the lines the
 * worker validated are no longer what is on disk.
 */
export function buildDiagnostics(input: {
  invalid: readonly InvalidRow[];
  invalidCount: number;
  maxProblems: number;
  jsonArray: boolean;
  firstLineLength: number;
  /** Why the file on disk cannot be read now (`JsonlFile.unavailable`). */
  unavailable?: string;
}): Diagnostic[] {
  if (input.unavailable !== undefined) {
    return [
      {
        range: line(0, 0, Math.max(1, input.firstLineLength)),
        severity: Severity.Error,
        source: diagnosticSource,
        code: DiagnosticCodes.fileUnavailable,
        message:
          `${input.unavailable}. Winnow shows the content it read last, scores nothing, and ` +
          'reloads the file as soon as it can be read again.',
      },
    ];
  }
  if (input.jsonArray) {
    return [
      {
        range: line(0, 0, Math.max(1, input.firstLineLength)),
        severity: Severity.Error,
        source: diagnosticSource,
        code: DiagnosticCodes.jsonArray,
        message:
          'This file is a JSON array (pretty-printed JSON), not JSON Lines. JSON Lines needs ' +
          'one JSON object per line; convert the file, for example with: jq -c ".[]" in.json > out.jsonl',
      },
    ];
  }
  const shown = input.invalid.slice(0, input.maxProblems);
  const diagnostics: Diagnostic[] = shown.map(row => ({
    range: line(row.index, row.startChar, row.endChar),
    severity: Severity.Error,
    source: diagnosticSource,
    code: row.error.kind,
    message: row.error.message,
  }));
  const more = input.invalidCount - shown.length;
  if (more > 0 && input.maxProblems > 0) {
    const next = input.invalid[shown.length];
    const at = next ?? shown[shown.length - 1];
    if (at) {
      diagnostics.push({
        range: line(at.index, 0, 0),
        severity: Severity.Information,
        source: diagnosticSource,
        code: DiagnosticCodes.moreProblems,
        message:
          `${more} more invalid ${more === 1 ? 'line is' : 'lines are'} not listed ` +
          `(winnow.diagnostics.maxProblems = ${input.maxProblems}).`,
      });
    }
  }
  return diagnostics;
}

function line(index: number, start: number, end: number): Diagnostic['range'] {
  return { start: { line: index, character: start }, end: { line: index, character: end } };
}
