#!/usr/bin/env node
// Builds Winnow for production and packages a platform-specific VSIX with @vscode/vsce.
//
//   node scripts/package.mjs [--target linux-x64] [--out FILE] [--no-build] [--no-verify]
//
// The worker loads onnxruntime-node, @huggingface/transformers and sharp at run time (esbuild
// keeps them external), so the VSIX ships them from node_modules through the allow-list in
// .vscodeignore: only the current platform's native binaries, no onnxruntime-web package (the
// transformers Node build bundles what it uses of it). For a target other than linux-x64 the
// platform paths of .vscodeignore are rewritten into a temp ignore file.
//
// After packaging, the VSIX is unpacked to a temp folder and checked: every package that the
// bundles in dist/ require must resolve inside the unpacked extension and load in Node.
// The last line printed is the VSIX path.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const log = msg => console.error(`[package] ${msg}`);

/** Stops packaging with a message; the temp folder is still removed (see the finally below). */
class PackageError extends Error {}
function fail(message) {
  throw new PackageError(message);
}

/** vsce's target name for this machine (alpine when musl, as vsce distinguishes them). */
function hostTarget() {
  const musl =
    process.platform === 'linux' && !process.report?.getReport()?.header?.glibcVersionRuntime;
  const os = musl ? 'alpine' : process.platform;
  const arch = process.arch === 'arm' ? 'armhf' : process.arch;
  return `${os}-${arch}`;
}

const target = opt('--target') ?? hostTarget();
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const out = resolve(opt('--out') ?? join(repo, `${pkg.name}-${target}-${pkg.version}.vsix`));

/**
 * Runs a step. Its output is shown only when it fails, except the lines `keep` selects (vsce
 * prints the whole file tree on every run).
 */
function run(cmd, cmdArgs, what, keep = () => true) {
  const t0 = Date.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: repo, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    process.stderr.write(output);
    fail(`${what} failed (exit ${r.status ?? r.signal ?? r.error})`);
  }
  for (const line of output.split('\n')) if (line.trim() && keep(line)) log(line.trim());
  log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

