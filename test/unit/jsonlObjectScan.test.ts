/**
 * Property test of the row scan's structural scan (`ObjectScanner`) against the exact path
 * (`parseLine`: UTF-8 decode and JSON.parse): on generated, mutated and hand-picked adversarial
 * lines, whenever the scan accepts a line, the exact path must find a JSON object with the same
 * keys in the same order and the same text length. And the scan must accept the common rows, so
 * that the row scan really takes it. Then the whole row scan (`scanRows`, batches read ahead) over
 * a file of such lines must give exactly the columns of the row-by-row `RowColumns.record`.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  detectSchema,
  extractText,
  JsonlFile,
  ObjectScanner,
  parseLine,
  type SchemaInfo,
  type TextRule,
} from '../../src/core/jsonl';
import { RowColumns, scanRows, type BatchFacts } from '../../src/core/dataset/rowColumns';
import { ROW_SCAN_THREAD_SCRIPT, ScanThreads } from '../../src/core/dataset/rowScanThreads';
import { countChars } from '../../src/core/dataset/rowViews';
import { Prng, tempDir, writeTemp } from './jsonlSupport';

const enc = new TextEncoder();
const dir = tempDir();

/** The schemas the structural scan serves, with the rule the row scan gives it for each. */
const SCHEMAS: { schema: SchemaInfo; rule: TextRule }[] = [
  { schema: detectSchema([]), rule: { kind: 'all' } },
  { schema: detectSchema([{ text: 'x' }]), rule: { kind: 'field', field: 'text' } },
  {
    schema: detectSchema([{ instruction: 'x', output: 'y' }]),
    rule: { kind: 'joined', fields: ['instruction', 'input', 'output'] },
  },
  {
    schema: detectSchema([{ instruction: 'x', response: 'y' }]),
    rule: { kind: 'joined', fields: ['instruction', 'context', 'response'] },
  },
];

// ---- generated lines ----------------------------------------------------------------------

/** Key texts as they appear between the quotes (some escaped, some integer-like). */
const KEYS = [
  'text',
  'instruction',
  'input',
  'output',
  'context',
  'response',
  'content',
  'a',
  'b',
  'é',
  '😀',
  '__proto__',
  'constructor',
  'toString',
  '',
  'x y',
  '1',
  '01',
  '-1',
  '4294967295',
  'k\\u0065y',
  'text\\u0000',
  '\\"q',
];

/** Pieces of string text, already JSON-encoded. */
const PIECES = [
  'lorem',
  ' ',
  'a',
  '\\"',
  '\\\\',
  '\\/',
  '/',
  '\\b\\f\\n\\r\\t',
  '\\u0000',
  '\\u001f',
  '\\u00e9',
  '\\u00E9',
  '\\ud83d\\ude00',
  '\\uD83D\\uDE00',
  '\\ud800',
  '\\udc00',
  '\\uDFFF',
  '\\ud83d',
  'é',
  '€',
  '😀',
  '\u2028',
  '\u007f',
  '中文',
  "it's",
  '{"x":1}',
  '[',
];

const NUMBERS = [
  '0',
  '-0',
  '7',
  '-12',
  '1.5',
  '-0.25',
  '1e5',
  '1E+5',
  '1e-5',
  '2.5E-3',
  '-0.0e0',
  '123456789012345678901234567890',
  '1e400',
];

const SPACE = ['', '', '', ' ', '\t', '\r', '  ', ' \t'];

function space(rng: Prng): string {
  return rng.pick(SPACE);
}

function stringText(rng: Prng): string {
  const n = rng.int(4) === 0 ? 0 : rng.int(6);
  let s = '';
  for (let k = 0; k < n; k++) s += rng.pick(PIECES);
  return `"${s}"`;
}

