/**
 * Model loading: Hugging Face ids resolved offline from a pre-populated cache folder, ids
 * downloaded from a (local) hub into the user cache with progress, local folders, dtype file
 * selection, clear errors, and device fallback with recorded attempts.
 */
import { strict as assert } from 'node:assert';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AskLlmScorer, loadScorerModel } from '../../src/worker/askllm';
import {
  type LoadProgress,
  ModelLoadError,
  cudaProviderPath,
  isLocalModelPath,
  sessionOptionsFor,
} from '../../src/worker/runtime';
import { generateTinyCausal, generateTinyT5, t5Distribution } from '../support/fixtures';
import type { TinyT5 } from '../support/fixtures';
import { assertProbability } from '../support/probability';

let root: string;
let t5: TinyT5;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'winnow-load-'));
  t5 = generateTinyT5(join(root, 'src', 'tiny-t5'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('isLocalModelPath tells folders from hub ids', () => {
  for (const p of ['/abs/model', './rel', '../up', '~/m', 'C:\\models\\x', 'a/b/c'])
    assert.ok(isLocalModelPath(p), p);
  for (const id of ['google/flan-t5-small', 'onnx-community/Qwen2.5-0.5B-Instruct', 'gpt2'])
    assert.ok(!isLocalModelPath(id), id);
});

test('ORT thread pools spin on the CPU device only, unless told otherwise', async () => {
  const noSpin = {
    session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } },
  };
  assert.equal(sessionOptionsFor('cpu', {}), undefined);
  assert.deepEqual(sessionOptionsFor('cpu', { intraOpNumThreads: 2 }), { intraOpNumThreads: 2 });
  assert.deepEqual(sessionOptionsFor('webgpu', {}), { extra: noSpin });
  assert.deepEqual(sessionOptionsFor('cuda', { allowSpinning: false, intraOpNumThreads: 1 }), {
    intraOpNumThreads: 1,
    extra: noSpin,
  });
  assert.equal(sessionOptionsFor('webgpu', { allowSpinning: true }), undefined);
  // ONNX Runtime accepts the entries: a model loads on the CPU with spinning off.
  const m = await loadScorerModel({
    model: t5.dir,
    cacheDir: join(root, 'cache-nospin'),
    device: 'cpu',
    allowSpinning: false,
  });
  const r = await AskLlmScorer.create(m).score(['a short document']);
  assert.ok((r.scores[0]?.pYes ?? 0) > 0);
  await m.dispose();
});

