/**
 * Tier 2: ASK-LLM scoring through the real worker process (dist/worker.js) over the real IPC
 * language-server connection, with the generated tiny-t5 fixture model (a local folder named
 * by the model setting) whose P(yes) has a closed form. Scores persist in a temporary storage
 * folder across worker processes, exactly as in the extension's global storage.
 */
import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { MarkupContent } from 'vscode-languageserver-protocol/node';
import { PAPER_PROMPT, parsePromptTemplate, renderPrompt } from '../../src/core/askllm';
import {
  TOKENS_TRUNCATED,
  WorkerErrorCodes,
  type GetColumnsResult,
  type ScoreResult,
} from '../../src/shared/protocol/worker';
import { type WinnowSettingsSection } from '../../src/shared/settings';
import { Rng, allWords, generateTinyT5, t5Distribution, type TinyT5 } from '../support/fixtures';
import { assertProbability } from '../support/probability';

import { WorkerSession } from './workerSession';

/** A P(yes) read from a hover or tooltip: six significant digits. */
const PRINTED = { printed: true } as const;

let root: string;
let t5: TinyT5;
let tok: PreTrainedTokenizer;
const sessions: WorkerSession[] = [];

/** Deterministic documents of 3–40 words from the fixture vocabulary. */
function documents(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const words = allWords();
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 + rng.int(38) }, () => words[rng.int(words.length)]).join(' '),
  );
}

/** Writes a `{"text": ...}` JSONL file (plus extra raw lines) and returns its path and URI. */
function writeDataset(name: string, lines: string[]): { path: string; uri: string } {
  const path = join(root, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, uri: pathToFileURL(path).toString() };
}

function textLine(text: string, id: number): string {
  return JSON.stringify({ id, text });
}

/** The closed-form P(yes) of a document under a prompt template (tiny-t5, §4.5). */
function closedForm(text: string, template = PAPER_PROMPT): number {
  const ids = tok.encode(renderPrompt(template, text));
  return t5Distribution(t5, ids)[t5.yesId];
}

function settingsFor(extra: WinnowSettingsSection['askllm'] = {}): WinnowSettingsSection {
  return { askllm: { model: t5.dir, ...extra }, device: 'cpu' };
}

async function start(storage: string, settings = settingsFor(), trusted = true) {
  const s = await WorkerSession.start({ settings, storagePath: storage, trusted });
  sessions.push(s);
  return s;
}

function hoverMarkdown(h: { contents: unknown } | null): string {
  assert.ok(h, 'a hover');
  return (h.contents as MarkupContent).value;
}

/** The P(yes) printed in a hover ("P(yes) = 0.114235"). */
function hoverProbability(markdown: string): number {
  const m = /P\(yes\) = ([0-9.e+-]+)/.exec(markdown.replace(/\\(.)/g, '$1'));
  assert.ok(m, `no P(yes) in the hover: ${markdown}`);
  return Number(m[1]);
}