function value(rng: Prng, depth: number): string {
  const r = rng.int(depth > 3 ? 6 : 9);
  if (r <= 2) return stringText(rng);
  if (r === 3) return rng.pick(NUMBERS);
  if (r === 4) return rng.pick(['true', 'false', 'null']);
  if (r === 5) return 'null';
  if (r <= 7) {
    const items = Array.from({ length: rng.int(4) }, () => space(rng) + value(rng, depth + 1));
    return `[${items.join(',' + space(rng))}${space(rng)}]`;
  }
  const members = Array.from(
    { length: rng.int(4) },
    () => `${space(rng)}${stringText(rng)}${space(rng)}:${space(rng)}${value(rng, depth + 1)}`,
  );
  return `{${members.join(',')}${space(rng)}}`;
}

/** A line that is mostly a JSON object: random keys (duplicates too), values and spacing. */
function objectLine(rng: Prng): string {
  const keys = rng.int(6);
  const members: string[] = [];
  for (let k = 0; k < keys; k++) {
    const key = rng.int(3) === 0 ? rng.pick(KEYS) : rng.pick(KEYS.slice(0, 10));
    members.push(`${space(rng)}"${key}"${space(rng)}:${space(rng)}${value(rng, 1)}${space(rng)}`);
  }
  return `${space(rng)}{${members.join(',')}}${space(rng)}`;
}

/** A flat object the row scan meets every day: it must take the structural scan. */
function plainLine(rng: Prng): string {
  const obj: Record<string, unknown> = {};
  const names = ['instruction', 'input', 'output', 'text', 'context', 'response', 'é', 'b'];
  for (let k = rng.int(5); k >= 0; k--) {
    const words = Array.from({ length: rng.int(8) }, () =>
      rng.pick(['a', 'é', '😀', '"', '\\', '\t', '\n', 'lorem', '\u2028', '中文', ' ', '\ud800']),
    );
    obj[rng.pick(names)] = rng.int(5) === 0 ? null : words.join('');
  }
  return JSON.stringify(obj);
}

const MUTATION_BYTES = [
  0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x31, 0x65, 0x2e, 0x2d, 0x2b, 0x20, 0x09,
  0x0d, 0x0c, 0x0b, 0x00, 0x1f, 0x7f, 0x75, 0x6e, 0x74, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef,
  0xf0, 0xf4, 0xf5, 0xff,
];

/** The line's bytes with one to three random edits (delete, insert, replace, truncate, copy). */
function mutate(rng: Prng, line: Uint8Array): Uint8Array {
  let b = Array.from(line);
  for (let m = rng.int(3); m >= 0; m--) {
    const at = rng.int(b.length + 1);
    const op = rng.int(5);
    if (op === 0) b.splice(at, 1);
    else if (op === 1) b.splice(at, 0, rng.pick(MUTATION_BYTES));
    else if (op === 2) b[Math.min(at, b.length - 1)] = rng.pick(MUTATION_BYTES);
    else if (op === 3) b = b.slice(0, at);
    else b.splice(at, 0, ...b.slice(rng.int(b.length), rng.int(b.length) + 1 + rng.int(8)));
  }
  return Uint8Array.from(b.filter(c => c !== 0x0a && c !== undefined));
}

