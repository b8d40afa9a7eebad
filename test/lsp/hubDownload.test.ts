/**
 * Tier 2: downloading models by Hugging Face id through the real worker (dist/worker.js), from a
 * local server in the Hub's URL layout (test/support/localHub.ts) named by
 * `winnow.models.endpoint` or by HF_ENDPOINT in the worker's environment. Covers the work-done
 * progress of the download, the real cache layout in the storage folder (`models/<id>/`),
 * scores equal to tiny-t5's closed form, offline scoring from that cache without any request,
 * the DENSITY embedder from the same endpoint, and clear, fast errors for a repository the
 * endpoint does not have, an unreachable endpoint and a malformed setting.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt } from '../../src/core/askllm';
import {
  ComputeDensityRequest,
  WorkerErrorCodes,
  type ComputeDensityResult,
  type GetColumnsResult,
} from '../../src/shared/protocol/worker';
import type { WinnowSettingsSection } from '../../src/shared/settings';
import { writeDensityDataset } from '../support/densityData';
import {
  Rng,
  allWords,
  generateTinyBert,
  generateTinyT5,
  t5Distribution,
  type TinyBert,
  type TinyT5,
} from '../support/fixtures';
import { type LocalHub, closedPortUrl, startLocalHub } from '../support/localHub';
import { assertProbability } from '../support/probability';
import { type ProgressValue, WorkerSession } from './workerSession';

const T5_ID = 'winnow-test/tiny-t5';
const BERT_ID = 'winnow-test/tiny-bert';
/** The files a seq2seq fp32 load needs (`requiredFiles` in src/worker/askllm/scorerLoader.ts). */
const T5_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/encoder_model.onnx',
  'onnx/decoder_model_merged.onnx',
];

let root: string;
let t5: TinyT5;
let bert: TinyBert;
let tok: PreTrainedTokenizer;
let hub: LocalHub;
let mirror: LocalHub;
let closed: string;
const sessions: WorkerSession[] = [];

function documents(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const words = allWords();
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 + rng.int(20) }, () => words[rng.int(words.length)]).join(' '),
  );
}

function writeDataset(name: string, docs: string[]): string {
  const path = join(root, name);
  writeFileSync(path, `${docs.map((text, id) => JSON.stringify({ id, text })).join('\n')}\n`);
  return pathToFileURL(path).toString();
}

function closedForm(text: string): number {
  return t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, text)))[t5.yesId];
}

function decodeColumn(c: GetColumnsResult): Float32Array {
  assert.ok(c.askllm, 'an askllm column');
  const bytes = Buffer.from(c.askllm.data, 'base64');
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** Scores equal the closed form, row by row. */
async function assertClosedForm(w: WorkerSession, uri: string, docs: string[]): Promise<void> {
  const values = decodeColumn(await w.columns(uri));
  assert.equal(values.length, docs.length);
  docs.forEach((d, i) => assertProbability(values[i], closedForm(d), `row ${i}`));
}

function settings(models: WinnowSettingsSection['models'], model = T5_ID): WinnowSettingsSection {
  return { askllm: { model }, device: 'cpu', models };
}

async function start(
  storagePath: string,
  s: WinnowSettingsSection,
  env: NodeJS.ProcessEnv = withoutHfEndpoint(),
): Promise<WorkerSession> {
  const w = await WorkerSession.start({ settings: s, storagePath, env });
  sessions.push(w);
  return w;
}

/** This process's environment without HF_ENDPOINT (a developer's own must not leak in). */
function withoutHfEndpoint(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!('HF_ENDPOINT' in extra)) delete env.HF_ENDPOINT;
  return env;
}

function messages(progress: ProgressValue[]): string[] {
  return progress.flatMap(p => (p.kind !== 'end' && p.message ? [p.message] : []));
}

function logText(w: WorkerSession): string {
  return w.logs.map(l => l.message).join('\n');
}

/** The score request's error, with its time. */
async function scoreError(
  w: WorkerSession,
  uri: string,
): Promise<{ code: number; message: string; ms: number; progress: ProgressValue[] }> {
  const t0 = performance.now();
  const run = w.score(uri);
  const e = await run.result.then(
    () => assert.fail('the run should fail'),
    (err: { code: number; message: string }) => err,
  );
  return { code: e.code, message: e.message, ms: performance.now() - t0, progress: run.progress };
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-lsp-hub-'));
  t5 = generateTinyT5(join(root, 'src', 'tiny-t5'));
  bert = generateTinyBert(join(root, 'src', 'tiny-bert'));
  tok = await AutoTokenizer.from_pretrained(t5.dir);
  hub = await startLocalHub({ [T5_ID]: t5.dir, [BERT_ID]: bert.dir });
  mirror = await startLocalHub({ [T5_ID]: t5.dir }, '/mirror/hf');
  closed = await closedPortUrl();
});

