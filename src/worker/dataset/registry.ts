import { Dataset, type DatasetOptions } from './dataset';
import type { DatasetParams, DatasetSource } from '../../shared/protocol/worker';
import type { Logger } from '../logger';
import { uriToPath } from './uri';

interface Entry {
  holders: Map<DatasetSource, number>;
  dataset: Promise<Dataset>;
}

/**
 * The datasets the worker has open, keyed by URI, with a hold count per source. A file is opened
 * (indexed, validated, watched) on its first holder and closed when the last one lets go, so a
 * file shown both as text and in the dataset view is indexed once.
 */
export class DatasetRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly openListeners = new Set<(dataset: Dataset) => void>();
  private readonly closeListeners = new Set<(uri: string) => void>();
  /** Called with the URI when a dataset gets its first holder. */
  private readonly heldListeners = new Set<(uri: string) => void>();

  constructor(
    private readonly logger: Logger,
    private readonly optionsFor: (uri: string) => Promise<DatasetOptions>,
  ) {}

  /** Calls `fn` once a dataset has been opened (before its first validation batch ends). */
  onDidOpen(fn: (dataset: Dataset) => void): () => void {
    this.openListeners.add(fn);
    return () => this.openListeners.delete(fn);
  }

  /** Calls `fn` when the last holder of a dataset closed it. */
  onDidClose(fn: (uri: string) => void): () => void {
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  /** Adds a holder; the first one opens the file. */
  open({ uri, source }: DatasetParams): void {
    const existing = this.entries.get(uri);
    if (existing) {
      existing.holders.set(source, (existing.holders.get(source) ?? 0) + 1);
      this.logger.debug(`Dataset ${uri} held again (${source})`);
      return;
    }
    const path = uriToPath(uri);
    const dataset = path
      ? this.optionsFor(uri).then(options => Dataset.open(uri, path, options, this.logger))
      : Promise.reject(new Error(`Winnow reads datasets from local files only, not ${uri}`));
    const entry: Entry = { holders: new Map([[source, 1]]), dataset };
    this.entries.set(uri, entry);
    for (const fn of [...this.heldListeners]) fn(uri);
    this.logger.info(`Opening dataset ${uri} (${source})`);
    dataset.then(
      ds => {
        if (this.entries.get(uri) !== entry) return;
        for (const fn of this.openListeners) fn(ds);
      },
      err => this.logger.error(`Could not open ${uri}`, err),
    );
  }

  /**
   * Whether anything beyond a synced text document holds `uri`: a tab, the dataset view or a
   * running command. VS Code keeps text documents of closed tabs alive for a while, so a file
   * held only that way is not in front of the user.
   */
  isShown(uri: string): boolean {
    const holders = this.entries.get(uri)?.holders;
    return !!holders && [...holders.keys()].some(source => source !== 'textDocument');
  }

  /** Whether `source` holds `uri` (e.g. a dataset view, which reads the row facts). */
  isHeldBy(uri: string, source: DatasetSource): boolean {
    return (this.entries.get(uri)?.holders.get(source) ?? 0) > 0;
  }

  /** Removes a holder; the last one closes the file. Unknown holders are ignored. */
  close({ uri, source }: DatasetParams): void {
    const entry = this.entries.get(uri);
    const count = entry?.holders.get(source) ?? 0;
    if (!entry || count === 0) {
      this.logger.debug(`Ignoring close of ${uri} by ${source}: not held`);
      return;
    }
    if (count > 1) entry.holders.set(source, count - 1);
    else entry.holders.delete(source);
    if (entry.holders.size > 0) return;
    this.entries.delete(uri);
    this.logger.info(`Closing dataset ${uri}`);
    void entry.dataset.then(ds => ds.close()).catch(() => undefined);
    for (const fn of this.closeListeners) fn(uri);
  }

  /** The open dataset for a URI, or undefined when no holder has opened it. */
  get(uri: string): Promise<Dataset> | undefined {
    return this.entries.get(uri)?.dataset;
  }

  /**
   * The open dataset for a URI, waiting up to `timeoutMs` for a holder to open it (a request can
   * overtake the holder's didOpen). Resolves with undefined when none did in time; rejects when
   * the file could not be opened.
   */
  whenHeld(uri: string, timeoutMs: number): Promise<Dataset | undefined> {
    const now = this.get(uri);
    if (now) return now;
    return new Promise<Promise<Dataset> | undefined>(resolve => {
      const done = (dataset: Promise<Dataset> | undefined) => {
        clearTimeout(timer);
        this.heldListeners.delete(onHeld);
        resolve(dataset);
      };
      const onHeld = (held: string) => {
        if (held === uri) done(this.get(uri));
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.heldListeners.add(onHeld);
    }).then(dataset => dataset);
  }

  /** Every open dataset (those whose file opened successfully). */
  async all(): Promise<Dataset[]> {
    const settled = await Promise.allSettled([...this.entries.values()].map(e => e.dataset));
    return settled.flatMap(s => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** Closes everything (shutdown). */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.map(e => e.dataset.then(ds => ds.close())));
  }
}
