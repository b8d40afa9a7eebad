/**
 * How the dataset view gets its row facts: it never scans the file itself, it asks the worker
 * (`winnow/getRowFacts`, docs/scores-api.md) for the rows it does not hold yet, chunk by chunk,
 * whenever the worker says they changed (`winnow/didChangeRowFacts`) or its own reader of the
 * file changed. Facts are used only when the worker read the same content as this window's
 * reader (their file stamps agree), and a chunk says from which row the facts changed since the
 * version held, so the facts of two versions of the file are never mixed. The saved decisions
 * are matched to rows in the worker; each chunk brings the saved decisions of its rows, which are
 * applied to the view's decision column once per row. Free of `vscode`: unit-tested with the
 * worker's answer in the same process, and used by the view bench.
 */
import type { FileStamp, RowSource } from '../jsonl';
import {
  ROW_FACTS_MAX_ROWS,
  WorkerErrorCodes,
  type DecisionHashes,
  type DecisionHashesParams,
  type GetRowFactsParams,
  type RowFactsResult,
  type SetSavedDecisionsParams,
} from '../../shared/protocol/worker';
import { DROP, KEEP, type DecisionColumn } from './decisions';
import { RowFacts } from './rowFacts';

/** The worker's side, for one file (the URI is filled in by whoever sends the requests). */
export interface RowFactsSource {
  getRowFacts(params: Omit<GetRowFactsParams, 'uri'>): Promise<RowFactsResult>;
  setSavedDecisions(params: Omit<SetSavedDecisionsParams, 'uri'>): Promise<unknown>;
  decisionHashes(params: Omit<DecisionHashesParams, 'uri'>): Promise<DecisionHashes>;
}

/** What the feed tells its document. */
export interface RowFactsEvents {
  /** Rows `from .. to-1` got their facts (and saved decisions). */
  onRows(from: number, to: number): void;
  /** Every row of the file has its facts. */
  onComplete(): void;
  /** A request failed (the worker is not there, or stopped): pulling resumes on the next change. */
  onError(error: unknown): void;
}

let feeds = 0;

function sameStamp(a: FileStamp | undefined, b: FileStamp): boolean {
  return !!a && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** The open dataset (in one worker process) that a facts version belongs to. */
function instanceOf(version: string): string {
  return version.split('.')[0];
}

function base64Rows(rows: Uint32Array): string {
  return Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).toString('base64');
}

function decodeRows(text: string): Uint32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Uint8Array(bytes.length - (bytes.length % 4));
  out.set(bytes.subarray(0, out.length));
  return new Uint32Array(out.buffer);
}

/** The row facts of one dataset view document, as they arrive from the worker. */
export class RowFactsFeed {
  /** The facts held, rows `0 .. facts.scanned-1`. */
  readonly facts = new RowFacts();
  private held: string | undefined;
  private heldStamp: FileStamp | undefined;
  private saved: { id: string; data: DecisionHashes } | undefined;
  /** The saved decisions the worker holds for us (by id), as far as we know. */
  private sentId: string | undefined;
  /** Rows whose saved decision was applied to the decision column. */
  private savedApplied = 0;
  private readonly name = `feed${++feeds}-${Date.now().toString(36)}`;
  private savedCount = 0;
  /** Bumped when the facts held are reset: answers to requests sent before are dropped. */
  private epoch = 0;
  private pulling: Promise<void> | undefined;
  private again = false;
  private done = false;
  private closed = false;
  /** Pulls wait for {@link start} (the first screen of rows comes first). */
  private paused = true;

  constructor(
    private readonly file: RowSource,
    private readonly decisions: DecisionColumn,
    private readonly source: RowFactsSource | undefined,
    private readonly events: RowFactsEvents,
    private readonly maxRows = ROW_FACTS_MAX_ROWS,
  ) {}

  /** The worker's version of the facts held (undefined before the first chunk). */
  get version(): string | undefined {
    return this.held;
  }

  /** Every row of the file has its facts and saved decisions. */
  get complete(): boolean {
    return this.done;
  }

  /**
   * Sets the saved decisions (sidecar or backup) the worker matches to rows, and forgets which
   * rows they were applied to: the caller clears the decision column first. The facts are then
   * read again from row 0 (they bring the saved decisions of their rows).
   */
  setSaved(data: DecisionHashes): void {
    this.saved = { id: `${this.name}-${++this.savedCount}`, data };
    this.sentId = undefined;
    this.restartFrom0();
  }

  /**
   * The file was rewritten: every fact held is of the old version. Pulls wait for {@link start}
   * (the saved decisions of the new version are set first).
   */
  reset(): void {
    this.held = undefined;
    this.heldStamp = undefined;
    this.paused = true;
    this.restartFrom0();
  }

  /** Starts (or resumes) pulling. */
  start(): void {
    this.paused = false;
    this.pull();
  }

  private restartFrom0(): void {
    this.epoch++;
    this.facts.truncate(0);
    this.savedApplied = 0;
    this.done = false;
    this.pull();
  }

