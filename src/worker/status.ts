import type { WorkerStatus } from '../shared/protocol/worker';

/** Progress notifications are sent at most this often (state changes go out at once). */
const minIntervalMs = 250;

/**
 * Sends `winnow/status` to the client: immediately when the state changes, otherwise at most
 * every 250 ms (the last update always goes out), so a 1M-line index does not flood the channel.
 */
export class StatusReporter {
  private last: WorkerStatus | undefined;
  private lastSentAt = 0;
  private pending: WorkerStatus | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (status: WorkerStatus) => void) {}

  /** The status most recently reported or queued. */
  get current(): WorkerStatus | undefined {
    return this.pending ?? this.last;
  }

  update(status: WorkerStatus): void {
    if (this.last && sameStatus(this.last, status)) {
      this.pending = undefined;
      return;
    }
    const now = Date.now();
    if (!this.last || this.last.state !== status.state || now - this.lastSentAt >= minIntervalMs) {
      this.flush(status);
      return;
    }
    this.pending = status;
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        if (this.pending) this.flush(this.pending);
      },
      minIntervalMs - (now - this.lastSentAt),
    );
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(status: WorkerStatus): void {
    this.pending = undefined;
    this.last = status;
    this.lastSentAt = Date.now();
    this.send(status);
  }
}

function sameStatus(a: WorkerStatus, b: WorkerStatus): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
