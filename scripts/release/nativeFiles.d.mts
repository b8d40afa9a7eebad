// Types for scripts/release/nativeFiles.mjs (imported by the unit tests).
export interface NativeHeader {
  format: 'ELF' | 'Mach-O' | 'PE';
  machine: string;
  machines?: string[];
  bits: number;
  detail: string;
}
export const ELF_MACHINES: Record<number, string>;
export const MACHO_CPUS: Record<number, string>;
export const PE_MACHINES: Record<number, string>;
export function readHeader(head: Buffer): NativeHeader | undefined;
export function readDependencies(file: Buffer): { needed: string[]; rpaths: string[] } | undefined;
