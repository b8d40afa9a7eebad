// How this machine runs the Node of a target platform: natively for its own platform, under
// qemu-user for linux-arm64 on x64 Linux (scripts/setup-qemu-arm64.sh installs it).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { hostTarget } from './targets.mjs';

/** The folder scripts/setup-qemu-arm64.sh installs into. */
export function qemuArm64Dir() {
  if (process.env.WINNOW_QEMU_ARM64) return process.env.WINNOW_QEMU_ARM64;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'winnow', 'qemu-arm64');
}

/**
 * The command (`[program, ...args]`) that runs a Node of `target` here, `{ node, how }`, or
 * `{ missing }` with the reason it cannot run here.
 */
export function nodeFor(target) {
  if (target === hostTarget())
    return { node: [process.execPath], how: `natively (Node ${process.version})` };
  if (target === 'linux-arm64' && hostTarget() === 'linux-x64') {
    const dir = qemuArm64Dir();
    const qemu = '/usr/bin/qemu-aarch64-static';
    const node = join(dir, 'node', 'bin', 'node');
    const root = join(dir, 'root');
    if (!existsSync(qemu) || !existsSync(node) || !existsSync(join(root, 'proc', 'cpuinfo')))
      return {
        missing: `qemu-user or the arm64 Node is not installed (bash scripts/setup-qemu-arm64.sh)`,
      };
    return {
      node: [qemu, '-L', root, node],
      how: 'under qemu-aarch64-static (qemu-user 7.2) with Node 20.20.2 for linux-arm64',
    };
  }
  return {
    missing: `${target} cannot run on ${hostTarget()}: its headers and file list are the check`,
  };
}
