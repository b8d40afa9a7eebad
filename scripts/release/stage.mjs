// Fetches the runtime dependencies of one target platform from the npm registry into a staging
// folder outside the clone: `npm ci --omit=dev --os=<os> --cpu=<cpu> [--libc=glibc]` from the
// repository's own package.json and package-lock.json, so every package is the locked version and
// sharp's optional @img packages are the target's. Scripts are not run (onnxruntime-node's
// postinstall would download CUDA libraries; nothing else needs one).
//
// The folder is `~/.cache/winnow/targets/<target>-<hash>` (XDG_CACHE_HOME is honoured), keyed by
// the locked runtime dependencies, so a second run, or another clone on the same machine, reuses
// it. It is built in a temp folder and renamed into place, so two runs at once cannot see half a
// folder. Other platforms' onnxruntime-node binaries and onnxruntime-web's files (neither ships)
// are removed from it to keep the cache small.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TARGETS, ortDir } from './targets.mjs';

/** Bump when the staging recipe changes, so that old caches are not reused. */
const STAGE_FORMAT = 1;
const MARKER = '.winnow-stage.json';
const DAY_MS = 24 * 3600 * 1000;

export function stageRoot() {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'winnow', 'targets');
}

/** The part of the lock that decides a target's runtime install (dev packages left out). */
function stageKey(repo, target) {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
  const runtime = Object.entries(lock.packages ?? {}).filter(([path, p]) => path && !p.dev);
  const input = JSON.stringify([STAGE_FORMAT, target, pkg.dependencies, runtime]);
  return createHash('sha256').update(input).digest('hex').slice(0, 12);
}

/** Removes what never ships from a staged node_modules (keeps every package.json for npm ls). */
function prune(nodeModules, target) {
  const napi = join(nodeModules, 'onnxruntime-node', 'bin', 'napi-v6');
  const keep = ortDir(target).split('/').slice(2); // [os, cpu]
  for (const os of existsSync(napi) ? readdirSync(napi) : []) {
    for (const cpu of readdirSync(join(napi, os)))
      if (os !== keep[0] || cpu !== keep[1]) rmSync(join(napi, os, cpu), { recursive: true });
  }
  rmSync(join(nodeModules, 'onnxruntime-web', 'dist'), { recursive: true, force: true });
}

function npmCi(dir, target) {
  const t = TARGETS[target];
  const args = [
    'ci',
    '--omit=dev',
    `--os=${t.os}`,
    `--cpu=${t.cpu}`,
    ...(t.libc ? [`--libc=${t.libc}`] : []),
    '--ignore-scripts',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
  ];
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, args, {
    cwd: dir,
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  if (r.status !== 0)
    throw new Error(`npm ${args.join(' ')} failed for ${target}:\n${r.stderr || r.error}`);
}

/**
 * The node_modules folder holding `target`'s runtime dependencies, fetched unless a staged copy
 * for the same lock is cached. `log` gets a line per step.
 */
export function stageTarget(repo, target, log = () => {}) {
  const root = stageRoot();
  const key = stageKey(repo, target);
  const final = join(root, `${target}-${key}`);
  if (existsSync(join(final, 'node_modules', MARKER))) {
    const now = new Date();
    utimesSync(final, now, now); // in use: see the clean-up below
    log(`${target}: runtime dependencies cached in ${final}`);
    return join(final, 'node_modules');
  }
  mkdirSync(root, { recursive: true });
  const tmp = join(root, `.tmp-${target}-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    const t0 = Date.now();
    copyFileSync(join(repo, 'package.json'), join(tmp, 'package.json'));
    copyFileSync(join(repo, 'package-lock.json'), join(tmp, 'package-lock.json'));
    npmCi(tmp, target);
    prune(join(tmp, 'node_modules'), target);
    const marker = { target, key, staged: new Date().toISOString() };
    writeFileSync(join(tmp, 'node_modules', MARKER), `${JSON.stringify(marker)}\n`);
    try {
      renameSync(tmp, final);
    } catch (e) {
      // Another run staged the same target first: use its folder.
      if (!existsSync(join(final, 'node_modules', MARKER))) throw e;
    }
    log(
      `${target}: fetched runtime dependencies into ${final} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  // Stagings of this target for another lock, unused for a day, go (a day, because another
  // clone on this machine may be packaging from one right now).
  for (const name of readdirSync(root)) {
    const old = join(root, name);
    if (
      name.startsWith(`${target}-`) &&
      name !== `${target}-${key}` &&
      Date.now() - statSync(old).mtimeMs > DAY_MS
    )
      rmSync(old, { recursive: true, force: true });
  }
  return join(final, 'node_modules');
}
