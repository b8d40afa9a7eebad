// Types for scripts/release/storeReadiness.mjs (imported by the unit tests).
export const MARKETPLACE_CATEGORIES: string[];
export const MAX_KEYWORDS: number;
export function repositoryWebUrl(manifest: object): string;
export function isPlaceholderRepository(manifest: object): boolean;
export function pngSize(bytes: Buffer): { width: number; height: number } | undefined;
export function readmeImages(markdown: string): string[];
export function checkStoreReadiness(
  dir: string,
  options?: { release?: boolean },
): { problems: string[]; warnings: string[] };
