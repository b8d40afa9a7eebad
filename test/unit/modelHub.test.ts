/**
 * The Hub endpoint (`winnow.models.endpoint`, else HF_ENDPOINT, else huggingface.co): resolution
 * and validation, and downloads of both model kinds (ASK-LLM scorer, DENSITY embedder) from a
 * local server in the Hub's layout, including a mirror under a path prefix, where the files came
 * from, and clear errors for a repository the endpoint does not have and an unreachable endpoint.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import {
  DEFAULT_ENDPOINT,
  type LoadProgress,
  ModelLoadError,
  checkEndpointUrl,
  describeOrigin,
  resolveEndpoint,
} from '../../src/worker/runtime';
import { loadScorerModel } from '../../src/worker/askllm';
import { generateTinyBert, generateTinyT5, type TinyBert, type TinyT5 } from '../support/fixtures';
import { type LocalHub, closedPortUrl, startLocalHub } from '../support/localHub';

let root: string;
let t5: TinyT5;
let bert: TinyBert;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'winnow-hub-'));
  t5 = generateTinyT5(join(root, 'src', 'tiny-t5'));
  bert = generateTinyBert(join(root, 'src', 'tiny-bert'));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('endpoint resolution', () => {
  test('the setting wins, then HF_ENDPOINT, then the Hub; URLs get one trailing slash', () => {
    assert.deepEqual(resolveEndpoint(' https://hf-mirror.com ', { HF_ENDPOINT: 'http://x' }), {
      url: 'https://hf-mirror.com/',
      from: 'setting',
    });
    assert.deepEqual(resolveEndpoint('', { HF_ENDPOINT: 'https://mirror.example/hf//' }), {
      url: 'https://mirror.example/hf/',
      from: 'HF_ENDPOINT',
    });
    assert.deepEqual(resolveEndpoint(undefined, { HF_ENDPOINT: '  ' }), {
      url: DEFAULT_ENDPOINT,
      from: 'default',
    });
    assert.equal(DEFAULT_ENDPOINT, 'https://huggingface.co/');
    assert.deepEqual(checkEndpointUrl('HTTP://Example.COM:8080'), {
      url: 'http://example.com:8080/',
    });
  });

  test('bad values are clear errors that name the setting or the variable', () => {
    const cases: [string | undefined, NodeJS.ProcessEnv, RegExp][] = [
      ['hf-mirror.com', {}, /winnow\.models\.endpoint \("hf-mirror\.com"\).*not a URL/],
      ['ftp://mirror', {}, /winnow\.models\.endpoint.*http:\/\/ or https:\/\/ \(not ftp:\/\/\)/],
      ['https://u:p@mirror', {}, /user name or password/],
      ['https://mirror/?x=1', {}, /query/],
      [
        '',
        { HF_ENDPOINT: 'not a url' },
        /HF_ENDPOINT environment variable .*not a URL.*set winnow\.models\.endpoint/,
      ],
    ];
    for (const [setting, env, re] of cases)
      assert.throws(
        () => resolveEndpoint(setting, env),
        (e: unknown) => e instanceof ModelLoadError && re.test(e.message),
        `${setting} ${JSON.stringify(env)}`,
      );
  });
});

describe('downloads from an endpoint', () => {
  let hub: LocalHub;
  let mirror: LocalHub;
  before(async () => {
    hub = await startLocalHub({ 'winnow-test/tiny-t5': t5.dir, 'winnow-test/tiny-bert': bert.dir });
    mirror = await startLocalHub({ 'winnow-test/tiny-t5': t5.dir }, '/hf-mirror/v1');
  });
  after(async () => {
    await hub.close();
    await mirror.close();
  });

  test('the scorer downloads with progress, says where its files came from, then uses the cache', async () => {
    const cacheDir = join(root, 'cache-scorer');
    const events: LoadProgress[] = [];
    const m = await loadScorerModel({
      model: 'winnow-test/tiny-t5',
      cacheDir,
      endpoint: hub.url,
      device: 'cpu',
      onProgress: p => events.push(p),
    });
    await m.dispose();
    const folder = join(cacheDir, 'winnow-test', 'tiny-t5');
    assert.equal(m.folder, folder);
    assert.equal(m.origin.kind, 'download');
    const files = m.origin.kind === 'download' ? [...m.origin.files].sort() : [];
    for (const f of ['config.json', 'tokenizer.json', 'onnx/encoder_model.onnx'])
      assert.ok(files.includes(f), files.join());
    assert.deepEqual(files, [...new Set(hub.downloads('winnow-test/tiny-t5'))].sort());
    assert.match(describeOrigin(m.origin, m.folder), new RegExp(`^${hub.url}.*downloaded into`));
    assert.ok(events.some(e => e.status === 'progress' && e.file === 'onnx/encoder_model.onnx'));

    // Online again: everything is cached, nothing is requested, and no download progress.
    const before = hub.requests.length;
    const again: LoadProgress[] = [];
    const m2 = await loadScorerModel({
      model: 'winnow-test/tiny-t5',
      cacheDir,
      endpoint: hub.url,
      device: 'cpu',
      onProgress: p => again.push(p),
    });
    await m2.dispose();
    assert.equal(hub.requests.length, before, 'a cached model made requests');
    assert.deepEqual(m2.origin, { kind: 'cache' });
    assert.ok(!again.some(e => e.status === 'progress'), JSON.stringify(again));
    assert.equal(describeOrigin(m2.origin, folder), `the model cache (${folder})`);
  });

  test('a mirror under a path prefix, named by HF_ENDPOINT', async () => {
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = mirror.url.replace(/\/$/, '');
    try {
      const m = await loadScorerModel({
        model: 'winnow-test/tiny-t5',
        cacheDir: join(root, 'cache-mirror'),
        device: 'cpu',
      });
      await m.dispose();
      assert.equal(m.origin.kind === 'download' && m.origin.endpoint, mirror.url);
      assert.ok(mirror.requests.every(r => r.path.startsWith('/hf-mirror/v1/winnow-test/')));
      assert.ok(mirror.downloads('winnow-test/tiny-t5').includes('onnx/decoder_model_merged.onnx'));
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved;
    }
  });

  test('the embedder downloads from the same endpoint setting', async () => {
    const cacheDir = join(root, 'cache-embed');
    const m = await loadEmbeddingModel({
      model: 'winnow-test/tiny-bert',
      cacheDir,
      endpoint: hub.url,
      device: 'cpu',
    });
    try {
      assert.equal(m.source, 'hub');
      assert.equal(m.origin.kind, 'download');
      assert.equal(m.dim, bert.d);
      assert.ok(existsSync(join(cacheDir, 'winnow-test', 'tiny-bert', 'onnx', 'model.onnx')));
      // modules.json was asked for (the repository has none) through the same endpoint.
      assert.ok(hub.requests.some(r => r.path.endsWith('/tiny-bert/resolve/main/modules.json')));
    } finally {
      await m.dispose();
    }
  });

  test('an id the endpoint does not have: a clear error naming the endpoint', async () => {
    for (const load of [
      () =>
        loadScorerModel({
          model: 'winnow-test/absent',
          cacheDir: join(root, 'c404'),
          endpoint: hub.url,
        }),
      () =>
        loadEmbeddingModel({
          model: 'winnow-test/absent',
          cacheDir: join(root, 'c404'),
          endpoint: hub.url,
        }),
    ])
      await assert.rejects(load(), (e: unknown) => {
        assert.ok(e instanceof ModelLoadError);
        assert.match(e.message, /winnow-test\/absent was not found at the model endpoint/);
        assert.ok(e.message.includes(`${hub.url} (winnow.models.endpoint)`), e.message);
        assert.match(e.message, /answered HTTP 404/);
        return true;
      });
  });

  test('an unreachable endpoint fails fast with a message that names it', async () => {
    const closed = await closedPortUrl();
    for (const load of [
      () =>
        loadScorerModel({
          model: 'winnow-test/tiny-t5',
          cacheDir: join(root, 'c-down'),
          endpoint: closed,
        }),
      () =>
        loadEmbeddingModel({
          model: 'winnow-test/tiny-bert',
          cacheDir: join(root, 'c-down'),
          endpoint: closed,
        }),
    ]) {
      const t0 = performance.now();
      await assert.rejects(load(), (e: unknown) => {
        assert.ok(e instanceof ModelLoadError);
        assert.ok(e.message.includes(`Could not reach the model endpoint ${closed}`), e.message);
        assert.match(e.message, /ECONNREFUSED/);
        assert.match(e.message, /winnow\.models\.offline/);
        return true;
      });
      assert.ok(performance.now() - t0 < 5000, 'took too long');
    }
  });

  test('a bad endpoint setting fails the load of an id, but not of a cached id offline', async () => {
    await assert.rejects(
      loadScorerModel({
        model: 'winnow-test/tiny-t5',
        cacheDir: join(root, 'c-bad'),
        endpoint: 'mirror',
      }),
      /winnow\.models\.endpoint \("mirror"\) is not a usable Hugging Face endpoint/,
    );
    const m = await loadScorerModel({
      model: 'winnow-test/tiny-t5',
      cacheDir: join(root, 'cache-scorer'),
      endpoint: 'mirror',
      offline: true,
      device: 'cpu',
    });
    assert.deepEqual(m.origin, { kind: 'cache' });
    await m.dispose();
  });
});
