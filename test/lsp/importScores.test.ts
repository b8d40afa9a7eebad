/**
 * Tier 2: Import Scores through the real worker (dist/worker.js) over the real IPC LSP
 * connection, on REAL outputs of the built CLI (`node dist/cli.js score|density|merge`) run on a
 * generated file with the tiny-t5 and tiny-bert fixture models. The dataset the worker opens is
 * the same rows in reverse order plus rows the CLI never saw, so every score can only land on its
 * row by content hash (docs/scores-api.md#importing-score-files).
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { MarkupContent } from 'vscode-languageserver-protocol/node';
import {
  ComputeDensityRequest,
  ImportScoresRequest,
  WorkerErrorCodes,
  type GetColumnsResult,
  type ImportScoresResult,
} from '../../src/shared/protocol/worker';
import { importSummaryText } from '../../src/shared/format/scoreFormat';
import { writeDensityDataset } from '../support/densityData';
import { generateTinyBert, generateTinyT5, type TinyBert, type TinyT5 } from '../support/fixtures';
import { jsonlRows, runCliOk } from '../cli/cliRun';
import { WorkerSession } from './workerSession';

let dir: string;
let t5: TinyT5;
let bert: TinyBert;
/** The file the CLI scored. */
let gen: string;
/** Its lines reversed, plus NEW rows the CLI never saw (at the end). */
let datasetLines: string[];
const NEW_ROWS = 3;
/** CLI outputs, by name. */
const out = (name: string) => join(dir, 'cli', name);
/** ASK-LLM score and DENSITY score per content hash, from the CLI's whole-file outputs. */
let askllmByHash: Map<string, number>;
let densityByHash: Map<string, number>;
/** Content hash per line of gen.jsonl (valid lines only), from the CLI output. */
let hashOfGenLine: Map<number, string>;
const sessions: WorkerSession[] = [];

const judge = () => ['--model', t5.dir, '--device', 'cpu'];

/** Runs the real CLI over gen.jsonl: whole file, two shards, another prompt, DENSITY, a merge. */
async function runCliOutputs(): Promise<void> {
  mkdirSync(join(dir, 'cli'));
  const prompt = join(dir, 'other-prompt.txt');
  writeFileSync(prompt, 'Is this text worth training on?\n\n{{document}}\n\nAnswer yes or no.');
  await runCliOk(['score', gen, '--out', out('full.jsonl'), ...judge()]);
  await runCliOk(['score', gen, '--out', out('full.parquet'), ...judge()]);
  await runCliOk(['score', gen, '--shard', '0/2', '--out', out('s0.jsonl'), ...judge()]);
  await runCliOk(['score', gen, '--shard', '1/2', '--out', out('s1.jsonl'), ...judge()]);
  await runCliOk([
    'score',
    gen,
    '--shard',
    '1/2',
    '--prompt-file',
    prompt,
    '--out',
    out('s1-other-prompt.jsonl'),
    ...judge(),
  ]);
  await runCliOk(['merge', out('merged.jsonl'), out('s0.jsonl'), out('s1.jsonl')]);
  await runCliOk([
    'density',
    gen,
    '--out',
    out('density.jsonl'),
    '--model',
    bert.dir,
    '--device',
    'cpu',
  ]);
  // A score file of another dataset (no row in common).
  const other = writeDensityDataset(join(dir, 'other.jsonl'), {
    rows: 20,
    duplicates: 2,
    invalid: 1,
    seed: 7,
  }).path;
  writeFileSync(other, readFileSync(other, 'utf8').replace(/"text": "/g, '"text": "elsewhere '));
  await runCliOk(['score', other, '--out', out('other.jsonl'), ...judge()]);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-import-'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  const data = writeDensityDataset(join(dir, 'gen.jsonl'), {
    rows: 60,
    duplicates: 4,
    invalid: 2,
  });
  gen = data.path;
  const extra = Array.from({ length: NEW_ROWS }, (_, i) =>
    JSON.stringify({ id: 1000 + i, text: `a row the cluster never saw number ${i}` }),
  );
  datasetLines = [...data.lines].reverse().concat(extra);
  await runCliOutputs();
  const full = jsonlRows(readFileSync(out('full.jsonl'), 'utf8'));
  askllmByHash = new Map(full.map(r => [String(r.content_hash), Number(r.askllm_score)]));
  hashOfGenLine = new Map(full.map(r => [Number(r.line), String(r.content_hash)]));
  const dens = jsonlRows(readFileSync(out('density.jsonl'), 'utf8'));
  densityByHash = new Map(dens.map(r => [String(r.content_hash), Number(r.density_score)]));
});

