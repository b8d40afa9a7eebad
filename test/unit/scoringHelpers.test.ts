/**
 * Pure helpers of the worker's ASK-LLM scoring: number formatting and standing in the file,
 * row hashes with truncation generations, prompt-file resolution and configuration
 * fingerprints, and the keep/drop code actions.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { contentHash, detectSchema } from '../../src/core/jsonl';
import { decisionActions } from '../../src/worker/editor/codeActions';
import { DatasetRows } from '../../src/worker/dataset/datasetRows';
import {
  formatDuration,
  formatProbability,
  formatProbabilityShort,
  ordinal,
  sortedScores,
  standing,
} from '../../src/worker/askllm/format';
import {
  ScorerSettingsError,
  extractionScope,
  resolvePromptPath,
  resolveScorerConfig,
} from '../../src/worker/askllm/scorerConfig';
import { defaultSettings } from '../../src/worker/settings';

describe('score formatting', () => {
  it('prints probabilities with 6 (hover) or 3 (inline) significant digits', () => {
    assert.equal(formatProbability(0.11423456), '0.114235');
    assert.equal(formatProbability(0.000213456789), '0.000213457');
    assert.equal(formatProbability(0.5), '0.5');
    assert.equal(formatProbability(1), '1');
    assert.equal(formatProbability(0), '0');
    assert.equal(formatProbability(1.234567e-9), '1.23457e-9');
    assert.equal(formatProbabilityShort(0.11423456), '0.114');
    assert.equal(formatProbabilityShort(0.000213456), '0.000213');
    assert.equal(formatProbabilityShort(3.2e-7), '3.2e-7');
    for (const p of [0.9876543, 0.0123456, 1e-5, 0.33333333])
      assert.ok(Math.abs(Number(formatProbability(p)) - p) <= p * 5e-6);
  });

  it('ranks a score among the scored rows (ties share the best rank, NaN ignored)', () => {
    const sorted = sortedScores(new Float32Array([0.5, Number.NaN, 0.1, 0.9, 0.5, 0.3]));
    assert.deepEqual([...sorted], [0.1, 0.3, 0.5, 0.5, 0.9].map(Math.fround));
    assert.deepEqual(standing(sorted, 0.9), { rank: 1, of: 5, percentile: 90 });
    assert.deepEqual(standing(sorted, 0.1), { rank: 5, of: 5, percentile: 10 });
    assert.deepEqual(standing(sorted, 0.5), { rank: 2, of: 5, percentile: 60 });
    assert.equal(ordinal(1), '1st');
    assert.equal(ordinal(22), '22nd');
    assert.equal(ordinal(13), '13th');
    assert.equal(ordinal(87), '87th');
    assert.equal(formatDuration(12_400), '12 s');
    assert.equal(formatDuration(240_000), '4 min');
    assert.equal(formatDuration(80 * 60_000), '1 h 20 min');
  });
});

describe('row hashes', () => {
  const enc = new TextEncoder();
  const h = (s: string) => contentHash(enc.encode(s));
  // Every 7th row is not JSON (so not ok); the scan's columns hold hash and status of each.
  const line = (i: number) => (i % 7 === 0 ? `row ${i}` : `{"row":${i}}`);
  const schema = detectSchema([]);

  /** Rows `from .. to-1` recorded in order, as the dataset's scan fills them. */
  function scan(rows: DatasetRows, from: number, to: number, text = line): void {
    rows.columns.ensure(to);
    for (let i = from; i < to; i++) rows.columns.record(i, enc.encode(text(i)), schema, 1 << 20);
    rows.columns.scanned = to;
  }

  it('stores 16-byte hashes in order and reports truncations by generation', () => {
    const rows = new DatasetRows();
    scan(rows, 0, 3000);
    assert.equal(rows.count, 3000);
    assert.equal(rows.hash(1234), h(line(1234)));
    assert.equal(rows.ok(14), false);
    assert.equal(rows.ok(15), true);
    assert.throws(() => rows.hash(3005), RangeError, 'a row past the scan has no hash');
    const g0 = rows.generation;
    assert.equal(rows.unchangedBelow(g0), Infinity);
    rows.truncate(2999);
    scan(rows, 2999, 3000, () => '{"changed":true}');
    assert.equal(rows.hash(2999), h('{"changed":true}'));
    rows.truncate(10);
    assert.equal(rows.count, 10);
    assert.equal(rows.unchangedBelow(g0), 10);
    assert.equal(rows.unchangedBelow(g0 + 1), 10);
    assert.throws(() => rows.hash(10), RangeError);
  });

  it('a rewrite starts new columns and keeps the version before until it is let go', () => {
    const rows = new DatasetRows();
    scan(rows, 0, 100);
    const g0 = rows.generation;
    const before = rows.columns;
    rows.restart();
    assert.equal(rows.count, 0);
    assert.equal(rows.unchangedBelow(g0), 0);
    assert.equal(rows.previous, before);
    assert.equal(rows.previous?.hashHex(50), h(line(50)));
    rows.releasePrevious();
    assert.equal(rows.previous, undefined);
  });
});

