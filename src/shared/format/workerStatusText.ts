import type { DeviceAttemptStatus, WorkerStatus } from '../protocol/worker';

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
        text: `$(check) Winnow: idle${deviceText(status)}`,
        tooltip:
          'The Winnow worker is idle' +
          (status.model
            ? `. ASK-LLM model ${status.model} loaded on ${deviceName(status.device)}${ortText(status)}.`
            : '') +
          attemptsText(status.deviceAttempts),
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
      return {
        text: `$(sync~spin) Winnow: scoring${count}${deviceText(status)}`,
        tooltip:
          `Scoring${status.detail ? ` ${status.detail}` : ''} with ${status.model ?? 'the model'}` +
          `${status.device ? ` on ${deviceName(status.device)}${ortText(status)}` : ''}` +
          attemptsText(status.deviceAttempts),
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

/** How devices are named to users: CUDA, WebGPU, CPU (others as the worker names them). */
export function deviceName(device: string | undefined): string {
  if (device === undefined) return '?';
  return (
    ({ cuda: 'CUDA', webgpu: 'WebGPU', cpu: 'CPU' } as Record<string, string>)[device] ?? device
  );
}

/** " · CUDA · ORT 1.29.0" for the status-bar text (empty without a device). */
function deviceText(status: WorkerStatus): string {
  if (!status.device) return '';
  return ` · ${deviceName(status.device)}${status.ortVersion ? ` · ORT ${status.ortVersion}` : ''}`;
}

/** " (ONNX Runtime 1.29.0)" for tooltips. */
function ortText(status: WorkerStatus): string {
  return status.ortVersion ? ` (ONNX Runtime ${status.ortVersion})` : '';
}

/**
 * The tooltip's list of devices tried, one line each with the reason of every fallback:
 * "CUDA: skipped — GPU support is not installed …", "WebGPU: failed — …", "CPU: loaded".
 * Empty when only one device was tried and it loaded.
 */
export function attemptsText(attempts: readonly DeviceAttemptStatus[] | undefined): string {
  if (!attempts || attempts.length === 0) return '';
  if (attempts.length === 1 && attempts[0].outcome === 'ok') return '';
  const lines = attempts.map(a =>
    a.outcome === 'ok'
      ? `${deviceName(a.device)}: loaded`
      : `${deviceName(a.device)}: ${a.outcome} — ${a.message}`,
  );
  return `\n\nDevices tried:\n${lines.join('\n')}`;
}

function formatAmount(n: number, unit: 'bytes' | 'rows'): string {
  if (unit === 'rows') return `${n} rows`;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
