// Types for scripts/release/steps.mjs (imported by the unit tests).
export const OVSX_VERSION: string;
export const TEST_OSES: string[];
export const STEPS: { id: string; what: string; command: string; env?: Record<string, string> }[];
export function publishCommands(vsix: string): string[];
