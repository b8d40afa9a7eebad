/**
 * What the dataset view's host sends per row (src/core/dataset/rowViews.ts: preview, lengths, error
 * badge) and the document's undo/redo timeline (src/core/dataset/editTimeline.ts). Both are free of
 * `vscode`, so they run in plain Node with the real JSONL engine.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  contentHash,
  detectSchema,
  extractText,
  parseLine,
  type RawRow,
} from '../../src/core/jsonl';
import { RowColumns } from '../../src/core/dataset/rowColumns';
import { EditTimeline } from '../../src/core/dataset/editTimeline';
import { countChars, countUtf8Chars, previewText, toRowView } from '../../src/core/dataset/rowViews';

const enc = new TextEncoder();
const raw = (index: number, line: string): RawRow => ({ index, start: 0, bytes: enc.encode(line) });
const opts = { maxLineBytes: 1 << 20, previewChars: 40 };

describe('row previews', () => {
  test('line breaks become a visible mark; controls and bidi overrides are neutralised', () => {
    assert.equal(previewText('a\nb\r\n  c', 100).preview, 'a ⏎ b ⏎ c');
    assert.equal(previewText('a\n\n \nb', 100).preview, 'a ⏎ b');
    assert.equal(previewText('x\u202ey\u0007z\tw', 100).preview, 'x\ufffdy\ufffdz w');
  });

  test('long text is cut without splitting a surrogate pair', () => {
    const { preview, truncated } = previewText('ab😀cd', 3);
    assert.equal(preview, 'ab');
    assert.equal(truncated, true);
    const long = previewText('x'.repeat(1_000_000), 300);
    assert.equal(long.preview.length, 300);
    assert.equal(long.truncated, true);
    assert.deepEqual(previewText('short', 300), { preview: 'short', truncated: false });
  });

  test('characters are counted as code points, from text and from UTF-8 bytes', () => {
    assert.equal(countChars('a😀é'), 3);
    assert.equal(countUtf8Chars(enc.encode('a😀é')), 3);
  });

  test('a valid row previews the schema text and lists its fields', () => {
    const value = { instruction: 'Explain <b>tides</b>.', output: 'Moon.\nSun.' };
    const schema = detectSchema([value]);
    assert.equal(schema.kind, 'alpaca');
    const line = JSON.stringify(value);
    const view = toRowView(raw(3, line), schema, opts);
    assert.equal(view.index, 3);
    assert.equal(view.error, undefined);
    assert.match(view.preview, /^Explain <b>tides<\/b>\./);
    assert.ok(view.preview.includes('⏎'), view.preview);
    assert.deepEqual(view.fields, ['instruction', 'output']);
    assert.equal(view.bytes, enc.encode(line).length);
    assert.ok(view.chars > 0 && view.chars < line.length);
  });

  test('an invalid row previews its raw text and carries the reason', () => {
    const schema = detectSchema([{ text: 'x' }]);
    const line = '{"text": "unterminated';
    const view = toRowView(raw(7, line), schema, opts);
    assert.ok(view.error, 'expected a parse error');
    assert.equal(view.error.kind, 'syntax');
    assert.ok(view.error.message.length > 0);
    assert.equal(view.preview, line);
    assert.equal(view.chars, line.length);
    assert.deepEqual(view.fields, []);
  });

  test('an empty line and a non-object line get their own error kinds', () => {
    const schema = detectSchema([{ text: 'x' }]);
    assert.equal(toRowView(raw(0, ''), schema, opts).error?.kind, 'empty');
    assert.equal(toRowView(raw(1, '[1,2]'), schema, opts).error?.kind, 'not-object');
  });
});

describe('edit timeline', () => {
  test('undo and redo walk the edits; a new edit drops the redo branch', () => {
    const t = new EditTimeline<string>();
    assert.equal(t.isDirty, false);
    t.push('a');
    t.push('b');
    assert.equal(t.isDirty, true);
    assert.equal(t.undo(), 'b');
    assert.deepEqual(t.applied, ['a']);
    assert.equal(t.redo(), 'b');
    assert.equal(t.redo(), undefined);
    t.undo();
    t.push('c');
    assert.deepEqual(t.applied, ['a', 'c']);
    assert.equal(t.canRedo, false);
  });

  test('dirty state follows the saved point, even across undo', () => {
    const t = new EditTimeline<string>();
    t.push('a');
    t.markSaved();
    assert.equal(t.isDirty, false);
    t.undo();
    assert.equal(t.isDirty, true);
    t.redo();
    assert.equal(t.isDirty, false);
    t.undo();
    t.push('b');
    assert.equal(t.isDirty, true, 'the saved state is no longer reachable');
  });

  test('revert is clean; restored backup edits are unsaved', () => {
    const t = new EditTimeline<string>();
    t.push('a');
    t.reset();
    assert.equal(t.isDirty, false);
    assert.deepEqual(t.applied, []);
    t.reset(['x', 'y']);
    assert.equal(t.isDirty, true);
    assert.deepEqual(t.applied, ['x', 'y']);
  });
});

describe('the batched row scan', () => {
  /** Consecutive rows of `lines` as JsonlFile.iterateRows yields them: views of one buffer. */
  function batchOf(lines: Uint8Array[]): RawRow[] {
    const buf = Buffer.concat(lines.flatMap(l => [l, Buffer.from('\n')]));
    const rows: RawRow[] = [];
    let at = 0;
    lines.forEach((l, index) => {
      rows.push({ index, start: at, bytes: buf.subarray(at, at + l.length) });
      at += l.length + 1;
    });
    return rows;
  }
  const tricky = [
    '\ufeff{"instruction":"BOM on line 0","output":"x"}',
    '{"instruction":"crlf","input":"in","output":"out"}\r',
    '',
    '   \t',
    '{"instruction":"dup","output":"a","output":"longer one"}',
    '{"instruction":7,"output":null,"input":["x"]}',
    '{"text":"no instruction here","other":"😀 pair"}',
    '{"1":"integer key","b":"","c":"x"}',
    '{"k\\u0065y":"escaped key","instruction":"é\\ud83d\\ude00"}',
    '[1,2]',
    '"a string"',
    "{'python': True}",
    '{"a":1,}',
    '\ufeff{"a":"BOM not on line 0"}',
    '{"a":"lone \\udc00 surrogate"}',
    `{"instruction":"${'long '.repeat(40)}"}`,
    '{"__proto__":"p","instruction":"proto"}',
    '{} ',
  ];

  for (const kind of ['alpaca', 'dolly', 'text', 'unknown', 'openai'] as const) {
    test(`gives exactly the facts of the row-by-row scan (${kind} schema)`, () => {
      const schema =
        kind === 'unknown'
          ? detectSchema([])
          : kind === 'openai'
            ? detectSchema([{ messages: [] }])
            : kind === 'text'
              ? detectSchema([{ text: 'x' }])
              : detectSchema([
                  { instruction: 'x', [kind === 'dolly' ? 'response' : 'output']: 'y' },
                ]);
      assert.equal(schema.kind, kind);
      // The too-long cap cuts the long row; a batch with invalid UTF-8 takes the slow path.
      for (const lines of [
        tricky.map(l => enc.encode(l)),
        [...tricky.map(l => enc.encode(l)), new Uint8Array([0x7b, 0xff, 0x7d])],
      ]) {
        const batch = batchOf(lines);
        const fast = new RowColumns();
        const slow = new RowColumns();
        fast.ensure(batch.length);
        slow.ensure(batch.length);
        fast.recordBatch(batch, schema, 150);
        for (const r of batch) slow.record(r.index, r.bytes, schema, 150);
        assert.deepEqual(fast.errors, slow.errors);
        assert.deepEqual(fast.chars, slow.chars);
        assert.deepEqual(fast.fieldBits, slow.fieldBits);
        assert.deepEqual(fast.fieldNames, slow.fieldNames);
        assert.deepEqual(fast.hashes, slow.hashes);
        assert.equal(fast.invalid, slow.invalid);
        // And the facts are the slow path's own: parseLine, extractText, contentHash.
        batch.forEach((r, i) => {
          const parsed = parseLine(r.bytes, { maxLineBytes: 150, firstLine: i === 0 });
          assert.equal(fast.errorKind(i), parsed.ok ? undefined : parsed.error.kind, `row ${i}`);
          if (parsed.ok)
            assert.equal(fast.chars[i], countChars(extractText(parsed.value, schema)), `row ${i}`);
          assert.equal(fast.hashHex(i), contentHash(r.bytes));
        });
      }
    });
  }
});

