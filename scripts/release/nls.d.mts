// Types for scripts/release/nls.mjs (imported by the unit tests).
export function manifestStrings(
  manifest: object,
): { key: string; get(): string; set(value: string): void }[];
export function nlsProblems(manifest: object, nls: Record<string, string> | undefined): string[];
export function extractStrings(manifest: object, nls: Record<string, string>): number;
export function localizedManifest<T extends object>(
  manifest: T,
  nls: Record<string, string> | undefined,
): T;
