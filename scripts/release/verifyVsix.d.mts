// Types for scripts/release/verifyVsix.mjs (imported by the unit tests).
export interface NativeEntry {
  path: string;
  detail: string;
  needs: string[];
  vcRuntime: string[];
}
export function listFiles(dir: string): string[];
export function nativeFileReport(
  extDir: string,
  files: string[],
  target: string,
): { natives: NativeEntry[]; problems: string[] };
export function fileListProblems(
  extDir: string,
  files: string[],
  target: string,
  sourceNodeModules?: string,
): string[];
export function unpackVsix(vsix: string, dir: string): string;
export function loadCheck(
  extDir: string,
  node?: string[],
): { requests: string[]; problems: string[]; arch?: string };
export function cliCheck(extDir: string, node?: string[]): string[];
