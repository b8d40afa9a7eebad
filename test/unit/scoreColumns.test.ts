/**
 * The ASK-LLM column from the worker to the dataset view: the worker's per-row state and its
 * wire encoding (P(yes), prompt tokens with the truncation flag, the normalised variant only when
 * asked for), the host's decoding and what it tells the grid about one row (score, standing in
 * the file, tokens, variant), and the texts the webview makes of it.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { decodeColumns, rowScores, scoreSources } from '../../src/core/dataset/scoreColumns';
import { failedSummary, standingText } from '../../src/shared/format/scoreFormat';
import type { RowDetail, ScoreSourceView } from '../../src/shared/protocol/webview';
import {
  TOKENS_TRUNCATED,
  type GetColumnsResult,
  type ScoreColumnMeta,
} from '../../src/shared/protocol/worker';
import type { Dataset } from '../../src/worker/dataset/dataset';
import { ColumnState, packTokens } from '../../src/worker/askllm/scoringService';
import {
  importedScoresNote,
  lengthText,
  tokensCellText,
  lengthTooltip,
  scoreFacts,
  scoreTooltip,
  tokensText,
} from '../../webview-ui/src/util/scoreText';
import { Rng } from '../support/fixtures/rng';

const meta: ScoreColumnMeta = {
  model: 'org/judge-model',
  dtype: 'fp32',
  promptName: 'ASK-LLM (paper)',
  promptHash: '0123456789abcdef0123',
  answerTokens: ['▁yes', '▁Yes'],
  maxTokens: 512,
  variant: 'p-yes',
  device: 'cpu',
};

/** A dataset stand-in: the column only asks whether a row parses and for its hash. */
function fakeDataset(hashes: (string | undefined)[]): Dataset {
  return {
    rows: {
      ok: (i: number) => hashes[i] !== undefined,
      hash: (i: number) => hashes[i] ?? '',
    },
  } as unknown as Dataset;
}

interface Truth {
  pYes: number;
  pNo: number;
  tokens: number;
  truncated: boolean;
}

/** A column of `n` rows where some rows are invalid and some valid rows are not scored. */
function randomColumn(n: number, seed: number) {
  const rng = new Rng(seed);
  const hashes: (string | undefined)[] = [];
  const truth: (Truth | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const invalid = rng.int(9) === 0;
    hashes.push(invalid ? undefined : `h${i}`);
    if (invalid || rng.int(5) === 0) truth.push(undefined);
    else {
      // Rounded to 2 decimals on purpose: ties in P(yes) must share a rank.
      const pYes = Math.round(rng.int(1000) / 10) / 100;
      const pNo = rng.int(4) === 0 ? 0 : rng.int(1000) / 1000;
      truth.push({ pYes, pNo, tokens: 1 + rng.int(700), truncated: rng.int(6) === 0 });
    }
  }
  const col = new ColumnState(fakeDataset(hashes), 'key', 0, 0);
  col.reserve(n);
  for (let i = 0; i < n; i++) col.set(i, undefined);
  col.filled = n;
  for (let i = 0; i < n; i++) {
    const t = truth[i];
    if (t) assert.equal(col.apply(i, `h${i}`, t), true);
  }
  return { col, hashes, truth };
}

function asResult(
  col: ColumnState,
  rowCount: number,
  normalized: boolean,
): GetColumnsResult & { askllm: NonNullable<GetColumnsResult['askllm']> } {
  return {
    rowCount,
    fileVersion: 'v1',
    askllm: { ...col.encode(rowCount, normalized), meta },
  };
}

