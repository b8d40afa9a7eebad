/**
 * "Winnow: Install GPU Support"'s installer (src/core/gpuSupport) against a local server that
 * serves GENERATED tarballs in the pinned packages' real layout with placeholder libraries
 * (support/gpuPackageServer.ts): progress, the SHA-256 check before unpacking, the files where
 * the loader looks, cancel mid-download, a rerun that does nothing. Never the network.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  GPU_SUPPORT_SOURCES,
  GpuSupportError,
  type GpuInstallProgress,
  LINUX_X64_BIN,
  installGpuSupport,
  readInstalledGpuSupport,
  ruleTakes,
  sha256OfFile,
} from '../../src/core/gpuSupport';
import { type GpuPackageServer, startGpuPackageServer } from '../support/gpuPackageServer';

const PROVIDERS = 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9';

describe('GPU support installer', () => {
  let server: GpuPackageServer;
  let base: string;
  const freshDir = (name: string): string => join(base, name);

  before(async () => {
    server = await startGpuPackageServer();
    base = mkdtempSync(join(tmpdir(), 'winnow-gpu-install-'));
  });
  after(async () => {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  });

  test('downloads with progress, verifies, unpacks where the loader looks, writes a manifest', async () => {
    const dir = freshDir('ok');
    const events: GpuInstallProgress[] = [];
    const r = await installGpuSupport({
      dir,
      source: server.source,
      onProgress: e => events.push(e),
    });
    assert.equal(r.alreadyInstalled, false);
    assert.equal(r.root, join(dir, 'linux-x64-ort-1.29.0'));
    const bin = join(r.root, LINUX_X64_BIN);
    assert.deepEqual(readdirSync(bin).sort(), [
      'libonnxruntime.so.1',
      'libonnxruntime_providers_cuda.so',
      'libonnxruntime_providers_shared.so',
      'onnxruntime_binding.node',
    ]);
    assert.ok(
      !existsSync(join(r.root, 'node_modules/onnxruntime-node/script')),
      'install script left out',
    );
    assert.ok(existsSync(join(r.root, 'node_modules/onnxruntime-common/dist/cjs/index.js')));
    const manifest = JSON.parse(readFileSync(join(r.root, 'manifest.json'), 'utf8'));
    assert.equal(manifest.ortVersion, '1.29.0');
    assert.deepEqual(
      manifest.parts.map((p: { sha256: string }) => p.sha256),
      server.source.parts.map(p => p.sha256),
    );
    for (const part of server.source.parts) {
      const last = events.filter(e => e.stage === 'download' && e.part === part.name).at(-1);
      assert.ok(last && last.stage === 'download', `progress for ${part.name}`);
      assert.equal(last.received, part.bytes);
      assert.equal(last.total, part.bytes);
    }
    assert.deepEqual(events.at(-1), { stage: 'done' });
    assert.deepEqual(readdirSync(dir), ['linux-x64-ort-1.29.0'], 'downloads and staging removed');
    assert.ok(await readInstalledGpuSupport(dir, server.source));
  });

  test('a rerun is a no-op: nothing downloaded, the same files', async () => {
    const dir = freshDir('rerun');
    const first = await installGpuSupport({ dir, source: server.source });
    const lib = join(first.root, LINUX_X64_BIN, 'libonnxruntime_providers_cuda.so');
    const hash = await sha256OfFile(lib);
    const before = server.requests.length;
    const again = await installGpuSupport({ dir, source: server.source });
    assert.equal(again.alreadyInstalled, true);
    assert.equal(server.requests.length, before, 'no request on a rerun');
    assert.equal(await sha256OfFile(lib), hash);
  });

  test('a tampered package is refused before unpacking and leaves nothing installed', async () => {
    const dir = freshDir('tampered');
    server.tamper(PROVIDERS);
    try {
      await assert.rejects(installGpuSupport({ dir, source: server.source }), (e: Error) => {
        assert.ok(e instanceof GpuSupportError);
        assert.match(e.message, /SHA-256 [0-9a-f]{64}, not the pinned [0-9a-f]{64}/);
        assert.match(e.message, /nothing was installed/);
        return true;
      });
    } finally {
      server.reset();
    }
    assert.ok(!existsSync(join(dir, 'linux-x64-ort-1.29.0')), 'no install root');
    assert.ok(!readdirSync(dir).some(f => f.startsWith('.staging')), 'no staging folder');
    const left = existsSync(join(dir, '.downloads')) ? readdirSync(join(dir, '.downloads')) : [];
    assert.ok(!left.some(f => f.includes('asus4')), `tampered download deleted (${left})`);
    assert.equal(await readInstalledGpuSupport(dir, server.source), undefined);
  });

  test('cancel mid-download leaves nothing half-installed; the next run completes', async () => {
    const dir = freshDir('cancel');
    const part = server.source.parts.find(p => p.name === PROVIDERS)!;
    server.stall(PROVIDERS, Math.floor(part.bytes / 2));
    const controller = new AbortController();
    const run = installGpuSupport({
      dir,
      source: server.source,
      signal: controller.signal,
      onProgress: e => {
        if (e.stage === 'download' && e.part === PROVIDERS && e.received > 0) controller.abort();
      },
    });
    await assert.rejects(run, (e: Error) => e.name === 'AbortError');
    server.reset();
    assert.ok(!existsSync(join(dir, 'linux-x64-ort-1.29.0')));
    const downloads = readdirSync(join(dir, '.downloads'));
    assert.ok(!downloads.some(f => f.endsWith('.part')), `no partial file (${downloads})`);
    const r = await installGpuSupport({ dir, source: server.source });
    assert.equal(r.alreadyInstalled, false);
    assert.ok(await readInstalledGpuSupport(dir, server.source));
  });

  test('an HTTP error names the URL and installs nothing', async () => {
    const dir = freshDir('missing');
    const source = {
      ...server.source,
      parts: server.source.parts.map((p, i) => (i === 0 ? { ...p, url: p.url + '-gone' } : p)),
    };
    await assert.rejects(
      installGpuSupport({ dir, source }),
      /Could not download http:.*-gone: HTTP 404/,
    );
    assert.ok(!existsSync(join(dir, 'linux-x64-ort-1.29.0')));
  });

  test('the pinned table: linux-x64 only, every part hashed, the 1.29.0 pairing', () => {
    assert.deepEqual(
      GPU_SUPPORT_SOURCES.map(s => s.platform),
      ['linux-x64'],
    );
    const s = GPU_SUPPORT_SOURCES[0];
    assert.equal(s.ortVersion, '1.29.0');
    for (const p of s.parts) {
      assert.match(p.sha256, /^[0-9a-f]{64}$/);
      assert.match(p.url, /^https:\/\/registry\.npmjs\.org\//);
    }
    const rule = s.parts[0].rules[0];
    assert.ok(ruleTakes(rule, 'package/dist/index.js'));
    assert.ok(ruleTakes(rule, './package/bin/napi-v6/linux/x64/libonnxruntime.so.1'));
    assert.ok(!ruleTakes(rule, 'package/bin/napi-v6/darwin/arm64/x.dylib'));
    assert.ok(!ruleTakes(rule, 'package/script/install.js'));
  });
});