describe('scorer configuration', () => {
  it('resolves prompt files against the dataset’s workspace folder', () => {
    const ws = ['/w/a', '/w/b'];
    assert.equal(
      resolvePromptPath('p.winnow-prompt', '/w/b/data/x.jsonl', ws),
      '/w/b/p.winnow-prompt',
    );
    assert.equal(
      resolvePromptPath('p.winnow-prompt', '/elsewhere/x.jsonl', ws),
      '/w/a/p.winnow-prompt',
    );
    assert.equal(resolvePromptPath('p.winnow-prompt', '/d/x.jsonl', []), '/d/p.winnow-prompt');
    assert.equal(resolvePromptPath('/abs/p', '/w/a/x.jsonl', ws), '/abs/p');
    assert.equal(resolvePromptPath('~/p', undefined, ws), join(homedir(), 'p'));
  });

  it('fingerprints what changes a score, and rejects a template without {{document}}', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'winnow-cfg-'));
    try {
      const base = defaultSettings.askllm;
      const a = await resolveScorerConfig(base, undefined, []);
      assert.equal(a.prompt, undefined);
      const same = await resolveScorerConfig(
        { ...base, device: 'cpu', batchSize: 4 },
        undefined,
        [],
      );
      assert.equal(same.fingerprint, a.fingerprint, 'device and batch size do not change scores');
      assert.notEqual(same.modelKey, a.modelKey, 'but the device needs another session');
      for (const change of [
        { dtype: 'q8' as const },
        { maxTokens: 256 },
        { answerVariants: ['Yes'] },
        { model: 'x/y' },
      ])
        assert.notEqual(
          (await resolveScorerConfig({ ...base, ...change }, undefined, [])).fingerprint,
          a.fingerprint,
        );
      writeFileSync(join(dir, 'p.winnow-prompt'), 'Judge: {{document}}\n');
      const p = await resolveScorerConfig(
        { ...base, promptFile: 'p.winnow-prompt' },
        join(dir, 'x.jsonl'),
        [dir],
      );
      assert.equal(p.prompt?.name, 'p.winnow-prompt');
      assert.notEqual(p.fingerprint, a.fingerprint);
      writeFileSync(join(dir, 'bad.winnow-prompt'), 'no slot');
      await assert.rejects(
        resolveScorerConfig({ ...base, promptFile: 'bad.winnow-prompt' }, undefined, [dir]),
        (e: unknown) =>
          e instanceof ScorerSettingsError && /exactly once/.test((e as Error).message),
      );
      await assert.rejects(
        resolveScorerConfig({ ...base, promptFile: 'missing.winnow-prompt' }, undefined, [dir]),
        /cannot be read/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scopes scores by the text extraction (a schema override is another document)', () => {
    assert.notEqual(
      extractionScope({ kind: 'text', field: 'text' }),
      extractionScope({ kind: 'text', field: 'content' }),
    );
    assert.notEqual(
      extractionScope({ kind: 'alpaca' }),
      extractionScope({ kind: 'custom', template: '{instruction}' }),
    );
  });
});

describe('keep / drop code actions', () => {
  const params = (start: number, end: number, endChar = 1, only?: string[]) => ({
    textDocument: { uri: 'file:///d.jsonl' },
    range: { start: { line: start, character: 0 }, end: { line: end, character: endChar } },
    context: { diagnostics: [], ...(only ? { only } : {}) },
  });

  it('covers the lines of the selection and calls winnow.setDecision', () => {
    const one = decisionActions(params(4, 4), 10);
    assert.deepEqual(
      one.map(a => [a.title, a.command?.command, a.command?.arguments]),
      [
        ['Keep example', 'winnow.setDecision', ['file:///d.jsonl', [4], 'keep']],
        ['Drop example', 'winnow.setDecision', ['file:///d.jsonl', [4], 'drop']],
      ],
    );
    // A selection ending at column 0 leaves that line out; lines past the end are dropped.
    assert.deepEqual(decisionActions(params(2, 5, 0), 10)[0].command?.arguments?.[1], [2, 3, 4]);
    assert.deepEqual(decisionActions(params(8, 20), 10)[1].command?.arguments?.[1], [8, 9]);
    assert.equal(decisionActions(params(8, 20), 10)[1].title, 'Drop 2 examples');
    assert.deepEqual(decisionActions(params(12, 12), 10), []);
    assert.deepEqual(decisionActions(params(1, 1, 1, ['source.fixAll']), 10), []);
  });
});