describe('ASK-LLM column: worker encoding, host decoding', () => {
  it('packs prompt tokens with the truncation flag; 0 stays "unknown"', () => {
    assert.equal(packTokens(94, false), 94);
    assert.equal(packTokens(512, true), (512 | TOKENS_TRUNCATED) >>> 0);
    assert.equal(packTokens(0, false), 0);
    assert.equal(packTokens(-3, false), 0);
  });

  it('a score applies only to the row content it was computed for', () => {
    const col = new ColumnState(fakeDataset(['a', undefined, 'c']), 'k', 0, 0);
    col.reserve(3);
    for (let i = 0; i < 3; i++) col.set(i, undefined);
    col.filled = 3;
    const s = { pYes: 0.5, pNo: 0.25, tokens: 10, truncated: false };
    assert.equal(col.apply(0, 'other', s), false, 'stale hash');
    assert.equal(col.apply(1, 'b', s), false, 'invalid row');
    assert.equal(col.apply(3, 'd', s), false, 'past the rows the column holds');
    assert.equal(col.apply(2, 'c', s), true);
    assert.equal(col.scored, 1);
    const wire = col.encode(3, false);
    assert.equal(wire.scored, 1);
    assert.deepEqual(
      [...new Uint32Array(new Uint8Array(Buffer.from(wire.tokens, 'base64')).buffer)],
      [0, 0, 10],
    );
  });

  it('round-trips P(yes), tokens and the variant; the variant only when asked for', () => {
    const n = 500;
    const { col, truth } = randomColumn(n, 11);
    const plain = asResult(col, n, false);
    assert.equal(plain.askllm.normalized, undefined, 'no variant unless the setting asks');
    assert.equal(plain.askllm.scored, truth.filter(Boolean).length);
    const withVariant = asResult(col, n, true);
    assert.equal(typeof withVariant.askllm.normalized, 'string');
    // The variant costs its bytes only when asked for.
    assert.equal(JSON.stringify(withVariant).length > JSON.stringify(plain).length, true);

    const cols = decodeColumns(withVariant);
    const scores = truth.filter((t): t is Truth => t !== undefined).map(t => Math.fround(t.pYes));
    for (let i = 0; i < n; i++) {
      const t = truth[i];
      const r = rowScores(cols, i);
      if (!t) {
        assert.deepEqual(r, {}, `row ${i} is not scored`);
        continue;
      }
      assert.equal(r.score, Math.fround(t.pYes));
      assert.equal(r.tokens, t.tokens, `row ${i} tokens`);
      assert.equal(r.tokensTruncated, t.truncated ? true : undefined, `row ${i} truncated`);
      const d = t.pYes + t.pNo;
      if (d > 0) assert.ok(Math.abs(r.normalized! - t.pYes / d) < 1e-6, `row ${i} variant`);
      else assert.equal(r.normalized, undefined, `row ${i}: both 0, no variant`);
      // Standing by brute force: rank = 1 + higher scores, percentile counts ties half.
      const v = Math.fround(t.pYes);
      const higher = scores.filter(s => s > v).length;
      const below = scores.filter(s => s < v).length;
      const equal = scores.filter(s => s === v).length;
      assert.equal(r.scoreRank, higher + 1, `row ${i} rank`);
      assert.ok(
        Math.abs(r.scorePercentile! - (100 * (below + equal / 2)) / scores.length) < 1e-9,
        `row ${i} percentile`,
      );
    }
    // Without the variant on the wire, no row carries it.
    const noVariant = decodeColumns(plain);
    for (let i = 0; i < n; i++) assert.equal(rowScores(noVariant, i).normalized, undefined);
    // The sources name what the tooltips need.
    const src = scoreSources(cols).askllm!;
    assert.deepEqual(
      [src.model, src.dtype, src.answerTokens, src.maxTokens, src.scored],
      [meta.model, meta.dtype, meta.answerTokens, meta.maxTokens, scores.length],
    );
  });

  it('rows the column has not caught up with yet are unscored, with 0 tokens', () => {
    const { col, truth } = randomColumn(40, 3);
    col.filled = 30;
    const cols = decodeColumns(asResult(col, 50, true));
    assert.equal(cols.rowCount, 50);
    for (let i = 30; i < 50; i++) assert.deepEqual(rowScores(cols, i), {});
    for (let i = 0; i < 30; i++) assert.equal(rowScores(cols, i).tokens, truth[i]?.tokens);
  });

  it('an older worker without token counts still decodes; bad lengths are refused', () => {
    const { col } = randomColumn(20, 5);
    const r = asResult(col, 20, false);
    const old = decodeColumns({ ...r, askllm: { ...r.askllm, tokens: undefined } });
    assert.equal(old.askllm?.tokens, undefined);
    for (let i = 0; i < 20; i++) assert.equal(rowScores(old, i).tokens, undefined);
    const short = Buffer.from(new Float32Array(19).buffer).toString('base64');
    assert.throws(
      () => decodeColumns({ ...r, askllm: { ...r.askllm, tokens: short } }),
      /token column has 19 values for 20 rows/,
    );
    assert.throws(
      () => decodeColumns({ ...r, askllm: { ...r.askllm, normalized: short } }),
      /variant column has 19 values for 20 rows/,
    );
  });
});

