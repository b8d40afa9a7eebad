/**
 * What the dataset view's host sends per row (src/core/dataset/rowViews.ts: preview, lengths, error
 * badge) and the document's undo/redo timeline (src/core/dataset/editTimeline.ts). Both are free of
 * `vscode`, so they run in plain Node with the real JSONL engine.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { detectSchema, type RawRow } from '../../src/core/jsonl';
import { EditTimeline } from '../../src/core/dataset/editTimeline';
import {
  countChars,
  countUtf8Chars,
  previewText,
  toRowView,
} from '../../src/core/dataset/rowViews';

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
