/**
 * Tier 2: a dataset file that goes away or becomes unreadable while the real worker
 * (dist/worker.js) has it open. The worker says so (a diagnostic, the status, fileInfo) and
 * serves the new content once the file is back: no restart, no reopen.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic, MarkupContent } from 'vscode-languageserver-protocol/node';
import type { WorkerStatus } from '../../src/shared/protocol/worker';
import { WorkerSession } from './workerSession';

let dir: string;
const sessions: WorkerSession[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-disk-'));
});

after(async () => {
  for (const s of sessions)
    if (s.child.exitCode === null && s.child.signalCode === null)
      await s.shutdown().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

function lines(tag: string, n: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ tag, i })).join('\n') + '\n';
}

async function openOn(name: string, content: string) {
  const path = join(dir, name);
  writeFileSync(path, content);
  const uri = pathToFileURL(path).toString();
  const w = await WorkerSession.start();
  sessions.push(w);
  await w.openDataset(uri);
  await w.fileInfo(uri, true);
  return { w, path, uri };
}

function lastStatus(w: WorkerSession): WorkerStatus | undefined {
  return w.statuses[w.statuses.length - 1];
}

const unavailableDiagnostic = (d: Diagnostic[]) =>
  d.length === 1 && d[0]?.code === 'file-unavailable';

function messageOf(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}

function hoverText(h: { contents: unknown } | null): string {
  assert.ok(h, 'a hover');
  return (h.contents as MarkupContent).value;
}

describe('a dataset file that goes away while it is open', () => {
  it('deleted: a diagnostic and the status say so; re-created: the new content is served', async () => {
    const { w, path, uri } = await openOn('deleted.jsonl', lines('old', 5));
    rmSync(path);
    const [d] = await w.waitForDiagnostics(uri, unavailableDiagnostic, 'the file-gone diagnostic');
    assert.match(messageOf(d!), /deleted\.jsonl is no longer on disk/);
    assert.equal(d!.severity, 1);
    await w.waitFor('the error status', () => {
      const s = lastStatus(w);
      return s?.state === 'error' && /deleted\.jsonl is no longer on disk/.test(s.detail ?? '');
    });
    assert.match((await w.fileInfo(uri, false)).unavailable ?? '', /no longer on disk/);
    assert.match(
      hoverText(await w.hover(uri, 0)).replace(/\\(.)/g, '$1'),
      /^\*\*.*deleted\.jsonl is no longer on disk:\*\* this is the content read last/,
    );

    writeFileSync(path, lines('new', 3).replace('{"tag":"new","i":1}', '{"tag": broken'));
    await w.waitForDiagnostics(
      uri,
      ds => ds.length === 1 && ds[0]?.code !== 'file-unavailable' && ds[0]?.range.start.line === 1,
      'the diagnostics of the new content',
    );
    const info = await w.fileInfo(uri, true);
    assert.equal(info.unavailable, undefined);
    assert.equal(info.rowCount, 3);
    assert.equal(info.invalidCount, 1);
    assert.match(hoverText(await w.hover(uri, 2)), /row 3 of 3/);
    await w.waitFor('the idle status', () => lastStatus(w)?.state === 'idle');
    await w.shutdown();
  });

  it('made unreadable in place (chmod): said so; readable again: served again', async () => {
    // Root reads any file: the worker then runs as nobody, which can be denied.
    const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    const path = join(dir, 'chmod.jsonl');
    writeFileSync(path, lines('old', 4));
    chmodSync(dir, 0o755);
    chmodSync(path, 0o644);
    const uri = pathToFileURL(path).toString();
    const w = await WorkerSession.start(user ? { user } : {});
    sessions.push(w);
    await w.openDataset(uri);
    assert.equal((await w.fileInfo(uri, true)).rowCount, 4);
    chmodSync(path, 0o000);
    const [d] = await w.waitForDiagnostics(uri, unavailableDiagnostic, 'the unreadable diagnostic');
    assert.match(messageOf(d!), /chmod\.jsonl cannot be read: permission denied/);
    assert.match((await w.fileInfo(uri, false)).unavailable ?? '', /permission denied/);
    chmodSync(path, 0o644);
    await w.waitForDiagnostics(uri, ds => ds.length === 0, 'the diagnostic gone');
    const info = await w.fileInfo(uri, true);
    assert.equal(info.unavailable, undefined);
    assert.equal(info.rowCount, 4);
    await w.shutdown();
  });

  it('replaced by something unreadable (a folder): said so; a file again: served again', async () => {
    const { w, path, uri } = await openOn('unreadable.jsonl', lines('old', 4));
    rmSync(path);
    mkdirSync(path);
    const [d] = await w.waitForDiagnostics(
      uri,
      ds => unavailableDiagnostic(ds) && /is now a folder, not a file/.test(messageOf(ds[0]!)),
      'the unreadable diagnostic',
    );
    assert.match(messageOf(d!), /unreadable\.jsonl is now a folder/);
    await w.waitFor(
      'the error status',
      () => lastStatus(w)?.state === 'error' && /a folder/.test(lastStatus(w)?.detail ?? ''),
    );

    rmSync(path, { recursive: true });
    writeFileSync(path, lines('again', 7));
    await w.waitForDiagnostics(uri, ds => ds.length === 0, 'no diagnostics once it is back');
    const info = await w.fileInfo(uri, true);
    assert.equal(info.unavailable, undefined);
    assert.equal(info.rowCount, 7);
    assert.match(hoverText(await w.hover(uri, 6)), /row 7 of 7/);
    await w.shutdown();
  });
});