describe('dataset view texts: length, row hover, detail', () => {
  const sources: ScoreSourceView = {
    askllm: {
      model: meta.model,
      dtype: meta.dtype,
      promptName: meta.promptName,
      promptHash: meta.promptHash,
      answerTokens: meta.answerTokens,
      maxTokens: meta.maxTokens,
      variant: meta.variant,
      scored: 1234,
      device: 'cpu',
    },
  };
  const a = sources.askllm!;

  it('Length shows characters; Tokens shows prompt tokens where known, + when truncated', () => {
    assert.equal(lengthText({ chars: 355 }), '355');
    assert.equal(lengthText({ chars: 12345 }), '12,345');
    assert.equal(tokensCellText({}), undefined);
    assert.equal(tokensCellText({ tokens: 1094 }), '1,094');
    assert.equal(tokensCellText({ tokens: 512, tokensTruncated: true }), '512+');
    assert.equal(
      lengthTooltip({ chars: 355, bytes: 394, tokens: 94 }, a),
      `355 characters · 394 bytes · 94 prompt tokens for ${meta.model}\n` +
        'Sorting by length uses characters.',
    );
    assert.equal(
      lengthTooltip({ chars: 9000, bytes: 9001, tokens: 512, tokensTruncated: true }, a),
      `9,000 characters · 9,001 bytes · 512 prompt tokens for ${meta.model} ` +
        `(document truncated to fit ${meta.maxTokens} tokens)\nSorting by length uses characters.`,
    );
    assert.equal(
      lengthTooltip({ chars: 1, bytes: 1 }, undefined),
      '1 character · 1 byte\nSorting by length uses characters.',
    );
    assert.equal(tokensText({}, a), undefined);
  });

  it('the row hover states the facts of the text editor hover', () => {
    const row = {
      score: 0.11423456,
      scoreRank: 17,
      scorePercentile: 98.7,
      tokens: 94,
      densityRank: 12,
      density: 3.25,
    };
    const lines = scoreTooltip(row, sources).split('\n');
    assert.equal(
      lines[0],
      `ASK-LLM P(yes) = 0.114235 · ${standingText({ rank: 17, of: a.scored, percentile: 98.7 })}`,
    );
    assert.match(lines[0], /98th percentile in this file \(rank 17 of 1,234 scored rows\)$/);
    assert.equal(
      lines[1],
      `Model ${meta.model} (fp32, cpu) · prompt ${meta.promptName} · answer ▁yes + ▁Yes · 94 prompt tokens`,
    );
    assert.equal(lines[2], 'DENSITY rank 12 (1 = most isolated) · score 3.250');
    assert.equal(lines.length, 3, 'no variant unless it was sent');
    const withVariant = scoreTooltip({ ...row, normalized: 0.6 }, sources).split('\n');
    assert.equal(
      withVariant[2],
      'Variant (not the ASK-LLM score): P(yes) / (P(yes) + P(no)) = 0.6',
    );
    assert.equal(scoreTooltip({}, sources), 'ASK-LLM: not scored yet (Winnow: Score Current File)');
  });

  it('the detail panel lists score, standing, variant, model, prompt and tokens', () => {
    const d: RowDetail = {
      index: 4,
      text: 't',
      textTruncated: false,
      raw: '{}',
      rawTruncated: false,
      chars: 355,
      bytes: 394,
      fields: ['text'],
      sources,
      score: 0.5,
      scoreRank: 1,
      scorePercentile: 100,
      normalized: 0.75,
      tokens: 512,
      tokensTruncated: true,
    };
    const facts = new Map(scoreFacts(d));
    assert.equal(
      facts.get('ASK-LLM P(yes)'),
      '0.5 · 100th percentile in this file (rank 1 of 1,234 scored rows)',
    );
    assert.equal(facts.get('Variant (not the ASK-LLM score)'), 'P(yes) / (P(yes) + P(no)) = 0.75');
    assert.equal(facts.get('Model'), `${meta.model} (fp32, cpu)`);
    assert.equal(
      facts.get('Prompt'),
      `${meta.promptName} · hash 0123456789ab · answer ▁yes + ▁Yes`,
    );
    assert.equal(
      facts.get('Prompt tokens'),
      '512 prompt tokens (document truncated to fit 512 tokens)',
    );
    assert.equal(facts.get('Length'), '355 characters · 394 bytes');
    const plain = new Map(scoreFacts({ ...d, normalized: undefined, tokens: undefined }));
    assert.equal(plain.has('Variant (not the ASK-LLM score)'), false);
    assert.equal(plain.has('Prompt tokens'), false);
    assert.equal(plain.get('Length'), '355 characters · 394 bytes');
    assert.equal(
      new Map(scoreFacts({ ...d, score: undefined })).get('ASK-LLM P(yes)'),
      'not scored',
    );
  });
});