after(async () => {
  for (const s of sessions)
    if (s.child.exitCode === null && s.child.signalCode === null)
      await s.shutdown().catch(() => undefined);
  await hub.close();
  await mirror.close();
  rmSync(root, { recursive: true, force: true });
});

describe('models by Hugging Face id from an endpoint', () => {
  const storage = () => join(root, 'storage-endpoint');
  const docs = documents(12, 3);

  it('downloads through winnow.models.endpoint with work-done progress into <storage>/models', async t => {
    const uri = writeDataset('download.jsonl', docs);
    // HF_ENDPOINT points nowhere: the setting wins over it.
    const w = await start(
      storage(),
      settings({ endpoint: hub.url }),
      withoutHfEndpoint({ HF_ENDPOINT: closed }),
    );
    await w.openDataset(uri, 'command');
    const run = w.score(uri);
    const r = await run.result;
    assert.equal(r.cancelled, false);
    assert.equal(r.model, T5_ID);
    assert.equal(r.newlyScored, docs.length);
    assert.equal(r.device, 'cpu');
    await w.waitFor('the progress end', () => run.progress.some(p => p.kind === 'end'));

    // The work-done progress named each downloaded model file.
    const shown = messages(run.progress);
    for (const f of [
      'config.json',
      'tokenizer.json',
      'onnx/encoder_model.onnx',
      'onnx/decoder_model_merged.onnx',
    ])
      assert.ok(
        shown.some(m => m.startsWith(`Downloading ${T5_ID}: ${f} 100%`)),
        `no download message for ${f}:\n${shown.join('\n')}`,
      );

    // The files are in the real cache layout, byte for byte.
    const cached = join(storage(), 'models', 'winnow-test', 'tiny-t5');
    for (const f of T5_FILES) {
      assert.ok(existsSync(join(cached, f)), `${f} is in ${cached}`);
      assert.deepEqual(readFileSync(join(cached, f)), readFileSync(join(t5.dir, f)), f);
    }
    assert.ok(hub.downloads(T5_ID).includes('onnx/encoder_model.onnx'));

    await assertClosedForm(w, uri, docs);
    const log = logText(w);
    t.diagnostic(
      log
        .split('\n')
        .filter(l => /^Load/.test(l))
        .join('\n'),
    );
    assert.ok(log.includes(`endpoint ${hub.url} (winnow.models.endpoint)`), log);
    assert.match(
      log,
      new RegExp(
        `Loaded ${T5_ID} \\(seq2seq, fp32\\) from ${hub.url} \\(\\d+ files downloaded into ${cached.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}\\)`,
      ),
    );
    await w.shutdown();
  });

  it('a second worker with winnow.models.offline scores from the cache without any request', async () => {
    const more = documents(9, 4);
    const uri = writeDataset('offline.jsonl', more);
    const requestsBefore = hub.requests.length;
    const w = await start(storage(), settings({ endpoint: hub.url, offline: true }));
    await w.openDataset(uri, 'command');
    const run = w.score(uri);
    const r = await run.result;
    assert.equal(r.newlyScored, more.length);
    await assertClosedForm(w, uri, more);
    assert.equal(hub.requests.length, requestsBefore, 'the offline worker made HTTP requests');
    assert.ok(!messages(run.progress).some(m => m.startsWith('Downloading')));
    const log = logText(w);
    assert.ok(log.includes(`offline, model cache ${join(storage(), 'models')}`), log);
    assert.ok(log.includes('from the model cache ('), log);
    await w.shutdown();
  });

  it('HF_ENDPOINT in the worker environment names a mirror when the setting is empty', async () => {
    const storage2 = join(root, 'storage-hf-endpoint');
    const uri = writeDataset('mirror.jsonl', docs);
    const w = await start(
      storage2,
      settings({ endpoint: '' }),
      withoutHfEndpoint({ HF_ENDPOINT: mirror.url.replace(/\/$/, '') }),
    );
    await w.openDataset(uri, 'command');
    const run = w.score(uri);
    await run.result;
    assert.ok(mirror.downloads(T5_ID).includes('onnx/decoder_model_merged.onnx'));
    assert.ok(mirror.requests.every(q => q.path.startsWith('/mirror/hf/winnow-test/')));
    assert.ok(messages(run.progress).some(m => m.startsWith(`Downloading ${T5_ID}: config.json`)));
    assert.ok(
      existsSync(join(storage2, 'models', 'winnow-test', 'tiny-t5', 'onnx', 'encoder_model.onnx')),
    );
    await assertClosedForm(w, uri, docs);
    assert.ok(logText(w).includes(`endpoint ${mirror.url} (from HF_ENDPOINT)`), logText(w));
    await w.shutdown();
  });

  it('the DENSITY embedder downloads from the same endpoint', async () => {
    const storage3 = join(root, 'storage-density');
    const data = writeDensityDataset(join(root, 'density.jsonl'));
    const uri = pathToFileURL(data.path).toString();
    const w = await start(storage3, {
      device: 'cpu',
      density: { model: BERT_ID },
      models: { endpoint: hub.url },
    });
    await w.openDataset(uri);
    await w.fileInfo(uri, true);
    const r: ComputeDensityResult = await w.connection.sendRequest(ComputeDensityRequest.method, {
      uri,
    });
    assert.equal(r.model, BERT_ID);
    assert.ok(r.rows > 0);
    assert.ok(
      existsSync(join(storage3, 'models', 'winnow-test', 'tiny-bert', 'onnx', 'model.onnx')),
    );
    assert.ok(hub.downloads(BERT_ID).includes('onnx/model.onnx'));
    assert.match(
      logText(w),
      new RegExp(`Loaded embedding model ${BERT_ID} .* from ${hub.url} \\(`),
    );
    await w.shutdown();
  });
});

