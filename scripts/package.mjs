#!/usr/bin/env node
// Builds Winnow for production and packages a platform-specific VSIX per target with @vscode/vsce.
//
//   node scripts/package.mjs [--target TARGET | --target all | --target a,b] [--out FILE]
//                            [--out-dir DIR] [--no-build] [--no-verify] [--release] [--report FILE]
//                            [--jobs N]
//
//   --target    a vsce target (linux-x64, linux-arm64, darwin-arm64, darwin-x64, win32-x64,
//               win32-arm64), a comma-separated list, or `all` (every target whose native
//               packages exist; the others are named with the reason). Default: this machine's.
//   --out       the VSIX path (one target only). Default: <out-dir>/winnow-<target>-<version>.vsix
//   --out-dir   where the VSIXs go (default: the repository root)
//   --release   also fail when the repository address is still the placeholder (publishing)
//   --report    write the verification reports (sizes, native headers) as JSON
//   --jobs      how many targets vsce packages at once (default: up to 3, one per core)
//
// 1. Store readiness (scripts/release/storeReadiness.mjs): icon, names, categories, banner,
//    repository/bugs/homepage, CHANGELOG.md, LICENSE, README images, package.nls.json, engines.
// 2. One production build (esbuild), shared by every target: the bundles are the same.
// 3. Per target, the runtime dependencies that esbuild keeps external (onnxruntime-node,
//    @huggingface/transformers, sharp) come from a node_modules for that platform: this
//    machine's own for its own target, else one fetched from the npm registry for the target
//    (scripts/release/stage.mjs, cached in ~/.cache/winnow/targets). Nothing is fetched when the
//    extension runs.
// 4. The extension folder is assembled in a temp folder (the files .vscodeignore allows, and that
//    node_modules), with .vscodeignore plus the target's native files (scripts/release/targets.mjs),
//    and packaged there by vsce.
// 5. The VSIX is unpacked and verified (scripts/release/verifyVsix.mjs): native headers and the
//    libraries they load, the file list, the size limit, and for this machine's own target that
//    every package the bundles load resolves and loads from inside it.
// Each VSIX path is printed on its own line on stdout (the last line is the last VSIX).
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkStoreReadiness, repositoryWebUrl } from './release/storeReadiness.mjs';
import { stageTarget } from './release/stage.mjs';
import { TARGETS, hostTarget, ortDir, resolveTargets } from './release/targets.mjs';
import { verifyVsix } from './release/verifyVsix.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const log = msg => console.error(`[package] ${msg}`);
const mib = bytes => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Stops packaging with a message; the temp folder is still removed (see main). */
class PackageError extends Error {}
function fail(message) {
  throw new PackageError(message);
}

/**
 * Runs a step. Its output is shown only when it fails, except the lines `keep` selects (vsce
 * prints the whole file tree on every run).
 */
function run(cmd, cmdArgs, what, { cwd = repo, keep = () => true } = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, cmdArgs, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    process.stderr.write(output);
    fail(`${what} failed (exit ${r.status ?? r.signal ?? r.error})`);
  }
  for (const line of output.split('\n')) if (line.trim() && keep(line)) log(line.trim());
  log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** {@link run}, without blocking: several targets' vsce runs can go at once. */
function runAsync(cmd, cmdArgs, what, { cwd = repo, keep = () => true } = {}) {
  const t0 = Date.now();
  return new Promise((done, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', d => (output += d));
    child.stderr.on('data', d => (output += d));
    child.on('error', reject);
    child.on('close', code => {
      if (code !== 0) {
        process.stderr.write(output);
        return reject(new PackageError(`${what} failed (exit ${code})`));
      }
      for (const line of output.split('\n')) if (line.trim() && keep(line)) log(line.trim());
      log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      done();
    });
  });
}

/** The store checks; problems stop packaging, warnings are printed. */
function storeReadiness() {
  const { problems, warnings } = checkStoreReadiness(repo, { release: args.includes('--release') });
  for (const w of warnings) log(`warning: ${w}`);
  if (problems.length)
    fail(`not ready for the Marketplace / Open VSX:\n  ${problems.join('\n  ')}`);
}

/** .vscodeignore plus the allow lines of the target's native files. */
function ignoreFileFor(target) {
  const t = TARGETS[target];
  const base = readFileSync(join(repo, '.vscodeignore'), 'utf8');
  const lines = [
    `# ${target}'s native files (scripts/release/targets.mjs)`,
    ...t.ortFiles.map(f => `!node_modules/onnxruntime-node/${ortDir(target)}/${f}`),
    `!node_modules/@img/sharp-${t.os}-${t.cpu}/**`,
    ...(t.os === 'win32' ? [] : [`!node_modules/@img/sharp-libvips-${t.os}-${t.cpu}/**`]),
  ];
  return `${base.trimEnd()}\n\n${lines.join('\n')}\n`;
}

/**
 * The extension folder vsce packages: the repository's top-level files and folders that
 * .vscodeignore allows (copied), the production packages of the target's node_modules, and the
 * target's ignore file.
 */
function assemble(dir, target, nodeModules) {
  mkdirSync(dir, { recursive: true });
  const allowed = readFileSync(join(repo, '.vscodeignore'), 'utf8')
    .split('\n')
    .filter(l => l.startsWith('!') && !l.startsWith('!node_modules/'))
    .map(l => l.slice(1).split('/')[0]);
  for (const top of new Set(allowed))
    if (existsSync(join(repo, top))) cpSync(join(repo, top), join(dir, top), { recursive: true });
  linkProductionPackages(dirname(nodeModules), join(dir, 'node_modules'));
  writeFileSync(join(dir, '.vscodeignore'), ignoreFileFor(target));
}

