/**
 * Tier 2: the real worker process (dist/worker.js) over the real IPC language-server connection,
 * on real files in a temporary folder. Expected ranges are computed from the generated lines
 * (where the error is), and messages are the JSONL engine's own, which the worker must pass on.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic, MarkupContent } from 'vscode-languageserver-protocol/node';
import { contentHash, parseLine } from '../../src/core/jsonl';
import { WorkerErrorCodes } from '../../src/shared/protocol/worker';
import { writeLargeJsonl } from '../support/datasetFiles';
import { WorkerSession } from './workerSession';

const enc = new TextEncoder();
let dir: string;

/** Writes a generated dataset into the current suite's temporary folder; returns its URI. */
function writeDataset(name: string, lines: string[], trailingNewline = true): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + (trailingNewline ? '\n' : ''));
  return pathToFileURL(path).toString();
}

/** The engine's message for a line: what the worker must publish. */
function engineError(line: string) {
  const parsed = parseLine(enc.encode(line));
  assert.equal(parsed.ok, false, `${JSON.stringify(line)} is invalid`);
  return parsed.error;
}

function range(line: number, start: number, end: number): Diagnostic['range'] {
  return { start: { line, character: start }, end: { line, character: end } };
}

function hoverText(hover: { contents: unknown } | null): string {
  assert.ok(hover, 'a hover');
  const contents = hover.contents as MarkupContent;
  assert.equal(contents.kind, 'markdown');
  return contents.value;
}