let ignoreFile;
const tmp = mkdtempSync(join(tmpdir(), 'winnow-package-'));
try {
  // 1. Production bundles (minified, no source maps), from a clean dist/ so that no stale file
  // (such as a development build's .map) is packaged.
  if (!args.includes('--no-build')) {
    rmSync(join(repo, 'dist'), { recursive: true, force: true });
    run(process.execPath, ['esbuild.mjs', '--production'], 'production build');
  }

  // 2. The ignore file for this target.
  if (target !== 'linux-x64') {
    const [os, arch] = target.replace(/^alpine/, 'linux').split('-');
    const ignore = readFileSync(join(repo, '.vscodeignore'), 'utf8')
      .replaceAll('napi-v6/linux/x64/', `napi-v6/${os}/${arch}/`)
      .replaceAll('sharp-linux-x64', `sharp-${target.replace(/^alpine/, 'linuxmusl')}`)
      .replaceAll(
        'sharp-libvips-linux-x64',
        `sharp-libvips-${target.replace(/^alpine/, 'linuxmusl')}`,
      );
    ignoreFile = join(tmp, 'vscodeignore');
    writeFileSync(ignoreFile, ignore);
    log(`rewrote .vscodeignore for ${target}`);
  }

  // 3. vsce. Without a LICENSE file vsce asks a question, which would hang a non-interactive run.
  // Relative links and images in the README are made absolute against package.json's repository
  // (vsce detects only GitHub and GitLab hosts by itself).
  mkdirSync(dirname(out), { recursive: true });
  const repoUrl = String(pkg.repository?.url ?? '').replace(/\.git$/, '');
  const vsce = join(repo, 'node_modules', '@vscode', 'vsce', 'vsce');
  run(
    process.execPath,
    [
      vsce,
      'package',
      '--target',
      target,
      '--out',
      out,
      ...(existsSync(join(repo, 'LICENSE')) ? [] : ['--skip-license']),
      ...(ignoreFile ? ['--ignoreFile', ignoreFile] : []),
      ...(repoUrl
        ? ['--baseContentUrl', `${repoUrl}/blob/main/`, '--baseImagesUrl', `${repoUrl}/raw/main/`]
        : []),
    ],
    `vsce package --target ${target}`,
    // The warning about JavaScript files in node_modules is expected: those packages are
    // the runtime dependencies that cannot be bundled.
    line => /ERROR|WARNING|DONE/.test(line) && !/JavaScript files/.test(line),
  );

  // 4. Verify the packaged extension.
  if (!args.includes('--no-verify')) verify(out, join(tmp, 'unpacked'));
} catch (e) {
  if (!(e instanceof PackageError)) throw e;
  log(e.message);
  process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (process.exitCode) process.exit();

const bytes = statSync(out).size;
log(`${relative(process.cwd(), out) || out}: ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
console.log(out);

/** Bare package names required or dynamically imported by a bundle. */
function externalRequests(bundle) {
  const text = readFileSync(bundle, 'utf8');
  const found = new Set();
  for (const m of text.matchAll(/\b(?:require|import)\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
    const name = m[1].replace(/^node:/, '');
    if (
      name === 'vscode' ||
      builtinModules.includes(name) ||
      builtinModules.includes(name.split('/')[0])
    )
      continue;
    found.add(m[1]);
  }
  return [...found];
}

function listFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listFiles(p, out);
    else out.push(p);
  }
  return out;
}

/** Unpacks the VSIX and checks that the bundles' external packages resolve and load inside it. */
function verify(vsix, dir) {
  const t0 = Date.now();
  mkdirSync(dir, { recursive: true });
  const unzip = spawnSync('unzip', ['-q', vsix, '-d', dir], { encoding: 'utf8' });
  if (unzip.status !== 0)
    fail(`cannot unpack ${vsix} to verify it: ${unzip.stderr || unzip.error}`);
  const ext = join(dir, 'extension');
  const files = listFiles(ext);
  const problems = [];
  const manifest = JSON.parse(readFileSync(join(ext, 'package.json'), 'utf8'));
  const main = join(ext, manifest.main ?? 'dist/extension.js');
  if (!existsSync(main)) problems.push(`missing main bundle ${relative(ext, main)}`);

  const bundles = files.filter(f => /^dist\/[^/]+\.js$/.test(relative(ext, f)));
  // The runtime dependencies that are packaged must load too, even before a bundle uses them.
  const packagedDeps = Object.keys(manifest.dependencies ?? {}).filter(d =>
    existsSync(join(ext, 'node_modules', d, 'package.json')),
  );
  const requests = [...new Set([...bundles.flatMap(externalRequests), ...packagedDeps])];
  // Resolve and load each one in a child Node, from the unpacked dist/ folder, refusing any
  // module found outside the extension (which would hide a missing file).
  const check = `
    const { createRequire } = require('node:module');
    const req = createRequire(${JSON.stringify(join(ext, 'dist', 'extension.js'))});
    const bad = [];
    for (const r of ${JSON.stringify(requests)}) {
      try {
        const p = req.resolve(r);
        if (!p.startsWith(${JSON.stringify(ext + '/')})) { bad.push(r + ' resolves outside the VSIX: ' + p); continue; }
        req(r);
      } catch (e) { bad.push(r + ': ' + String(e && e.message).split('\\n')[0]); }
    }
    process.stdout.write(JSON.stringify(bad));`;
  const r = spawnSync(process.execPath, ['-e', check], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) problems.push(`the load check crashed: ${r.stderr}`);
  else problems.push(...JSON.parse(r.stdout || '[]'));

  // The winnow CLI runs from inside the installed extension (README "The winnow CLI").
  const cli = join(ext, 'dist', 'cli.js');
  if (!existsSync(cli)) problems.push('missing dist/cli.js (the winnow CLI)');
  else {
    const help = spawnSync(process.execPath, [cli, '--help'], { cwd: dir, encoding: 'utf8' });
    if (help.status !== 0 || !/^Commands:/m.test(help.stdout))
      problems.push(
        `node dist/cli.js --help failed in the VSIX (exit ${help.status}): ${help.stderr}`,
      );
  }

  const nodeModules = files.filter(f => relative(ext, f).startsWith('node_modules/'));
  const foreign = nodeModules.filter(f =>
    /onnxruntime-web\/|napi-v6\/(?!linux\/x64)/.test(relative(ext, f)),
  );
  if (target === 'linux-x64' && foreign.length) {
    problems.push(
      `other platforms' files in the VSIX: ${foreign
        .slice(0, 5)
        .map(f => relative(ext, f))
        .join(', ')}`,
    );
  }
  if (problems.length) fail(`VSIX check failed:\n  ${problems.join('\n  ')}`);
  log(
    `verified: ${files.length} files (${nodeModules.length} in node_modules); ` +
      `${requests.length ? requests.join(', ') : 'no external packages'} resolve and load from the VSIX ` +
      `(${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
}
