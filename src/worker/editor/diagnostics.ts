import type { Diagnostic } from 'vscode-languageserver/node';
import {
  binaryFileMessage,
  compressedFileMessage,
  isReadableCompression,
  type CompressionFormat,
  type ParseError,
} from '../../core/jsonl';

/** The LSP severities used here (numeric values from the protocol). */
const Severity = { Error: 1, Warning: 2, Information: 3 } as const;

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
  compressed: 'compressed',
  fileUnavailable: 'file-unavailable',
  moreProblems: 'more-problems',
  blankLine: 'blank-line',
  moreBlankLines: 'more-blank-lines',
  binaryFile: 'binary-file',
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

/** What {@link buildDiagnostics} needs to know about one file. */
export interface FileProblems {
  invalid: readonly InvalidRow[];
  invalidCount: number;
  maxProblems: number;
  jsonArray: boolean;
  firstLineLength: number;
  /** 0-based indices of blank lines (the first ones), and how many there are in all. */
  blank?: readonly number[];
  blankCount?: number;
  /** The line of the NUL byte that makes VS Code open the file as binary, if any. */
  binaryLine?: number;
  /** The file is compressed: one diagnostic says so (with `fileName` for the unpack command). */
  compression?: CompressionFormat | undefined;
  fileName?: string;
  /** Why the file on disk cannot be read now (`JsonlFile.unavailable`). */
  unavailable?: string | undefined;
}

/**
 * Builds the diagnostics for one file: one Error per invalid line, at most `maxProblems`, then
 * one Information line that says how many more there are. Blank lines are not invalid: each
 * gets an Information diagnostic (at most `maxProblems`, then the same kind of note). A file
 * that VS Code opens as binary gets a Warning that says so, with the true invalid-line count.
 * A pretty-printed JSON array saved as JSONL gets a single diagnostic instead of one per line
 * (every line of it is "invalid"), and so does a compressed file. A file that is gone from disk
 * or cannot be read gets one diagnostic that says so: the lines the worker validated are no
 * longer what is on disk.
 */
export function buildDiagnostics(input: FileProblems): Diagnostic[] {
  if (input.unavailable !== undefined) return [unavailableDiagnostic(input)];
  if (input.compression) return [compressedDiagnostic(input)];
  if (input.jsonArray) return [jsonArrayDiagnostic(input.firstLineLength)];
  const diagnostics: Diagnostic[] = [];
  if (input.binaryLine !== undefined) {
    diagnostics.push({
      range: line(input.binaryLine, 0, 0),
      severity: Severity.Warning,
      source: diagnosticSource,
      code: DiagnosticCodes.binaryFile,
      message: binaryFileMessage(input.binaryLine, { invalidLines: input.invalidCount }),
    });
  }
  diagnostics.push(...invalidLineDiagnostics(input));
  diagnostics.push(
    ...blankLineDiagnostics(input.blank ?? [], input.blankCount ?? 0, input.maxProblems),
  );
  return diagnostics;
}

/** One Error on the first line about the file as a whole (it replaces the per-line ones). */
function fileDiagnostic(firstLineLength: number, code: string, message: string): Diagnostic {
  return {
    range: line(0, 0, Math.max(1, firstLineLength)),
    severity: Severity.Error,
    source: diagnosticSource,
    code,
    message,
  };
}

function jsonArrayDiagnostic(firstLineLength: number): Diagnostic {
  return fileDiagnostic(
    firstLineLength,
    DiagnosticCodes.jsonArray,
    'This file is a JSON array (pretty-printed JSON), not JSON Lines. JSON Lines needs ' +
      'one JSON object per line; convert the file, for example with: jq -c ".[]" in.json > out.jsonl',
  );
}

function invalidLineDiagnostics(input: FileProblems): Diagnostic[] {
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

function blankLineDiagnostics(
  blank: readonly number[],
  blankCount: number,
  maxProblems: number,
): Diagnostic[] {
  const shown = blank.slice(0, maxProblems);
  const diagnostics: Diagnostic[] = shown.map(index => ({
    range: line(index, 0, 0),
    severity: Severity.Information,
    source: diagnosticSource,
    code: DiagnosticCodes.blankLine,
    message: 'Blank line: it holds no example (counted apart from invalid lines).',
  }));
  const more = blankCount - shown.length;
  const at = blank[shown.length] ?? shown[shown.length - 1];
  if (more > 0 && maxProblems > 0 && at !== undefined) {
    diagnostics.push({
      range: line(at, 0, 0),
      severity: Severity.Information,
      source: diagnosticSource,
      code: DiagnosticCodes.moreBlankLines,
      message:
        `${more} more blank ${more === 1 ? 'line is' : 'lines are'} not listed ` +
        `(winnow.diagnostics.maxProblems = ${maxProblems}).`,
    });
  }
  return diagnostics;
}

function line(index: number, start: number, end: number): Diagnostic['range'] {
  return { start: { line: index, character: start }, end: { line: index, character: end } };
}

/** A gzip or zstd file is read fine (Information); an xz file cannot be read at all (Error). */
function compressedDiagnostic(input: FileProblems): Diagnostic {
  const format = input.compression!;
  const d = fileDiagnostic(
    input.firstLineLength,
    DiagnosticCodes.compressed,
    compressedFileMessage(format, input.fileName ?? 'FILE'),
  );
  return isReadableCompression(format) ? { ...d, severity: Severity.Information } : d;
}

function unavailableDiagnostic(input: FileProblems): Diagnostic {
  return fileDiagnostic(
    input.firstLineLength,
    DiagnosticCodes.fileUnavailable,
    `${input.unavailable}. Winnow shows the content it read last, scores nothing, and ` +
      'reloads the file as soon as it can be read again.',
  );
}