/**
 * Hard-links (or copies, across file systems) the production packages of `root`'s node_modules
 * into `dest`: vsce runs `npm ls --production` in the folder it packages, which needs a real
 * tree (through a symlinked node_modules npm reports the packages as extraneous). The packages
 * are the lock's entries that are not dev-only and are installed (an optional package of another
 * platform is not), read from package-lock.json rather than `npm ls`, which fails in a
 * node_modules shared through a symlink.
 */
function linkProductionPackages(root, dest) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  let linked = 0;
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path.startsWith('node_modules/') || entry.dev || entry.link) continue;
    const from = join(root, ...path.split('/'));
    if (!existsSync(join(from, 'package.json'))) {
      if (!entry.optional && !entry.devOptional)
        fail(`${path} is not installed in ${root}: run npm ci`);
      continue;
    }
    linkTree(from, join(dest, ...path.slice('node_modules/'.length).split('/')));
    linked++;
  }
  if (!linked) fail(`no production packages in ${root}/node_modules`);
}

function linkTree(src, dst) {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, e.name);
    const to = join(dst, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') linkTree(from, to); // nested packages come as their own lines
    } else if (e.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else {
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
      }
    }
  }
}

function vscePackage(dir, target, out) {
  // Relative links and images in the README are made absolute against package.json's
  // repository (vsce detects only GitHub and GitLab hosts by itself).
  const repoUrl = repositoryWebUrl(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')));
  const vsce = join(repo, 'node_modules', '@vscode', 'vsce', 'vsce');
  mkdirSync(dirname(out), { recursive: true });
  return runAsync(
    process.execPath,
    [
      vsce,
      'package',
      '--target',
      target,
      '--out',
      out,
      '--baseContentUrl',
      `${repoUrl}/blob/main/`,
      '--baseImagesUrl',
      `${repoUrl}/raw/main/`,
    ],
    `vsce package --target ${target}`,
    {
      cwd: dir,
      // The warning about JavaScript files in node_modules is expected: those packages are
      // the runtime dependencies that cannot be bundled.
      keep: line => /ERROR|WARNING|DONE/.test(line) && !/JavaScript files/.test(line),
    },
  );
}

function printReport(r) {
  log(
    `${r.target}: ${relative(process.cwd(), r.vsix) || r.vsix}: ${mib(r.bytes)} (limit ${mib(r.limitBytes)}), ${r.files} files`,
  );
  for (const n of r.natives) log(`  ${n.path}: ${n.detail}`);
  if (r.loaded)
    log(`  loads here (${r.loaded.arch}): ${r.loaded.requests.join(', ')}; ${r.loaded.cli} runs`);
}

/** Packages and verifies one target; resolves with its report. */
async function packageTarget(target, tmp, version) {
  const host = target === hostTarget();
  const nodeModules = host ? join(repo, 'node_modules') : stageTarget(repo, target, log);
  const outDir = resolve(opt('--out-dir') ?? repo);
  const out = resolve(opt('--out') ?? join(outDir, `winnow-${target}-${version}.vsix`));
  const dir = join(tmp, `extension-${target}`);
  assemble(dir, target, nodeModules);
  await vscePackage(dir, target, out);
  if (args.includes('--no-verify')) return { target, vsix: out, problems: [] };
  const t0 = Date.now();
  const report = verifyVsix(out, target, {
    workDir: join(tmp, 'unpacked'),
    sourceNodeModules: nodeModules,
    load: host ? [process.execPath] : undefined,
  });
  rmSync(report.extDir, { recursive: true, force: true });
  delete report.extDir;
  if (report.problems.length)
    fail(`${target}: VSIX check failed:\n  ${report.problems.join('\n  ')}`);
  printReport(report);
  log(`${target}: verified (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return report;
}

async function main() {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const spec = opt('--target') ?? hostTarget();
  const { targets, skipped } = resolveTargets(spec, join(repo, 'node_modules'));
  if (opt('--out') && targets.length !== 1) fail('--out names one VSIX: give one --target');
  for (const s of skipped) log(`skipping ${s.target}: ${s.reason}`);
  storeReadiness();
  // One production build (minified, no source maps) from a clean dist/, so that no stale file
  // (such as a development build's .map) is packaged.
  if (!args.includes('--no-build')) {
    rmSync(join(repo, 'dist'), { recursive: true, force: true });
    run(process.execPath, ['esbuild.mjs', '--production'], 'production build');
  }
  const tmp = mkdtempSync(join(tmpdir(), 'winnow-package-'));
  const reports = [];
  try {
    // Staging is sequential (npm), then up to --jobs targets package at once (vsce compresses
    // on one core each).
    for (const target of targets) if (target !== hostTarget()) stageTarget(repo, target, log);
    const jobs = Math.max(1, Number(opt('--jobs') ?? Math.min(3, availableParallelism())));
    const queue = [...targets];
    const worker = async () => {
      for (let t = queue.shift(); t; t = queue.shift())
        reports.push(await packageTarget(t, tmp, pkg.version));
    };
    await Promise.all(Array.from({ length: Math.min(jobs, targets.length) }, worker));
    reports.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (opt('--report'))
    writeFileSync(resolve(opt('--report')), `${JSON.stringify({ reports, skipped }, null, 2)}\n`);
  for (const r of reports) console.log(r.vsix);
}

try {
  await main();
} catch (e) {
  if (!(e instanceof PackageError) && !/^cannot build /.test(e?.message)) throw e;
  log(e.message);
  process.exit(1);
}
