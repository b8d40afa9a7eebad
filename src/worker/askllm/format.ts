/**
 * How scores are written for people: hovers, inlay hints, progress messages. Pure functions, so
 * the unit tests pin the exact text.
 */
import { trimZeros } from '../../shared/format/scoreFormat';

export {
  formatProbability,
  ordinal,
  sortedScores,
  standing,
  type ScoreStanding,
} from '../../shared/format/scoreFormat';

/** A probability with 3 significant digits, for the inline hint (`0.114`, `0.000213`). */
export function formatProbabilityShort(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p === 0) return '0';
  if (p >= 1e-4) return trimZeros(p.toPrecision(3));
  return p.toExponential(2).replace(/\.?0+e/, 'e');
}

/** A duration for ETAs: "12 s", "4 min", "1 h 20 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Bytes for download progress: "812 KB", "140.2 MB". */
export function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
