/**
 * What VS Code does to a file before Winnow sees it (src/core/jsonl/editorLimits.ts): the NUL
 * byte that makes it binary, the 50 MB sync limit counted in UTF-16 code units, and the file-level
 * messages; plus the JSON-array check that must not fire on a file of broken JSONL lines.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  SYNC_LIMIT_UTF16,
  Utf16Counter,
  binaryFileMessage,
  editorLimitMessage,
  editorLimitOf,
  binaryNulLine,
  detectJsonArrayFile,
  detectPrettyPrintedJson,
  overSyncLimitBySize,
  parseLine,
} from '../../src/core/jsonl';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('binary files (VS Code looks for NUL bytes in the first 512 bytes)', () => {
  it('names the line of a NUL byte near the start', () => {
    assert.equal(binaryNulLine(b('{"a": 1}\n{"b": 2}\n{"c": "x\0y"}\n')), 2);
    assert.equal(binaryNulLine(b('\0{"a": 1}\n')), 0);
    assert.equal(binaryNulLine(b('\ufeff{"a": 1}\n\0\n')), 1, 'after a UTF-8 BOM');
  });

  it('ignores a NUL byte past the first 512 bytes, and files without one', () => {
    const filler = '{"text": "' + 'x'.repeat(600) + '"}\n';
    assert.equal(binaryNulLine(b(filler + '{"c": "\0"}\n')), undefined);
    assert.equal(binaryNulLine(b('{"a": 1}\n{"b": 2}\n')), undefined);
    assert.equal(binaryNulLine(new Uint8Array(0)), undefined);
  });

  it('takes NULs on one side of every 16-bit unit for UTF-16, as VS Code does', () => {
    const utf16le = Buffer.from('{"a": 1}\n{"b": 2}\n', 'utf16le');
    assert.equal(binaryNulLine(utf16le), undefined, 'UTF-16 LE without a BOM');
    const utf16be = Buffer.from(utf16le).swap16();
    assert.equal(binaryNulLine(utf16be), undefined, 'UTF-16 BE without a BOM');
    const withBom = Buffer.concat([Buffer.from([0xff, 0xfe]), b('{"a": "\0\0\0"}')]);
    assert.equal(binaryNulLine(withBom), undefined, 'a UTF-16 BOM decides before any NUL');
  });
});

describe('the 50 MB sync limit (UTF-16 code units)', () => {
  it('decides by size where it can', () => {
    assert.equal(overSyncLimitBySize(SYNC_LIMIT_UTF16), 'no');
    assert.equal(overSyncLimitBySize(SYNC_LIMIT_UTF16 + 1), 'count');
    assert.equal(overSyncLimitBySize(3 * SYNC_LIMIT_UTF16), 'count');
    assert.equal(overSyncLimitBySize(3 * SYNC_LIMIT_UTF16 + 4), 'yes');
  });

  it('counts UTF-16 code units of UTF-8 chunks cut anywhere, like String.length', () => {
    const text = '{"t": "naïve 😀 日本語 ascii"}\r\n'.repeat(50);
    const bytes = b(text);
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const counter = new Utf16Counter();
      for (let i = 0; i < bytes.length; i += size) counter.add(bytes.subarray(i, i + size));
      assert.equal(counter.units, text.length, `chunks of ${size} bytes`);
    }
    const bom = new Utf16Counter();
    bom.add(b('\ufeff{"a": 1}'));
    assert.equal(bom.units, '{"a": 1}'.length, 'the BOM is not text');
  });
});

describe('file-level messages', () => {
  it('states the invalid-line count, the NUL line (1-based) and where to go', () => {
    const text = binaryFileMessage(2, { invalidLines: 180 });
    assert.match(text, /^180 invalid lines; line 3 contains a NUL byte/);
    assert.match(text, /VS Code opens this file as binary/);
    assert.match(text, /Winnow: Open in Dataset View/);
    const inView = binaryFileMessage(0, { inDatasetView: true });
    assert.match(inView, /^Line 1 contains a NUL byte/);
    assert.doesNotMatch(inView, /Open in Dataset View/);
    assert.match(binaryFileMessage(4, { invalidLines: 1 }), /^1 invalid line; line 5/);
  });

  it('names a NUL byte in a line for what it is', () => {
    const inString = parseLine(b('{"c": "x\0y"}'));
    assert.equal(inString.ok, false);
    assert.match(!inString.ok ? inString.error.message : '', /NUL byte \(0x00\) in string/);
    const bare = parseLine(b('{"c": \0}'));
    assert.match(!bare.ok ? bare.error.message : '', /Unexpected NUL byte \(0x00\)/);
  });
});

describe('JSON array detection', () => {
  it('does not call a file of broken JSONL lines a JSON array because line 1 starts with [', () => {
    // Each line fails for its own reason; read together they are not one JSON value.
    const broken = '[1, 2\n{"a": "x\0y"}\n{"b": 2,, "c": 3}\nnot json at all\n';
    assert.equal(detectJsonArrayFile(b(broken)), false);
    assert.equal(detectJsonArrayFile(b('["a", "b"\n["c"\n')), false);
    assert.equal(detectPrettyPrintedJson(b('{\n"a": 1}\n{"b": 2}\n')), undefined);
  });

  it('still recognises a pretty-printed array, also when the probe cuts it mid-line', () => {
    const pretty = JSON.stringify(
      Array.from({ length: 200 }, (_, i) => ({ text: `row ${i}`, id: i })),
      null,
      2,
    );
    assert.equal(detectJsonArrayFile(b(pretty)), true);
    const head = b(pretty).subarray(0, 4096);
    assert.equal(detectJsonArrayFile(head), true, 'the first 4096 bytes');
    assert.equal(detectJsonArrayFile(b('[\n{"a": 1},\n{"a": 2}\n]\n')), true);
    assert.equal(detectPrettyPrintedJson(b('{\n  "a": [\n    1,\n')), 'object');
  });
});

/** Writes `line` + newline repeated until the file has at least `minBytes` bytes. */
async function writeRepeated(path: string, line: string, minBytes: number): Promise<number> {
  const block = Buffer.from((line + '\n').repeat(Math.ceil((1 << 20) / (line.length + 1))));
  const fh = await open(path, 'w');
  let bytes = 0;
  try {
    while (bytes < minBytes) bytes += (await fh.write(block)).bytesWritten;
  } finally {
    await fh.close();
  }
  return bytes;
}

