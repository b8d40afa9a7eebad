/**
 * The `winnow.duplicates.*` and `winnow.map.*` settings as the worker reads them (package.json
 * has the user-facing descriptions), with defaults and limits.
 */
import {
  DEFAULT_DUPLICATE_THRESHOLD,
  DEFAULT_LANDMARKS,
  DEFAULT_LAYOUT_SEED,
} from '../../core/map';

export interface MapSettings {
  /** Cosine at or above which two rows are near-duplicates. */
  threshold: number;
  /** Most rows UMAP lays out itself; the others are placed by their nearest landmarks. */
  landmarks: number;
  /** Seed of the layout (landmark sample and UMAP). */
  seed: number;
}

export const defaultMapSettings: MapSettings = {
  threshold: DEFAULT_DUPLICATE_THRESHOLD,
  landmarks: DEFAULT_LANDMARKS,
  seed: DEFAULT_LAYOUT_SEED,
};

function num(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fallback;
}

/** Applies defaults and limits to the raw `winnow` section. */
export function resolveMapSettings(raw: unknown): MapSettings {
  const section = (raw && typeof raw === 'object' ? raw : {}) as {
    duplicates?: { threshold?: unknown };
    map?: { landmarks?: unknown; seed?: unknown };
  };
  const d = defaultMapSettings;
  return {
    threshold: num(section.duplicates?.threshold, 0.5, 0.9999, d.threshold),
    landmarks: Math.floor(num(section.map?.landmarks, 100, 50000, d.landmarks)),
    seed: Math.floor(num(section.map?.seed, 0, 0xffffffff, d.seed)),
  };
}