/** Markdown with backslash escapes removed, for reading what the user sees. */
function unescape(markdown: string): string {
  return markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/** Removes CommonMark code spans: a run of n backticks up to the next run of exactly n. */
function stripCodeSpans(markdown: string): string {
  let out = '';
  let i = 0;
  while (i < markdown.length) {
    const open = /`+/g;
    open.lastIndex = i;
    const m = open.exec(markdown);
    if (!m) break;
    out += markdown.slice(i, m.index);
    const close = new RegExp(`(?<!\`)${m[0]}(?!\`)`, 'g');
    close.lastIndex = m.index + m[0].length;
    const c = close.exec(markdown);
    if (!c) return out + markdown.slice(m.index);
    i = c.index + c[0].length;
  }
  return out + markdown.slice(i);
}

// The generated file: valid rows, and one row for each kind of problem.
const mixed = [
  '{"text": "a valid row", "id": 1}', // 0 ok
  '{"a": 1,, "b": 2}', // 1 syntax: second comma
  '', // 2 empty
  '[1, 2, 3]', // 3 not an object
  "{'text': 'hello', 'ok': True}", // 4 Python repr
  '{"text": "😀😀 naïve", "id": 5}', // 5 ok, non-ASCII
  '{"text": "😀😀", bad}', // 6 syntax after surrogate pairs
  '{"text": "last", "id": 7}', // 7 ok
];

describe('worker over LSP (IPC)', () => {
  let session: WorkerSession;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-'));
    session = await WorkerSession.start();
  });

  after(async () => {
    const code = await session.shutdown();
    assert.equal(code, 0, 'clean exit after shutdown/exit');
    // The protocol runs over IPC; the worker must never print to stdout.
    assert.equal(session.stdout, '', 'nothing on stdout');
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes one Error diagnostic per invalid line, with exact ranges and engine messages', async () => {
    const uri = writeDataset('mixed.jsonl', mixed);
    await session.openDataset(uri);
    const published = await session.waitForDiagnostics(uri, d => d.length === 5);
    const diagnostics = published.filter(d => d.severity === 1);
    const expected = [
      {
        line: 1,
        range: range(1, mixed[1]!.indexOf(',,') + 1, mixed[1]!.indexOf(',,') + 2),
        code: 'syntax',
      },
      { line: 3, range: range(3, 0, mixed[3]!.length), code: 'not-object' },
      { line: 4, range: range(4, 0, mixed[4]!.length), code: 'python-repr' },
      // UTF-16 columns: each emoji is two code units, as in the editor.
      {
        line: 6,
        range: range(6, mixed[6]!.indexOf('bad'), mixed[6]!.indexOf('bad') + 1),
        code: 'syntax',
      },
    ];
    assert.deepEqual(
      diagnostics.map(d => ({ line: d.range.start.line, range: d.range, code: d.code })),
      expected,
    );
    for (const d of diagnostics) {
      assert.equal(d.severity, 1, 'Error');
      assert.equal(d.source, 'Winnow');
      assert.equal(d.message, engineError(mixed[d.range.start.line]!).message);
    }
    // The blank line is reported apart, as information, after the invalid lines.
    const blank = published.filter(d => d.severity !== 1);
    assert.deepEqual(
      blank.map(d => ({ range: d.range, severity: d.severity, code: d.code })),
      [{ range: range(2, 0, 0), severity: 3, code: 'blank-line' }],
    );
    assert.match(String(blank[0]!.message), /^Blank line: .*counted apart from invalid lines/);
  });

  it('answers winnow/fileInfo with counts, schema and completion', async () => {
    const uri = writeDataset('info.jsonl', mixed);
    await session.openDataset(uri);
    const info = await session.fileInfo(uri);
    assert.deepEqual(
      {
        rowCount: info.rowCount,
        invalidCount: info.invalidCount,
        blankCount: info.blankCount,
        validatedRows: info.validatedRows,
        indexed: info.indexed,
        jsonArray: info.jsonArray,
        bytes: info.bytes,
      },
      {
        rowCount: 8,
        invalidCount: 4,
        blankCount: 1,
        validatedRows: 8,
        indexed: true,
        jsonArray: false,
        bytes: Buffer.byteLength(mixed.join('\n') + '\n'),
      },
    );
    assert.equal(info.schema?.kind, 'text');
    assert.ok(info.schema?.fields.includes('text'));
  });

  it('shows parse status, fields, schema and content hash in the hover of a valid line', async () => {
    const uri = writeDataset('hover.jsonl', mixed);
    await session.openDataset(uri);
    await session.fileInfo(uri);
    const hover = await session.hover(uri, 5, 3);
    const text = unescape(hoverText(hover));
    assert.match(text, /row 6 of 8/);
    assert.match(text, /\*\*Parse:\*\* OK: JSON object with 2 fields/);
    assert.match(text, /\*\*Fields:\*\* `text`, `id`/);
    assert.match(text, /\*\*File schema:\*\* Text \(text\)\n/);
    const hash = contentHash(enc.encode(mixed[5]!)).slice(0, 12);
    assert.ok(text.includes(`\`${hash}\``), `hash ${hash} in ${text}`);
    // The hover covers the whole line, in UTF-16 units.
    assert.deepEqual(hover!.range, range(5, 0, mixed[5]!.length));
    // Scores are not computed yet, so the hover must not pretend they are: it says so.
    assert.doesNotMatch(text, /P\(yes\)|percentile/i);
    assert.match(text, /\*\*ASK-LLM:\*\* not scored yet/);
  });

  it('shows the parse error with its reason and column in the hover of an invalid line', async () => {
    const uri = writeDataset('hover-bad.jsonl', mixed);
    await session.openDataset(uri);
    const text = unescape(hoverText(await session.hover(uri, 6)));
    const error = engineError(mixed[6]!);
    assert.ok(
      text.includes(`**Parse:** Error (syntax) at column ${error.column}: ${error.message}`),
      text,
    );
    assert.equal(error.column, mixed[6]!.indexOf('bad') + 1);
    assert.equal(await session.hover(uri, 100), null, 'no hover past the last row');
  });

  it('escapes dataset text in hovers: field names cannot inject Markdown links or HTML', async () => {
    const evil = '{"[click](http://evil.example)": 1, "<img src=x onerror=alert(1)>": 2, "a`b": 3}';
    const uri = writeDataset('escape.jsonl', [evil]);
    await session.openDataset(uri);
    const markdown = hoverText(await session.hover(uri, 0));
    // Every field name sits inside a code span (rendered verbatim), never as live Markdown.
    assert.ok(markdown.includes('`[click](http://evil.example)`'), markdown);
    assert.ok(markdown.includes('`<img src=x onerror=alert(1)>`'), markdown);
    assert.ok(markdown.includes('``a`b``'), markdown);
    assert.doesNotMatch(stripCodeSpans(markdown), /\]\(|<img|`/);
  });

  it('updates diagnostics when lines are appended, and re-checks a last line that grew', async () => {
    // The last line has no newline and is cut off: invalid until the rest is appended.
    const lines = ['{"text": "one"}', '{"text": "tw'];
    const uri = writeDataset('append.jsonl', lines, false);
    const path = new URL(uri);
    await session.openDataset(uri);
    let d = await session.waitForDiagnostics(uri, x => x.length === 1);
    assert.equal(d[0]!.range.start.line, 1);
    appendFileSync(path, 'o"}\n{"text": "three"}\n{broken\n');
    d = await session.waitForDiagnostics(
      uri,
      x => x.length === 1 && x[0]!.range.start.line === 3,
      'the appended broken line only',
    );
    assert.equal(d[0]!.message, engineError('{broken').message);
    const info = await session.fileInfo(uri);
    assert.equal(info.rowCount, 4);
    assert.equal(info.invalidCount, 1);
  });

  it('starts over when the file is rewritten (atomic replace)', async () => {
    const uri = writeDataset('rewrite.jsonl', ['{"x": 1}', 'oops', '{"x": 3}']);
    await session.openDataset(uri);
    await session.waitForDiagnostics(uri, x => x.length === 1);
    const tmp = join(dir, '.rewrite.tmp');
    writeFileSync(tmp, '{"x": 1}\n{"x": 2}\n');
    renameSync(tmp, new URL(uri));
    await session.waitForDiagnostics(uri, x => x.length === 0, 'no diagnostics after the fix');
    const info = await session.fileInfo(uri);
    assert.equal(info.rowCount, 2);
    assert.equal(info.invalidCount, 0);
  });

  it('gives a pretty-printed JSON array one clear diagnostic instead of one per line', async () => {
    const pretty = JSON.stringify([{ text: 'a' }, { text: 'b' }], null, 2).split('\n');
    const uri = writeDataset('array.jsonl', pretty);
    await session.openDataset(uri);
    const d = await session.waitForDiagnostics(uri, x => x.length > 0);
    const info = await session.fileInfo(uri);
    assert.equal(info.jsonArray, true);
    const final = session.diagnostics.get(uri)!;
    assert.equal(final.length, 1);
    assert.equal(final[0]!.code, 'json-array');
    assert.equal(final[0]!.range.start.line, 0);
    assert.match(String(final[0]!.message), /JSON array .* not JSON Lines/);
    assert.equal(d[0]!.severity, 1);
    assert.equal(info.invalidCount, pretty.length, 'every line is still counted as invalid');
  });

  it('tells the truth about a file VS Code opens as binary: every invalid line, and why', async () => {
    // Line 1 starts with `[` but is a broken row, not a JSON array; line 2 holds a NUL byte
    // within VS Code's 512-byte binary probe; every line fails for its own reason.
    const kinds = ['{"a": 1,, "b": 2}', 'not json', "{'a': True}", '{"t": "cut'];
    const lines = ['[1, 2', '{"text": "x\0y"}'];
    for (let i = lines.length; i < 180; i++) lines.push(kinds[i % kinds.length]!);
    assert.ok(lines[1]!.includes('\0'));
    const uri = writeDataset('binary.jsonl', lines);
    await session.openDataset(uri);
    const info = await session.fileInfo(uri);
    assert.equal(info.jsonArray, false, 'not a JSON array');
    assert.equal(info.invalidCount, 180);
    assert.equal(info.binaryLine, 1);
    const d = await session.waitForDiagnostics(uri, x => x.length === 181);
    const file = d.filter(x => x.code === 'binary-file');
    assert.equal(file.length, 1);
    assert.equal(file[0]!.severity, 2, 'Warning');
    assert.equal(file[0]!.range.start.line, 1);
    assert.match(
      String(file[0]!.message),
      /^180 invalid lines; line 2 contains a NUL byte, so VS Code opens this file as binary/,
    );
    const errors = d.filter(x => x.severity === 1);
    assert.deepEqual(
      errors.map(x => x.range.start.line),
      lines.map((_, i) => i),
    );
    assert.match(String(errors[1]!.message), /NUL byte \(0x00\) in string/);
  });

  it('names no binary file when the NUL byte lies past the first 512 bytes', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `{"text": "row ${i} ${'x'.repeat(40)}"}`);
    lines.push('{"text": "late\0nul"}');
    const uri = writeDataset('late-nul.jsonl', lines);
    await session.openDataset(uri);
    const info = await session.fileInfo(uri);
    assert.equal(info.binaryLine, undefined);
    const d = await session.waitForDiagnostics(uri, x => x.length === 1);
    assert.equal(d[0]!.range.start.line, 20);
    assert.equal(d[0]!.severity, 1);
  });

  it('re-counts a blank last line that an append turns into a row', async () => {
    const uri = writeDataset('blank-tail.jsonl', ['{"a": 1}', '', '   '], false);
    await session.openDataset(uri);
    let info = await session.fileInfo(uri);
    assert.deepEqual([info.invalidCount, info.blankCount], [0, 2]);
    assert.match(
      unescape(hoverText(await session.hover(uri, 1))),
      /\*\*Parse:\*\* Blank line: no example here \(counted apart from invalid lines\)/,
    );
    appendFileSync(new URL(uri), '{"a": 3}\n{"a": 4}\n');
    await session.waitForDiagnostics(
      uri,
      x => x.length === 1 && x[0]!.range.start.line === 1,
      'only the blank line 2 left',
    );
    info = await session.fileInfo(uri);
    // `   {"a": 3}` is a valid row: leading spaces are JSON whitespace.
    assert.deepEqual([info.rowCount, info.invalidCount, info.blankCount], [4, 0, 1]);
  });

  it('reads a gzip file named .jsonl (by its magic bytes) and says once that it is compressed', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ text: `row ${i} ${i * 7919}` }),
    );
    const path = join(dir, 'packed.jsonl');
    writeFileSync(path, gzipSync(lines.join('\n') + '\n'));
    const uri = pathToFileURL(path).toString();
    await session.openDataset(uri);
    await session.waitForDiagnostics(uri, x => x.length > 0);
    const info = await session.fileInfo(uri);
    assert.equal(info.compression, 'gzip');
    assert.deepEqual([info.rowCount, info.invalidCount], [3000, 0], 'every line decoded');
    const final = session.diagnostics.get(uri)!;
    assert.equal(final.length, 1, JSON.stringify(final.slice(0, 3)));
    assert.equal(final[0]!.code, 'compressed');
    assert.match(String(final[0]!.message), /^This file is compressed \(gzip\).*Dataset View/);
  });

  it('keeps a file open while any holder has it, then clears its diagnostics on the last close', async () => {
    const uri = writeDataset('holders.jsonl', ['nope']);
    await session.openDataset(uri, 'textDocument');
    await session.openDataset(uri, 'datasetView');
    await session.waitForDiagnostics(uri, x => x.length === 1);
    await session.closeDataset(uri, 'textDocument');
    assert.equal((await session.fileInfo(uri)).invalidCount, 1, 'still open for the view');
    await session.closeDataset(uri, 'datasetView');
    await session.waitForDiagnostics(uri, x => x.length === 0, 'cleared diagnostics');
    await assert.rejects(session.fileInfo(uri), (e: { code?: number }) => {
      assert.equal(e.code, WorkerErrorCodes.datasetNotOpen);
      return true;
    });
  });

  it('a request that overtakes its didOpen waits for it; one for a file never opened fails', async () => {
    const uri = writeDataset('overtaken.jsonl', ['{"a":1}', '{"a":2}']);
    const columns = session.columns(uri);
    await session.openDataset(uri, 'datasetView');
    // Answered (not "not open"): the columns of the file as far as it is validated yet.
    const answered = await columns;
    assert.ok(answered.rowCount <= 2 && typeof answered.fileVersion === 'string');
    await session.closeDataset(uri, 'datasetView');
    const never = writeDataset('never-opened.jsonl', ['{"a":1}']);
    await assert.rejects(session.columns(never), (e: { code?: number }) => {
      assert.equal(e.code, WorkerErrorCodes.datasetNotOpen);
      return true;
    });
  });

  it('says winnow/didChangeColumns once a newly opened file is read, so an early asker asks again', async t => {
    const path = join(dir, 'columns-early.jsonl');
    const rows = 100_000;
    await writeLargeJsonl(path, rows);
    const uri = pathToFileURL(path).toString();
    const from = session.columnChanges.length;
    await session.openDataset(uri);
    // Asked at once, the columns cover the rows read so far (the dataset view asks this early).
    const early = await session.columns(uri);
    t.diagnostic(`the first columns covered ${early.rowCount} of ${rows} rows`);
    assert.ok(early.rowCount <= rows);
    // The worker says when the columns changed (here: they now cover every row); the client asks
    // again then, instead of asking again on a timer.
    const told = await session.waitFor('didChangeColumns of the new file', () =>
      session.columnChanges.slice(from).find(c => c.uri === uri),
    );
    assert.deepEqual(told.kinds, ['askllm']);
    const info = await session.fileInfo(uri, false);
    assert.equal(info.indexed, true, 'told before the file was read');
    const later = await session.columns(uri);
    assert.equal(later.rowCount, rows);
    await session.closeDataset(uri);
  });

  it('reports indexing and then idle through winnow/status', async () => {
    const uri = writeDataset('status.jsonl', mixed);
    const from = session.statuses.length;
    await session.openDataset(uri);
    await session.fileInfo(uri);
    const states = await session.waitFor('idle after indexing', () => {
      const seen = session.statuses.slice(from).map(s => s.state);
      return seen.includes('indexing') && seen[seen.length - 1] === 'idle' ? seen : undefined;
    });
    assert.ok(states.indexOf('indexing') < states.lastIndexOf('idle'));
    const indexing = session.statuses.slice(from).find(s => s.state === 'indexing')!;
    assert.equal(indexing.detail, 'status.jsonl');
    assert.equal(indexing.progress?.unit, 'bytes');
  });

  it('answers hovers while a large file is still being validated', async t => {
    const path = join(dir, 'large.jsonl');
    const rows = 300_000;
    await writeLargeJsonl(path, rows, { invalidLines: [rows - 1] });
    const uri = pathToFileURL(path).toString();
    await session.openDataset(uri);
    // Once the file is open, validation runs in the background; ask for its end and race hovers.
    const opened = await session.fileInfo(uri, false);
    assert.equal(opened.indexed, false, 'validation has just started');
    let validated = false;
    const done = session.fileInfo(uri, true).then(info => {
      validated = true;
      return info;
    });
    const latencies: number[] = [];
    let answeredBeforeEnd = 0;
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const text = unescape(hoverText(await session.hover(uri, i * 1000)));
      latencies.push(performance.now() - started);
      assert.match(text, new RegExp(`row ${(i * 1000 + 1).toLocaleString('en-US')} of`));
      if (!validated) answeredBeforeEnd++;
    }
    // Hovers are served between validation batches instead of waiting for the whole pass: the
    // first hover, sent while validation had just started, is answered before it ends (an
    // order, not a time, so a loaded machine does not change it).
    assert.ok(
      answeredBeforeEnd > 0,
      `hovers answered before validation ended: ${answeredBeforeEnd}`,
    );
    t.diagnostic(`hover latencies during validation ${latencies.map(Math.round).join(', ')} ms`);
    const info = await done;
    assert.equal(info.rowCount, rows);
    assert.equal(info.invalidCount, 1);
    await session.waitForDiagnostics(
      uri,
      d => d.length === 1 && d[0]!.range.start.line === rows - 1,
    );
    await session.closeDataset(uri);
  });

  it('reads the file itself: textDocument/didOpen text is ignored', async () => {
    const uri = writeDataset('plain-client.jsonl', ['{"ok": true}', 'bad line']);
    // A plain LSP client sends the text; the worker must use the file on disk instead.
    await session.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'jsonl', version: 1, text: 'not what is on disk\n' },
    });
    const d = await session.waitForDiagnostics(uri, x => x.length === 1);
    assert.equal(d[0]!.range.start.line, 1);
  });
});

describe('worker settings', () => {
  let session: WorkerSession;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-'));
    session = await WorkerSession.start({
      settings: { diagnostics: { maxProblems: 5 }, worker: { logLevel: 'error' } },
    });
  });

  after(async () => {
    assert.equal(await session.shutdown(), 0);
    assert.equal(session.stdout, '');
    rmSync(dir, { recursive: true, force: true });
  });

  it('caps diagnostics at winnow.diagnostics.maxProblems and says how many more there are', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? `{"i": ${i}}` : `bad ${i}`));
    const uri = writeDataset('many.jsonl', lines);
    await session.openDataset(uri);
    const info = await session.fileInfo(uri);
    assert.equal(info.invalidCount, 30);
    const d = await session.waitForDiagnostics(uri, x => x.length === 6);
    assert.deepEqual(
      d.slice(0, 5).map(x => x.range.start.line),
      [1, 2, 3, 5, 6],
    );
    assert.equal(d[5]!.severity, 3, 'Information');
    assert.equal(d[5]!.code, 'more-problems');
    assert.equal(
      d[5]!.message,
      '25 more invalid lines are not listed (winnow.diagnostics.maxProblems = 5).',
    );
    // A settings change is pulled again and applied to open files.
    await session.changeSettings({
      diagnostics: { maxProblems: 2 },
      worker: { logLevel: 'error' },
    });
    const fewer = await session.waitForDiagnostics(uri, x => x.length === 3);
    assert.equal(
      fewer[2]!.message,
      '28 more invalid lines are not listed (winnow.diagnostics.maxProblems = 2).',
    );
  });

  it('caps blank-line notes apart from invalid lines, with their own count', async () => {
    const lines = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 0 ? (i % 2 === 0 ? '' : ' \t ') : `{"i": ${i}}`,
    );
    lines[1] = 'broken';
    const uri = writeDataset('blanks.jsonl', lines);
    await session.openDataset(uri);
    const info = await session.fileInfo(uri);
    assert.deepEqual([info.invalidCount, info.blankCount], [1, 10]);
    // The test above left winnow.diagnostics.maxProblems at 2.
    const d = await session.waitForDiagnostics(uri, x => x.length === 4);
    assert.deepEqual(
      d.map(x => [x.range.start.line, x.severity, x.code]),
      [
        [1, 1, 'syntax'],
        [0, 3, 'blank-line'],
        [3, 3, 'blank-line'],
        [6, 3, 'more-blank-lines'],
      ],
    );
    assert.equal(
      d[3]!.message,
      '8 more blank lines are not listed (winnow.diagnostics.maxProblems = 2).',
    );
  });

  it('honours winnow.worker.logLevel: info lines are not sent at level error', async () => {
    const uri = writeDataset('quiet.jsonl', ['{"a": 1}']);
    await session.openDataset(uri);
    await session.fileInfo(uri);
    // MessageType.Info = 3; "Opening dataset ..." is an info line.
    assert.equal(
      session.logs.some(l => l.message.startsWith('Opening dataset')),
      false,
      JSON.stringify(session.logs),
    );
    await session.changeSettings({ worker: { logLevel: 'debug' } });
    // The worker pulls the new level and says so (at the new level).
    await session.waitFor('the new log level', () =>
      session.logs.some(l => l.message === 'Log level: debug'),
    );
    const uri2 = writeDataset('loud.jsonl', ['{"a": 1}']);
    await session.openDataset(uri2);
    await session.fileInfo(uri2);
    await session.waitFor('an info line at level debug', () =>
      session.logs.some(l => l.message.startsWith(`Opening dataset ${uri2}`)),
    );
  });
});

describe('worker process', () => {
  // A worker that stays up fails by the test's timeout, not by a guess at how long exiting takes.
  it(
    'exits when the extension host goes away (IPC channel closed)',
    { timeout: 60_000 },
    async () => {
      const session = await WorkerSession.start();
      session.child.disconnect();
      assert.equal(await session.whenExited(), 0);
    },
  );

  it('refuses to run without a transport (no --stdio, no IPC channel), saying how on stderr', async () => {
    const { spawnSync } = await import('node:child_process');
    const { workerPath } = await import('./workerSession');
    const result = spawnSync(process.execPath, [workerPath], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /start it with --stdio .* or --node-ipc/);
  });
});