/** Hand-picked edge cases: JSON conformance corners and what the exact path treats specially. */
const EDGE_CASES: (string | number[])[] = [
  '{}',
  ' {} ',
  '{}\r',
  '{"a":1}\r',
  '{"a":"x\\r"}\r',
  '\r{"a":1}',
  '{ "a" : [ ] , "b" : { } }',
  '{\f"a":1}',
  '\u000b{}',
  '{"a":1}\u00a0',
  '{"a":[1,\u00a02]}',
  '{"a":[1,[2,[3,[{"b":[]}]]]]}',
  '{"a":' + '['.repeat(500) + ']'.repeat(500) + '}',
  '{"a":' + '['.repeat(500) + ']'.repeat(499) + '}',
  '{"a":1,}',
  '{"a":1,,"b":2}',
  '{,"a":1}',
  '{"a" 1}',
  '{"a":1',
  '{"a":1}}',
  '{"a":1} {"b":2}',
  '{"a":1}x',
  '{a:1}',
  "{'a':1}",
  '{"a":01}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":-}',
  '{"a":+1}',
  '{"a":1e}',
  '{"a":1e+}',
  '{"a":0x1}',
  '{"a":1_000}',
  '{"a":-0}',
  '{"a":0e0}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":-Infinity}',
  '{"a":tru}',
  '{"a":truee}',
  '{"a":nul}',
  '{"a":True}',
  '{"a": None}',
  '{"a":"x\\q"}',
  '{"a":"\\u12G4"}',
  '{"a":"\\u123"}',
  '{"a":"\\U0041"}',
  '{"a":"\\x41"}',
  '{"a":"\\\'"}',
  '{"a":"tab\there"}',
  '{"a":"nul\u0000"}',
  '{"a":"\u001f"}',
  '{"a":"\u007f"}',
  '{"a":"abc',
  '{"a":"abc\\"}',
  '{"a":"\\\\"}',
  '{"a":"\\ud800\\udc00"}',
  '{"a":"\\udc00\\ud800"}',
  '{"a":"\\ud800x"}',
  '{"a":"\\uDBFF\\uDFFF"}',
  '{"":""}',
  '{"":"","":""}',
  '{"a":1,"a":2}',
  '{"a":"x","b":"y","a":"z"}',
  '{"1":"integer key","b":"x"}',
  '{"b":"x","1":"integer key"}',
  '{"01":"not an index"}',
  '{"k\\u0065y":"escaped key"}',
  '{"key":"v","k\\u0065y":"same key escaped"}',
  '{"__proto__":"p","instruction":"proto"}',
  '{"__proto__":{"x":1}}',
  '{"constructor":"c"}',
  '{"text":7,"other":"s"}',
  '{"text":"","other":"s"}',
  '{"text":null,"other":"s"}',
  '{"instruction":7,"output":null,"input":["x"]}',
  '{"instruction":"","input":"","output":""}',
  '{"instruction":null,"output":"o"}',
  '{"input":"i"}',
  '{"other":"only"}',
  '[1,2]',
  '[{"a":1}]',
  '"a string"',
  '42',
  'null',
  'true',
  '',
  '   \t',
  '\ufeff{"a":"BOM"}',
  '{"a":"\ufeff"}',
  '{\ufeff"a":1}',
  '{"a":1}\ufeff',
  '{"a":"\u2028\u2029"}',
  '{"é":"é","😀":"😀"}',
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0x80, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0x9f, 0xbf, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe0, 0x9f, 0xbf, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe0, 0xa0, 0x80, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf0, 0x8f, 0xbf, 0xbf, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf0, 0x90, 0x80, 0x80, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf4, 0x8f, 0xbf, 0xbf, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf4, 0x90, 0x80, 0x80, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf5, 0x80, 0x80, 0x80, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82],
  [0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x3a, 0x31, 0x7d],
  [0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x80, 0x31, 0x7d],
  [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d, 0xc3, 0xa9],
  [0xef, 0xbb, 0xbf],
  [0x7b, 0x7d, 0x00],
];

function edgeBytes(c: string | number[]): Uint8Array {
  return typeof c === 'string' ? enc.encode(c) : Uint8Array.from(c);
}

// ---- the oracle ---------------------------------------------------------------------------

function keysOf(value: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const key in value) keys.push(key);
  return keys;
}

