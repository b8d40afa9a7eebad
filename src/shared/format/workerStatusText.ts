import type { WorkerStatus } from '../protocol/worker';

/** The worker's state as the extension sees it: the worker's own states plus `stopped`. */
export type ClientWorkerStatus = WorkerStatus | { state: 'stopped'; detail?: string };

/** Status-bar text (with a codicon) and tooltip for a worker status. Pure, for unit tests. */
export function workerStatusText(status: ClientWorkerStatus): { text: string; tooltip: string } {
  const detail = status.detail ? `: ${status.detail}` : '';
  switch (status.state) {
    case 'starting':
      return { text: '$(loading~spin) Winnow: starting', tooltip: 'The Winnow worker is starting' };
    case 'idle':
      return {
        text: `$(check) Winnow: idle${status.device ? ` · ${status.device}` : ''}`,
        tooltip:
          'The Winnow worker is idle' +
          (status.model
            ? `. ASK-LLM model ${status.model} loaded on ${status.device ?? '?'}.`
            : ''),
      };
    case 'indexing': {
      const p = status.progress;
      const pct = p && p.total > 0 ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
      const amount = p
        ? ` (${formatAmount(p.done, p.unit)} of ${formatAmount(p.total, p.unit)})`
        : '';
      return {
        text: `$(sync~spin) Winnow: indexing${pct}`,
        tooltip: `Indexing and validating${detail}${amount}`,
      };
    }
    case 'loadingModel':
      return {
        text: '$(sync~spin) Winnow: loading model',
        tooltip: status.detail
          ? status.detail
          : `Loading ${status.model ?? 'the model'}${status.device ? ` on ${status.device}` : ''}`,
      };
    case 'scoring': {
      const p = status.progress;
      const count = p ? ` ${p.done}/${p.total}` : '';
      const device = status.device ? ` · ${status.device}` : '';
      return {
        text: `$(sync~spin) Winnow: scoring${count}${device}`,
        tooltip: `Scoring${status.detail ? ` ${status.detail}` : ''} with ${status.model ?? 'the model'}${status.device ? ` on ${status.device}` : ''}`,
      };
    }
    case 'error':
      return {
        text: '$(error) Winnow: error',
        tooltip: `The Winnow worker reported an error${detail}`,
      };
    case 'stopped':
      return {
        text: '$(circle-slash) Winnow: stopped',
        tooltip: `The Winnow worker is not running${detail}. Click to show the log.`,
      };
  }
}

function formatAmount(n: number, unit: 'bytes' | 'rows'): string {
  if (unit === 'rows') return `${n} rows`;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