describe("files on disk against VS Code's limits", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'winnow-limits-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a file over 50 MB of text too large, and says so with its size', async () => {
    const path = join(dir, 'big.jsonl');
    const bytes = await writeRepeated(path, '{"text": "an ascii row of a large file"}', 51 << 20);
    const limit = await editorLimitOf(path);
    assert.deepEqual(limit, { kind: 'too-large', bytes });
    const message = editorLimitMessage('big.jsonl', limit!);
    assert.match(message, /^big\.jsonl is 51\.\d MB, over VS Code's 50 MB limit/);
    assert.match(message, /no Winnow hovers, inline scores or keep\/drop actions/);
  });

  it('counts UTF-16 code units, not bytes: 60 MB of CJK text is under the limit', async () => {
    const path = join(dir, 'cjk.jsonl');
    const bytes = await writeRepeated(path, `{"text": "${'日本語'.repeat(40)}"}`, 60 << 20);
    assert.ok(bytes > SYNC_LIMIT_UTF16, `${bytes} bytes`);
    assert.equal(await editorLimitOf(path), undefined, 'VS Code syncs it: about 21M code units');
  });

  it('finds a NUL byte near the start binary, whatever the size', async () => {
    const path = join(dir, 'nul.jsonl');
    writeFileSync(path, '{"a": 1}\n{"b": "\0"}\n');
    const limit = await editorLimitOf(path);
    assert.deepEqual(limit, { kind: 'binary', nulLine: 1 });
    assert.match(
      editorLimitMessage('nul.jsonl', limit!),
      /^nul\.jsonl: Line 2 contains a NUL byte/,
    );
    writeFileSync(join(dir, 'small.jsonl'), '{"a": 1}\n');
    assert.equal(await editorLimitOf(join(dir, 'small.jsonl')), undefined);
  });
});
