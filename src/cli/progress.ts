/**
 * Progress on stderr: a bar on a terminal, one JSON object per line for schedulers
 * (`--progress json`), or nothing. stdout stays for results and the `--json` summary.
 *
 * JSON lines: `{"event":"progress","command":"score","phase":"scoring","done":1200,"total":5000,
 * "cached":800,"unit":"rows","elapsed_s":12.5,"rate":96.3,"eta_s":39.4}`, at most one a second
 * per phase plus the first and last of each phase.
 */
import { UsageError } from './errors';

export type ProgressMode = 'bar' | 'json' | 'none';

/** One update of a phase. */
export interface ProgressUpdate {
  done: number;
  /** Of these, answered from the cache (not counted in the rate). */
  cached?: number;
}

/** Where commands report progress. */
export interface Progress {
  /** A new phase (`loading`, `embedding`, `scoring`, ...) of `total` items. */
  phase(name: string, total: number, unit?: string): void;
  update(u: ProgressUpdate): void;
  /** The current phase is over (its final state is reported). */
  end(): void;
  /** A log line that must not be drawn over by the bar. */
  log(line: string): void;
}

/** Resolves `--progress` against the terminal: `auto` is a bar on a TTY and nothing otherwise. */
export function progressMode(flag: string | undefined, stderrIsTTY: boolean): ProgressMode {
  const v = flag ?? 'auto';
  if (v === 'auto') return stderrIsTTY ? 'bar' : 'none';
  if (v === 'bar' || v === 'json' || v === 'none') return v;
  throw new UsageError(`--progress must be auto, bar, json or none (got "${v}")`);
}

interface PhaseState {
  name: string;
  total: number;
  unit: string;
  done: number;
  cached: number;
  started: number;
  lastShown: number;
}

const BAR_INTERVAL_MS = 100;
const JSON_INTERVAL_MS = 1000;
const BAR_WIDTH = 24;

/** The reporter for a mode, writing with `write` (stderr). */
export function createProgress(
  mode: ProgressMode,
  command: string,
  write: (text: string) => void,
  now: () => number = () => performance.now(),
): Progress {
  let state: PhaseState | undefined;
  let drawn = false;
  const clear = (): void => {
    if (drawn) write('\r\x1b[K');
    drawn = false;
  };
  const show = (force: boolean): void => {
    if (!state || mode === 'none') return;
    const t = now();
    if (!force && t - state.lastShown < (mode === 'bar' ? BAR_INTERVAL_MS : JSON_INTERVAL_MS))
      return;
    state.lastShown = t;
    if (mode === 'json') write(`${JSON.stringify(progressRecord(command, state, t))}\n`);
    else {
      write(`\r\x1b[K${barLine(state, t)}`);
      drawn = true;
    }
  };
  return {
    phase(name, total, unit = 'rows') {
      if (state) this.end();
      const t = now();
      state = { name, total, unit, done: 0, cached: 0, started: t, lastShown: -Infinity };
      show(true);
    },
    update(u) {
      if (!state) return;
      state.done = u.done;
      if (u.cached !== undefined) state.cached = u.cached;
      show(false);
    },
    end() {
      if (!state) return;
      show(true);
      if (mode === 'bar') {
        write('\n');
        drawn = false;
      }
      state = undefined;
    },
    log(line) {
      clear();
      write(`${line}\n`);
      show(true);
    },
  };
}

/** Rows per second over the items not answered from the cache. */
function rate(s: PhaseState, t: number): number {
  const seconds = (t - s.started) / 1000;
  return seconds > 0 ? Math.max(0, s.done - s.cached) / seconds : 0;
}

function progressRecord(command: string, s: PhaseState, t: number): Record<string, unknown> {
  const r = rate(s, t);
  const left = s.total - s.done;
  return {
    event: 'progress',
    command,
    phase: s.name,
    done: s.done,
    total: s.total,
    cached: s.cached,
    unit: s.unit,
    elapsed_s: round((t - s.started) / 1000),
    rate: round(r),
    eta_s: r > 0 && left > 0 ? round(left / r) : left === 0 ? 0 : null,
  };
}

function barLine(s: PhaseState, t: number): string {
  const frac = s.total > 0 ? Math.min(1, s.done / s.total) : 1;
  const full = Math.round(frac * BAR_WIDTH);
  const bar = '█'.repeat(full) + '░'.repeat(BAR_WIDTH - full);
  const r = rate(s, t);
  const left = s.total - s.done;
  const eta = r > 0 && left > 0 ? ` · ${duration(left / r)} left` : '';
  const cached = s.cached > 0 ? ` · ${count(s.cached)} cached` : '';
  return (
    `${s.name} ${bar} ${count(s.done)}/${count(s.total)} ${s.unit}${cached}` +
    `${r > 0 ? ` · ${r < 10 ? r.toFixed(1) : Math.round(r)} ${s.unit}/s` : ''}${eta}`
  );
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** 1234567 → "1,234,567". */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Seconds in words: "42 s", "3 min 20 s", "2 h 05 min". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