/** Checks the scan's answer for one line against the exact path; true when the scan accepted. */
function check(
  scanner: ObjectScanner,
  schema: SchemaInfo,
  bytes: Uint8Array,
  firstLine: boolean,
  what: string,
): boolean {
  const bom = firstLine && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (!scanner.scan(bytes, bom ? 3 : 0, bytes.length)) return false;
  const parsed = parseLine(bytes, { firstLine, maxLineBytes: 1 << 20 });
  const line = JSON.stringify(Buffer.from(bytes).toString('latin1'));
  assert.ok(
    parsed.ok,
    `${what}: the scan accepted ${line}, parseLine says ${JSON.stringify(parsed)}`,
  );
  if (!parsed.ok) return true;
  const names = scanner.rowKeys.slice(0, scanner.keyCount).map(k => scanner.keyNames[k]);
  assert.deepEqual(names, keysOf(parsed.value), `${what}: keys of ${line}`);
  const chars = countChars(extractText(parsed.value, schema));
  assert.equal(scanner.textChars, chars, `${what}: text length of ${line} (${schema.kind})`);
  return true;
}

for (const { schema, rule } of SCHEMAS) {
  test(`the structural scan agrees with parseLine wherever it accepts a line (${schema.kind})`, () => {
    assert.deepEqual(rule, ruleFor(schema));
    const scanner = new ObjectScanner(rule);
    const rng = new Prng(0x5eed + schema.kind.length);
    let accepted = 0;
    let edgeAccepted = 0;
    for (const [n, c] of EDGE_CASES.entries()) {
      for (const first of [false, true])
        if (check(scanner, schema, edgeBytes(c), first, `edge case ${n}`)) edgeAccepted++;
    }
    for (let n = 0; n < 6000; n++) {
      const line = enc.encode(objectLine(rng));
      if (check(scanner, schema, line, n % 50 === 0, `generated line ${n}`)) accepted++;
      for (let m = 0; m < 3; m++)
        check(scanner, schema, mutate(rng, line), false, `mutant ${n}.${m}`);
    }
    // The scan is not vacuous: it takes most generated objects and the clean edge cases.
    assert.ok(accepted > 1500, `the scan accepted only ${accepted} of 6000 generated lines`);
    assert.ok(edgeAccepted > 40, `the scan accepted only ${edgeAccepted} edge cases`);
  });
}

test('the structural scan takes every flat object of strings and nulls (the common row)', () => {
  for (const { schema, rule } of SCHEMAS) {
    const scanner = new ObjectScanner(rule);
    const rng = new Prng(7);
    for (let n = 0; n < 3000; n++) {
      const line = plainLine(rng);
      // A joined field that is not a string or null needs the parsed row; these have none.
      assert.ok(check(scanner, schema, enc.encode(line), false, 'plain'), `not taken: ${line}`);
    }
  }
});

test('the structural scan remembers at most 4096 key names, then leaves rows to the exact path', () => {
  const scanner = new ObjectScanner({ kind: 'all' });
  const scan = (text: string) => {
    const line = enc.encode(text);
    return scanner.scan(line, 0, line.length);
  };
  for (let n = 0; n < 4096; n++) assert.ok(scan(`{"id${n}":"x"}`), `key ${n}`);
  assert.equal(scan('{"one more":"x"}'), false);
  assert.ok(scan('{"id7":"x","id9":"y"}'));
});

function ruleFor(schema: SchemaInfo): TextRule {
  return SCHEMAS.find(s => s.schema.kind === schema.kind)!.rule;
}

// ---- the whole row scan -------------------------------------------------------------------

/** A file of the lines above: common rows, generated and mutated ones, edge cases, blanks. */
function generatedFile(seed: number, extra: (n: number) => string | undefined): string {
  const rng = new Prng(seed);
  const lines: Uint8Array[] = [];
  for (let n = 0; n < 4000; n++) {
    const kind = rng.int(10);
    let line: Uint8Array = enc.encode(
      kind < 5 ? plainLine(rng) : kind < 7 ? objectLine(rng) : ' \t',
    );
    if (kind === 8) line = mutate(rng, enc.encode(objectLine(rng)));
    if (kind === 9) line = edgeBytes(rng.pick(EDGE_CASES));
    if (n === 0) line = Uint8Array.from([0xef, 0xbb, 0xbf, ...enc.encode('{"instruction":"BOM"}')]);
    const special = extra(n);
    if (special !== undefined) line = enc.encode(special);
    const crlf = rng.int(5) === 0;
    lines.push(crlf ? Uint8Array.from([...line, 0x0d]) : line);
  }
  return writeTemp(dir, Buffer.concat(lines.flatMap(l => [l, Buffer.from('\n')])));
}