function decodeColumn(c: GetColumnsResult): Float32Array {
  assert.ok(c.askllm, 'an askllm column');
  const bytes = Buffer.from(c.askllm.data, 'base64');
  assert.equal(bytes.length, c.rowCount * 4);
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** The prompt-token column: counts and truncation flags per row (0 tokens = not scored). */
function decodeTokens(c: GetColumnsResult): { tokens: number[]; truncated: boolean[] } {
  assert.ok(c.askllm?.tokens, 'a token column');
  const bytes = Buffer.from(c.askllm.tokens, 'base64');
  assert.equal(bytes.length, c.rowCount * 4);
  const packed = [...new Uint32Array(new Uint8Array(bytes).buffer)];
  return {
    tokens: packed.map(v => (v & ~TOKENS_TRUNCATED) >>> 0),
    truncated: packed.map(v => (v & TOKENS_TRUNCATED) !== 0),
  };
}

/** The normalised-variant column, if the worker sent it. */
function decodeVariant(c: GetColumnsResult): Float32Array | undefined {
  if (c.askllm?.normalized === undefined) return undefined;
  const bytes = Buffer.from(c.askllm.normalized, 'base64');
  assert.equal(bytes.length, c.rowCount * 4);
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** The prompt tokens a hover states ("· 94 tokens" or "· 94 tokens (document truncated)"). */
function hoverTokens(markdown: string): { tokens: number; truncated: boolean } {
  const m = /· ([0-9,]+) tokens( \(document truncated\))?/.exec(markdown.replace(/\\(.)/g, '$1'));
  assert.ok(m, `no token count in the hover: ${markdown}`);
  return { tokens: Number(m[1].replace(/,/g, '')), truncated: m[2] !== undefined };
}

/** Significant digits printed in a number string ("0.114" → 3). */
function digitsShown(s: string): number {
  return s
    .replace(/e.*$/, '')
    .replace(/^[0.]+/, '')
    .replace('.', '').length;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-lsp-scoring-'));
  t5 = generateTinyT5(join(root, 'tiny-t5'));
  tok = await AutoTokenizer.from_pretrained(t5.dir);
});

after(async () => {
  for (const s of sessions) {
    if (s.child.exitCode === null && s.child.signalCode === null)
      await s.shutdown().catch(() => undefined);
  }
  rmSync(root, { recursive: true, force: true });
});

describe('ASK-LLM scoring in the worker', () => {
  const docs = documents(30, 1);
  const storage = () => join(root, 'storage-main');
  let data: { path: string; uri: string };
  // Line 7 is not JSON: it is never scored.
  const lines = docs.map((d, i) => textLine(d, i));
  lines.splice(7, 0, '{"text": "broken');
  const rowOf = (docIndex: number) => (docIndex < 7 ? docIndex : docIndex + 1);

  before(() => {
    data = writeDataset('scored.jsonl', lines);
  });

  it('scores a file with work-done progress; hover, inlay hints and columns show the closed form', async () => {
    const w = await start(storage());
    await w.openDataset(data.uri, 'command');
    const run = w.score(data.uri);
    const r = await run.result;
    assert.equal(r.cancelled, false);
    assert.equal(r.rows, lines.length);
    assert.equal(r.scorable, docs.length);
    assert.equal(r.scored, docs.length);
    assert.equal(r.newlyScored, docs.length);
    assert.equal(r.cached, 0);
    assert.equal(r.device, 'cpu');
    assert.equal(r.promptName, 'ASK-LLM (paper)');
    // Work-done progress: begin, reports with counts, end.
    await w.waitFor('the progress end', () => run.progress.some(p => p.kind === 'end'));
    assert.equal(run.progress[0]?.kind, 'begin');
    const reports = run.progress.filter(p => p.kind === 'report');
    assert.ok(
      reports.some(p => p.message?.includes(`${docs.length} of ${docs.length} rows`)),
      JSON.stringify(reports),
    );
    // The status bar saw the model load and the run, with the device.
    assert.ok(w.statuses.some(s => s.state === 'loadingModel'));
    assert.ok(w.statuses.some(s => s.state === 'scoring' && s.device === 'cpu'));
    await w.waitFor('idle with the device', () => {
      const last = w.statuses[w.statuses.length - 1];
      return last?.state === 'idle' && last.device === 'cpu';
    });

    // Hover: probability (6 significant digits), percentile, model and prompt.
    for (const d of [0, 12, 29]) {
      const md = hoverMarkdown(await w.hover(data.uri, rowOf(d)));
      const want = closedForm(docs[d]);
      assertProbability(hoverProbability(md), want, md, PRINTED);
      assert.match(md, /percentile in this file/);
      assert.match(md, /rank \d+ of 30 scored rows/);
      assert.ok(md.includes(t5.dir.replace(/\\/g, '\\\\')) || md.includes(t5.dir), md);
      assert.match(md.replace(/\\(.)/g, '$1'), /prompt ASK-LLM \(paper\)/);
    }
    // The highest score is rank 1.
    const all = docs.map(d => closedForm(d));
    const best = all.indexOf(Math.max(...all));
    assert.match(hoverMarkdown(await w.hover(data.uri, rowOf(best))), /rank 1 of 30/);
    // The broken line has no ASK-LLM section.
    assert.doesNotMatch(hoverMarkdown(await w.hover(data.uri, 7)), /ASK-LLM/);

    // Inlay hints at the end of each scored line: short label, full value in the tooltip.
    const hints = (await w.inlayHints(data.uri, 0, lines.length)) ?? [];
    assert.equal(hints.length, docs.length);
    for (const h of hints) {
      const line = h.position.line;
      assert.notEqual(line, 7);
      const d = line < 7 ? line : line - 1;
      assert.equal(h.position.character, lines[line].length);
      const label = String(h.label);
      const m = /^ASK-LLM (\S+)$/.exec(label);
      assert.ok(m, label);
      const want = all[d];
      const shown = Number(m[1]);
      // Within the label's displayed precision (3 significant digits, rounded).
      const ulp = 10 ** (Math.floor(Math.log10(want)) - digitsShown(m[1]) + 1);
      assert.ok(Math.abs(shown - want) <= ulp / 2 + 1e-9, `${label} vs ${want}`);
      const tip = (h.tooltip as MarkupContent).value;
      assertProbability(hoverProbability(tip), want, tip, PRINTED);
    }

    // Columns: one value per physical line, NaN for the broken line, exact metadata.
    const c = await w.columns(data.uri);
    assert.equal(c.rowCount, lines.length);
    assert.equal(c.askllm?.scored, docs.length);
    const values = decodeColumn(c);
    assert.ok(Number.isNaN(values[7]));
    for (let d = 0; d < docs.length; d++)
      assertProbability(values[rowOf(d)], all[d], `row ${rowOf(d)}`);
    // Judge health of the first batch: returned with the run and kept with the column's meta;
    // the rows it names are file lines, whose top tokens are those of the closed form.
    assert.ok(r.health, 'judge health with the result');
    assert.deepEqual(c.askllm?.meta.health, r.health);
    assert.equal(r.health.yes[0].token, '▁yes');
    assert.ok(r.health.rows >= 1 && r.health.top.length >= 1);
    for (const t of r.health.top) {
      assert.notEqual(t.row, 7);
      const d = t.row < 7 ? t.row : t.row - 1;
      const dist = t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, docs[d])));
      const top = [...dist.keys()].sort((a, b) => dist[b] - dist[a]).slice(0, 5);
      assert.deepEqual(
        t.tokens.map(x => x.id),
        top,
        `top tokens of line ${t.row + 1}`,
      );
    }
    assert.deepEqual(
      { ...c.askllm?.meta, promptHash: undefined, health: undefined },
      {
        model: t5.dir,
        dtype: 'fp32',
        promptName: 'ASK-LLM (paper)',
        promptHash: undefined,
        answerTokens: ['▁yes'],
        maxTokens: 512,
        variant: 'p-yes',
        device: 'cpu',
        health: undefined,
      },
    );
    // Prompt tokens: what the scorer fed the model (the tokenizer's count of the rendered
    // prompt, as the hover states it), 0 for the unscored broken line. No variant by default.
    const { tokens, truncated } = decodeTokens(c);
    assert.equal(tokens[7], 0);
    assert.equal(truncated[7], false);
    for (let d = 0; d < docs.length; d++) {
      const want = tok.encode(renderPrompt(PAPER_PROMPT, docs[d])).length;
      assert.equal(tokens[rowOf(d)], want, `row ${rowOf(d)} tokens`);
      assert.equal(truncated[rowOf(d)], false);
    }
    for (const d of [0, 12, 29]) {
      const said = hoverTokens(hoverMarkdown(await w.hover(data.uri, rowOf(d))));
      assert.deepEqual(said, { tokens: tokens[rowOf(d)], truncated: false });
    }
    assert.equal(c.askllm?.normalized, undefined, 'the variant is sent only when asked for');
    // Notifications told the client the columns changed, and inlay hints were refreshed.
    await w.waitFor('didChangeColumns', () => w.columnChanges.some(n => n.uri === data.uri));
    await w.waitFor('an inlay-hint refresh', () => w.inlayRefreshes > 0);

    // Code actions: keep / drop through the host command of docs/scores-api.md.
    const actions = (await w.codeActions(data.uri, 3)) ?? [];
    assert.deepEqual(
      actions.map(a => [a.title, a.command?.command, a.command?.arguments]),
      [
        ['Keep example', 'winnow.setDecision', [data.uri, [3], 'keep']],
        ['Drop example', 'winnow.setDecision', [data.uri, [3], 'drop']],
      ],
    );
    const many = (await w.codeActions(data.uri, 2, 4)) ?? [];
    assert.deepEqual(many[0]?.command?.arguments, [data.uri, [2, 3, 4], 'keep']);
    assert.equal(many[0]?.title, 'Keep 3 examples');
    await w.shutdown();
  });

  it('a new worker shows the stored scores at once; an edited line alone is re-scored', async () => {
    const w = await start(storage());
    await w.openDataset(data.uri, 'command');
    await w.fileInfo(data.uri, true);
    // No model is loaded, yet the columns and the hover have every score.
    const c = await w.columns(data.uri);
    assert.equal(c.askllm?.scored, docs.length);
    const want = closedForm(docs[4]);
    assertProbability(
      hoverProbability(hoverMarkdown(await w.hover(data.uri, 4))),
      want,
      'row 4 hover',
      PRINTED,
    );
    assert.ok(!w.logs.some(l => l.message.includes('Loading ASK-LLM model')), 'a model was loaded');

    // Edit one line on disk: the worker re-scores that row alone, by itself.
    const edited = [...lines];
    const newText = `${docs[3]} science knowledge`;
    edited[3] = textLine(newText, 3);
    writeFileSync(data.path, `${edited.join('\n')}\n`);
    await w.waitFor(
      'the automatic re-scoring of the edited row',
      () => w.logs.find(l => /Automatic scoring of scored\.jsonl: \d+ rows scored/.test(l.message)),
      30_000,
    );
    assert.ok(
      w.logs.some(l => l.message.includes('Automatic scoring of scored.jsonl: 1 rows scored')),
      w.logs.map(l => l.message).join('\n'),
    );
    const after = await w.columns(data.uri);
    assert.equal(after.askllm?.scored, docs.length);
    assertProbability(decodeColumn(after)[3], closedForm(newText), 'edited row 3');
    const md = hoverMarkdown(await w.hover(data.uri, 3));
    assertProbability(hoverProbability(md), closedForm(newText), 'edited row 3 hover', PRINTED);
    // An explicit run now finds everything in the cache.
    const r = await w.score(data.uri).result;
    assert.equal(r.newlyScored, 0);
    assert.equal(r.cached, docs.length);
    await w.shutdown();
  });

  it('a prompt template file and answer variants change the scores; bad ones are clear errors', async () => {
    const promptPath = join(root, 'short.winnow-prompt');
    const template = 'Is this good data? ### {{document}} ###\nOPTIONS:\n- yes\n- no\n';
    writeFileSync(promptPath, template);
    const w = await start(
      storage(),
      settingsFor({ promptFile: promptPath, answerVariants: ['Yes'], showNormalizedVariant: true }),
    );
    await w.openDataset(data.uri, 'command');
    const r = await w.score(data.uri).result;
    assert.equal(r.newlyScored, docs.length, 'another prompt is another cache key');
    assert.equal(r.promptName, 'short.winnow-prompt');
    const parsed = parsePromptTemplate(template, 'x');
    const ids = tok.encode(renderPrompt(parsed, docs[0]));
    const dist = t5Distribution(t5, ids);
    const md = hoverMarkdown(await w.hover(data.uri, 0));
    const plain = md.replace(/\\(.)/g, '$1');
    assertProbability(hoverProbability(md), dist[t5.yesId] + dist[t5.yesCapId], plain, PRINTED);
    assert.match(plain, /prompt short\.winnow-prompt/);
    assert.match(plain, /answer `▁yes` \+ `▁Yes`/);
    const variant = /P\(yes\) \/ \(P\(yes\) \+ P\(no\)\) = ([0-9.e-]+)/.exec(plain);
    assert.ok(variant, plain);
    const pYes = dist[t5.yesId] + dist[t5.yesCapId];
    assertProbability(Number(variant[1]), pYes / (pYes + dist[t5.noId]), 'variant', PRINTED);

    // The columns carry the variant while the setting is on: per row, NaN for the broken line.
    const on = await w.columns(data.uri);
    const norm = decodeVariant(on);
    assert.ok(norm, 'a variant column while showNormalizedVariant is on');
    assert.ok(Number.isNaN(norm[7]));
    for (const d of [0, 5, 20]) {
      const dd = t5Distribution(t5, tok.encode(renderPrompt(parsed, docs[d])));
      const y = dd[t5.yesId] + dd[t5.yesCapId];
      assertProbability(norm[rowOf(d)], y / (y + dd[t5.noId]), `row ${rowOf(d)} variant`);
      assert.equal(
        decodeTokens(on).tokens[rowOf(d)],
        tok.encode(renderPrompt(parsed, docs[d])).length,
      );
    }
    // Turned off: the same scores, without the variant.
    await w.changeSettings(settingsFor({ promptFile: promptPath, answerVariants: ['Yes'] }));
    const off = await w.columns(data.uri);
    assert.equal(off.askllm?.normalized, undefined, 'no variant once the setting is off');
    assert.equal(off.askllm?.scored, docs.length);
    assert.deepEqual(decodeColumn(off), decodeColumn(on));

    // A template without the placeholder, and a multi-token answer, are refused with reasons.
    writeFileSync(promptPath, 'no placeholder here');
    await w.changeSettings(settingsFor({ promptFile: promptPath }));
    await assert.rejects(w.score(data.uri).result, (e: { code: number; message: string }) => {
      assert.equal(e.code, WorkerErrorCodes.badScorerSettings);
      assert.match(e.message, /\{\{document\}\} exactly once/);
      return true;
    });
    await w.changeSettings(settingsFor({ answerVariants: ['zebra'] }));
    await assert.rejects(w.score(data.uri).result, (e: { code: number; message: string }) => {
      assert.equal(e.code, WorkerErrorCodes.badScorerSettings);
      assert.match(e.message, /single token/);
      return true;
    });
    await w.changeSettings(settingsFor({ model: join(root, 'no-such-model') }));
    await assert.rejects(w.score(data.uri).result, (e: { code: number; message: string }) => {
      assert.equal(e.code, WorkerErrorCodes.modelLoad);
      assert.match(e.message, /Model folder not found/);
      return true;
    });
    await w.shutdown();
  });

  it('a short max-token setting truncates documents, and the token column says so', async () => {
    // Room for the prompt and about 8 document tokens: most documents are cut.
    const overhead = tok.encode(renderPrompt(PAPER_PROMPT, '')).length;
    const maxTokens = Math.max(16, overhead + 8);
    // A copy of the file as written (an earlier test edited line 3 of the original).
    const copy = writeDataset('truncate.jsonl', lines);
    const w = await start(join(root, 'storage-truncate'), settingsFor({ maxTokens }));
    await w.openDataset(copy.uri, 'command');
    const r = await w.score(copy.uri).result;
    assert.equal(r.scored, docs.length);
    const c = await w.columns(copy.uri);
    assert.equal(c.askllm?.meta.maxTokens, maxTokens);
    const { tokens, truncated } = decodeTokens(c);
    let cut = 0;
    for (let d = 0; d < docs.length; d++) {
      const row = rowOf(d);
      const full = tok.encode(renderPrompt(PAPER_PROMPT, docs[d])).length;
      assert.equal(truncated[row], full > maxTokens, `row ${row}: ${full} tokens in full`);
      if (full > maxTokens) {
        cut++;
        assert.ok(tokens[row] > 0 && tokens[row] <= maxTokens, `row ${row}: ${tokens[row]}`);
      } else assert.equal(tokens[row], full);
    }
    assert.ok(cut > 0 && cut < docs.length, `${cut} of ${docs.length} documents truncated`);
    for (const d of [0, 1, 2, 3]) {
      const said = hoverTokens(hoverMarkdown(await w.hover(copy.uri, rowOf(d))));
      assert.deepEqual(said, { tokens: tokens[rowOf(d)], truncated: truncated[rowOf(d)] });
    }
    await w.shutdown();
  });

  it('an untrusted workspace never loads a model, but still answers hovers', async () => {
    const w = await start(storage(), settingsFor(), false);
    await w.openDataset(data.uri, 'command');
    await assert.rejects(w.score(data.uri).result, (e: { code: number; message: string }) => {
      assert.equal(e.code, WorkerErrorCodes.untrusted);
      assert.match(e.message, /untrusted workspace/);
      return true;
    });
    assert.match(hoverMarkdown(await w.hover(data.uri, 0)), /row 1 of/);
    assert.ok(!w.logs.some(l => l.message.includes('Loading ASK-LLM model')));
    await w.shutdown();
  });
});

