/** The words every label of distilled scores carries (hover, inlay hints). */
import type { DistilledColumnMeta } from '../../shared/protocol/worker';
import { formatCount } from '../editor/markdown';

/** "fit on 3,000 judge scores, Spearman ρ=0.93": what every label of distilled scores says. */
export function distilledProvenance(m: DistilledColumnMeta): string {
  const rho = m.heldOutSpearman === null ? '—' : m.heldOutSpearman.toFixed(2);
  return `fit on ${formatCount(m.sample)} judge scores, Spearman ρ=${rho}`;
}
