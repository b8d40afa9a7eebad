/**
 * A local HTTP server that serves GPU support tarballs in the real layout of the pinned npm
 * packages (src/core/gpuSupport/sources.ts), GENERATED here: the same folder structure and file
 * names, with PLACEHOLDER files instead of the real shared libraries (they are random bytes and
 * cannot be loaded). The placeholder `dist/index.js` of onnxruntime-node is a tiny module that
 * says where it was loaded from, so a test can see which copy `require` found. No network.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import type { GpuSupportSource } from '../../src/core/gpuSupport';
import { GPU_SUPPORT_SOURCES, ORT_NODE_DIR } from '../../src/core/gpuSupport';

/** What the placeholder onnxruntime-node exports. */
export const PLACEHOLDER_ORT_MARK = 'winnow-test-placeholder-onnxruntime-node';

/** The files of each generated tarball, by the pinned part's name prefix. */
function packageFiles(libBytes: number): Record<string, Record<string, string | Buffer>> {
  const lib = (): Buffer => randomBytes(libBytes);
  return {
    'onnxruntime-node': {
      'package/package.json': JSON.stringify({
        name: 'onnxruntime-node',
        version: '1.29.0',
        main: 'dist/index.js',
      }),
      'package/dist/index.js':
        `exports.mark = '${PLACEHOLDER_ORT_MARK}'; exports.dir = __dirname;` +
        " exports.common = require('onnxruntime-common');",
      'package/script/install.js': '// not unpacked',
      'package/bin/napi-v6/linux/x64/libonnxruntime.so.1': lib(),
      'package/bin/napi-v6/linux/x64/onnxruntime_binding.node': lib(),
      'package/bin/napi-v6/darwin/arm64/libonnxruntime.1.29.0.dylib': lib(),
    },
    'onnxruntime-common': {
      'package/package.json': JSON.stringify({
        name: 'onnxruntime-common',
        version: '1.29.0',
        main: 'dist/cjs/index.js',
      }),
      'package/dist/cjs/index.js': "exports.version = '1.29.0-placeholder';",
    },
    'com.github.asus4.onnxruntime.linux-x64-gpu': {
      'package/package.json': JSON.stringify({
        name: 'com.github.asus4.onnxruntime.linux-x64-gpu',
        version: '0.4.9',
      }),
      'package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so': lib(),
      'package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so.meta': 'meta',
      'package/Plugins/Linux/x64/libonnxruntime_providers_shared.so': lib(),
      'package/Plugins/Linux/x64/libonnxruntime_providers_tensorrt.so': lib(),
    },
  };
}

/** One request the server saw. */
export interface PackageRequest {
  path: string;
  status: number;
}

export interface GpuPackageServer {
  /** The pinned linux-x64 source with URLs, hashes and sizes of the generated tarballs. */
  readonly source: GpuSupportSource;
  readonly requests: PackageRequest[];
  /** Serve other bytes than were hashed for `part` (a tampered package). */
  tamper(partName: string): void;
  /** Stop sending `part` after `bytes` bytes until `reset()` (to cancel mid-download). */
  stall(partName: string, bytes: number): void;
  /** Serve every package whole and untampered again. */
  reset(): void;
  close(): Promise<void>;
}

/** Builds the tarballs (each placeholder library `libBytes` long) and serves them. */
export async function startGpuPackageServer(libBytes = 256 * 1024): Promise<GpuPackageServer> {
  const bodies = await buildTarballs(libBytes);
  const tampered = new Set<string>();
  let stalled: { name: string; bytes: number } | undefined;
  const waiting: (() => void)[] = [];
  const requests: PackageRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const entry = [...bodies.entries()].find(([, b]) => b.path === path);
    if (!entry) {
      requests.push({ path, status: 404 });
      res.writeHead(404).end('not found');
      return;
    }
    const [name, { body }] = entry;
    requests.push({ path, status: 200 });
    const bytes = tampered.has(name)
      ? Buffer.concat([body.subarray(0, -1), Buffer.from('x')])
      : body;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': bytes.length,
    });
    if (stalled?.name !== name) {
      res.end(bytes);
      return;
    }
    res.write(bytes.subarray(0, stalled.bytes));
    waiting.push(() => res.end(bytes.subarray(stalled?.bytes ?? 0)));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pinned = GPU_SUPPORT_SOURCES.find(s => s.platform === 'linux-x64')!;
  const source: GpuSupportSource = {
    ...pinned,
    parts: pinned.parts.map(p => {
      const b = bodies.get(p.name)!;
      return { ...p, url: url + b.path, sha256: b.sha256, bytes: b.body.length };
    }),
  };
  return {
    source,
    requests,
    tamper: name => tampered.add(name),
    stall: (name, bytes) => (stalled = { name, bytes }),
    reset: () => {
      stalled = undefined;
      tampered.clear();
      for (const w of waiting.splice(0)) w();
    },
    close: () =>
      new Promise<void>(r => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Each pinned part's generated tarball, its URL path and SHA-256. */
async function buildTarballs(
  libBytes: number,
): Promise<Map<string, { path: string; body: Buffer; sha256: string }>> {
  const work = mkdtempSync(join(tmpdir(), 'winnow-gpu-pkg-'));
  const files = packageFiles(libBytes);
  const out = new Map<string, { path: string; body: Buffer; sha256: string }>();
  const pinned = GPU_SUPPORT_SOURCES.find(s => s.platform === 'linux-x64')!;
  for (const part of pinned.parts) {
    const key = part.name.slice(0, part.name.lastIndexOf('@'));
    const dir = join(work, key);
    for (const [rel, content] of Object.entries(files[key])) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    const file = join(work, `${key}.tgz`);
    await tar.c({ gzip: true, cwd: dir, file, portable: true }, ['package']);
    const body = readFileSync(file);
    const sha256 = createHash('sha256').update(body).digest('hex');
    out.set(part.name, { path: new URL(part.url).pathname, body, sha256 });
  }
  return out;
}

/** The placeholder binding's folder under an install root. */
export function placeholderOrtDir(root: string): string {
  return join(root, ORT_NODE_DIR);
}