after(async () => {
  for (const s of sessions)
    if (s.child.exitCode === null && s.child.signalCode === null)
      await s.shutdown().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Writes the reordered dataset as `<sub>/train.jsonl`; returns its path and URI. */
function writeTrain(sub: string): { path: string; uri: string } {
  mkdirSync(join(dir, sub), { recursive: true });
  const path = join(dir, sub, 'train.jsonl');
  writeFileSync(path, `${datasetLines.join('\n')}\n`);
  return { path, uri: pathToFileURL(path).toString() };
}

/** The gen.jsonl line (1-based) of a dataset line (0-based), or undefined for a new row. */
function genLineOf(datasetLine: number): number | undefined {
  const n = datasetLines.length - NEW_ROWS;
  return datasetLine < n ? n - datasetLine : undefined;
}

/** Copies a CLI output and its manifest under a new name. */
function copyOutput(from: string, to: string): void {
  copyFileSync(from, to);
  copyFileSync(`${from}.manifest.json`, `${to}.manifest.json`);
}

async function start(sub: string, trusted = true): Promise<WorkerSession> {
  const s = await WorkerSession.start({ storagePath: join(dir, sub, 'storage'), trusted });
  sessions.push(s);
  return s;
}

/**
 * The messages the worker shows a session's user (vscode-languageserver's
 * `connection.window.showInformationMessage` sends `window/showMessageRequest`).
 */
function messagesOf(s: WorkerSession): { type: number; message: string }[] {
  const got: { type: number; message: string }[] = [];
  const take = (m: { type: number; message: string }) => {
    got.push(m);
    return null;
  };
  s.connection.onNotification('window/showMessage', (m: { type: number; message: string }) => {
    take(m);
  });
  s.connection.onRequest('window/showMessageRequest', take);
  return got;
}

function importScores(s: WorkerSession, uri: string, files: string[]): Promise<ImportScoresResult> {
  return s.connection.sendRequest(ImportScoresRequest.method, { uri, files });
}

function askllmColumn(c: GetColumnsResult): Float32Array {
  assert.ok(c.askllm, 'an askllm column');
  const b = Buffer.from(c.askllm.data, 'base64');
  return new Float32Array(new Uint8Array(b).buffer);
}

function densityColumn(c: GetColumnsResult): Float32Array {
  assert.ok(c.density, 'a density column');
  const b = Buffer.from(c.density.score, 'base64');
  return new Float32Array(new Uint8Array(b).buffer);
}

/** What the user reads in a hover: markdown escapes and emphasis removed. */
function hoverText(h: { contents: unknown } | null): string {
  assert.ok(h, 'a hover');
  return (h.contents as MarkupContent).value.replace(/\\(.)/g, '$1').replace(/\*\*|\*/g, '');
}

/** Every row's imported P(yes) is the CLI's for its content; the new rows have none. */
function assertAskllmByHash(col: Float32Array): void {
  assert.equal(col.length, datasetLines.length);
  let scored = 0;
  col.forEach((v, line) => {
    const g = genLineOf(line);
    const hash = g === undefined ? undefined : hashOfGenLine.get(g);
    if (hash === undefined) {
      assert.ok(Number.isNaN(v), `line ${line + 1} (not in the score file) is unscored: ${v}`);
      return;
    }
    const want = askllmByHash.get(hash)!;
    assert.equal(v, Math.fround(want), `line ${line + 1} (gen line ${g})`);
    scored++;
  });
  assert.equal(scored, hashOfGenLine.size);
}

/** Rejection of a request: its LSP error code and message. */
async function rejection(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; message: string };
  }
  assert.fail('the request succeeded');
}

