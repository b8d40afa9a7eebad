/**
 * Helper threads of the row scan: worker threads that scan whole batches on their own
 * ({@link RowColumns.scanBatch}) while the scanning thread scans others; `scanRows` merges their
 * facts in file order ({@link RowColumns.mergeBatch}), so the columns are exactly those of a scan
 * in one thread. The thread entry is `rowScanThread.js` next to the running bundle (esbuild.mjs
 * emits it beside dist/extension.js and dist/worker.js, and beside the test bundles); where it is
 * missing or a thread cannot start, the scan runs in one thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LineBatch, SchemaInfo } from '../jsonl';
import type { BatchFacts } from './rowColumns';

/** A batch sent to a helper thread. */
export interface ScanRequest {
  readonly id: number;
  readonly batch: LineBatch;
  readonly schema: SchemaInfo;
  readonly maxLineBytes: number;
}

/** A helper thread's answer: the batch's facts, or why it could not scan it. */
export type ScanReply =
  | { readonly id: number; readonly facts: BatchFacts }
  | { readonly id: number; readonly error: string };

/** Where the thread entry lies: beside the bundle this module is part of. */
export const ROW_SCAN_THREAD_SCRIPT = join(__dirname, 'rowScanThread.js');

/** Batches scanned by helper threads so far, in this process (for tests and benches). */
export const scanThreadStats = { mergedBatches: 0 };

/**
 * Threads the row scan uses by default, the scanning one included: one on a machine of one or two
 * cores, else one core fewer than there are, at most 4. On the shared two-core test machine a
 * helper made the scan 0.6x as long while the machine was quiet but 2-3.6x as long while it was
 * busy (docs/row-scan.md); one thread loses least there.
 */
export function defaultScanThreads(cores = availableParallelism()): number {
  return cores <= 2 ? 1 : Math.min(4, cores - 1);
}

interface Pending {
  resolve: (facts: BatchFacts) => void;
  reject: (err: Error) => void;
}

/** One helper thread and the batches it is scanning. */
class Helper {
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ScanReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('facts' in reply) p?.resolve(reply.facts);
      else p?.reject(new Error(`The row scan's helper thread failed: ${reply.error}`));
    });
    worker.on('error', err => this.fail(err));
    worker.on('exit', code =>
      this.fail(new Error(`The row scan's helper thread exited (${code})`)),
    );
  }

  scan(request: ScanRequest): Promise<BatchFacts> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<BatchFacts>((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      // The batch is copied, not transferred: the scanning thread keeps it, to scan it itself
      // should this thread fail.
      this.worker.postMessage(request);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.fail(new Error('The row scan is over'));
    await this.worker.terminate();
  }
}

/** The helper threads of one scan (see the module comment). */
export class ScanThreads {
  private nextId = 0;

  private constructor(private readonly helpers: readonly Helper[]) {}

  /**
   * Starts `count` helper threads running `script`; undefined when none can start (no script,
   * no worker threads): then the scan runs in one thread.
   */
  static start(count: number, script = ROW_SCAN_THREAD_SCRIPT): ScanThreads | undefined {
    if (count < 1 || !existsSync(script)) return undefined;
    const helpers: Helper[] = [];
    try {
      for (let k = 0; k < count; k++) helpers.push(new Helper(new Worker(script)));
    } catch {
      for (const h of helpers) void h.close();
      return undefined;
    }
    return new ScanThreads(helpers);
  }

  /** Helper threads (the scanning thread not counted). */
  get size(): number {
    return this.helpers.length;
  }

  /** The facts of `batch`, scanned by helper `k`. */
  scan(k: number, batch: LineBatch, schema: SchemaInfo, maxLineBytes: number): Promise<BatchFacts> {
    return this.helpers[k].scan({ id: this.nextId++, batch, schema, maxLineBytes });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await Promise.all(this.helpers.map(h => h.close()));
  }
}