  /** Lines were appended to the file: the facts are not complete until the worker has read them. */
  fileAppended(): void {
    this.done = false;
    this.pull();
  }

  /** Stops pulling. */
  close(): void {
    this.closed = true;
    this.epoch++;
  }

  /** Reads what is new (single flight: a call while pulling pulls once more after). */
  pull(): void {
    if (this.closed || this.paused || !this.source) return;
    if (this.pulling) {
      this.again = true;
      return;
    }
    this.again = false;
    // Started on the next microtask: `pulling` is set before any request can call back.
    this.pulling = Promise.resolve()
      .then(() => this.pullAvailable())
      .catch(err => this.events.onError(err))
      .finally(() => {
        this.pulling = undefined;
        if (this.again) this.pull();
      });
  }

  /** Resolves when no pull runs (for callers that pulled and wait for the answer). */
  async settled(): Promise<void> {
    while (this.pulling) await this.pulling;
  }

  /** Requests chunks until the worker has nothing more now. */
  private async pullAvailable(): Promise<void> {
    const source = this.source!;
    for (;;) {
      if (this.closed) return;
      const epoch = this.epoch;
      if (this.saved && this.sentId !== this.saved.id) {
        const { id, data } = this.saved;
        await source.setSavedDecisions({ id, ...data });
        if (epoch !== this.epoch) continue;
        this.sentId = id;
      }
      const r = await source.getRowFacts({
        from: this.facts.scanned,
        maxRows: this.maxRows,
        ...(this.held !== undefined ? { since: this.held } : {}),
      });
      if (epoch !== this.epoch || this.closed) continue;
      // The worker read another version of the file than this window: its next change, or ours,
      // pulls again.
      if (!sameStamp(r.file, this.file.stamp)) return;
      if (this.saved && r.saved?.id !== this.saved.id) {
        // A worker that restarted (or saved decisions set in between) must get ours again.
        this.sentId = undefined;
        continue;
      }
      if (this.adoptRestartedWorker(r)) continue;
      if (this.take(r)) return;
    }
  }

  /**
   * A worker that restarted read the same content as the facts held: they are its facts too, so
   * they are kept (and asked for again under its version) instead of read again from row 0.
   */
  private adoptRestartedWorker(r: RowFactsResult): boolean {
    const held = this.held;
    if (held === undefined || instanceOf(held) === instanceOf(r.version)) return false;
    if (!sameStamp(r.file, this.heldStamp!)) return false;
    this.held = r.version;
    return r.from < this.facts.scanned;
  }

  /** Takes one chunk; true when nothing more is there to ask for now. */
  private take(r: RowFactsResult): boolean {
    if (r.from > this.facts.scanned) return true;
    const end = r.from + r.count;
    if (r.complete) this.facts.ensure(r.rowCount, true);
    else this.facts.ensure(this.file.indexed ? this.file.lineCount : end, this.file.indexed);
    this.facts.apply(r);
    this.held = r.version;
    this.heldStamp = r.file;
    this.applySaved(r, end);
    if (r.count > 0) this.events.onRows(r.from, end);
    const caughtUp = r.count === 0 || this.facts.scanned >= r.scanned;
    const wasDone = this.done;
    this.done =
      caughtUp &&
      r.complete &&
      this.facts.scanned >= r.rowCount &&
      this.file.indexed &&
      this.file.lineCount === this.facts.scanned;
    if (this.done && !wasDone) {
      this.facts.trim();
      this.events.onComplete();
    }
    return caughtUp;
  }

  /** Gives rows of the chunk not given one before their saved decision. */
  private applySaved(r: RowFactsResult, end: number): void {
    if (this.saved && r.saved) {
      this.decisions.resize(Math.max(this.decisions.rows, end));
      const from = this.savedApplied;
      for (const [text, code] of [
        [r.saved.keep, KEEP],
        [r.saved.drop, DROP],
      ] as const)
        for (const row of decodeRows(text)) if (row >= from) this.decisions.set(row, code);
    }
    this.savedApplied = Math.max(this.savedApplied, end);
  }

  /**
   * The decisions to save, by content hash: the hashes of `keep` and `drop` rows of the facts
   * held (of `version`, by default the one held now), plus the saved decisions that match no
   * row. Without facts (nothing could be decided), the saved decisions as they are.
   */
  async hashes(keep: Uint32Array, drop: Uint32Array, version = this.held): Promise<DecisionHashes> {
    if (version === undefined || !this.source) {
      if (keep.length + drop.length > 0) throw new Error('No row facts to save decisions by');
      return this.saved?.data ?? { keep: [], drop: [] };
    }
    return this.source.decisionHashes({ version, keep: base64Rows(keep), drop: base64Rows(drop) });
  }
}

/** Whether a request failed because the facts version it named is gone from the worker. */
export function isVersionGone(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === WorkerErrorCodes.factsVersionGone;
}