describe('Import Scores: ASK-LLM', () => {
  let s: WorkerSession;
  let train: { path: string; uri: string };
  before(async () => {
    train = writeTrain('askllm');
    s = await start('askllm');
    await s.openDataset(train.uri);
    await s.fileInfo(train.uri, true);
  });
  after(() => s.shutdown());

  it('refuses a file that is not a score file (badScoreFile) and changes nothing', async () => {
    // The dataset itself: no manifest beside it.
    const noManifest = await rejection(importScores(s, train.uri, [gen]));
    assert.equal(noManifest.code, WorkerErrorCodes.badScoreFile);
    assert.match(noManifest.message, /gen\.jsonl has no manifest beside it/);
    // A dataset dressed up with a score manifest: its rows are not score rows.
    const fake = join(dir, 'askllm', 'fake.scores.jsonl');
    copyFileSync(gen, fake);
    copyFileSync(`${out('full.jsonl')}.manifest.json`, `${fake}.manifest.json`);
    const notRows = await rejection(importScores(s, train.uri, [fake]));
    assert.equal(notRows.code, WorkerErrorCodes.badScoreFile);
    assert.match(notRows.message, /row 1 is not a winnow score row \(it needs content_hash/);
    assert.equal((await s.columns(train.uri)).askllm, undefined, 'no scores appeared');
    assert.match(hoverText(await s.hover(train.uri, 0)), /ASK-LLM: not scored yet/);
  });

  it('a score file of another dataset: 0 matched, nothing imported', async () => {
    const e = await rejection(importScores(s, train.uri, [out('other.jsonl')]));
    assert.equal(e.code, WorkerErrorCodes.badScoreFile);
    assert.match(e.message, /^0 of the 2\d rows of .*other\.jsonl match a row of .*train\.jsonl/);
    assert.match(e.message, /Nothing was imported\.$/);
    assert.equal((await s.columns(train.uri)).askllm, undefined);
  });

  it('refuses shards of different runs (another prompt) with a clear message', async () => {
    const e = await rejection(
      importScores(s, train.uri, [out('s0.jsonl'), out('s1-other-prompt.jsonl')]),
    );
    assert.equal(e.code, WorkerErrorCodes.badScoreFile);
    assert.match(
      e.message,
      /s1-other-prompt\.jsonl and .*s0\.jsonl come from different runs \(another scorer: model, prompt/,
    );
    assert.equal((await s.columns(train.uri)).askllm, undefined);
  });

  it('imports shards 0/2 and 1/2 together: columns, hover and inlay hints by content hash', async () => {
    const changes = s.columnChanges.length;
    const r = await importScores(s, train.uri, [out('s0.jsonl'), out('s1.jsonl')]);
    assert.equal(r.imports.length, 1);
    const sum = r.imports[0];
    assert.equal(sum.kind, 'askllm');
    assert.equal(sum.records, hashOfGenLine.size);
    assert.equal(sum.matched, hashOfGenLine.size);
    assert.equal(sum.unmatched, 0);
    assert.equal(sum.linesScored, hashOfGenLine.size);
    assert.equal(sum.model, t5.dir);
    assert.equal(sum.engine, 'local');
    await s.waitFor('didChangeColumns', () => s.columnChanges.length > changes);

    const cols = await s.columns(train.uri);
    assertAskllmByHash(askllmColumn(cols));
    assert.equal(cols.askllm?.meta.model, t5.dir);
    assert.equal(cols.askllm?.meta.promptName, 'ASK-LLM (paper)');
    assert.deepEqual(
      cols.askllm?.meta.imported?.files.map(f => f.split('/').pop()),
      ['s0.jsonl', 's1.jsonl'],
    );
    assert.equal(cols.askllm?.meta.imported?.shards, 2);

    const line = 5;
    const want = askllmByHash.get(hashOfGenLine.get(genLineOf(line)!)!)!;
    const md = hoverText(await s.hover(train.uri, line));
    const shown = Number(/P\(yes\) = ([0-9.e+-]+)/.exec(md)?.[1]);
    assert.ok(Math.abs(shown - want) <= want * 1e-5, `${md} vs ${want}`);
    assert.match(md, /Scores imported from s0\.jsonl, s1\.jsonl · local(, exact)? · 2 shards/);
    const newRow = hoverText(await s.hover(train.uri, datasetLines.length - 1));
    assert.match(newRow, /ASK-LLM: not in the imported scores · model /);

    const hints = (await s.inlayHints(train.uri, 0, datasetLines.length)) ?? [];
    assert.equal(
      hints.length,
      hashOfGenLine.size,
      'a hint on every imported row, none on new rows',
    );
    const hint = hints.find(h => h.position.line === line);
    const label = Number(/^ASK-LLM (\S+)$/.exec(String(hint?.label))?.[1]);
    assert.ok(Math.abs(label - want) <= want * 5e-3, `hint ${String(hint?.label)} vs ${want}`);
  });

  it('the merge of the shards and the Parquet output give the very same column', async () => {
    const before = askllmColumn(await s.columns(train.uri));
    for (const f of ['merged.jsonl', 'full.parquet']) {
      const r = await importScores(s, train.uri, [out(f)]);
      assert.equal(r.imports[0].matched, hashOfGenLine.size, f);
      const cols = await s.columns(train.uri);
      assert.deepEqual(askllmColumn(cols), before, f);
      assert.deepEqual(
        cols.askllm?.meta.imported?.files.map(p => p.split('/').pop()),
        [f],
      );
    }
  });

  it('a bad import after a good one leaves the imported scores as they were', async () => {
    const before = await s.columns(train.uri);
    const e = await rejection(importScores(s, train.uri, [join(dir, 'no-such.scores.jsonl')]));
    assert.equal(e.code, WorkerErrorCodes.badScoreFile);
    assert.match(e.message, /no-such\.scores\.jsonl cannot be read/);
    assert.deepEqual(await s.columns(train.uri), before);
  });

  it('refuses in an untrusted workspace', async () => {
    const u = await start('untrusted', false);
    const t = writeTrain('untrusted');
    await u.openDataset(t.uri);
    const e = await rejection(importScores(u, t.uri, [out('full.jsonl')]));
    assert.equal(e.code, WorkerErrorCodes.untrusted);
    await u.shutdown();
  });
});

describe('Import Scores: score files beside the dataset are picked up on open', () => {
  for (const ext of ['jsonl', 'parquet']) {
    it(`train.scores.${ext} beside train.jsonl`, async () => {
      const train = writeTrain(`beside-${ext}`);
      copyOutput(out(`full.${ext}`), join(dir, `beside-${ext}`, `train.scores.${ext}`));
      const s = await start(`beside-${ext}`);
      const messages = messagesOf(s);
      await s.openDataset(train.uri);
      await s.fileInfo(train.uri, true);
      const info = await s.waitFor('the import message', () =>
        messages.find(m => /Imported ASK-LLM scores/.test(m.message)),
      );
      assert.match(
        info.message,
        new RegExp(
          `^Winnow: Imported ASK-LLM scores for ${hashOfGenLine.size} of ${datasetLines.length} ` +
            `lines of train\\.jsonl from train\\.scores\\.${ext} \\(local · .*tiny-t5 · prompt ASK-LLM \\(paper\\)\\)\\.$`,
        ),
      );
      assertAskllmByHash(askllmColumn(await s.columns(train.uri)));
      // Reopened, the same file is not imported again (its size and mtime are remembered).
      await s.closeDataset(train.uri);
      await s.shutdown();
      const again = await start(`beside-${ext}`);
      const later = messagesOf(again);
      await again.openDataset(train.uri);
      await again.fileInfo(train.uri, true);
      assertAskllmByHash(askllmColumn(await again.columns(train.uri)));
      await again.hover(train.uri, 0);
      await new Promise(r => setTimeout(r, 500));
      assert.deepEqual(later, []);
      await again.shutdown();
    });
  }
});

describe('Import Scores: DENSITY', () => {
  it('train.density.jsonl replaces the DENSITY computed here, and says so', async () => {
    const train = writeTrain('density');
    const s = await WorkerSession.start({
      storagePath: join(dir, 'density', 'storage'),
      settings: { device: 'cpu', density: { model: bert.dir } },
    });
    sessions.push(s);
    await s.openDataset(train.uri);
    await s.fileInfo(train.uri, true);
    await s.connection.sendRequest(ComputeDensityRequest.method, { uri: train.uri });
    const local = densityColumn(await s.columns(train.uri));
    const newLines = Array.from({ length: NEW_ROWS }, (_, i) => datasetLines.length - 1 - i);
    for (const l of newLines) assert.ok(local[l] > 0, `line ${l + 1} has local DENSITY`);

    const file = join(dir, 'density', 'train.density.jsonl');
    copyOutput(out('density.jsonl'), file);
    const r = await importScores(s, train.uri, [file]);
    const sum = r.imports[0];
    assert.equal(sum.kind, 'density');
    assert.equal(sum.matched, hashOfGenLine.size);
    assert.equal(sum.replacedComputed, true);
    assert.match(
      importSummaryText('train.jsonl', datasetLines.length, sum),
      /They replace the DENSITY computed here for train\.jsonl \(Compute Density computes it here again\)\.$/,
    );
    const cols = await s.columns(train.uri);
    const col = densityColumn(cols);
    col.forEach((v, line) => {
      const g = genLineOf(line);
      const hash = g === undefined ? undefined : hashOfGenLine.get(g);
      if (hash === undefined) assert.ok(!(v > 0), `line ${line + 1}: no imported DENSITY (${v})`);
      else assert.equal(v, Math.fround(densityByHash.get(hash)!), `line ${line + 1}`);
    });
    assert.equal(cols.density?.meta.model, bert.dir);
    assert.deepEqual(
      cols.density?.meta.imported?.files.map(p => p.split('/').pop()),
      ['train.density.jsonl'],
    );
    assert.match(
      hoverText(await s.hover(train.uri, 3)),
      /Scores imported from train\.density\.jsonl/,
    );
    await s.shutdown();

    // The message a pick-up shows: a fresh storage, the file beside the dataset.
    const again = writeTrain('density-pickup');
    const fresh = await start('density-pickup');
    const messages = messagesOf(fresh);
    copyOutput(file, join(dir, 'density-pickup', 'train.density.jsonl'));
    await fresh.openDataset(again.uri);
    const m = await fresh.waitFor('the import message', () =>
      messages.find(x => /DENSITY/.test(x.message)),
    );
    assert.match(
      m.message,
      /^Winnow: Imported DENSITY scores for \d+ of \d+ lines of train\.jsonl/,
    );
    assert.doesNotMatch(m.message, /replace/, 'nothing computed here to replace');
    assert.ok(densityColumn(await fresh.columns(again.uri)).some(v => v > 0));
    await fresh.shutdown();
  });
});