test('field bits take a byte per row until a 9th field name appears, then widen, values kept', () => {
  const schema = detectSchema([]);
  const cols = new RowColumns();
  cols.ensure(40);
  const row = (i: number) => {
    // Row i has fields f0 .. f(i/2): a new name every other row, 20 names in all.
    const value: Record<string, string> = {};
    for (let f = 0; f <= Math.floor(i / 2); f++) value[`f${f}`] = 'x';
    return enc.encode(JSON.stringify(value));
  };
  const widths: number[] = [];
  for (let i = 0; i < 40; i++) {
    cols.record(i, row(i), schema, 1 << 20);
    widths.push(cols.fieldBits.BYTES_PER_ELEMENT);
  }
  assert.equal(widths[15], 1, '8 names fit in a byte');
  assert.equal(widths[16], 2, 'the 9th name widens to 16 bits');
  assert.equal(widths[32], 4, 'the 17th name widens to 32 bits');
  assert.equal(cols.fieldNames.length, 20);
  for (let i = 0; i < 40; i++) {
    const want = 2 ** (Math.floor(i / 2) + 1) - 1;
    assert.equal(cols.fieldBits[i], want, `row ${i}`);
  }
  cols.ensure(5000);
  assert.equal(cols.fieldBits[39], 2 ** 20 - 1, 'growing keeps the width and the values');
  assert.ok(cols.fieldBits instanceof Uint32Array);
});
