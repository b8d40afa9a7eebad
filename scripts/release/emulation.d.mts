// Types for scripts/release/emulation.mjs (imported by test/platform/vsixLoad.test.ts).
export function qemuArm64Dir(): string;
export function nodeFor(
  target: string,
):
  | { node: string[]; how: string; missing?: undefined }
  | { missing: string; node?: undefined; how?: undefined };