describe('imported scores in the dataset view', () => {
  const imported = {
    files: ['/data/run/train.scores.0.jsonl', '/data/run/train.scores.1.jsonl'],
    importedAt: '2026-12-08T00:00:00.000Z',
    createdAt: '2026-12-07T10:00:00.123Z',
    engine: 'vllm',
    endpoint: 'http://gpu:8000/v1',
    mode: 'top-k',
    topK: 20,
    shards: 2,
    sourcePath: '/cluster/home/me/train.jsonl',
  };
  it('carry the manifest model, prompt and provenance to the header, tooltip and detail', () => {
    const plain = asResult(randomColumn(20, 3).col, 20, false);
    const cols = decodeColumns({
      ...plain,
      askllm: { ...plain.askllm, meta: { ...meta, model: 'Qwen/Qwen2.5-7B', imported } },
    });
    const src = scoreSources(cols);
    assert.equal(src.askllm?.imported?.engine, 'vllm');
    assert.equal(
      (src.askllm?.imported as unknown as Record<string, unknown>).sourcePath,
      undefined,
      'the cluster path stays out of the view',
    );
    const note = importedScoresNote(src);
    assert.equal(
      note?.text,
      'Imported scores: ASK-LLM by Qwen/Qwen2.5-7B · prompt ASK-LLM (paper)',
    );
    assert.match(
      note!.title,
      /^ASK-LLM scores imported from train\.scores\.0\.jsonl, train\.scores\.1\.jsonl · vllm at http:\/\/gpu:8000\/v1, top-20 · 2 shards · scored 2026-12-07T10:00:00Z\n/,
    );
    assert.match(note!.title, /prompt hash 0123456789ab$/);
    const d: RowDetail = {
      index: 0,
      text: 't',
      textTruncated: false,
      raw: '{}',
      rawTruncated: false,
      chars: 1,
      bytes: 3,
      fields: ['text'],
      sources: src,
      ...rowScores(cols, 0),
    };
    const facts = new Map(scoreFacts(d));
    assert.equal(facts.get('Model'), 'Qwen/Qwen2.5-7B (fp32, cpu)');
    assert.match(facts.get('Scores') ?? '', /^imported from train\.scores\.0\.jsonl, /);
    // Scores computed here carry no note.
    assert.equal(importedScoresNote(scoreSources(decodeColumns(plain))), undefined);
    assert.equal(
      new Map(scoreFacts({ ...d, sources: scoreSources(decodeColumns(plain)) })).has('Scores'),
      false,
    );
  });
});

describe('rows the scorer failed on', () => {
  it('travel from the worker column to the grid cell, tooltip and detail panel with their reason', () => {
    const hashes = ['a', 'b', 'c', 'd'];
    const col = new ColumnState(fakeDataset(hashes), 'k', 0, 0);
    col.reserve(4);
    for (let i = 0; i < 4; i++) col.set(i, undefined);
    col.filled = 4;
    col.apply(0, 'a', { pYes: 0.5, pNo: 0.25, tokens: 10, truncated: false });
    col.failed.set(2, { hash: 'c', reason: 'tokenising the prompt failed: boom' });
    // A failure recorded for content the row no longer has is not shown.
    col.failed.set(3, { hash: 'old', reason: 'stale' });
    assert.equal(col.failure(2), 'tokenising the prompt failed: boom');
    assert.equal(col.failure(3), undefined);
    const failed = col.failures(4);
    assert.deepEqual(failed, [{ row: 2, reason: 'tokenising the prompt failed: boom' }]);
    const decoded = decodeColumns({
      ...asResult(col, 4, false),
      askllm: { ...asResult(col, 4, false).askllm, failed },
    });
    const sources = scoreSources(decoded);
    assert.equal(sources.askllm?.failed, 1);
    const row = rowScores(decoded, 2);
    assert.equal(row.score, undefined);
    assert.equal(row.scoreFailed, 'tokenising the prompt failed: boom');
    assert.equal(rowScores(decoded, 1).scoreFailed, undefined);
    assert.equal(rowScores(decoded, 0).scoreFailed, undefined);
    assert.match(
      scoreTooltip(row, sources),
      /^ASK-LLM: could not score this row: tokenising the prompt failed: boom$/m,
    );
    assert.match(scoreTooltip(rowScores(decoded, 1), sources), /not scored yet/);
    const detail = { ...row, sources, chars: 1, bytes: 1, fields: [] } as unknown as RowDetail;
    assert.deepEqual(
      scoreFacts(detail).find(([k]) => k === 'ASK-LLM P(yes)'),
      ['ASK-LLM P(yes)', 'could not score: tokenising the prompt failed: boom'],
    );
  });

  it('the run summary names the count and the first line', () => {
    assert.equal(failedSummary({ failed: 0, failures: [] }), '');
    assert.equal(
      failedSummary({
        failed: 2,
        failures: [
          { line: 12, reason: 'boom' },
          { line: 40, reason: 'x' },
        ],
      }),
      '; 2 rows could not be scored (line 12: boom)',
    );
  });
});