describe('by Hugging Face id', () => {
  test('offline: the id resolves from a pre-populated cache folder', async () => {
    const cacheDir = join(root, 'cache-offline');
    mkdirSync(join(cacheDir, 'winnow-test'), { recursive: true });
    cpSync(t5.dir, join(cacheDir, 'winnow-test', 'tiny-t5'), { recursive: true });
    const m = await loadScorerModel({
      model: 'winnow-test/tiny-t5',
      cacheDir,
      offline: true,
      device: 'cpu',
    });
    try {
      assert.equal(m.source, 'hub');
      assert.equal(m.folder, join(cacheDir, 'winnow-test', 'tiny-t5'));
      assert.equal(m.kind, 'seq2seq');
      const s = AskLlmScorer.create(m);
      const r = await s.score(['a day in the city']);
      const want = t5Distribution(t5, s.prepare('a day in the city').ids)[t5.yesId];
      assertProbability(r.scores[0]?.pYes ?? Number.NaN, want, 'P(yes) from the hub folder');
    } finally {
      await m.dispose();
    }
  });

  test('offline: an id missing from the cache gives a clear error', async () => {
    await assert.rejects(
      loadScorerModel({
        model: 'winnow-test/absent',
        cacheDir: join(root, 'cache-empty'),
        offline: true,
      }),
      (e: unknown) =>
        e instanceof ModelLoadError &&
        /not in the model cache .* offline mode is on/.test(e.message),
    );
  });

  describe('online, from a local hub', () => {
    let server: Server;
    let host: string;
    const requests: string[] = [];
    before(async () => {
      // Serves <id>/resolve/main/<file> from the fixture folder, like the Hub does.
      server = createServer((req, res) => {
        const url = decodeURIComponent(req.url ?? '');
        requests.push(url);
        const m = /^\/winnow-test\/tiny-t5\/resolve\/main\/(.+)$/.exec(url);
        const file = m ? join(t5.dir, m[1]) : '';
        if (!m || m[1].includes('..') || !existsSync(file)) {
          res.writeHead(404).end('not found');
          return;
        }
        const body = readFileSync(file);
        res
          .writeHead(200, {
            'content-length': body.length,
            'content-type': 'application/octet-stream',
          })
          .end(body);
      });
      await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
      host = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    after(() => new Promise<void>(r => server.close(() => r())));

    test('downloads into the user cache folder with progress, then loads offline from it', async () => {
      const cacheDir = join(root, 'cache-online');
      const events: LoadProgress[] = [];
      const m = await loadScorerModel({
        model: 'winnow-test/tiny-t5',
        cacheDir,
        endpoint: host,
        device: 'cpu',
        onProgress: p => events.push(p),
      });
      await m.dispose();
      const cached = join(cacheDir, 'winnow-test', 'tiny-t5');
      for (const f of [
        'config.json',
        'tokenizer.json',
        'onnx/encoder_model.onnx',
        'onnx/decoder_model_merged.onnx',
      ])
        assert.ok(existsSync(join(cached, f)), `${f} is in the user cache`);
      assert.ok(requests.some(r => r.endsWith('onnx/decoder_model_merged.onnx')));
      const done = events.filter(e => e.status === 'done').map(e => e.file);
      assert.ok(done.includes('onnx/encoder_model.onnx'), JSON.stringify(done));
      assert.ok(
        events.some(
          e =>
            e.status === 'progress' && e.file === 'onnx/encoder_model.onnx' && e.progress === 100,
        ),
      );
      const before = requests.length;
      const again = await loadScorerModel({
        model: 'winnow-test/tiny-t5',
        cacheDir,
        offline: true,
        device: 'cpu',
      });
      await again.dispose();
      assert.equal(requests.length, before, 'offline load made no request');
    });
  });
});

describe('local folders and dtypes', () => {
  test('q8 loads the _quantized files; a missing dtype lists the available ones', async () => {
    const dir = join(root, 'q8-only');
    cpSync(t5.dir, dir, { recursive: true });
    rmSync(join(dir, 'onnx', 'encoder_model.onnx'));
    const m = await loadScorerModel({
      model: dir,
      cacheDir: join(root, 'c'),
      dtype: 'q8',
      device: 'cpu',
    });
    assert.equal(m.dtype, 'q8');
    await m.dispose();
    await assert.rejects(
      loadScorerModel({ model: dir, cacheDir: join(root, 'c'), dtype: 'fp32', device: 'cpu' }),
      /missing onnx\/encoder_model\.onnx for dtype fp32\. Available dtypes: q8\./,
    );
  });

  test('missing folder, non-model folder and unmerged decoder give clear errors', async () => {
    const cacheDir = join(root, 'c');
    await assert.rejects(
      loadScorerModel({ model: join(root, 'nope'), cacheDir }),
      /Model folder not found: .*nope/,
    );
    await assert.rejects(
      loadScorerModel({ model: root, cacheDir }),
      /not a Hugging Face model folder: config\.json is missing/,
    );
    const dir = join(root, 'unmerged');
    cpSync(t5.dir, dir, { recursive: true });
    renameSync(
      join(dir, 'onnx', 'decoder_model_merged.onnx'),
      join(dir, 'onnx', 'decoder_model.onnx'),
    );
    await assert.rejects(
      loadScorerModel({ model: dir, cacheDir }),
      (e: unknown) =>
        e instanceof ModelLoadError &&
        /has onnx\/decoder_model\.onnx but not onnx\/decoder_model_merged\.onnx/.test(e.message),
    );
  });

  test('device auto records every attempt and loads on a working device', async () => {
    const dir = join(root, 'tiny-qwen2');
    generateTinyCausal(dir, { arch: 'qwen2' });
    const m = await loadScorerModel({ model: dir, cacheDir: join(root, 'c'), device: 'auto' });
    try {
      assert.deepEqual(
        m.attempts.map(a => a.device),
        ['cuda', 'webgpu', 'cpu'].slice(0, m.attempts.length),
      );
      assert.equal(m.attempts[m.attempts.length - 1].outcome, 'ok');
      assert.equal(m.attempts[m.attempts.length - 1].device, m.device);
      const cuda = m.attempts[0];
      const lib = cudaProviderPath();
      if (lib === undefined || !existsSync(lib)) {
        assert.equal(cuda.outcome, 'skipped');
        assert.match(cuda.message, /CUDA/);
      }
      for (const a of m.attempts.slice(0, -1))
        assert.ok(a.message.length > 0 && a.outcome !== 'ok');
    } finally {
      await m.dispose();
    }
  });
});