/** The columns of `file` filled row by row with `RowColumns.record` (the reference). */
async function byRow(file: JsonlFile, schema: SchemaInfo): Promise<RowColumns> {
  const rows = await file.readRows(0, file.lineCount);
  const columns = new RowColumns();
  columns.ensure(rows.length);
  for (const r of rows) columns.record(r.index, r.bytes, schema, 300);
  columns.scanned = rows.length;
  return columns;
}

function assertSameColumns(scanned: RowColumns, reference: RowColumns, what: string): void {
  const n = reference.scanned;
  assert.equal(scanned.scanned, n, what);
  assert.deepEqual(scanned.errors.subarray(0, n), reference.errors.subarray(0, n), what);
  assert.deepEqual(scanned.chars.subarray(0, n), reference.chars.subarray(0, n), what);
  assert.deepEqual(scanned.fieldNames, reference.fieldNames, what);
  const width = scanned.fieldBits.BYTES_PER_ELEMENT;
  assert.equal(width, reference.fieldBits.BYTES_PER_ELEMENT, what);
  assert.deepEqual(scanned.fieldBits.subarray(0, n), reference.fieldBits.subarray(0, n), what);
  const hashes = scanned.hashes.subarray(0, 16 * n);
  assert.deepEqual(hashes, reference.hashes.subarray(0, 16 * n), what);
  assert.equal(scanned.invalid, reference.invalid, what);
  assert.equal(scanned.blank, reference.blank, what);
}

/** A, B, .. Z, AA, AB, ..: short field names (a row of 40 stays under the 300-byte cap). */
function fieldName(f: number): string {
  const letter = (k: number) => String.fromCharCode(0x41 + k);
  return f < 26 ? letter(f) : letter(f / 26 - 1) + letter(f % 26);
}

/** The schemas of the structural scan, and a chat schema (JSON.parse for every row). */
const ALL_SCHEMAS = [...SCHEMAS.map(s => s.schema), detectSchema([{ messages: [] }])];

/** Field names beyond a byte's 8 bits, and beyond the 32 tracked, appearing one by one. */
const newNameEvery97 = (n: number) =>
  n % 97 === 0 ? JSON.stringify({ [`f${n}`]: 'x', output: 'y' }) : undefined;

test('scanRows gives exactly the columns of RowColumns.record, row by row, over a file', async () => {
  const file = await JsonlFile.open(generatedFile(99, newNameEvery97));
  try {
    await file.whenIndexed();
    for (const schema of ALL_SCHEMAS) {
      const scanned = new RowColumns();
      let batches = 0;
      const done = await scanRows(file, scanned, {
        schema,
        maxLineBytes: 300,
        isCurrent: () => true,
        onBatch: () => batches++,
        batchBytes: 4096,
        threads: 1,
      });
      assert.ok(done);
      assert.ok(batches > 20, `${batches} batches`);
      assertSameColumns(scanned, await byRow(file, schema), schema.kind);
      assert.equal(scanned.fieldNames.length, 32, schema.kind);
      assert.ok(
        scanned.invalid > 100 && scanned.blank > 100,
        `${scanned.invalid} invalid, ${scanned.blank} blank`,
      );
    }
  } finally {
    await file.close();
  }
});

