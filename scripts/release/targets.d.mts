// Types for scripts/release/targets.mjs (imported by the unit tests).
export interface Target {
  os: 'linux' | 'darwin' | 'win32';
  cpu: 'x64' | 'arm64';
  libc?: string;
  format: 'ELF' | 'Mach-O' | 'PE';
  machine: string;
  ortFiles: string[];
  ortLeftOut?: string[];
  limitMiB: number;
}
export const TARGETS: Record<string, Target>;
export const TARGET_NAMES: string[];
export function ortDir(target: string): string;
export function sharpPackages(target: string): string[];
export function hostTarget(): string;
export function unavailableReason(target: string, nodeModules: string): string | undefined;
export function resolveTargets(
  spec: string,
  nodeModules: string,
): { targets: string[]; skipped: { target: string; reason: string }[] };