describe('clear errors from the endpoint', () => {
  const docs = documents(4, 5);
  let uri: string;
  before(() => {
    uri = writeDataset('errors.jsonl', docs);
  });

  it('an id the endpoint does not have (404): a model-load error that names the id and the endpoint', async t => {
    const w = await start(
      join(root, 'storage-404'),
      settings({ endpoint: hub.url }, 'winnow-test/absent'),
    );
    await w.openDataset(uri, 'command');
    const e = await scoreError(w, uri);
    t.diagnostic(e.message);
    assert.equal(e.code, WorkerErrorCodes.modelLoad);
    assert.ok(
      e.message.startsWith(
        `Model winnow-test/absent was not found at the model endpoint ${hub.url} (winnow.models.endpoint)`,
      ),
      e.message,
    );
    assert.match(e.message, /resolve\/main\/config\.json answered HTTP 404/);
    // A 404 is final: no file of the absent model is asked for twice (a count, not a time limit).
    const asked = hub.requests
      .filter(r => r.path.includes('/winnow-test/absent/'))
      .map(r => r.path);
    assert.ok(asked.length > 0, 'the hub was asked');
    assert.equal(new Set(asked).size, asked.length, `retried: ${asked.join(', ')}`);
    t.diagnostic(`the error came after ${e.ms.toFixed(0)} ms`);
    await w.waitFor('idle again', () => w.statuses[w.statuses.length - 1]?.state === 'idle');
    await w.shutdown();
  });

  it('an unreachable endpoint and a malformed setting: fast errors that say what to fix', async t => {
    const w = await start(join(root, 'storage-down'), settings({ endpoint: closed }));
    await w.openDataset(uri, 'command');
    const down = await scoreError(w, uri);
    t.diagnostic(down.message);
    assert.equal(down.code, WorkerErrorCodes.modelLoad);
    assert.ok(
      down.message.includes(
        `Could not reach the model endpoint ${closed} (winnow.models.endpoint)`,
      ),
      down.message,
    );
    assert.match(down.message, /ECONNREFUSED/);
    assert.ok(down.ms < 5000, `${down.ms.toFixed(0)} ms`);

    await w.changeSettings(settings({ endpoint: 'hf-mirror.com' }));
    const bad = await scoreError(w, uri);
    t.diagnostic(bad.message);
    assert.equal(bad.code, WorkerErrorCodes.modelLoad);
    assert.match(
      bad.message,
      /winnow\.models\.endpoint \("hf-mirror\.com"\) is not a usable Hugging Face endpoint: it is not a URL/,
    );
    // The worker is still fine: a reachable endpoint now works.
    await w.changeSettings(settings({ endpoint: hub.url }));
    const r = await w.score(uri).result;
    assert.equal(r.scored, docs.length);
    await w.shutdown();
  });
});