test('with helper threads, scanRows gives exactly the columns of a scan in one thread', async () => {
  assert.ok(
    existsSync(ROW_SCAN_THREAD_SCRIPT),
    `the thread entry is built: ${ROW_SCAN_THREAD_SCRIPT}`,
  );
  // A row with 40 new field names before a known one (seen on row 3 only): the batch that holds it drops names
  // (a batch tracks 32), and is scanned by this thread instead.
  const manyNames = JSON.stringify({
    ...Object.fromEntries(Array.from({ length: 40 }, (_, f) => [fieldName(f), 0])),
    rare: 'r',
  });
  // Rows of 19 bytes, 10 to a batch of 199 bytes, a byte order mark at the start of each batch
  // but the first: a syntax error everywhere but on line 0.
  const bomRows = Array.from({ length: 400 }, (_, n) =>
    n % 10 === 0 ? '\ufeff{"a":"BOM"}    ' : '{"a":"row","b":"x"}',
  );
  const files: [string, number][] = [
    [generatedFile(7, newNameEvery97), 4096],
    [
      generatedFile(8, n =>
        n === 3 ? '{"rare":"x"}' : n === 75 || n === 130 ? manyNames : newNameEvery97(n),
      ),
      4096,
    ],
    [writeTemp(dir, bomRows.join('\n') + '\n'), 199],
  ];
  for (const [path, batchBytes] of files) {
    const file = await JsonlFile.open(path);
    try {
      await file.whenIndexed();
      for (const schema of ALL_SCHEMAS) {
        for (const threads of [2, 3]) {
          const scanned = new RowColumns();
          const batches: [number, number][] = [];
          const done = await scanRows(file, scanned, {
            schema,
            maxLineBytes: 300,
            isCurrent: () => true,
            onBatch: (from, to) => batches.push([from, to]),
            batchBytes,
            threads,
            parallelFromBytes: 0,
          });
          assert.ok(done);
          const what = `${schema.kind}, ${threads} threads`;
          // Batches are reported in file order, each following the last.
          batches.forEach(([from], k) => assert.equal(from, k === 0 ? 0 : batches[k - 1][1], what));
          assertSameColumns(scanned, await byRow(file, schema), what);
          if (path === files[1][0]) assert.ok(scanned.fieldNames.includes('rare'), what);
        }
      }
    } finally {
      await file.close();
    }
  }
});

test('batches scanned by helper threads and merged in file order give the one-thread columns', async () => {
  const file = await JsonlFile.open(generatedFile(11, newNameEvery97));
  const threads = ScanThreads.start(2);
  assert.ok(threads, `the thread entry is built: ${ROW_SCAN_THREAD_SCRIPT}`);
  try {
    await file.whenIndexed();
    for (const schema of ALL_SCHEMAS) {
      const merged = new RowColumns();
      merged.ensure(file.lineCount);
      const scans: Promise<BatchFacts>[] = [];
      for await (const batch of file.iterateLineBatches(0, 4096))
        scans.push(threads.scan(scans.length % 2, batch, schema, 300));
      assert.ok(scans.length > 20, `${scans.length} batches`);
      for (const facts of await Promise.all(scans)) {
        assert.ok(merged.mergeBatch(facts));
        merged.scanned = facts.first + facts.count;
      }
      assertSameColumns(merged, await byRow(file, schema), schema.kind);
    }
  } finally {
    await threads.close();
    await file.close();
  }
});

test('scan threads that cannot start or fail leave the scan to this thread', async () => {
  assert.equal(ScanThreads.start(1, join(dir, 'no-such-thread.js')), undefined);
  const crashing = writeTemp(dir, 'process.exit(3);', 'crash.js');
  const threads = ScanThreads.start(1, crashing);
  assert.ok(threads);
  const file = await JsonlFile.open(writeTemp(dir, '{"a":"b"}\n'));
  try {
    await file.whenIndexed();
    const batch = (await file.iterateLineBatches(0).next()).value;
    assert.ok(batch);
    await assert.rejects(threads.scan(0, batch, detectSchema([]), 300), /exited \(3\)/);
  } finally {
    await threads.close();
    await file.close();
  }
});
