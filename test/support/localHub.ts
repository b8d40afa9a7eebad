/**
 * A local HTTP server in the Hugging Face Hub's URL layout (`<prefix>/<id>/resolve/<rev>/<file>`)
 * that serves fixture model folders, for download tests without the network. It answers Range
 * requests with 206 like the Hub (transformers.js probes files with `Range: bytes=0-0`), 404 for
 * anything it does not have, and records every request.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/** One request the hub saw. */
export interface HubRequest {
  method: string;
  /** The decoded path, e.g. `/winnow-test/tiny-t5/resolve/main/config.json`. */
  path: string;
  range: string | undefined;
  status: number;
}

export interface LocalHub {
  /** The endpoint URL, with a trailing slash (and the prefix, if any). */
  readonly url: string;
  readonly requests: HubRequest[];
  /** Full downloads (200 answers to requests without Range) of `id`, as file paths. */
  downloads(id: string): string[];
  close(): Promise<void>;
}

/**
 * Serves `repos` (Hub id → model folder) under `prefix` (e.g. `/hf`, default none). Ids not in
 * `repos` answer 404, like a repository that does not exist.
 */
export async function startLocalHub(repos: Record<string, string>, prefix = ''): Promise<LocalHub> {
  const requests: HubRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]);
    const range = req.headers.range;
    const answer = (status: number): void => {
      requests.push({ method: req.method ?? 'GET', path, range, status });
    };
    const m = path.startsWith(`${prefix}/`)
      ? /^([^/]+\/[^/]+|[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(path.slice(prefix.length + 1))
      : null;
    const folder = m ? repos[m[1]] : undefined;
    const rel = m ? normalize(m[2]) : '';
    const file = folder !== undefined && !rel.startsWith('..') ? join(folder, rel) : '';
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      answer(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const body = readFileSync(file);
    const r = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (r) {
      const start = Number(r[1]);
      const end = Math.min(body.length - 1, r[2] === '' ? body.length - 1 : Number(r[2]));
      if (start >= body.length) {
        answer(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      answer(206);
      res
        .writeHead(206, {
          'content-range': `bytes ${start}-${end}/${body.length}`,
          'content-length': end - start + 1,
          'content-type': 'application/octet-stream',
        })
        .end(body.subarray(start, end + 1));
      return;
    }
    answer(200);
    res
      .writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' })
      .end(body);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    requests,
    downloads: id =>
      requests
        .filter(r => r.status === 200 && !r.range && r.path.startsWith(`${prefix}/${id}/resolve/`))
        .map(r => r.path.replace(/^.*?\/resolve\/[^/]+\//, '')),
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A localhost URL on which nothing listens (a port that was free a moment ago). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}
