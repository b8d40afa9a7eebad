/**
 * Entry of a helper thread of the row scan (bundled by esbuild.mjs as `rowScanThread.js`, next to
 * the bundle that starts it; see rowScanThreads.ts): scans the batches it is sent on its own
 * ({@link RowColumns.scanBatch}) and sends their facts back.
 */
import { parentPort } from 'node:worker_threads';
import { RowColumns } from './rowColumns';
import type { ScanReply, ScanRequest } from './rowScanThreads';

// Loaded outside a worker thread (by a tool that loads every bundle), it does nothing.
parentPort?.on('message', (request: ScanRequest) => {
  const port = parentPort!;
  const { id, batch, schema, maxLineBytes } = request;
  let reply: ScanReply;
  try {
    const facts = RowColumns.scanBatch(batch, schema, maxLineBytes);
    reply = { id, facts };
    const transfer = [facts.chars, facts.errors, facts.fieldBits, facts.hashes].map(a => a.buffer);
    port.postMessage(reply, transfer as ArrayBuffer[]);
  } catch (err) {
    reply = { id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    port.postMessage(reply);
  }
});