describe('long runs: hover during a run, cancellation, SIGKILL', () => {
  // Batches of one row make a run long enough to interact with.
  const long = documents(1500, 7);
  let data: { path: string; uri: string };
  const settings = () => settingsFor({ batchSize: 1 });

  before(() => {
    data = writeDataset(
      'long.jsonl',
      long.map((d, i) => textLine(d, i)),
    );
  });

  /** The latest scoring progress the status reported (done rows). */
  function doneSoFar(w: WorkerSession): number {
    let done = 0;
    for (const s of w.statuses)
      if (s.state === 'scoring' && s.progress) done = Math.max(done, s.progress.done);
    return done;
  }

  it('answers hovers while a run is in progress, and cancellation stops between batches', async t => {
    const storage = join(root, 'storage-cancel');
    const w = await start(storage, settings());
    await w.openDataset(data.uri, 'command');
    const run = w.score(data.uri);
    let runEnded = false;
    void run.result.finally(() => (runEnded = true)).catch(() => undefined);
    await w.waitFor('50 rows scored', () => doneSoFar(w) >= 50, 60_000);
    // Order, not time: every hover is answered while the run is still going.
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const md = hoverMarkdown(await w.hover(data.uri, 1000 + i));
      times.push(performance.now() - t0);
      assert.match(md, /row 1,00\d of 1,500/);
      assert.equal(runEnded, false, `hover ${i} came after the run had ended`);
    }
    assert.ok(doneSoFar(w) < long.length, 'the run was still going');
    times.sort((a, b) => a - b);
    t.diagnostic(`median hover time ${times[2].toFixed(0)} ms during a run`);

    const before = doneSoFar(w);
    const tCancel = performance.now();
    run.cancel();
    const r = await run.result;
    t.diagnostic(`stopping took ${(performance.now() - tCancel).toFixed(0)} ms`);
    assert.equal(r.cancelled, true);
    assert.ok(r.scored >= before && r.scored < long.length, `${r.scored} scored`);
    // Every score the run reported is stored; nothing past the cancellation was added.
    const c = await w.columns(data.uri);
    assert.equal(c.askllm?.scored, r.scored);
    // Instead of waiting a while for stray batches: shut the worker down (it has then finished
    // whatever it was still doing) and read the stored scores back in a new one.
    await w.shutdown();
    const w2 = await start(storage, settings());
    await w2.openDataset(data.uri, 'command');
    await w2.fileInfo(data.uri, true);
    assert.equal((await w2.columns(data.uri)).askllm?.scored, r.scored, 'scoring went on');
    await w2.shutdown();
  });

  it('SIGKILL mid-run loses no finished score, and the next run continues where it stopped', async () => {
    const storage = join(root, 'storage-kill');
    const w = await start(storage, settings());
    await w.openDataset(data.uri, 'command');
    const run = w.score(data.uri);
    run.result.catch(() => undefined);
    await w.waitFor('80 rows scored', () => doneSoFar(w) >= 80, 60_000);
    const reported = doneSoFar(w);
    w.child.kill('SIGKILL');
    await w.whenExited();

    const w2 = await start(storage, settings());
    await w2.openDataset(data.uri, 'command');
    await w2.fileInfo(data.uri, true);
    const restored = await w2.columns(data.uri);
    const kept = restored.askllm?.scored ?? 0;
    assert.ok(kept >= reported, `${kept} scores kept, ${reported} were reported before the kill`);
    assert.ok(kept < long.length);
    const before = decodeColumn(restored);

    const r = await w2.score(data.uri).result;
    assert.equal(r.cancelled, false);
    assert.equal(r.cached, kept, 'finished rows are cache hits');
    assert.equal(r.newlyScored, long.length - kept);
    assert.equal(r.scored, long.length);
    const final = decodeColumn(await w2.columns(data.uri));
    for (let i = 0; i < long.length; i++) {
      if (!Number.isNaN(before[i])) assert.equal(final[i], before[i], `row ${i} changed`);
    }
    // Spot-check rows scored before and after the kill against the closed form.
    for (const i of [0, 700, 1499]) assertProbability(final[i], closedForm(long[i]), `row ${i}`);
    await w2.shutdown();
  });
});

describe('the file changes during a run: every row of the file as it is now gets scored', () => {
  const settings = () => settingsFor({ batchSize: 1 });
  let w: WorkerSession;
  let storageCount = 0;

  /** Starts a run on a fresh file and storage, and waits until it is well under way. */
  async function runningOn(name: string, docs: string[]) {
    const data = writeDataset(
      name,
      docs.map((d, i) => textLine(d, i)),
    );
    w = await start(join(root, `storage-changes-${storageCount++}`), settings());
    await w.openDataset(data.uri, 'command');
    await w.fileInfo(data.uri, true);
    const run = w.score(data.uri);
    await w.waitFor('20 rows scored', () => scoringDone(w) >= 20, 60_000);
    return { data, run };
  }

  /** The latest scoring progress the status reported (done rows). */
  function scoringDone(session: WorkerSession): number {
    let done = 0;
    for (const s of session.statuses)
      if (s.state === 'scoring' && s.progress) done = Math.max(done, s.progress.done);
    return done;
  }

  /** Waits until the worker has validated `rows` rows of the changed file. */
  async function changeSeen(uri: string, rows: number): Promise<void> {
    for (;;) {
      const info = await w.fileInfo(uri, true);
      if (info.rowCount === rows && info.indexed) return;
      // The run keeps reporting progress: ask again after the worker's next message.
      const seen = w.statuses.length + w.logs.length + w.columnChanges.length;
      await w.waitFor(
        'the worker to see the change',
        () => w.statuses.length + w.logs.length + w.columnChanges.length > seen,
      );
    }
  }

  /** The result and the columns cover every row of `docs` (the file now), with closed-form scores. */
  async function assertAllScored(uri: string, docs: string[], r: ScoreResult) {
    assert.equal(r.cancelled, false);
    assert.equal(r.rows, docs.length, 'rows of the file as it is now');
    assert.equal(r.scorable, docs.length);
    assert.equal(r.scored, docs.length);
    // Model work counts rows scored before a rewrite too; cache hits are rows of the file now.
    assert.ok(r.cached <= r.scored && r.newlyScored >= r.scored - r.cached, JSON.stringify(r));
    const c = await w.columns(uri);
    assert.equal(c.rowCount, docs.length);
    assert.equal(c.askllm?.scored, docs.length);
    const column = decodeColumn(c);
    for (const i of [0, Math.floor(docs.length / 2), docs.length - 1])
      assertProbability(column[i], closedForm(docs[i]), `row ${i}`);
  }

  it('100 lines appended during a run are scored by it, and the result counts them', async () => {
    const docs = documents(1500, 21);
    const { data, run } = await runningOn('append-during-run.jsonl', docs);
    const added = documents(100, 22);
    appendFileSync(data.path, `${added.map((d, i) => textLine(d, 1500 + i)).join('\n')}\n`);
    await changeSeen(data.uri, 1600);
    assert.ok(scoringDone(w) < 1500, 'the run was still going when the append was seen');
    const r = await run.result;
    await assertAllScored(data.uri, [...docs, ...added], r);
    assert.equal(r.newlyScored, 1600);
    await w.shutdown();
  });

  it('a file rewritten in place during a run has all its new rows scored', async () => {
    const docs = documents(1500, 23);
    const { data, run } = await runningOn('rewrite-during-run.jsonl', docs);
    // Half of the old rows, then new ones: fewer rows than before.
    const now = [...docs.slice(0, 600), ...documents(600, 24)];
    writeFileSync(data.path, `${now.map((d, i) => textLine(d, i)).join('\n')}\n`);
    await changeSeen(data.uri, now.length);
    assert.ok(scoringDone(w) < 1500, 'the run was still going when the rewrite was seen');
    await assertAllScored(data.uri, now, await run.result);
    await w.shutdown();
  });

  it('a run on a file deleted under it stops with a clear error; no new run starts', async () => {
    const docs = documents(1500, 27);
    const { data, run } = await runningOn('deleted-during-run.jsonl', docs);
    rmSync(data.path);
    const unavailable = (what: RegExp) => (e: { code?: number; message?: string }) => {
      assert.equal(e.code, WorkerErrorCodes.datasetUnavailable, e.message);
      assert.match(e.message ?? '', /deleted-during-run\.jsonl is no longer on disk/);
      assert.match(e.message ?? '', what);
      return true;
    };
    await assert.rejects(run.result, unavailable(/stopped after [\d,]+ rows/));
    const scored = (await w.columns(data.uri)).askllm?.scored ?? 0;
    assert.ok(scored < docs.length, `${scored} rows scored`);
    await assert.rejects(w.score(data.uri).result, unavailable(/did not start/));
    assert.equal((await w.columns(data.uri)).askllm?.scored ?? 0, scored);
    await w.shutdown();
  });

  it('another file renamed over the dataset during a run has all its rows scored', async () => {
    const docs = documents(1500, 25);
    const { data, run } = await runningOn('renamed-over-during-run.jsonl', docs);
    const now = documents(1024, 26);
    const other = join(root, 'renamed-over-during-run.jsonl.new');
    writeFileSync(other, `${now.map((d, i) => textLine(d, i)).join('\n')}\n`);
    renameSync(other, data.path);
    await changeSeen(data.uri, now.length);
    assert.ok(scoringDone(w) < 1500, 'the run was still going when the rename was seen');
    await assertAllScored(data.uri, now, await run.result);
    await w.shutdown();
  });
});
